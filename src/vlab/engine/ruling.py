"""The ruling: one typed model, built once, digested once, rendered many ways.

It mirrors ``vlab/data/ruling.schema.json`` field for field; ``to_json`` is the document
``--format json`` prints, and ``from_json`` reads one back (``vlab review``) after the
schema has accepted it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import Any

from vlab import __version__
from vlab.core.canonical import canonical_bytes
from vlab.core.findings import Detail
from vlab.core.vocabulary import ADMISSIBLE, FAIL, NOT_ADMISSIBLE, NOT_EVALUATED, PASS

RULING_VERSION = "1"
# A gate or a clause lists at most this many details and counts the rest in
# ``details_omitted`` (a member omitted when nothing is left out, so rulings that never hit
# the cap keep their bytes).
MAX_DETAILS = 100


def capped(details: list[Detail] | tuple[Detail, ...]) -> tuple[tuple[Detail, ...], int]:
    """The first ``MAX_DETAILS`` details and how many more there were."""
    return tuple(details[:MAX_DETAILS]), max(0, len(details) - MAX_DETAILS)


def _detail(d: dict[str, Any]) -> Detail:
    return Detail(
        d["code"], d["message"], d["artifact_path"], d["locator"], d["line"], d["advisory"]
    )


@dataclass(frozen=True)
class EvidenceRef:
    """The exact evidence a clause relied on: artifact, locator, line, sha256 of its bytes."""

    artifact_path: str
    locator: str
    line: int | None
    sha256: str

    def to_json(self) -> dict[str, Any]:
        return {
            "artifact_path": self.artifact_path,
            "locator": self.locator,
            "line": self.line,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class GateRuling:
    gate: str
    status: str  # PASS | FAIL | SKIPPED
    details: tuple[Detail, ...] = ()
    details_omitted: int = 0

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "gate": self.gate,
            "status": self.status,
            "details": [d.to_json() for d in self.details],
        }
        if self.details_omitted:
            out["details_omitted"] = self.details_omitted
        return out


@dataclass(frozen=True)
class AdmissionRuling:
    status: str  # ADMISSIBLE | NOT_ADMISSIBLE
    reason_code: str | None
    gates: tuple[GateRuling, ...]

    @property
    def admissible(self) -> bool:
        return self.status == ADMISSIBLE

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason_code": self.reason_code,
            "gates": [g.to_json() for g in self.gates],
        }


@dataclass(frozen=True)
class RulesetRef:
    id: str | None
    version: str | None
    sha256: str | None
    override: bool

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "sha256": self.sha256,
            "override": self.override,
        }


@dataclass(frozen=True)
class PackRef:
    pack_id: str | None
    run_id: str | None
    digest: str | None
    substrate: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "pack_id": self.pack_id,
            "run_id": self.run_id,
            "digest": self.digest,
            "substrate": self.substrate,
        }


# Severities in rising order (rulesets-1.3 §5); a clause that declares none is "medium".
SEVERITIES = ("low", "medium", "high", "critical")
DEFAULT_SEVERITY = "medium"


def severity_rank(severity: str | None) -> int:
    return SEVERITIES.index(severity or DEFAULT_SEVERITY)


@dataclass(frozen=True)
class ClauseWaiver:
    """The waiver a FAIL clause carries: it stays FAIL but counts for neither the topline
    nor the exit status."""

    id: str
    reason: str
    approved_by: str
    expires: str  # canonical UTC text

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "approved_by": self.approved_by,
            "expires": self.expires,
        }


@dataclass(frozen=True)
class WaiversSummary:
    """What ``--waivers`` did: the file's digest, the waivers that waived, that matched
    nothing, that matched only while expired, and how many FAIL clauses are waived."""

    sha256: str
    applied: tuple[str, ...] = ()
    unmatched: tuple[str, ...] = ()
    expired: tuple[str, ...] = ()
    waived: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "applied": list(self.applied),
            "unmatched": list(self.unmatched),
            "expired": list(self.expired),
            "waived": self.waived,
        }


@dataclass(frozen=True)
class ClauseRuling:
    clause_id: str
    requirement_id: str
    domain: str
    title: str | None
    status: str
    reason_code: str | None
    details: tuple[Detail, ...] = ()
    evidence_refs: tuple[EvidenceRef, ...] = ()
    metrics: dict[str, Any] | None = None  # None: the clause declares no metrics
    details_omitted: int = 0
    severity: str | None = None  # None: the clause declares none (it counts as medium)
    waiver: ClauseWaiver | None = None

    @property
    def counts_as_fail(self) -> bool:
        """A FAIL that no waiver holds: it decides the topline and the exit status."""
        return self.status == FAIL and self.waiver is None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "clause_id": self.clause_id,
            "requirement_id": self.requirement_id,
            "domain": self.domain,
            "status": self.status,
            "reason_code": self.reason_code,
            "details": [d.to_json() for d in self.details],
            "evidence_refs": [r.to_json() for r in self.evidence_refs],
        }
        if self.details_omitted:
            out["details_omitted"] = self.details_omitted
        if self.title is not None:
            out["title"] = self.title
        if self.metrics is not None:
            out["metrics"] = self.metrics
        # Both members appear only when present, so rulings without severities or
        # waivers keep their bytes (decision 270).
        if self.severity is not None:
            out["severity"] = self.severity
        if self.waiver is not None:
            out["waiver"] = self.waiver.to_json()
        return out


@dataclass(frozen=True)
class Ruling:
    ruleset: RulesetRef
    pack: PackRef
    admission: AdmissionRuling
    clauses: tuple[ClauseRuling, ...]
    topline: str
    reason_codes: tuple[str, ...]
    digest: str | None = None  # None only for internal comparisons (never emitted)
    ruling_version: str = RULING_VERSION
    engine: tuple[str, str] = ("vlab", __version__)
    as_of: str | None = None  # set only with --waivers: the time expiry is judged at
    waivers: WaiversSummary | None = None
    # {"policy_sha256", "signers"} when AUTHENTICITY ran; absent from the document otherwise
    trust: dict[str, Any] | None = None

    def body(self) -> dict[str, Any]:
        """What the digest covers: everything but ``digest`` and ``engine``."""
        out: dict[str, Any] = {
            "ruling_version": self.ruling_version,
            "ruleset": self.ruleset.to_json(),
            "pack": self.pack.to_json(),
            "admission": self.admission.to_json(),
            "clauses": [c.to_json() for c in self.clauses],
            "topline": self.topline,
            "reason_codes": list(self.reason_codes),
            **({"trust": self.trust} if self.trust is not None else {}),
        }
        if self.as_of is not None:
            out["as_of"] = self.as_of
        if self.waivers is not None:
            out["waivers"] = self.waivers.to_json()
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            **self.body(),
            "engine": {"name": self.engine[0], "version": self.engine[1]},
            "digest": self.digest,
        }

    def sealed(self) -> Ruling:
        """This ruling with its digest set."""
        digest = "sha256:" + hashlib.sha256(canonical_bytes(self.body())).hexdigest()
        return replace(self, digest=digest)

    def count(self, status: str) -> int:
        return sum(1 for c in self.clauses if c.status == status)

    def count_waived(self) -> int:
        return sum(1 for c in self.clauses if c.status == FAIL and c.waiver is not None)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> Ruling:
        """A ruling document that ``ruling.schema.json`` accepted."""
        adm = doc["admission"]
        engine = doc.get("engine") or {}
        return cls(
            ruleset=RulesetRef(**doc["ruleset"]),
            pack=PackRef(**doc["pack"]),
            admission=AdmissionRuling(
                adm["status"],
                adm["reason_code"],
                tuple(
                    GateRuling(
                        g["gate"],
                        g["status"],
                        tuple(_detail(d) for d in g["details"]),
                        g.get("details_omitted", 0),
                    )
                    for g in adm["gates"]
                ),
            ),
            clauses=tuple(
                ClauseRuling(
                    clause_id=c["clause_id"],
                    requirement_id=c["requirement_id"],
                    domain=c["domain"],
                    title=c.get("title"),
                    status=c["status"],
                    reason_code=c["reason_code"],
                    details=tuple(_detail(d) for d in c["details"]),
                    evidence_refs=tuple(EvidenceRef(**r) for r in c["evidence_refs"]),
                    metrics=c.get("metrics"),
                    details_omitted=c.get("details_omitted", 0),
                    severity=c.get("severity"),
                    waiver=ClauseWaiver(**c["waiver"]) if "waiver" in c else None,
                )
                for c in doc["clauses"]
            ),
            topline=doc["topline"],
            reason_codes=tuple(doc["reason_codes"]),
            digest=doc["digest"],
            ruling_version=doc["ruling_version"],
            engine=(str(engine.get("name", "vlab")), str(engine.get("version", ""))),
            as_of=doc.get("as_of"),
            waivers=_waivers_summary(doc["waivers"]) if "waivers" in doc else None,
            trust=doc.get("trust"),
        )


def _waivers_summary(w: dict[str, Any]) -> WaiversSummary:
    return WaiversSummary(
        w["sha256"],
        tuple(w["applied"]),
        tuple(w["unmatched"]),
        tuple(w["expired"]),
        w["waived"],
    )


def topline(admissible: bool, clauses: tuple[ClauseRuling, ...]) -> str:
    if not admissible:
        return NOT_ADMISSIBLE
    statuses = {c.status for c in clauses}
    if any(c.counts_as_fail for c in clauses):
        return FAIL
    if PASS in statuses:
        return PASS
    return NOT_EVALUATED  # zero evaluated clauses is never a PASS


def ruling_digest(document: dict[str, Any]) -> str:
    """sha256 of a canonical ruling document without ``digest`` and ``engine``."""
    body = {k: v for k, v in document.items() if k not in ("digest", "engine")}
    return "sha256:" + hashlib.sha256(canonical_bytes(body)).hexdigest()


def sealed_json(ruling: Ruling) -> tuple[Ruling, bytes]:
    """The ruling sealed and its canonical bytes, each top-level value canonicalised once:
    RFC 8785 sorts an object's members and is compositional, so with ASCII member names the
    body's bytes (what the digest covers) and the document's (the body plus ``digest`` and
    ``engine``) are the same parts joined in name order. ``Ruling.sealed`` then
    ``canonical_bytes(to_json())`` would canonicalise every value twice (decision 248)."""
    body = ruling.body()
    parts = {name: canonical_bytes(value) for name, value in body.items()}
    digest = "sha256:" + hashlib.sha256(_joined(parts)).hexdigest()
    sealed = replace(ruling, digest=digest)
    doc = sealed.to_json()
    parts.update((name, canonical_bytes(doc[name])) for name in doc if name not in parts)
    return sealed, _joined(parts)


def _joined(parts: dict[str, bytes]) -> bytes:
    assert all(name.isascii() for name in parts)  # UTF-16 order is byte order
    return b"{" + b",".join(b'"%s":%s' % (n.encode(), parts[n]) for n in sorted(parts)) + b"}"


def ruling_json(ruling: Ruling) -> bytes:
    """The ``--format json`` bytes: RFC 8785 canonical form plus one newline."""
    return canonical_bytes(ruling.to_json()) + b"\n"
