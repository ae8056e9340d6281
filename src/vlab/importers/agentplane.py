"""Importer for agentplane (importers.md §3): ``vlab import agentplane RECEIPT...
[--admission FILE] [--contract FILE]``.

agentplane (SocioProphet/agentplane, governed-runner) writes three JSON records per
attempt: its ``GovernedRunContract`` (before the run), ``AttemptAdmissionReceipt`` (at
admission) and ``BudgetSettlementReceipt`` v0.1 (after the attempt). vlab judges the
settlement receipt natively (``budget_settlement@2``, ruleset-1.3, clause CL-D1-02).

Native layout (``native/agentplane/``), every byte read, as read:

- ``receipts/<name>``   each RECEIPT (``schemaVersion:
  agentplane.budget-settlement-receipt.v0.1``)
- ``admission/<name>``  ``--admission`` (``agentplane.attempt-admission-receipt.v0.1``)
- ``contract/<name>``   ``--contract`` (``agentplane.governed-run-contract.v0.1``)

``<name>`` is the file's base name with every character outside ``[A-Za-z0-9._-]`` made
``_`` and ``.json`` added when it does not end so (a pack path must be safe and end in an
allowed ending); two files that come out with one name are a usage error. No machine path
is recorded anywhere: the same files imported from two folders give the same pack.

Derived (byte copies: vlab reads agentplane's dialect natively, so nothing is translated):

- ``artifacts/budget/settlement_receipt.json`` — one RECEIPT; several give
  ``settlement_receipt-<n>.json`` (n = 1, 2, ... in the order of their native names), one
  ``RQ-D1-02`` ``file:`` pointer each. ruleset-1.3's CL-D1-02 judges every one
  (``pointers: each``), each against the one ``--admission`` receipt; the importer says so
  in ``notes``.
- ``artifacts/budget/admission_receipt.json`` — ``--admission`` (the clause resolves the
  settlement's ``admission_receipt_ref`` against it).
- ``artifacts/budget/governed_run_contract.json`` — ``--contract`` (no clause reads it).

``run_id`` is the (first) receipt's; ``created_at`` the earliest ``settled_at`` /
``issued_at`` (UTC, RFC 3339). Refused (exit 65): a file that is not JSON as vlab reads it
(strict JSON: UTF-8, no duplicate key, no NaN) or is not the record its place expects.
A receipt agentplane's own validator would reject is imported as it is: judging it is
CL-D1-02's job.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.money import fmt, money
from vlab.core.timestamps import utc_micros
from vlab.domains.settlement import (
    AGENTPLANE_ADMISSION,
    AGENTPLANE_CONTRACT,
    AGENTPLANE_SETTLEMENT,
)
from vlab.importers.base import (
    EPOCH,
    JSON,
    Collected,
    Derived,
    Importer,
    ImportRefused,
    native_path,
    read_native,
    scenario,
    source,
)

SYSTEM = "agentplane"
RECEIPTS, ADMISSION, CONTRACT = "receipts/", "admission/", "contract/"
SETTLEMENT_FILE = "artifacts/budget/settlement_receipt.json"
ADMISSION_FILE = "artifacts/budget/admission_receipt.json"
CONTRACT_FILE = "artifacts/budget/governed_run_contract.json"
REQUIREMENT = "RQ-D1-02"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
# What each place of the layout holds: (schemaVersion, the record's name).
KINDS = {
    RECEIPTS: (AGENTPLANE_SETTLEMENT, "BudgetSettlementReceipt"),
    ADMISSION: (AGENTPLANE_ADMISSION, "AttemptAdmissionReceipt"),
    CONTRACT: (AGENTPLANE_CONTRACT, "GovernedRunContract"),
}


def _expected(place: str) -> str:
    version, name = KINDS[place]
    return f"expected agentplane's {name} JSON (schemaVersion {version})"


def record(data: bytes, place: str, where: str) -> dict[str, Any]:
    """The parsed record, or ImportRefused when it is not JSON (as vlab reads it: strict)
    or not the agentplane record this place of the layout holds."""
    try:
        value = strictjson.loads(data)
    except strictjson.StrictJSONError as err:
        raise ImportRefused(where, f"not JSON ({err.message}); {_expected(place)}") from None
    version = value.get("schemaVersion") if isinstance(value, dict) else None
    if version != KINDS[place][0]:
        got = "not a JSON object" if not isinstance(value, dict) else _said(version)
        raise ImportRefused(where, f"{got}; {_expected(place)}")
    assert isinstance(value, dict)
    return value


def _said(version: Any) -> str:
    if version is None:
        return "no schemaVersion"
    text = version if isinstance(version, str) else type(version).__name__
    return f"schemaVersion {text[:80]!r}"


def native_name(path: Path) -> str:
    """The file's name in the native layout (safe, ``.json``-ended)."""
    name = _UNSAFE.sub("_", path.name).lstrip(".") or "file"
    return name if name.endswith(".json") else name + ".json"


# -- collect: read disk, copy every byte ------------------------------------------------


def collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    native: dict[str, bytes] = {}
    wanted = [(RECEIPTS, p) for p in sources]
    for option, place in (("admission", ADMISSION), ("contract", CONTRACT)):
        if options.get(option) is not None:
            path = Path(options[option])
            if not path.exists():
                raise UsageError(f"--{option}: no such file: {path}")
            wanted.append((place, path))
    for place, path in wanted:
        if path.is_dir():
            raise ImportRefused(str(path), f"a folder; {_expected(place)}")
        data = read_native(path, f"agentplane's {KINDS[place][1]}")
        record(data, place, str(path))
        rel = place + native_name(path)
        if rel in native:
            raise UsageError(
                f"{path}: another file is already imported as native/{SYSTEM}/{rel}; "
                "give files with distinct names"
            )
        native[rel] = data
    return Collected(native, {})


# -- derive: a pure function of the native bytes -----------------------------------------


def _plain(value: Any) -> Any:
    """A native scalar for import.json's claims: money as exact decimal text (an unbounded
    number as its scientific text, never expanded); an object or a list only named (a
    claim is kept for review, and a deep one must not make import.json too deep)."""
    if isinstance(value, Decimal):
        bounded = money(value)
        return fmt(bounded) if bounded is not None else str(value)
    if isinstance(value, dict):
        return "<object>"
    if isinstance(value, list):
        return "<array>"
    return value


OVERRUN_FIELDS = ("over_budget", "estimated_cost_usd", "actual_cost_usd", "status")


def _utc_text(micros: int) -> str:
    moment = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(microseconds=micros)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    fraction = micros % 1_000_000
    if fraction:
        text += "." + f"{fraction:06d}".rstrip("0")
    return text + "Z"


def _earliest(stamps: list[Any]) -> str | None:
    times = [t for t in (utc_micros(s) for s in stamps) if t is not None]
    return _utc_text(min(times)) if times else None


def _placed(native: Mapping[str, bytes]) -> dict[str, list[str]]:
    """Native paths by place, in byte order; anything outside the layout is refused."""
    placed: dict[str, list[str]] = {place: [] for place in KINDS}
    for rel in sorted(native, key=lambda p: p.encode("utf-8")):
        place = next((p for p in KINDS if rel.startswith(p) and "/" not in rel[len(p) :]), None)
        if place is None:
            raise ImportRefused(native_path(SYSTEM, rel), "not a file agentplane's importer copies")
        placed[place].append(rel)
    if not placed[RECEIPTS]:
        raise ImportRefused(native_path(SYSTEM, RECEIPTS), "no BudgetSettlementReceipt")
    for place in (ADMISSION, CONTRACT):
        if len(placed[place]) > 1:
            raise ImportRefused(native_path(SYSTEM, place), "more than one file")
    return placed


def derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    placed = _placed(native)
    docs = {
        rel: record(native[rel], place, native_path(SYSTEM, rel))
        for place in KINDS
        for rel in placed[place]
    }
    receipts = placed[RECEIPTS]
    files: dict[str, bytes] = {}
    pointers: list[JSON] = []
    derived_from: list[JSON] = []
    settlements: list[JSON] = []
    for n, rel in enumerate(receipts, 1):
        target = SETTLEMENT_FILE if len(receipts) == 1 else SETTLEMENT_FILE[:-5] + f"-{n}.json"
        files[target] = native[rel]
        origin = native_path(SYSTEM, rel)
        pointers.append(
            {
                "requirement_id": REQUIREMENT,
                "artifact_path": target,
                "locator": "file:",
                "status": "PRESENT",
                "note": f"agentplane BudgetSettlementReceipt, byte copy of {origin}",
            }
        )
        derived_from.append({"artifact_path": target, "source": source(origin), "how": "byte copy"})
        doc = docs[rel]
        overrun = doc.get("overrun")
        settlements.append(
            {
                "source": source(origin),
                "settlement_status": _plain(doc.get("settlement_status")),
                "overrun": {k: _plain(overrun[k]) for k in OVERRUN_FIELDS if k in overrun}
                if isinstance(overrun, dict)
                else _plain(overrun),
            }
        )
    claims: JSON = {"settlements": settlements}
    notes: list[str] = []
    stamps = [docs[rel].get("settled_at") for rel in receipts]
    for place, target in ((ADMISSION, ADMISSION_FILE), (CONTRACT, CONTRACT_FILE)):
        for rel in placed[place]:
            files[target] = native[rel]
            origin = native_path(SYSTEM, rel)
            derived_from.append(
                {"artifact_path": target, "source": source(origin), "how": "byte copy"}
            )
    if placed[ADMISSION]:
        rel = placed[ADMISSION][0]
        admission = docs[rel]
        stamps.append(admission.get("issued_at"))
        claims["admission"] = {
            "source": source(native_path(SYSTEM, rel)),
            "admission_decision": _plain(admission.get("admission_decision")),
            "admitted": _plain(admission.get("admitted")),
            "reason_code": _plain(admission.get("reason_code")),
        }
        notes.append(
            "agentplane's admission_receipt_ref is a receipt id without a file hash: "
            "CL-D1-02 matches the id against the admission receipt, and cannot bind its bytes"
        )
    else:
        notes.append(
            "no AttemptAdmissionReceipt given (--admission): the settlement's "
            "admission_receipt_ref cannot resolve in the pack (RCPT-ADMISSION-REF-UNRESOLVED), "
            "and whether the attempt was admitted cannot be shown"
        )
    if placed[CONTRACT]:
        notes.append("the GovernedRunContract is kept for review; no clause reads it in v0.1")
    else:
        notes.append(
            "no GovernedRunContract given (--contract): the run's pre-admission budget is not "
            "in the pack (no clause reads it in v0.1)"
        )
    if len(receipts) > 1:
        notes.append(
            f"{len(receipts)} settlement receipts, one RQ-D1-02 pointer each: CL-D1-02 "
            "(ruleset-1.3) passes only when every one of them holds, each against the one "
            "admission receipt given"
        )
    run_id = docs[receipts[0]].get("run_id")
    if not isinstance(run_id, str) or not run_id.strip():
        digest = hashlib.sha256(native[receipts[0]]).hexdigest()[:12]
        run_id = f"unnamed-{digest}"
        notes.append(f"the receipt names no run_id: the pack's run id is {run_id}")
    created_at = _earliest(stamps)
    if created_at is None:
        notes.append("no valid settled_at or issued_at: created_at is the epoch")
    return Derived(
        files=files,
        pointers=pointers,
        run_id=run_id,
        created_at=created_at or EPOCH,
        scenario_meta=scenario("settlement_expected"),
        claims=claims,
        evidence={},
        notes=notes,
        derived_from=derived_from,
    )


IMPORTERS: tuple[Importer, ...] = (
    Importer(
        system=SYSTEM,
        version=1,
        summary="agentplane's BudgetSettlementReceipt v0.1 (with its admission receipt and "
        "run contract), judged natively by CL-D1-02",
        collect=collect,
        derive=derive,
        options={
            "admission": "agentplane's AttemptAdmissionReceipt the settlement refers to (FILE)",
            "contract": "agentplane's GovernedRunContract of the run (FILE)",
        },
    ),
)
