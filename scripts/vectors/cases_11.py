"""ruleset-1.1 golden vectors: every clause in every status, every gate, every locator."""

from __future__ import annotations

import hashlib
from typing import Any

from scripts.vectors.edits import append_to, delete, sums_edit, symlink, write
from scripts.vectors.model import (
    BUDGET,
    END,
    LOG,
    START,
    TOOL,
    Case,
    Clause,
    Gate,
    JSONObject,
    Pointer,
    base_events,
    base_pointers,
    ev,
    override,
    ptr,
    termination,
)
from vlab.producer.packwriter import dumps

SEC, PIN, INT, CON = (
    "ADM-GATE-SECURITY",
    "ADM-GATE-PIN",
    "ADM-GATE-INTEGRITY",
    "ADM-GATE-CONTRACT",
)


def events_with(event_id: str, **fields: Any) -> list[JSONObject]:
    """Base events with fields of one record replaced (None deletes a field)."""
    return [override(r, fields) if r["event_id"] == event_id else r for r in base_events()]


def pointers_with(rq: str, *replacement: Pointer) -> list[Pointer]:
    """Base pointers with the pointers of one requirement replaced."""
    kept = [p for p in base_pointers() if p["requirement_id"] != rq]
    return kept + list(replacement)


def line_hash(record_bytes: bytes) -> str:
    return "sha256:" + hashlib.sha256(record_bytes).hexdigest()


D1, D2, D3, D4 = "CL-D1-01", "CL-D2-01", "CL-D3-01", "CL-D4-01"
BUDGET_PTR = "event_id:evt-budget-001"

CASES: list[Case] = [
    # -- starter fixtures from the ERC ----------------------------------------------------
    Case(
        "starter",
        "arb-d1-budget-pass-fixture",
        "ERC D1 §5.1: one explicit budget decision record; RQ-D1-01 has a PRESENT pointer",
        bundle={"run_id": "arb-d1-budget-pass-fixture-v0.3"},
        scenario={"domain": "D1", "privileged_action": False},
        events=[START, BUDGET, END],
        pointers=[ptr("RQ-D1-01", BUDGET_PTR), ptr("RQ-D2-01", "event_id:evt-end")],
        clauses={D3: Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D3-01", [], [])},
    ),
    Case(
        "starter",
        "arb-d1-budget-fail-fixture",
        "ERC D1 §5.2: no budget decision record — the RQ-D1-01 pointer finds a tool call",
        bundle={"run_id": "arb-d1-budget-fail-fixture-v0.3"},
        scenario={"domain": "D1", "privileged_action": False},
        events=[START, TOOL, END],
        pointers=[ptr("RQ-D1-01", "event_id:evt-tool-001"), ptr("RQ-D2-01", "event_id:evt-end")],
        clauses={
            D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["FIELD-MISSING"], ["event_id:evt-tool-001"]),
            D3: Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D3-01", [], []),
        },
    ),
    # -- CL-D1-01 -------------------------------------------------------------------------
    Case("d1-01", "pass-event-id", "budget decision found by event_id; every 1.1 clause holds"),
    Case(
        "d1-01",
        "pass-line-locator",
        "budget decision found by line:2",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:2")),
        clauses={D1: Clause("PASS", None, [], ["line:2"])},
    ),
    Case(
        "d1-01",
        "pass-synonym-rate-limit",
        "decision_kind 'Rate-Limit' normalizes to rate_limit",
        events=events_with("evt-budget-001", decision_kind="Rate-Limit"),
    ),
    Case(
        "d1-01",
        "pass-synonym-whitespace-runs",
        "decision_kind ' Resource _- Budget ' normalizes to resource_budget",
        events=events_with("evt-budget-001", decision_kind=" Resource _- Budget "),
    ),
    Case(
        "d1-01",
        "pass-kind-quota-outcome-free-text",
        "decision_kind QUOTA; 1.1 accepts any non-empty outcome string",
        events=events_with("evt-budget-001", decision_kind="QUOTA", decision_outcome="maybe later"),
    ),
    Case(
        "d1-01",
        "fail-kind-not-budget",
        "decision_kind 'authz' is not a budget kind",
        events=events_with("evt-budget-001", decision_kind="authz"),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["VALUE-NOT-ALLOWED"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "fail-kind-missing",
        "the pointed record has no decision_kind",
        events=events_with("evt-budget-001", decision_kind=None),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["FIELD-MISSING"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "fail-outcome-missing",
        "the pointed record has no decision_outcome",
        events=events_with("evt-budget-001", decision_outcome=None),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["FIELD-MISSING"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "fail-outcome-blank",
        "decision_outcome is a blank string",
        events=events_with("evt-budget-001", decision_outcome="  "),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["FIELD-MISSING"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "fail-outcome-not-a-string",
        "decision_outcome is a number, not a non-empty string",
        events=events_with("evt-budget-001", decision_outcome=1),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["VALUE-NOT-ALLOWED"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "fail-pointer-missing",
        "no pointer for RQ-D1-01",
        pointers=pointers_with("RQ-D1-01"),
        clauses={D1: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D1-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d1-01",
        "fail-pointer-status-absent",
        "the only RQ-D1-01 pointer is ABSENT",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", BUDGET_PTR, status="ABSENT")),
        clauses={D1: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D1-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d1-01",
        "fail-pointer-status-not-evaluated",
        "a NOT_EVALUATED pointer does not let CL-D1-01 be NOT_EVALUATED",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", BUDGET_PTR, status="NOT_EVALUATED")),
        clauses={D1: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D1-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d1-01",
        "fail-unresolvable-event-id",
        "event_id names no record",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "event_id:evt-nope")),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "fail-unresolvable-line-past-end",
        "line:99 is past the end of the log",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:99")),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "fail-unresolvable-blank-line",
        "line:2 is a blank line",
        events_bytes=(
            b'{"event_id":"evt-start","event_type":"run.started"}\n\n'
            b'{"event_id":"evt-end","event_type":"run_state_transition","to_state":"completed"}\n'
            b'{"event_id":"evt-authz-001","event_type":"authz.decision",'
            b'"decision_kind":"authz","decision_outcome":"allow"}\n'
        ),
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:2")),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "fail-unresolvable-artifact-not-in-pack",
        "the pointer names trace/other.ndjson, which the pack lacks",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", BUDGET_PTR, "trace/other.ndjson")),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "fail-content-hash-mismatch",
        "content_hash does not match the line bytes; the pointer resolved, so it is a ref",
        pointers=pointers_with(
            "RQ-D1-01", ptr("RQ-D1-01", BUDGET_PTR, content_hash="sha256:" + "0" * 64)
        ),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-HASH-MISMATCH"], [BUDGET_PTR])},
    ),
    Case(
        "d1-01",
        "pass-content-hash-match",
        "content_hash equals sha256 of the exact line bytes",
        pointers=pointers_with(
            "RQ-D1-01",
            ptr(
                "RQ-D1-01",
                BUDGET_PTR,
                content_hash=line_hash(dumps(BUDGET)),
            ),
        ),
    ),
    Case(
        "d1-01",
        "pass-second-of-two-pointers",
        "the first pointer finds a tool call, the second the decision: PASS, one ref",
        pointers=pointers_with(
            "RQ-D1-01", ptr("RQ-D1-01", "event_id:evt-tool-001"), ptr("RQ-D1-01", BUDGET_PTR)
        ),
    ),
    Case(
        "d1-01",
        "fail-two-pointers-neither-holds",
        "two pointers, neither a budget decision: one detail each, both refs",
        pointers=pointers_with(
            "RQ-D1-01",
            ptr("RQ-D1-01", "event_id:evt-tool-001"),
            ptr("RQ-D1-01", "event_id:evt-authz-001"),
        ),
        clauses={
            D1: Clause(
                "FAIL",
                "REQ-FAIL-RQ-D1-01",
                ["FIELD-MISSING", "VALUE-NOT-ALLOWED"],
                ["event_id:evt-tool-001", "event_id:evt-authz-001"],
            )
        },
    ),
    Case(
        "d1-01",
        "fail-file-locator-not-allowed",
        "CL-D1-01 takes record locators; file: is refused",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "file:")),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-LOCATOR-NOT-ALLOWED"], [])},
    ),
    Case(
        "d1-01",
        "pass-jsonptr-into-json-artifact",
        "jsonptr:/decisions/1 into a JSON artifact holding decision records",
        files={
            "artifacts/decisions.json": {
                "decisions": [
                    {"decision_kind": "authz", "decision_outcome": "allow"},
                    {"decision_kind": "throttle", "decision_outcome": "THROTTLE"},
                ]
            }
        },
        pointers=pointers_with(
            "RQ-D1-01", ptr("RQ-D1-01", "jsonptr:/decisions/1", "artifacts/decisions.json")
        ),
        clauses={D1: Clause("PASS", None, [], ["jsonptr:/decisions/1"])},
    ),
    Case(
        "d1-01",
        "fail-jsonptr-member-missing",
        "jsonptr:/decisions/5 is past the end of the array",
        files={"artifacts/decisions.json": {"decisions": []}},
        pointers=pointers_with(
            "RQ-D1-01", ptr("RQ-D1-01", "jsonptr:/decisions/5", "artifacts/decisions.json")
        ),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "fail-event-id-ambiguous-outside-event-log",
        "artifacts/ NDJSON need not have unique event_ids; two matches are unresolvable",
        files={
            "artifacts/decisions.ndjson": b'{"event_id":"d","decision_kind":"budget",'
            b'"decision_outcome":"allow"}\n{"event_id":"d","decision_kind":"budget",'
            b'"decision_outcome":"deny"}\n'
        },
        pointers=pointers_with(
            "RQ-D1-01", ptr("RQ-D1-01", "event_id:d", "artifacts/decisions.ndjson")
        ),
        clauses={D1: Clause("FAIL", "REQ-FAIL-RQ-D1-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d1-01",
        "pass-line-locator-into-jsonl-artifact",
        "line:1 into a .jsonl artifact outside trace/ (no event_id needed there)",
        files={
            "artifacts/decisions.jsonl": b'{"decision_kind":"suspend","decision_outcome":"x"}\n'
        },
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:1", "artifacts/decisions.jsonl")),
        clauses={D1: Clause("PASS", None, [], ["line:1"])},
    ),
    Case(
        "d1-01",
        "pass-pointer-for-unknown-requirement-ignored",
        "a pointer for RQ-D9-99 (not in the ruleset) is ignored",
        pointers=[*pointers_with("RQ-D9-99"), ptr("RQ-D9-99", "event_id:evt-nope")],
    ),
    # -- CL-D2-01 -------------------------------------------------------------------------
    Case(
        "d2-01",
        "pass-snapshot-state-is-terminal",
        "jsonptr: (whole document) into a snapshot whose state.is_terminal is true",
        files={"snapshots/final.json": {"state": {"name": "done", "is_terminal": True}}},
        pointers=pointers_with("RQ-D2-01", ptr("RQ-D2-01", "jsonptr:", "snapshots/final.json")),
        clauses={D2: Clause("PASS", None, [], ["jsonptr:"])},
    ),
    Case(
        "d2-01",
        "pass-snapshot-is-terminal-member",
        "jsonptr:/snapshot into an object with is_terminal true",
        files={"snapshots/s-9.json": {"snapshot": {"is_terminal": True, "state": "halted"}}},
        pointers=pointers_with(
            "RQ-D2-01", ptr("RQ-D2-01", "jsonptr:/snapshot", "snapshots/s-9.json")
        ),
        clauses={D2: Clause("PASS", None, [], ["jsonptr:/snapshot"])},
    ),
    Case(
        "d2-01",
        "pass-to-state-synonym",
        "to_state 'Canceled' is terminal",
        events=events_with("evt-end", to_state="Canceled"),
    ),
    Case(
        "d2-01",
        "fail-to-state-not-terminal",
        "to_state 'running' is not terminal",
        events=events_with("evt-end", to_state="running"),
        clauses={
            D2: Clause("FAIL", "REQ-FAIL-RQ-D2-01", ["VALUE-NOT-ALLOWED"], ["event_id:evt-end"])
        },
    ),
    Case(
        "d2-01",
        "fail-no-state-fields",
        "the pointed record has neither to_state nor is_terminal",
        pointers=pointers_with("RQ-D2-01", ptr("RQ-D2-01", "event_id:evt-start")),
        clauses={
            D2: Clause("FAIL", "REQ-FAIL-RQ-D2-01", ["FIELD-MISSING"], ["event_id:evt-start"])
        },
    ),
    Case(
        "d2-01",
        "fail-snapshot-not-terminal",
        "the snapshot says is_terminal false",
        files={"snapshots/final.json": {"state": {"is_terminal": False}}},
        pointers=pointers_with("RQ-D2-01", ptr("RQ-D2-01", "jsonptr:", "snapshots/final.json")),
        clauses={D2: Clause("FAIL", "REQ-FAIL-RQ-D2-01", ["VALUE-NOT-ALLOWED"], ["jsonptr:"])},
    ),
    Case(
        "d2-01",
        "fail-pointer-missing",
        "no RQ-D2-01 pointer and no partial execution",
        pointers=pointers_with("RQ-D2-01"),
        clauses={D2: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D2-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d2-01",
        "fail-unresolvable",
        "RQ-D2-01 pointer names no record (not partial execution)",
        pointers=pointers_with("RQ-D2-01", ptr("RQ-D2-01", "event_id:evt-gone")),
        clauses={D2: Clause("FAIL", "REQ-FAIL-RQ-D2-01", ["POINTER-UNRESOLVABLE"], [])},
    ),
    Case(
        "d2-01",
        "not-evaluated-partial-no-pointer",
        "partial execution and no terminal evidence: NOT_EVALUATED, evidence absent",
        scenario={"partial_execution": True},
        pointers=pointers_with("RQ-D2-01"),
        clauses={D2: Clause("NOT_EVALUATED", "EVAL-EVIDENCE-ABSENT-RQ-D2-01", [], [])},
    ),
    Case(
        "d2-01",
        "not-evaluated-partial-non-terminal",
        "partial execution and the pointed transition is not terminal",
        scenario={"partial_execution": True},
        events=events_with("evt-end", to_state="paused"),
        clauses={
            D2: Clause(
                "NOT_EVALUATED",
                "EVAL-EVIDENCE-ABSENT-RQ-D2-01",
                ["VALUE-NOT-ALLOWED"],
                ["event_id:evt-end"],
            )
        },
    ),
    Case(
        "d2-01",
        "not-evaluated-partial-unresolvable",
        "partial execution and the pointer resolves to nothing",
        scenario={"partial_execution": True},
        pointers=pointers_with("RQ-D2-01", ptr("RQ-D2-01", "line:42")),
        clauses={
            D2: Clause(
                "NOT_EVALUATED", "EVAL-EVIDENCE-ABSENT-RQ-D2-01", ["POINTER-UNRESOLVABLE"], []
            )
        },
    ),
    Case(
        "d2-01",
        "pass-partial-with-terminal-evidence",
        "partial execution does not matter when terminal evidence is found",
        scenario={"partial_execution": True},
    ),
    Case(
        "d2-01",
        "fail-partial-execution-false",
        "partial_execution explicitly false: missing evidence is FAIL",
        scenario={"partial_execution": False},
        pointers=pointers_with("RQ-D2-01"),
        clauses={D2: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D2-01", ["POINTER-MISSING"], [])},
    ),
    # -- CL-D3-01 -------------------------------------------------------------------------
    Case(
        "d3-01",
        "pass-synonyms",
        "decision_kind 'Access-Control', outcome 'PERMITTED'",
        events=events_with(
            "evt-authz-001", decision_kind="Access-Control", decision_outcome="PERMITTED"
        ),
    ),
    Case(
        "d3-01",
        "pass-deny-is-a-decision",
        "a deny is still a recorded authorization decision",
        events=events_with("evt-authz-001", decision_outcome="Denied"),
    ),
    Case(
        "d3-01",
        "fail-kind-not-authz",
        "the pointed record is a budget decision",
        pointers=pointers_with("RQ-D3-01", ptr("RQ-D3-01", BUDGET_PTR)),
        clauses={D3: Clause("FAIL", "REQ-FAIL-RQ-D3-01", ["VALUE-NOT-ALLOWED"], [BUDGET_PTR])},
    ),
    Case(
        "d3-01",
        "fail-outcome-not-authz",
        "decision_outcome 'maybe' is not an authorization outcome",
        events=events_with("evt-authz-001", decision_outcome="maybe"),
        clauses={
            D3: Clause(
                "FAIL", "REQ-FAIL-RQ-D3-01", ["VALUE-NOT-ALLOWED"], ["event_id:evt-authz-001"]
            )
        },
    ),
    Case(
        "d3-01",
        "fail-outcome-missing",
        "the authorization record has no outcome",
        events=events_with("evt-authz-001", decision_outcome=None),
        clauses={
            D3: Clause("FAIL", "REQ-FAIL-RQ-D3-01", ["FIELD-MISSING"], ["event_id:evt-authz-001"])
        },
    ),
    Case(
        "d3-01",
        "fail-pointer-missing-privileged-by-default",
        "privileged_action absent means privileged: no pointer is FAIL",
        pointers=pointers_with("RQ-D3-01"),
        clauses={D3: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D3-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d3-01",
        "not-evaluated-not-privileged",
        "privileged_action false: not applicable, even with no pointer",
        scenario={"privileged_action": False},
        pointers=pointers_with("RQ-D3-01"),
        clauses={D3: Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D3-01", [], [])},
    ),
    Case(
        "d3-01",
        "pass-privileged-explicit",
        "privileged_action true",
        scenario={"privileged_action": True},
    ),
    # -- CL-D4-01 -------------------------------------------------------------------------
    Case(
        "d4-01",
        "pass-termination-decision",
        "termination case with a terminate/terminated decision",
        scenario={"termination_case": True},
        events=[
            *base_events()[:4],
            termination("terminate", "terminated", reason="operator stop"),
            END,
        ],
        pointers=[*pointers_with("RQ-D4-01"), ptr("RQ-D4-01", "event_id:evt-term")],
        clauses={D4: Clause("PASS", None, [], ["event_id:evt-term"])},
    ),
    Case(
        "d4-01",
        "pass-synonyms",
        "decision_kind 'Kill', outcome 'KILLED' (line: locator)",
        scenario={"termination_case": True},
        events=[
            *base_events(),
            ev("evt-kill", "x", decision_kind="Kill", decision_outcome="KILLED"),
        ],
        pointers=[*pointers_with("RQ-D4-01"), ptr("RQ-D4-01", "line:6")],
        clauses={D4: Clause("PASS", None, [], ["line:6"])},
    ),
    Case(
        "d4-01",
        "fail-kind-not-terminate",
        "termination case but the pointed record is an authorization decision",
        scenario={"termination_case": True},
        pointers=[*pointers_with("RQ-D4-01"), ptr("RQ-D4-01", "event_id:evt-authz-001")],
        clauses={
            D4: Clause(
                "FAIL", "REQ-FAIL-RQ-D4-01", ["VALUE-NOT-ALLOWED"], ["event_id:evt-authz-001"]
            )
        },
    ),
    Case(
        "d4-01",
        "fail-outcome-not-terminate",
        "terminate decision with outcome 'continue'",
        scenario={"termination_case": True},
        events=[
            *base_events(),
            ev("evt-t", "x", decision_kind="stop", decision_outcome="continue"),
        ],
        pointers=[*pointers_with("RQ-D4-01"), ptr("RQ-D4-01", "event_id:evt-t")],
        clauses={
            D4: Clause("FAIL", "REQ-FAIL-RQ-D4-01", ["VALUE-NOT-ALLOWED"], ["event_id:evt-t"])
        },
    ),
    Case(
        "d4-01",
        "fail-pointer-missing",
        "termination case with no RQ-D4-01 pointer",
        scenario={"termination_case": True},
        clauses={D4: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D4-01", ["POINTER-MISSING"], [])},
    ),
    Case(
        "d4-01",
        "not-evaluated-explicit-false",
        "termination_case false: not applicable even with a pointer",
        scenario={"termination_case": False},
        pointers=[*pointers_with("RQ-D4-01"), ptr("RQ-D4-01", "event_id:evt-authz-001")],
    ),
    # -- formats, contract versions, pins -----------------------------------------------------
    Case(
        "format",
        "crlf-line-endings",
        "CRLF event log: \\r is not part of the line; line: counts physical lines",
        events_bytes=b"".join(dumps(r) + b"\r\n" for r in base_events()),
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:2")),
        clauses={D1: Clause("PASS", None, [], ["line:2"])},
    ),
    Case(
        "format",
        "blank-lines-counted",
        "blank lines count: the decision is on physical line 4",
        events_bytes=b"".join(
            [
                b'{"event_id":"evt-start","event_type":"run.started"}\n',
                b"\n",
                b"   \n",
                b'{"event_id":"evt-budget-001","decision_kind":"budget",'
                b'"decision_outcome":"allow"}\n',
                b'{"event_id":"evt-authz-001","decision_kind":"authz","decision_outcome":"allow"}\n',
                b'{"event_id":"evt-end","event_type":"run_state_transition","to_state":"failed"}',
            ]
        ),
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:4")),
        clauses={D1: Clause("PASS", None, [], ["line:4"])},
    ),
    Case(
        "format",
        "pretty-spacing-and-unicode",
        "records written with ': ' and ', ' spacing and non-ASCII text still parse strictly",
        events_bytes=(
            '{"event_id": "evt-start", "event_type": "run.started", "note": "débùt ✓"}\n'
            '{"event_id": "evt-budget-001", "decision_kind": "Budget", '
            '"decision_outcome": "ALLOW", "cost": 0.25}\n'
            '{"event_id": "evt-authz-001", "decision_kind": "authz", "decision_outcome": "allow"}\n'
            '{"event_id": "evt-end", "to_state": "success", "escaped": "a\\"b\\\\c\\u00e9"}\n'
        ).encode(),
    ),
    Case(
        "format",
        "contract-1.0-substrate-ignored",
        "contract 1.0 pack: a substrate object is ignored",
        manifest={"contract_version": "1.0", "substrate": {"nonsense": 1}},
    ),
    Case(
        "format",
        "contract-1.1-substrate-declared",
        "contract 1.1 with a declared substrate: informational only",
        manifest={"substrate": {"type": "langgraph", "version": "0.2"}},
    ),
    Case(
        "format",
        "protocol-pin-short-form",
        "protocol_pin '1.0' is accepted by ruleset-1.1",
        bundle={"protocol_pin": "1.0"},
    ),
    Case(
        "format",
        "shadow-run-same-ruleset",
        "--ruleset ruleset-1.1 on a ruleset-1.1 pack: a shadow run, same verdicts",
        shadow=True,
    ),
    Case(
        "format",
        "unknown-scenario-keys-ignored",
        "scenario_meta is open: unknown keys are ignored",
        scenario={"domain": "D1", "team": "payments", "nested": {"a": [1, 2]}},
    ),
    # -- SECURITY -------------------------------------------------------------------------
    Case(
        "admission",
        "security-symlink",
        "a symbolic link inside the pack",
        after_seal=symlink("artifacts/link.json", "../manifest.json"),
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-SYMLINK"]),
    ),
    Case(
        "admission",
        "security-disallowed-ending",
        "a .sh file inside the pack",
        after_seal=write("artifacts/run.sh", b"echo hi\n"),
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-DISALLOWED-ENDING"]),
    ),
    Case(
        "admission",
        "security-unsafe-name",
        "a file name with a backslash",
        after_seal=write("artifacts/a\\b.json", b"{}\n"),
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-UNSAFE-PATH"]),
    ),
    Case(
        "admission",
        "security-line-too-long",
        "an NDJSON line longer than --max-line-bytes 300",
        files={"artifacts/big.ndjson": b'{"pad":"' + b"x" * 400 + b'"}\n'},
        limits={"max_line_bytes": 300},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-LINE-TOO-LONG"]),
    ),
    Case(
        "admission",
        "security-too-many-files",
        "more files than --max-files 4",
        limits={"max_files": 4},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-TOO-MANY-FILES"]),
    ),
    Case(
        "admission",
        "security-file-too-large",
        "a file larger than --max-file-bytes",
        files={"artifacts/big.txt": b"x" * 5000},
        limits={"max_file_bytes": 4096},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-FILE-TOO-LARGE"]),
    ),
    Case(
        "admission",
        "security-pack-too-large",
        "files adding up to more than --max-pack-bytes",
        limits={"max_pack_bytes": 1000},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-PACK-TOO-LARGE"]),
    ),
    Case(
        "admission",
        "security-too-many-folders",
        "more folders than the folder bound 1 (trace/ and integrity/)",
        limits={"max_folders": 1},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-TOO-MANY-FOLDERS"]),
    ),
    Case(
        "admission",
        "security-too-deep",
        "folders nested deeper than the folder-depth bound 2",
        files={"artifacts/a/b/c.json": b"{}\n"},
        limits={"max_folder_depth": 2},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-TOO-DEEP"]),
    ),
    Case(
        "admission",
        "security-too-many-entries",
        "a folder with more entries than files plus folders allowed (2 + 1)",
        limits={"max_files": 2, "max_folders": 1},
        ruleset=None,
        gate=Gate(SEC, ["SECURITY-TOO-MANY-ENTRIES"]),
    ),
    # -- PIN ------------------------------------------------------------------------------
    Case(
        "admission",
        "pin-bundle-missing",
        "no bundle.manifest.json",
        before_seal=delete("bundle.manifest.json"),
        ruleset=None,
        gate=Gate(PIN, ["PIN-BUNDLE-MISSING"]),
    ),
    Case(
        "admission",
        "pin-bundle-not-json",
        "bundle.manifest.json is not JSON",
        before_seal=write("bundle.manifest.json", b"ruleset_ref: ruleset-1.1\n"),
        ruleset=None,
        gate=Gate(PIN, ["PIN-BUNDLE-INVALID"]),
    ),
    Case(
        "admission",
        "pin-ruleset-ref-missing",
        "bundle.manifest.json has no ruleset_ref",
        bundle={"ruleset_ref": None},
        ruleset=None,
        gate=Gate(PIN, ["PIN-MISSING"]),
    ),
    Case(
        "admission",
        "pin-protocol-placeholder",
        "protocol_pin is 'TBD'",
        bundle={"protocol_pin": "TBD"},
        gate=Gate(PIN, ["PIN-PLACEHOLDER"]),
    ),
    Case(
        "admission",
        "pin-schema-bundle-placeholder",
        "schema_bundle_sha256 is '<placeholder-digest>'",
        bundle={"schema_bundle_sha256": "<placeholder-digest>"},
        gate=Gate(PIN, ["PIN-PLACEHOLDER"]),
    ),
    Case(
        "admission",
        "pin-unknown-ruleset",
        "ruleset_ref names a ruleset the engine does not have (not a usage error)",
        bundle={"ruleset_ref": "ruleset-9.9"},
        ruleset=None,
        gate=Gate(PIN, ["PIN-UNKNOWN-RULESET"]),
    ),
    Case(
        "admission",
        "pin-protocol-not-accepted",
        "protocol_pin 2.0.0 is not accepted by ruleset-1.1",
        bundle={"protocol_pin": "2.0.0"},
        gate=Gate(PIN, ["PIN-PROTOCOL-NOT-ACCEPTED"]),
    ),
    Case(
        "admission",
        "pin-schema-bundle-mismatch",
        "schema_bundle_sha256 pins some other bundle",
        bundle={"schema_bundle_sha256": "ab" * 32},
        gate=Gate(PIN, ["PIN-SCHEMA-BUNDLE-MISMATCH"]),
    ),
    # -- INTEGRITY ------------------------------------------------------------------------
    Case(
        "admission",
        "integrity-sums-missing",
        "no integrity/sha256sums.txt",
        after_seal=delete("integrity/sha256sums.txt"),
        gate=Gate(INT, ["INTEGRITY-MANIFEST-MISSING"]),
    ),
    Case(
        "admission",
        "integrity-hash-mismatch",
        "the event log changed after sealing",
        after_seal=append_to(LOG, b'{"event_id":"evt-late","event_type":"tool.call"}\n'),
        gate=Gate(INT, ["INTEGRITY-HASH-MISMATCH"]),
    ),
    Case(
        "admission",
        "integrity-unlisted-file",
        "a file added after sealing",
        after_seal=write("artifacts/late.json", b"{}\n"),
        gate=Gate(INT, ["INTEGRITY-UNLISTED-FILE"]),
    ),
    Case(
        "admission",
        "integrity-listed-file-missing",
        "a listed file removed after sealing",
        files={"artifacts/gone.json": {"x": 1}},
        after_seal=delete("artifacts/gone.json"),
        gate=Gate(INT, ["INTEGRITY-MISSING-FILE"]),
    ),
    Case(
        "admission",
        "integrity-malformed-line",
        "an integrity line with upper-case hex",
        after_seal=sums_edit(lambda lines: [lines[0].upper().replace("  ", "  ", 1), *lines[1:]]),
        gate=Gate(INT, ["INTEGRITY-MALFORMED", "INTEGRITY-UNLISTED-FILE"]),
    ),
    Case(
        "admission",
        "integrity-duplicate-entry",
        "the same path listed twice",
        after_seal=sums_edit(lambda lines: [*lines, lines[0]]),
        gate=Gate(INT, ["INTEGRITY-DUPLICATE-ENTRY"]),
    ),
    Case(
        "admission",
        "integrity-self-listed",
        "the integrity file lists itself",
        after_seal=sums_edit(lambda lines: [*lines, "0" * 64 + "  integrity/sha256sums.txt"]),
        gate=Gate(INT, ["INTEGRITY-SELF-LISTED"]),
    ),
    Case(
        "admission",
        "integrity-unsafe-path",
        "the integrity file lists ../escape.json",
        after_seal=sums_edit(lambda lines: [*lines, "0" * 64 + "  ../escape.json"]),
        gate=Gate(INT, ["INTEGRITY-UNSAFE-PATH"]),
    ),
    # -- CONTRACT -------------------------------------------------------------------------
    Case(
        "admission",
        "contract-manifest-missing",
        "no manifest.json",
        before_seal=delete("manifest.json"),
        gate=Gate(CON, ["CONTRACT-FILE-MISSING"]),
    ),
    Case(
        "admission",
        "contract-pointers-missing",
        "no evidence_pointers.json",
        before_seal=delete("evidence_pointers.json"),
        gate=Gate(CON, ["CONTRACT-FILE-MISSING"]),
    ),
    Case(
        "admission",
        "contract-artifact-json-invalid",
        "an artifact .json with a trailing comma",
        files={"artifacts/config.json": b'{"a": 1,}\n'},
        gate=Gate(CON, ["CONTRACT-JSON-INVALID"]),
    ),
    Case(
        "admission",
        "contract-too-many-pointers",
        "more pointers than the pointer bound 2",
        limits={"max_pointers": 2},
        gate=Gate(CON, ["CONTRACT-TOO-MANY-POINTERS"]),
    ),
    Case(
        "admission",
        "contract-document-too-large",
        "a JSON artifact with more values than are parsed whole (bound 60)",
        files={"artifacts/big.json": b"[" + b"0," * 200 + b"0]\n"},
        limits={"max_document_values": 60},
        gate=Gate(CON, ["CONTRACT-DOCUMENT-TOO-LARGE"]),
    ),
    Case(
        "admission",
        "contract-duplicate-key",
        "an event record with the same key twice",
        events_bytes=b'{"event_id":"evt-1","decision_kind":"budget","decision_kind":"authz"}\n',
        gate=Gate(CON, ["CONTRACT-DUPLICATE-KEY"]),
    ),
    Case(
        "admission",
        "contract-nan",
        "NaN in a JSON artifact",
        files={"artifacts/metrics.json": b'{"cost": NaN}\n'},
        gate=Gate(CON, ["CONTRACT-NONFINITE-NUMBER"]),
    ),
    Case(
        "admission",
        "contract-depth-exceeded",
        "an event nested 65 deep (64 is the bound)",
        events_bytes=b'{"event_id":"evt-deep","x":' + b"[" * 64 + b"]" * 64 + b"}\n",
        gate=Gate(CON, ["CONTRACT-DEPTH-EXCEEDED"]),
    ),
    Case(
        "admission",
        "contract-bom",
        "the event log starts with a UTF-8 BOM",
        events_bytes=b'\xef\xbb\xbf{"event_id":"evt-1"}\n',
        gate=Gate(CON, ["CONTRACT-BOM"]),
    ),
    Case(
        "admission",
        "contract-invalid-utf8",
        "an event line that is not UTF-8",
        events_bytes=b'{"event_id":"evt-1","note":"\xff\xfe"}\n',
        gate=Gate(CON, ["CONTRACT-ENCODING"]),
    ),
    Case(
        "admission",
        "contract-schema-invalid",
        "manifest pack_id has a space",
        manifest={"pack_id": "bad id"},
        gate=Gate(CON, ["CONTRACT-SCHEMA-INVALID"]),
    ),
    Case(
        "admission",
        "contract-bundle-unknown-key",
        "bundle.manifest.json has a key the contract does not know",
        bundle={"scenario-meta": {"privileged_action": False}},
        gate=Gate(CON, ["CONTRACT-SCHEMA-INVALID"]),
    ),
    Case(
        "admission",
        "contract-version-not-accepted",
        "contract_version 2.0",
        manifest={"contract_version": "2.0"},
        gate=Gate(CON, ["CONTRACT-VERSION-NOT-ACCEPTED"]),
    ),
    Case(
        "admission",
        "contract-ndjson-line-not-object",
        "an event log line holding an array",
        events_bytes=b'{"event_id":"evt-1"}\n[1,2]\n',
        gate=Gate(CON, ["CONTRACT-NDJSON-NOT-OBJECT"]),
    ),
    Case(
        "admission",
        "contract-event-id-missing",
        "an event record without event_id",
        events_bytes=b'{"event_id":"evt-1"}\n{"event_type":"tool.call"}\n',
        gate=Gate(CON, ["CONTRACT-EVENT-ID-MISSING"]),
    ),
    Case(
        "admission",
        "contract-duplicate-event-id",
        "event_id evt-1 twice in the log",
        events_bytes=b'{"event_id":"evt-1"}\n{"event_id":"evt-2"}\n{"event_id":"evt-1"}\n',
        gate=Gate(CON, ["CONTRACT-DUPLICATE-EVENT-ID"]),
    ),
    Case(
        "admission",
        "contract-locator-invalid",
        "locator line:0 is not well-formed",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", "line:0")),
        gate=Gate(CON, ["CONTRACT-LOCATOR-INVALID"]),
    ),
    Case(
        "admission",
        "contract-unsafe-artifact-path",
        "artifact_path ../outside.ndjson",
        pointers=pointers_with("RQ-D1-01", ptr("RQ-D1-01", BUDGET_PTR, "../outside.ndjson")),
        gate=Gate(CON, ["CONTRACT-UNSAFE-PATH"]),
    ),
]
