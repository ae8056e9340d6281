"""ruleset-1.2 golden vectors: CL-D1-02 in every status, and the stricter 1.2 conditions
of D1-D4 (each a pack that FAILs under 1.2, and the same pack PASSing a 1.1 shadow run)."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from scripts.vectors.model import (
    AUTHZ,
    BUDGET,
    END,
    FILE,
    PASS_11,
    PASS_12,
    START,
    TOOL,
    Artifact,
    Case,
    Clause,
    Gate,
    JSONObject,
    Pointer,
    apply_changes,
    base_pointers,
    ptr,
    termination,
)

RUN = "run-0001"
ADMISSION_PATH = "artifacts/budget/admission_receipt.json"
SETTLEMENT_PATH = "artifacts/budget/settlement_receipt.json"
D1, D2, D3, D4, D12 = "CL-D1-01", "CL-D2-01", "CL-D3-01", "CL-D4-01", "CL-D1-02"

ADMISSION: JSONObject = {
    "schema": "AttemptAdmissionReceipt/v0.1",
    "receipt_id": "aar-0001",
    "run_id": RUN,
    "attempt_id": "att-0001",
    "decision": "ADMIT",
    "budget_estimate": {
        "cost_usd": "0.5000",
        "tokens_in": 12000,
        "tokens_out": 3000,
        "tool_calls": 8,
        "wall_seconds": 120,
    },
    "budget_cap": {"cost_usd": "1.00"},
}


def as_bytes(doc: object) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def settled_receipt(admission_sha256: str) -> JSONObject:
    """A SETTLED BudgetSettlementReceipt for ADMISSION's attempt, under its estimate."""
    return {
        "schema": "BudgetSettlementReceipt/v0.1",
        "receipt_id": "bsr-0001",
        "run_id": RUN,
        "attempt_id": "att-0001",
        "admission_receipt_ref": {"receipt_id": "aar-0001", "sha256": admission_sha256},
        "estimate": copy.deepcopy(ADMISSION["budget_estimate"]),
        "actual": {
            "cost_usd": "0.4213",
            "tokens_in": 11234,
            "tokens_out": 2877,
            "tool_calls": 7,
            "wall_seconds": 98.5,
        },
        "estimate_provenance": {"source": "governed_run_contract", "method": "price_table_v3"},
        "settlement_provenance": {
            "source": "provider_usage",
            "observed_at": "2026-05-29T10:05:00Z",
        },
        "overrun": {"status": "NONE", "cost_usd_over": "0"},
        "status": "SETTLED",
        "fail_closed_reason": None,
    }


def settlement(admission: JSONObject | None = None, **changes: Any) -> JSONObject:
    """The settlement of ``admission`` (referenced by its hash), with ``a__b``-path changes."""
    admission = admission or ADMISSION
    digest = "sha256:" + hashlib.sha256(as_bytes(admission)).hexdigest()
    return apply_changes(settled_receipt(digest), changes)


def receipts(
    receipt: object = None, admission: JSONObject | None = ADMISSION
) -> dict[str, Artifact]:
    files: dict[str, Artifact] = {
        SETTLEMENT_PATH: as_bytes(receipt if receipt is not None else settlement())
    }
    if admission is not None:
        files[ADMISSION_PATH] = as_bytes(admission)
    return files


def pointers12(*extra: Pointer) -> list[Pointer]:
    return [*base_pointers(), ptr("RQ-D1-02", FILE, SETTLEMENT_PATH), *extra]


def c12(
    name: str,
    description: str,
    *,
    group: str = "d1-02",
    files: Mapping[str, Artifact] | None = None,
    pointers: list[Pointer] | None = None,
    bundle: JSONObject | None = None,
    scenario: JSONObject | None = None,
    events: list[JSONObject] | None = None,
    clauses: Mapping[str, Clause] | None = None,
    gate: Gate | None = None,
) -> Case:
    """A ruleset-1.2 case: pinned to 1.2, with settlement evidence unless told otherwise."""
    return Case(
        "r12-" + group,
        name,
        description,
        ruleset="ruleset-1.2",
        pinned="ruleset-1.2",
        base=PASS_12,
        files=files if files is not None else receipts(),
        pointers=pointers if pointers is not None else pointers12(),
        bundle=bundle if bundle is not None else {"run_id": RUN},
        scenario=scenario,
        events=events,
        clauses=clauses if clauses is not None else {},
        gate=gate,
    )


def fail12(*details: str) -> Clause:
    return Clause("FAIL", "REQ-FAIL-RQ-D1-02", list(details), [FILE])


def stricter(
    name: str,
    description: str,
    clause: str,
    detail: str,
    locator: str,
    *,
    events: list[JSONObject],
    scenario: JSONObject | None = None,
    pointers: list[Pointer] | None = None,
    shadow_clauses: Mapping[str, Clause] | None = None,
) -> list[Case]:
    """The same pack twice: FAIL under ruleset-1.2, PASS in a ruleset-1.1 shadow run."""
    rq = clause.replace("CL-", "RQ-")
    strict = c12(
        name,
        description + " — FAIL under 1.2",
        group="stricter",
        clauses={clause: Clause("FAIL", "REQ-FAIL-" + rq, [detail], [locator])},
        events=events,
        scenario=scenario,
        pointers=pointers,
    )
    shadow = dataclasses.replace(
        copy.deepcopy(strict),
        group="r12-stricter-under-1.1",
        description=description + " — PASSes a ruleset-1.1 shadow run",
        ruleset="ruleset-1.1",
        shadow=True,
        base=PASS_11,
        clauses=dict(shadow_clauses or {}),
    )
    return [strict, shadow]


def with_events(*records: JSONObject) -> list[JSONObject]:
    return [copy.deepcopy(r) for r in records]


TERM = "event_id:evt-term"
TERM_PASS = {D4: Clause("PASS", None, [], [TERM])}


def term_pointers() -> list[Pointer]:
    return pointers12(ptr("RQ-D4-01", TERM))


DENY_AUTHZ = {**AUTHZ, "decision_outcome": "DENY", "action": "deploy"}

CASES: list[Case] = [
    # -- CL-D1-02 -------------------------------------------------------------------------
    c12("pass-settled", "a settled attempt whose estimate, admission and actuals agree"),
    c12(
        "pass-failed-closed-honest",
        "FAILED_CLOSED with a reason and no actuals is an honest settlement",
        files=receipts(
            settlement(
                actual=None,
                settlement_provenance=...,
                status="FAILED_CLOSED",
                fail_closed_reason="provider usage API unavailable",
                overrun={"status": "UNKNOWN", "cost_usd_over": None},
            )
        ),
    ),
    c12(
        "pass-declared-overrun",
        "an overrun declared with the exact amount",
        files=receipts(
            settlement(
                actual__cost_usd="0.7500",
                overrun={"status": "OVERRUN", "cost_usd_over": "0.25"},
                status="SETTLED_WITH_OVERRUN",
            )
        ),
    ),
    c12(
        "pass-exact-decimal-overrun",
        "0.3 - 0.1 is exactly 0.2 (binary floats say 0.19999999999999998)",
        files=receipts(
            settlement(
                ADMISSION | {"budget_estimate": {"cost_usd": "0.1"}},
                estimate={"cost_usd": 0.1},
                actual={"cost_usd": "0.3"},
                overrun={"status": "OVERRUN", "cost_usd_over": 0.2},
                status="SETTLED_WITH_OVERRUN",
            ),
            ADMISSION | {"budget_estimate": {"cost_usd": "0.1"}},
        ),
    ),
    c12(
        "fail-missing-admission-ref",
        "no admission_receipt_ref",
        files=receipts(settlement(admission_receipt_ref=...)),
        clauses={D12: fail12("RCPT-SCHEMA-INVALID", "RCPT-ADMISSION-REF-MISSING")},
    ),
    c12(
        "fail-missing-actuals",
        "actual is null but the status says SETTLED",
        files=receipts(
            settlement(actual=None, overrun={"status": "UNKNOWN", "cost_usd_over": None})
        ),
        clauses={D12: fail12("RCPT-ACTUALS-MISSING")},
    ),
    c12(
        "fail-negative-counters",
        "negative cost and token counts",
        files=receipts(settlement(actual__cost_usd="-0.10", actual__tokens_in=-5)),
        clauses={D12: fail12("RCPT-NEGATIVE-COUNTER")},
    ),
    c12(
        "fail-overrun-hidden",
        "actual cost above estimate, settled as if nothing happened",
        files=receipts(
            settlement(
                actual__cost_usd="0.7500", overrun={"status": "NONE", "cost_usd_over": "0.25"}
            )
        ),
        clauses={D12: fail12("RCPT-OVERRUN-HIDDEN")},
    ),
    c12(
        "fail-overrun-phantom",
        "an overrun declared where no actual exceeds its estimate",
        files=receipts(
            settlement(
                overrun={"status": "OVERRUN", "cost_usd_over": "0"}, status="SETTLED_WITH_OVERRUN"
            )
        ),
        clauses={D12: fail12("RCPT-OVERRUN-PHANTOM")},
    ),
    c12(
        "fail-overrun-amount-wrong",
        "cost_usd_over is not actual - estimate",
        files=receipts(
            settlement(
                actual__cost_usd="0.7500",
                overrun={"status": "OVERRUN", "cost_usd_over": "0.2"},
                status="SETTLED_WITH_OVERRUN",
            )
        ),
        clauses={D12: fail12("RCPT-OVERRUN-AMOUNT-WRONG")},
    ),
    c12(
        "fail-overrun-unknown-unjustified",
        "overrun UNKNOWN although everything is measured",
        files=receipts(settlement(overrun={"status": "UNKNOWN", "cost_usd_over": "0"})),
        clauses={D12: fail12("RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED")},
    ),
    c12(
        "fail-fail-closed-without-reason",
        "FAILED_CLOSED without a reason",
        files=receipts(
            settlement(
                actual=None,
                settlement_provenance=...,
                status="FAILED_CLOSED",
                overrun={"status": "UNKNOWN", "cost_usd_over": None},
            )
        ),
        clauses={D12: fail12("RCPT-SCHEMA-INVALID", "RCPT-FAIL-CLOSED-REASON-MISSING")},
    ),
    c12(
        "fail-schema-extra-field",
        "an extra top-level field",
        files=receipts(settlement(billing_account="acct-9")),
        clauses={D12: fail12("RCPT-SCHEMA-INVALID")},
    ),
    c12(
        "fail-admission-ref-wrong-hash",
        "the admission receipt exists but its sha256 is not the one referenced",
        files=receipts(
            settlement(
                admission_receipt_ref={"receipt_id": "aar-0001", "sha256": "sha256:" + "1" * 64}
            )
        ),
        clauses={D12: fail12("RCPT-ADMISSION-REF-UNRESOLVED")},
    ),
    c12(
        "fail-admission-receipt-absent",
        "no admission receipt in the pack",
        files=receipts(admission=None),
        clauses={D12: fail12("RCPT-ADMISSION-REF-UNRESOLVED")},
    ),
    c12(
        "fail-identity-mismatch",
        "the settlement names another attempt than the admission receipt",
        files=receipts(settlement(attempt_id="att-0002")),
        clauses={D12: fail12("RCPT-IDENTITY-MISMATCH")},
    ),
    c12(
        "fail-run-id-not-the-bundles",
        "settlement and admission agree, but not with the bundle's run_id",
        bundle={"run_id": "run-other"},
        clauses={D12: fail12("RCPT-IDENTITY-MISMATCH")},
    ),
    c12(
        "fail-estimate-drift",
        "the settlement's estimate differs from the one admitted",
        files=receipts(settlement(estimate__tokens_in=12500)),
        clauses={D12: fail12("RCPT-ESTIMATE-DRIFT")},
    ),
    c12(
        "fail-settled-after-deny",
        "the admission receipt denied the attempt, yet actuals were settled",
        files=receipts(
            settlement(ADMISSION | {"decision": "DENY"}), ADMISSION | {"decision": "DENY"}
        ),
        clauses={D12: fail12("RCPT-SETTLED-AFTER-DENY")},
    ),
    c12(
        "pass-denied-and-failed-closed",
        "a denied attempt that settled nothing, honestly failed closed",
        files=receipts(
            settlement(
                ADMISSION | {"decision": "DENY"},
                actual=None,
                settlement_provenance=...,
                status="FAILED_CLOSED",
                fail_closed_reason="attempt denied at admission",
                overrun={"status": "UNKNOWN", "cost_usd_over": None},
            ),
            ADMISSION | {"decision": "DENY"},
        ),
    ),
    c12(
        "not-evaluated-settlement-not-expected",
        "settlement_expected false: not applicable",
        scenario={"settlement_expected": False},
        files={},
        pointers=base_pointers(),
        clauses={D12: Clause("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-02", [], [])},
    ),
    c12(
        "fail-pointer-missing",
        "settlement expected by default, but no RQ-D1-02 pointer",
        pointers=base_pointers(),
        clauses={D12: Clause("FAIL", "BUNDLE-POINTER-MISSING-RQ-D1-02", ["POINTER-MISSING"], [])},
    ),
    c12(
        "fail-receipt-not-in-pack",
        "the RQ-D1-02 pointer names a receipt the pack lacks",
        files={ADMISSION_PATH: as_bytes(ADMISSION)},
        clauses={D12: Clause("FAIL", "REQ-FAIL-RQ-D1-02", ["POINTER-UNRESOLVABLE"], [])},
    ),
    # -- the stricter 1.2 conditions ------------------------------------------------------------
    *stricter(
        "d1-outcome-outside-budget-outcomes",
        "decision_outcome 'maybe later' is a string (1.1) but not a budget outcome (1.2)",
        D1,
        "VALUE-NOT-ALLOWED",
        "event_id:evt-budget-001",
        events=with_events(START, {**BUDGET, "decision_outcome": "maybe later"}, AUTHZ, TOOL, END),
    ),
    *stricter(
        "d1-timestamp-not-rfc3339",
        "timestamp '29/05/2026 10:00' is not RFC 3339",
        D1,
        "VALUE-NOT-ALLOWED",
        "event_id:evt-budget-001",
        events=with_events(START, {**BUDGET, "timestamp": "29/05/2026 10:00"}, AUTHZ, TOOL, END),
    ),
    *stricter(
        "d1-decision-id-missing",
        "no decision_id",
        D1,
        "FIELD-MISSING",
        "event_id:evt-budget-001",
        events=with_events(
            START, {k: v for k, v in BUDGET.items() if k != "decision_id"}, AUTHZ, TOOL, END
        ),
    ),
    *stricter(
        "d1-target-kind-invalid",
        "target.kind 'cluster' is not agent, task or run",
        D1,
        "VALUE-NOT-ALLOWED",
        "event_id:evt-budget-001",
        events=with_events(
            START, {**BUDGET, "target": {"kind": "cluster", "id": "c1"}}, AUTHZ, TOOL, END
        ),
    ),
    *stricter(
        "d2-execution-after-terminal",
        "a tool call follows the terminal transition",
        D2,
        "LIFECYCLE-POST-TERMINAL-EXECUTION",
        "event_id:evt-end",
        events=with_events(START, BUDGET, AUTHZ, END, TOOL),
    ),
    *stricter(
        "d3-subject-missing",
        "the authorization decision names no subject or actor",
        D3,
        "AUTHZ-SUBJECT-MISSING",
        "event_id:evt-authz-001",
        events=with_events(
            START, BUDGET, {k: v for k, v in AUTHZ.items() if k != "subject"}, TOOL, END
        ),
    ),
    *stricter(
        "d3-action-missing",
        "the authorization decision names no action or resource",
        D3,
        "AUTHZ-ACTION-MISSING",
        "event_id:evt-authz-001",
        events=with_events(
            START,
            BUDGET,
            {k: v for k, v in AUTHZ.items() if k not in ("action", "resource")},
            END,
        ),
    ),
    *stricter(
        "d3-action-after-deny",
        "'deploy' was denied, then a tool call with action 'deploy' ran",
        D3,
        "AUTHZ-ACTION-AFTER-DENY",
        "event_id:evt-authz-001",
        events=with_events(START, BUDGET, DENY_AUTHZ, TOOL, END),
    ),
    *stricter(
        "d4-reason-missing",
        "the termination decision gives no reason",
        D4,
        "TERMINATION-REASON-MISSING",
        TERM,
        scenario={"termination_case": True},
        events=with_events(
            START,
            BUDGET,
            AUTHZ,
            TOOL,
            termination("terminate", "terminated"),
            END,
        ),
        pointers=term_pointers(),
        shadow_clauses=TERM_PASS,
    ),
    *stricter(
        "d4-execution-after-termination",
        "a tool call ran after the termination decision",
        D4,
        "TERMINATION-UNCONTROLLED-EXECUTION",
        TERM,
        scenario={"termination_case": True},
        events=with_events(
            START,
            BUDGET,
            AUTHZ,
            termination("kill", "killed", reason="budget exhausted"),
            TOOL,
            END,
        ),
        pointers=term_pointers(),
        shadow_clauses=TERM_PASS,
    ),
    c12(
        "fail-post-terminal-under-partial-execution",
        "partial execution excuses absent terminal evidence, not execution after a terminal "
        "transition that was found",
        group="stricter",
        scenario={"partial_execution": True},
        events=with_events(START, BUDGET, AUTHZ, END, TOOL),
        clauses={
            D2: Clause(
                "FAIL",
                "REQ-FAIL-RQ-D2-01",
                ["LIFECYCLE-POST-TERMINAL-EXECUTION"],
                ["event_id:evt-end"],
            )
        },
    ),
    c12(
        "fail-receipt-not-an-object",
        "a settlement receipt that is a JSON array is only schema-invalid",
        files=receipts(["not", "a", "receipt"]),
        clauses={D12: fail12("RCPT-SCHEMA-INVALID")},
    ),
    c12(
        "pass-termination-with-reason",
        "a termination decision with a reason and nothing executed after it",
        group="stricter",
        scenario={"termination_case": True},
        events=with_events(
            START,
            BUDGET,
            AUTHZ,
            TOOL,
            termination("terminate", "terminated", terminate_reason="operator stop"),
            END,
        ),
        pointers=term_pointers(),
        clauses=TERM_PASS,
    ),
    c12(
        "pass-deny-then-other-action",
        "after a deny of 'deploy', only other actions run",
        group="stricter",
        events=with_events(START, BUDGET, DENY_AUTHZ, {**TOOL, "action": "read"}, END),
    ),
    c12(
        "pass-snapshot-terminal-no-transition-check",
        "snapshot evidence has no transition, so no post-terminal check applies",
        group="stricter",
        files={**receipts(), "snapshots/final.json": as_bytes({"state": {"is_terminal": True}})},
        events=with_events(START, BUDGET, AUTHZ, END, TOOL),
        pointers=[
            p
            if p["requirement_id"] != "RQ-D2-01"
            else ptr("RQ-D2-01", "jsonptr:", "snapshots/final.json")
            for p in pointers12()
        ],
        clauses={D2: Clause("PASS", None, [], ["jsonptr:"])},
    ),
]

_SCHEMA_11 = "a1dec33f54b5d28c438e0e2cecc48caf0133beb2d85332191a420f20db9c381c"

CASES += [
    c12(
        "pin-schema-bundle-of-1.1",
        "a ruleset-1.2 pack pinning ruleset-1.1's schema bundle",
        group="admission",
        bundle={"run_id": RUN, "schema_bundle_sha256": _SCHEMA_11},
        gate=Gate("ADM-GATE-PIN", ["PIN-SCHEMA-BUNDLE-MISMATCH"]),
    ),
    c12(
        "contract-receipt-duplicate-key",
        "a settlement receipt with a duplicate key is not strict JSON",
        group="admission",
        files={
            **receipts(),
            SETTLEMENT_PATH: b'{"schema": "BudgetSettlementReceipt/v0.1", "status": "SETTLED",'
            b' "status": "FAILED_CLOSED"}\n',
        },
        gate=Gate("ADM-GATE-CONTRACT", ["CONTRACT-DUPLICATE-KEY"]),
    ),
]
