"""A golden-vector case: how to build the pack, and what the ruling must be.

The expectation is written from the case (by the spec's rules applied to what the case
declares), never by running the engine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple, TypedDict

JSONObject = dict[str, Any]  # an open JSON object: an event, a receipt, a set of overrides
Artifact = bytes | JSONObject  # an extra pack file: its exact bytes, or a JSON document
PackEdit = Callable[[Path], None]  # a step run on the pack folder
Status = Literal["PASS", "FAIL", "NOT_EVALUATED"]
PointerStatus = Literal["PRESENT", "ABSENT", "NOT_EVALUATED"]

LOG = "trace/events.ndjson"
TRUST_POLICY = "trust.yaml"  # a vector's trust policy, beside its expected.json
KEYS = Path(__file__).resolve().parents[2] / "fixtures" / "keys"


def test_key(name: str, suffix: str = ".key") -> Path:
    """A committed key made for tests only (never trust it for anything else)."""
    return KEYS / f"TEST-ONLY-{name}{suffix}"


FILE = "file:"


class Clause(NamedTuple):
    """One clause's declared result, as expected.json lists it."""

    status: Status
    reason: str | None
    details: Sequence[str]
    locators: Sequence[str]
    metrics: Mapping[str, str | None] | None = None


class Outcome(NamedTuple):
    """A clause's status, reason and detail codes, where the case works out its locators."""

    status: Status
    reason: str | None = None
    details: Sequence[str] = ()


PASSED = Outcome("PASS")


class Gate(NamedTuple):
    """The admission gate a pack fails, and the detail codes it reports."""

    gate: str
    codes: list[str]


class _PointerFields(TypedDict):
    requirement_id: str
    artifact_path: str
    locator: str
    status: PointerStatus


class Pointer(_PointerFields, total=False):
    """One entry of evidence_pointers.json."""

    content_hash: str


class Limits(TypedDict, total=False):
    """The admission limits a vector is run with (``vlab regress`` applies them)."""

    max_files: int
    max_file_bytes: int
    max_pack_bytes: int
    max_line_bytes: int
    max_folders: int
    max_folder_depth: int
    max_pointers: int
    max_document_values: int


def ev(
    event_id: str, event_type: str, ts: str = "2026-05-29T10:00:00Z", **fields: Any
) -> JSONObject:
    return {"event_id": event_id, "event_type": event_type, "timestamp": ts, **fields}


BUDGET = ev(
    "evt-budget-001",
    "budget.decision",
    "2026-05-29T10:00:01Z",
    decision_id="dec-budget-1",
    decision_kind="budget",
    decision_outcome="ALLOW",
    target={"kind": "run", "id": "run-0001"},
)
AUTHZ = ev(
    "evt-authz-001",
    "authz.decision",
    "2026-05-29T10:00:02Z",
    decision_id="dec-authz-1",
    decision_kind="authz",
    decision_outcome="allow",
    subject="agent-coder",
    action="deploy",
    resource="env/staging",
)
TOOL = ev("evt-tool-001", "tool.call", "2026-05-29T10:00:03Z", tool="shell", action="deploy")
END = ev(
    "evt-end",
    "run_state_transition",
    "2026-05-29T10:00:04Z",
    from_state="running",
    to_state="completed",
)
START = ev("evt-start", "run.started", "2026-05-29T10:00:00Z")


def termination(kind: str, outcome: str, **fields: Any) -> JSONObject:
    """The ``evt-term`` termination decision."""
    return ev(
        "evt-term", "termination.decision", decision_kind=kind, decision_outcome=outcome, **fields
    )


def apply_changes(doc: JSONObject, changes: Mapping[str, Any]) -> JSONObject:
    """Set ``a__b__c``-style paths in a copy of ``doc``; the value ``...`` deletes the field."""
    doc = copy.deepcopy(doc)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for key in parents:
            target = target[key]
        if value is ...:
            target.pop(last, None)
        else:
            target[last] = value
    return doc


def override(doc: JSONObject, fields: Mapping[str, Any]) -> JSONObject:
    """A copy of ``doc`` with top-level fields set; the value None deletes a field."""
    out = dict(doc)
    for key, value in fields.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def base_events() -> list[JSONObject]:
    return copy.deepcopy([START, BUDGET, AUTHZ, TOOL, END])


def ptr(
    rq: str,
    locator: str,
    path: str = LOG,
    status: PointerStatus = "PRESENT",
    content_hash: str | None = None,
) -> Pointer:
    pointer: Pointer = {
        "requirement_id": rq,
        "artifact_path": path,
        "locator": locator,
        "status": status,
    }
    if content_hash is not None:
        pointer["content_hash"] = content_hash
    return pointer


def unprivileged_pointers() -> list[Pointer]:
    """The budget decision and the terminal transition, and no authorization decision."""
    return [ptr("RQ-D1-01", "event_id:evt-budget-001"), ptr("RQ-D2-01", "event_id:evt-end")]


def base_pointers() -> list[Pointer]:
    return [*unprivileged_pointers(), ptr("RQ-D3-01", "event_id:evt-authz-001")]


PASS_11: dict[str, Clause] = {
    "CL-D1-01": Clause("PASS", None, [], ["event_id:evt-budget-001"]),
    "CL-D2-01": Clause("PASS", None, [], ["event_id:evt-end"]),
    "CL-D3-01": Clause("PASS", None, [], ["event_id:evt-authz-001"]),
    "CL-D4-01": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D4-01", [], []),
}
PASS_12: dict[str, Clause] = {
    **PASS_11,
    "CL-D1-02": Clause("PASS", None, [], [FILE]),
    "CL-D1-03": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-03", [], []),
    "CL-D1-04": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-04", [], []),
    "CL-D5-01": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D5-01", [], []),
}
# A run with no privileged action and no settlement expected (scenario NO_FLAGS).
PASS_12_UNPRIVILEGED_UNSETTLED: dict[str, Clause] = {
    **PASS_12,
    "CL-D3-01": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D3-01", [], []),
    "CL-D1-02": Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-02", [], []),
}
NO_FLAGS: JSONObject = {"settlement_expected": False, "privileged_action": False}


@dataclass(frozen=True)
class Imported:
    """A pack made by ``vlab import`` from a real system's output (contract 1.2)."""

    system: str
    sources: Sequence[str]  # repository-relative paths of the real output
    options: Mapping[str, Any] = field(default_factory=dict)  # import_pack options
    # A step run on a scratch copy of the sources before importing (e.g. a crash's torn
    # tail); the copy keeps the sources' relative layout under its root.
    edit_source: PackEdit | None = None
    # The ruleset the import pins (default: the case's pinned one); an after_seal edit may
    # re-pin it, for a case about a ruleset `vlab import` refuses to pin.
    pin: str | None = None


# Under ruleset-1.3, an imported pack is judged on its own clause only: every other flag
# is false (importers.md §1), so the rest are not applicable.
IMPORTED_13: dict[str, Clause] = {
    cid: Clause("NOT_EVALUATED", f"EVAL-NOT-APPLICABLE-RQ-{cid[3:]}", [], [])
    for cid in (
        "CL-D1-01",
        "CL-D2-01",
        "CL-D3-01",
        "CL-D4-01",
        "CL-D1-02",
        "CL-D1-03",
        "CL-D1-04",
        "CL-D5-01",
    )
}


@dataclass(frozen=True)
class Archive:
    """The vector's pack as an archive, ``pack<ending>`` beside expected.json (no pack/
    folder): the pack folder the case builds, written by ``vlab.pack.archive`` with fixed
    times, owners and order, so its bytes are reproducible."""

    ending: str  # ".tar", ".tar.gz", ".tgz" or ".zip"
    top: str | None = None  # the one top-level folder the pack is under, if any
    dot: bool = False  # every name starts with ./ (what `tar -C pack .` writes)
    # A hostile archive: an edit of the entry list (vlab.pack.archive.Entry), then of the
    # archive's bytes (a truncation, a size that lies).
    entries: Callable[[list[Any]], list[Any]] | None = None
    raw: Callable[[bytes], bytes] | None = None


@dataclass
class Case:
    group: str
    name: str
    description: str
    ruleset: str | None = "ruleset-1.1"
    pinned: str = "ruleset-1.1"
    shadow: bool = False
    events: list[JSONObject] | None = None  # default: base_events()
    events_bytes: bytes | None = None  # raw event log instead of events
    pointers: list[Pointer] | None = None  # default: base_pointers()
    scenario: JSONObject | None = None  # bundle scenario_meta (open: any keys)
    manifest: JSONObject = field(default_factory=dict)  # overrides of manifest.json fields
    bundle: JSONObject = field(default_factory=dict)  # overrides of bundle.manifest.json fields
    files: Mapping[str, Artifact] = field(default_factory=dict)  # extra artifacts
    produce: PackEdit | None = None  # writes artifacts with the producer library
    before_seal: PackEdit | None = None
    after_seal: PackEdit | None = None
    limits: Limits = field(default_factory=Limits)
    clauses: Mapping[str, Clause] = field(default_factory=dict)  # overrides of the base
    base: Mapping[str, Clause] | None = None  # default: PASS_11
    gate: Gate | None = None  # the pack is not admissible
    imported: Imported | None = None  # made by vlab import (events/pointers/files unused)
    # Signed packs (issue 16): the fixtures/keys/TEST-ONLY-<name>.key keys that sign the
    # sealed pack (before after_seal runs), and the keys of the trust policy the vector is
    # judged under (None: judged without --trust).
    signers: Sequence[str] = ()
    trusted: Sequence[str] | None = None
    require: int = 1
    archive: Archive | None = None  # the pack is committed as this archive (issue 17)

    @property
    def vector_id(self) -> str:
        return f"{self.group}/{self.name}"


@dataclass(frozen=True)
class FileClause:
    """A ruleset-1.2 clause that reads one artifact through a ``file:`` pointer and applies
    when a scenario flag is set; the other clauses keep PASS_12_UNPRIVILEGED_UNSETTLED."""

    clause: str
    flag: str
    evidence: str

    def case(
        self,
        name: str,
        description: str,
        outcome: Outcome = PASSED,
        *,
        produce: PackEdit | None = None,
        files: Mapping[str, Artifact] | None = None,
        scenario: JSONObject | None = None,
        pointers: list[Pointer] | None = None,
        metrics: Mapping[str, str | None] | None = None,
    ) -> Case:
        status, reason, details = outcome
        located = status != "NOT_EVALUATED" and "POINTER-MISSING" not in str(reason)
        requirement = self.clause.replace("CL-", "RQ-")
        return Case(
            "r12-" + self.clause[3:].lower(),
            name,
            description,
            ruleset="ruleset-1.2",
            pinned="ruleset-1.2",
            base=PASS_12_UNPRIVILEGED_UNSETTLED,
            produce=produce,
            files=files if files is not None else {},
            scenario=scenario if scenario is not None else {self.flag: True, **NO_FLAGS},
            pointers=pointers
            if pointers is not None
            else [*unprivileged_pointers(), ptr(requirement, FILE, self.evidence)],
            clauses={
                self.clause: Clause(status, reason, details, [FILE] if located else [], metrics)
            },
            bundle={"run_id": "run-0001"},
        )

    def produced(
        self,
        name: str,
        description: str,
        produce: PackEdit,
        outcome: Outcome = PASSED,
        *,
        scenario: JSONObject | None = None,
        pointers: list[Pointer] | None = None,
    ) -> Case:
        """A case whose artifacts ``produce`` writes."""
        return self.case(
            name, description, outcome, produce=produce, scenario=scenario, pointers=pointers
        )


def imported_case(
    group: str,
    name: str,
    description: str,
    imported: Imported,
    clauses: Mapping[str, Clause],
    *,
    after_seal: PackEdit | None = None,
    gate: Gate | None = None,
    ruleset: str = "ruleset-1.3",
) -> Case:
    """A vector made by ``vlab import``; clauses not named are not applicable."""
    return Case(
        group,
        name,
        description,
        ruleset=ruleset,
        pinned=ruleset,
        imported=imported,
        base=IMPORTED_13,
        clauses=clauses,
        after_seal=after_seal,
        gate=gate,
    )


def expectation(case: Case, clause_ids: list[str]) -> JSONObject:
    """expected.json from the case: the spec's topline rule over declared clause results."""
    exp: JSONObject = {"description": case.description, "ruleset": case.ruleset}
    if case.shadow:
        exp["shadow"] = True
    if case.limits:
        exp["limits"] = case.limits
    if case.trusted is not None:
        exp["trust"] = TRUST_POLICY
    if case.gate is not None:
        gate, codes = case.gate
        reason = gate + "-FAIL"
        refused = {
            cid: {
                "status": "NOT_ADMISSIBLE",
                "reason_code": reason,
                "detail_codes": [],
                "evidence_locators": [],
            }
            for cid in (clause_ids if case.ruleset else [])
        }
        exp.update(
            topline="NOT_ADMISSIBLE",
            exit_code=2,
            admission={"status": "NOT_ADMISSIBLE", "reason_code": reason, "detail_codes": codes},
            clauses=refused,
        )
        return exp
    declared = {**(case.base if case.base is not None else PASS_11), **case.clauses}
    clauses: dict[str, JSONObject] = {}
    for cid in clause_ids:
        result = declared[cid]
        clauses[cid] = {
            "status": result.status,
            "reason_code": result.reason,
            "detail_codes": list(result.details),
            "evidence_locators": list(result.locators),
        }
        if result.metrics is not None:
            clauses[cid]["metrics"] = result.metrics
    statuses = {c["status"] for c in clauses.values()}
    topline = "FAIL" if "FAIL" in statuses else "PASS" if "PASS" in statuses else "NOT_EVALUATED"
    exp.update(
        topline=topline,
        exit_code={"PASS": 0, "FAIL": 1, "NOT_EVALUATED": 3}[topline],
        admission={"status": "ADMISSIBLE", "reason_code": None, "detail_codes": []},
        clauses=clauses,
    )
    return exp
