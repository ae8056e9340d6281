"""The ruling: one model, built once, digested once, rendered many ways."""

from __future__ import annotations

import hashlib
from typing import Any

from vlab import __version__
from vlab.core.canonical import canonical_bytes
from vlab.engine.admission import Admission
from vlab.engine.evaluation import ClauseResult, null_metrics
from vlab.ruleset.model import Ruleset

RULING_VERSION = "1"


def topline(admission: Admission, clauses: list[dict[str, Any]]) -> str:
    if not admission.admissible:
        return "NOT_ADMISSIBLE"
    statuses = {c["status"] for c in clauses}
    if "FAIL" in statuses:
        return "FAIL"
    if "PASS" in statuses:
        return "PASS"
    return "NOT_EVALUATED"  # zero evaluated clauses is never a PASS


def ruling_digest(ruling: dict[str, Any]) -> str:
    """sha256 of the canonical ruling without ``digest`` and ``engine``."""
    body = {k: v for k, v in ruling.items() if k not in ("digest", "engine")}
    return "sha256:" + hashlib.sha256(canonical_bytes(body)).hexdigest()


def build_ruling(
    *,
    admission: Admission,
    ruleset: Ruleset | None,
    override: bool,
    results: list[ClauseResult],
    digest: bool = True,
) -> dict[str, Any]:
    if admission.admissible:
        clauses = [r.to_json() for r in results]
    else:
        code = admission.reason_code
        clauses = [
            {
                "clause_id": c.clause_id,
                "requirement_id": c.requirement_id,
                "domain": c.domain,
                "title": c.title,
                "status": "NOT_ADMISSIBLE",
                "reason_code": code,
                "details": [],
                "evidence_refs": [],
                **({"metrics": null_metrics(c)} if c.metrics else {}),
            }
            for c in (ruleset.clauses if ruleset is not None else ())
        ]
    codes = {c["reason_code"] for c in clauses if c["reason_code"] is not None}
    if admission.reason_code is not None:
        codes.add(admission.reason_code)
    ruling: dict[str, Any] = {
        "ruling_version": RULING_VERSION,
        "engine": {"name": "vlab", "version": __version__},
        "ruleset": {
            "id": ruleset.id if ruleset else None,
            "version": ruleset.version if ruleset else None,
            "sha256": ruleset.sha256 if ruleset else None,
            "override": override,
        },
        "pack": {
            "pack_id": admission.pack_id,
            "run_id": admission.run_id,
            "digest": admission.digest,
            "substrate": admission.substrate,
        },
        "admission": admission.to_json(),
        "clauses": clauses,
        "topline": topline(admission, clauses),
        "reason_codes": sorted(codes),
    }
    ruling["digest"] = ruling_digest(ruling) if digest else None
    return ruling


def ruling_json(ruling: dict[str, Any]) -> bytes:
    """The ``--format json`` bytes: RFC 8785 canonical form plus one newline."""
    return canonical_bytes(ruling) + b"\n"
