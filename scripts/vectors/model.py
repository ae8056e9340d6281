"""A golden-vector case: how to build the pack, and what the ruling must be.

The expectation is written from the case (by the spec's rules applied to what the case
declares), never by running the engine.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# status, reason, detail codes, evidence locators[, metrics]
Clause = tuple[Any, ...]

LOG = "trace/events.ndjson"


def ev(event_id: str, event_type: str, ts: str = "2026-05-29T10:00:00Z", **fields: Any) -> dict:
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


def apply_changes(doc: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
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


def base_events() -> list[dict]:
    return copy.deepcopy([START, BUDGET, AUTHZ, TOOL, END])


def ptr(rq: str, locator: str, path: str = LOG, status: str = "PRESENT", **extra: Any) -> dict:
    return {
        "requirement_id": rq,
        "artifact_path": path,
        "locator": locator,
        "status": status,
        **extra,
    }


def base_pointers() -> list[dict]:
    return [
        ptr("RQ-D1-01", "event_id:evt-budget-001"),
        ptr("RQ-D2-01", "event_id:evt-end"),
        ptr("RQ-D3-01", "event_id:evt-authz-001"),
    ]


PASS_11: dict[str, Clause] = {
    "CL-D1-01": ("PASS", None, [], ["event_id:evt-budget-001"]),
    "CL-D2-01": ("PASS", None, [], ["event_id:evt-end"]),
    "CL-D3-01": ("PASS", None, [], ["event_id:evt-authz-001"]),
    "CL-D4-01": ("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D4-01", [], []),
}


@dataclass
class Case:
    group: str
    name: str
    description: str
    ruleset: str | None = "ruleset-1.1"
    pinned: str = "ruleset-1.1"
    shadow: bool = False
    events: list[dict] | None = None  # default: base_events()
    events_bytes: bytes | None = None  # raw event log instead of events
    pointers: list[dict] | None = None  # default: base_pointers()
    scenario: dict | None = None
    manifest: dict = field(default_factory=dict)  # overrides of manifest.json fields
    bundle: dict = field(default_factory=dict)  # overrides of bundle.manifest.json fields
    files: dict[str, Any] = field(default_factory=dict)  # extra artifacts (bytes or JSON)
    produce: Callable[[Path], None] | None = None  # writes artifacts with the producer library
    before_seal: Callable[[Path], None] | None = None
    after_seal: Callable[[Path], None] | None = None
    limits: dict = field(default_factory=dict)
    clauses: dict[str, Clause] = field(default_factory=dict)  # overrides of the base
    base: dict[str, Clause] | None = None  # default: PASS_11
    gate: tuple[str, list[str]] | None = None  # failed gate and its detail codes

    @property
    def vector_id(self) -> str:
        return f"{self.group}/{self.name}"


def expectation(case: Case, clause_ids: list[str]) -> dict[str, Any]:
    """expected.json from the case: the spec's topline rule over declared clause results."""
    exp: dict[str, Any] = {"description": case.description, "ruleset": case.ruleset}
    if case.shadow:
        exp["shadow"] = True
    if case.limits:
        exp["limits"] = case.limits
    if case.gate is not None:
        gate, codes = case.gate
        reason = gate + "-FAIL"
        clauses = {
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
            clauses=clauses,
        )
        return exp
    declared = {**(case.base if case.base is not None else PASS_11), **case.clauses}
    clauses = {}
    for cid in clause_ids:
        status, reason, details, locators, *metrics = declared[cid]
        clauses[cid] = {
            "status": status,
            "reason_code": reason,
            "detail_codes": list(details),
            "evidence_locators": list(locators),
        }
        if metrics:
            clauses[cid]["metrics"] = metrics[0]
    statuses = {c["status"] for c in clauses.values()}
    topline = "FAIL" if "FAIL" in statuses else "PASS" if "PASS" in statuses else "NOT_EVALUATED"
    exp.update(
        topline=topline,
        exit_code={"PASS": 0, "FAIL": 1, "NOT_EVALUATED": 3}[topline],
        admission={"status": "ADMISSIBLE", "reason_code": None, "detail_codes": []},
        clauses=clauses,
    )
    return exp
