"""CL-D1-03 (spending-cap ledger) and CL-D1-04 (run-wide budget) vectors, produced by
driving vlab's own producer primitives (plus deliberately corrupted copies for FAILs)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, NamedTuple

from scripts.vectors.edits import RecordsEdit, all_of, delete, edit_lines, write
from scripts.vectors.model import (
    LOG,
    NO_FLAGS,
    Case,
    FileClause,
    JSONObject,
    Outcome,
    PackEdit,
    unprivileged_pointers,
)
from vlab.producer.runguard import RunGuard
from vlab.producer.spendcap import Budget, EventLog, SpendingCap, SpendLedger, StepClock

BUDGET_PATH = "artifacts/budget/persona_budget.json"
LEDGER_PATH = "artifacts/budget/spend.jsonl"
D13, D14 = "CL-D1-03", "CL-D1-04"


def _prologue(log: EventLog) -> None:
    log.append(
        {
            "event_id": "evt-budget-001",
            "event_type": "budget.decision",
            "timestamp": "2026-05-29T00:00:00Z",
            "decision_id": "persona-budget-loaded",
            "decision_kind": "budget",
            "decision_outcome": "allow",
            "target": {"kind": "agent", "id": "hermes"},
        }
    )


def _epilogue(log: EventLog) -> None:
    log.append(
        {
            "event_id": "evt-end",
            "event_type": "run_state_transition",
            "timestamp": "2026-05-31T00:00:00Z",
            "from_state": "running",
            "to_state": "completed",
        }
    )


class Step(NamedTuple):
    """One call on the spending cap, at a time: a check of an estimate, or a charge."""

    kind: Literal["check", "charge"]
    at: str
    amount: str
    call_id: str


def check(at: str, amount: str, call_id: str) -> Step:
    return Step("check", at, amount, call_id)


def charge(at: str, amount: str, call_id: str) -> Step:
    return Step("charge", at, amount, call_id)


def spend(budget: JSONObject, steps: list[Step], corrupt: PackEdit | None = None) -> PackEdit:
    """Drive SpendingCap through check/charge steps at given times; then corrupt, if asked."""

    def produce(root: Path) -> None:
        (root / BUDGET_PATH).parent.mkdir(parents=True, exist_ok=True)
        (root / BUDGET_PATH).write_text(json.dumps(budget, indent=2) + "\n", "utf-8")
        clock = StepClock("2026-05-29T10:00:00Z")
        log = EventLog(root / LOG)
        _prologue(log)
        cap = SpendingCap(
            Budget.from_mapping(budget),
            SpendLedger(root / LEDGER_PATH),
            log,
            agent_id="hermes",
            clock=clock,
        )
        for step in steps:
            clock.set(step.at)
            if step.kind == "check":
                cap.check(step.amount, call_id=step.call_id)
            else:
                cap.charge(step.amount, call_id=step.call_id)
        if not (root / LEDGER_PATH).exists():
            (root / LEDGER_PATH).write_bytes(b"")
        _epilogue(log)
        if corrupt:
            corrupt(root)

    return produce


def set_field(match: Callable[[JSONObject], bool], **fields: Any) -> RecordsEdit:
    def edit(records: list[JSONObject]) -> list[JSONObject]:
        return [({**r, **fields} if match(r) else r) for r in records]

    return edit


cap_case = FileClause(D13, "spend_cap", LEDGER_PATH).produced


def fail(*codes: str) -> Outcome:
    return Outcome("FAIL", "REQ-FAIL-RQ-D1-03", codes)


def _late_dispatch(records: list[JSONObject]) -> list[JSONObject]:
    """Turn the first skipped trial into one dispatched and completed after exhaustion."""
    out: list[JSONObject] = []
    done = False
    for r in records:
        if not done and r.get("event_type") == "trial.skipped":
            done = True
            out.append({**r, "event_type": "trial.dispatched", "reason": None})
            out.append(
                {
                    "event_id": r["event_id"] + "-done",
                    "event_type": "trial.completed",
                    "timestamp": r["timestamp"],
                    "trial_id": r["trial_id"],
                    "cost_usd": "0.30",
                    "status": "passed",
                }
            )
            continue
        out.append(r)
    return out


def _order_edit(records: list[JSONObject]) -> list[JSONObject]:
    """c1's DENY recorded as ALLOW; c2's outcome made unknown."""
    out = []
    for r in records:
        if r.get("event_type") == "budget.check" and r.get("call_id") == "c1":
            r = {**r, "decision_outcome": "ALLOW"}
        elif r.get("event_type") == "budget.check" and r.get("call_id") == "c2":
            r = {**r, "decision_outcome": "PERHAPS"}
        out.append(r)
    return out


CAPS = {"daily_usd": "1.00", "per_call_usd": "0.50", "hard_cap": True}
DAY = "2026-05-29T"
ONE_CHECK = [check(DAY + "10:00:00Z", "0.10", "c1")]
ONE_CALL = [*ONE_CHECK, charge(DAY + "10:00:05Z", "0.10", "c1")]
TWO_CALLS = [
    *ONE_CALL,
    check(DAY + "10:01:00Z", "0.10", "c2"),
    charge(DAY + "10:01:05Z", "0.10", "c2"),
]

SPEND_CASES: list[Case] = [
    cap_case(
        "pass-no-cap-allows",
        "no cap at all: every check is ALLOW",
        spend(
            {"daily_usd": None, "per_call_usd": None},
            [
                check(DAY + "10:00:00Z", "5.00", "c1"),
                charge(DAY + "10:00:05Z", "4.80", "c1"),
            ],
        ),
    ),
    cap_case(
        "pass-over-daily-denied",
        "spent 0.90 today; an estimate of 0.20 is denied",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.40", "c1"),
                charge(DAY + "10:00:05Z", "0.45", "c1"),
                check(DAY + "11:00:00Z", "0.45", "c2"),
                charge(DAY + "11:00:05Z", "0.45", "c2"),
                check(DAY + "12:00:00Z", "0.20", "c3"),
            ],
        ),
    ),
    cap_case(
        "pass-over-per-call-denied",
        "an estimate of 0.60 breaches the per-call cap of 0.50",
        spend(CAPS, [check(DAY + "10:00:00Z", "0.60", "c1")]),
    ),
    cap_case(
        "pass-per-call-equal-allowed",
        "an estimate equal to per_call_usd is allowed",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.50", "c1"),
                charge(DAY + "10:00:01Z", "0.50", "c1"),
            ],
        ),
    ),
    cap_case(
        "pass-warn-only",
        "hard_cap false: a breach is WARN, not DENY",
        spend(
            {**CAPS, "hard_cap": False},
            [
                check(DAY + "10:00:00Z", "0.70", "c1"),
                charge(DAY + "10:00:05Z", "0.69", "c1"),
            ],
        ),
    ),
    cap_case(
        "pass-most-restrictive-wins",
        "both caps set, only the daily one breached: DENY",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.50", "c1"),
                charge(DAY + "10:00:01Z", "0.50", "c1"),
                check(DAY + "10:01:00Z", "0.40", "c2"),
                charge(DAY + "10:01:01Z", "0.40", "c2"),
                check(DAY + "10:02:00Z", "0.20", "c3"),
            ],
        ),
    ),
    cap_case(
        "pass-day-boundary",
        "a charge at 23:59:59Z counts for that day, not the next",
        spend(
            CAPS,
            [
                check(DAY + "23:59:00Z", "0.45", "c1"),
                charge(DAY + "23:59:59Z", "0.90", "c1"),
                check(DAY + "23:59:59.500Z", "0.20", "c2"),
                check("2026-05-30T00:00:00Z", "0.45", "c3"),
                charge("2026-05-30T00:00:00Z", "0.60", "c3"),
                check("2026-05-30T00:00:00.500Z", "0.45", "c4"),
            ],
        ),
    ),
    cap_case(
        "pass-exact-decimal",
        "0.1 + 0.2 spent against a 0.3 daily cap: 0.0 more is not over",
        spend(
            {"daily_usd": "0.3"},
            [
                check(DAY + "10:00:00Z", "0.1", "c1"),
                charge(DAY + "10:00:01Z", "0.1", "c1"),
                check(DAY + "10:00:02Z", "0.2", "c2"),
                charge(DAY + "10:00:03Z", "0.2", "c2"),
                check(DAY + "10:00:04Z", "0", "c3"),
            ],
        ),
    ),
    cap_case(
        "pass-overspend-tolerated",
        "two checks pass before either charge lands: the day "
        "ends above the cap, reported as advisory",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.45", "c1"),
                check(DAY + "10:00:01Z", "0.45", "c2"),
                charge(DAY + "10:00:02Z", "0.55", "c1"),
                charge(DAY + "10:00:03Z", "0.55", "c2"),
                check(DAY + "10:00:04Z", "0.01", "c3"),
            ],
        ),
        Outcome("PASS", None, ["LEDGER-OVERSPEND-TOLERATED"]),
    ),
    cap_case(
        "fail-allow-should-have-been-deny",
        "the log says ALLOW where the ledger says DENY",
        spend(
            CAPS,
            [check(DAY + "10:00:00Z", "0.60", "c1")],
            edit_lines(
                LOG,
                set_field(
                    lambda r: r.get("event_type") == "budget.check", decision_outcome="ALLOW"
                ),
            ),
        ),
        fail("LEDGER-DECISION-MISMATCH"),
    ),
    cap_case(
        "fail-charge-after-deny",
        "a charge carries the call_id of a denied check",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.60", "c1"),
                charge(DAY + "10:00:01Z", "0.30", "c1"),
            ],
        ),
        fail("LEDGER-CHARGE-AFTER-DENY"),
    ),
    cap_case(
        "fail-ledger-not-append-only",
        "a charge earlier than the one before it",
        spend(
            CAPS,
            TWO_CALLS,
            edit_lines(
                LEDGER_PATH, set_field(lambda r: r["entry_id"] == "c-000002", ts=DAY + "09:00:00Z")
            ),
        ),
        fail("LEDGER-NOT-APPEND-ONLY"),
    ),
    cap_case(
        "fail-entry-id-repeats",
        "an entry_id used twice",
        spend(
            CAPS,
            TWO_CALLS,
            edit_lines(
                LEDGER_PATH, set_field(lambda r: r["entry_id"] == "c-000002", entry_id="c-000001")
            ),
        ),
        fail("LEDGER-NOT-APPEND-ONLY"),
    ),
    cap_case(
        "fail-ledger-line-unparseable",
        "a ledger object without amount_usd",
        spend(
            CAPS,
            ONE_CALL,
            edit_lines(LEDGER_PATH, lambda rs: [*rs, {"entry_id": "c-x", "ts": DAY + "10:00:06Z"}]),
        ),
        fail("LEDGER-UNPARSEABLE"),
    ),
    cap_case(
        "fail-negative-charge",
        "a refund written as a negative charge",
        spend(
            CAPS,
            ONE_CALL,
            edit_lines(LEDGER_PATH, set_field(lambda r: True, amount_usd="-0.10")),
        ),
        fail("LEDGER-NEGATIVE-AMOUNT"),
    ),
    cap_case(
        "fail-details-in-event-then-ledger-order",
        "a wrong ALLOW, then an invalid check, then a negative charge: details follow the "
        "log, then the ledger",
        spend(
            CAPS,
            [
                check(DAY + "10:00:00Z", "0.60", "c1"),
                check(DAY + "10:00:01Z", "0.10", "c2"),
                charge(DAY + "10:00:05Z", "0.10", "c2"),
            ],
            all_of(
                edit_lines(LOG, _order_edit),
                edit_lines(LEDGER_PATH, set_field(lambda r: True, amount_usd="-0.10")),
            ),
        ),
        fail("LEDGER-DECISION-MISMATCH", "LEDGER-CHECK-INVALID", "LEDGER-NEGATIVE-AMOUNT"),
    ),
    cap_case(
        "fail-check-without-estimate",
        "a budget.check with no estimate_usd",
        spend(
            CAPS,
            ONE_CHECK,
            edit_lines(
                LOG, lambda rs: [{k: v for k, v in r.items() if k != "estimate_usd"} for r in rs]
            ),
        ),
        fail("LEDGER-CHECK-INVALID"),
    ),
    cap_case(
        "fail-budget-negative-cap",
        "a negative daily cap",
        spend(
            CAPS,
            ONE_CHECK,
            write(BUDGET_PATH, b'{"daily_usd": "-1"}\n'),
        ),
        fail("LEDGER-BUDGET-INVALID"),
    ),
    cap_case(
        "fail-budget-missing",
        "no budget file",
        spend(
            CAPS,
            ONE_CHECK,
            delete(BUDGET_PATH),
        ),
        fail("LEDGER-BUDGET-INVALID"),
    ),
    cap_case(
        "fail-no-checks",
        "spend_cap set, charges made, but no budget.check at all",
        spend(CAPS, [charge(DAY + "10:00:05Z", "0.10", "c1")]),
        fail("LEDGER-NO-CHECKS"),
    ),
    cap_case(
        "not-evaluated-no-spend-cap",
        "spend_cap absent: not applicable",
        spend(CAPS, ONE_CHECK),
        Outcome("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-03"),
        scenario=NO_FLAGS,
    ),
    cap_case(
        "fail-pointer-missing",
        "spend_cap true but no RQ-D1-03 pointer",
        spend(CAPS, ONE_CHECK),
        Outcome("FAIL", "BUNDLE-POINTER-MISSING-RQ-D1-03", ["POINTER-MISSING"]),
        pointers=unprivileged_pointers(),
    ),
]


# -- CL-D1-04: run-wide budget over an eval matrix -------------------------------------------


class Matrix(NamedTuple):
    """The shape of an eval matrix: every target runs every test, ``trials`` times."""

    targets: list[str]
    tests: list[str]
    trials: int


def matrix(
    cap: str | None,
    shape: Matrix,
    cost: Callable[[int], str],
    *,
    inflight: int = 1,
    stop_after: int | None = None,
    corrupt: PackEdit | None = None,
) -> PackEdit:
    """Drive RunGuard like an orchestrator: dispatch up to ``inflight`` trials, then complete
    them; ``stop_after`` ends the loop early (an orchestrator that lost trials)."""

    def produce(root: Path) -> None:
        clock = StepClock("2026-05-29T10:00:00Z")
        log = EventLog(root / LOG)
        _prologue(log)
        targets, tests, trials = shape
        guard = RunGuard(
            log, total_budget_usd=cap, targets=targets, tests=tests, trials=trials, clock=clock
        )
        running: list[str] = []
        done = 0
        for number, tup in enumerate(guard.plan()):
            if stop_after is not None and number >= stop_after:
                break
            trial_id = guard.dispatch(*tup)
            if trial_id:
                running.append(trial_id)
            if len(running) >= inflight:
                for tid in running:
                    guard.complete(tid, cost_usd=cost(done))
                    done += 1
                running = []
        for tid in running:
            guard.complete(tid, cost_usd=cost(done))
            done += 1
        guard.finish()
        _epilogue(log)
        if corrupt:
            corrupt(root)

    return produce


run_case = FileClause(D14, "eval_matrix", LOG).produced


def rfail(*codes: str) -> Outcome:
    return Outcome("FAIL", "REQ-FAIL-RQ-D1-04", codes)


SMALL = Matrix(["model-a", "model-b"], ["t1", "t2"], 2)
GRID = Matrix(["model-a", "model-b", "model-c"], ["t1", "t2", "t3", "t4"], 5)


def flat(value: str) -> Callable[[int], str]:
    return lambda _n: value


def first_event(kind: str, **fields: Any) -> RecordsEdit:
    """Change the first event of a type (or drop it when fields is empty)."""

    def edit(records: list[JSONObject]) -> list[JSONObject]:
        out: list[JSONObject] = []
        done = False
        for r in records:
            if not done and r.get("event_type") == kind:
                done = True
                if not fields:
                    continue
                r = {**r, **fields}
            out.append(r)
        return out

    return edit


RUN_CASES: list[Case] = [
    run_case(
        "pass-cap-never-reached",
        "every planned trial runs under a cap of 10.00",
        matrix("10.00", SMALL, flat("0.50")),
    ),
    run_case(
        "pass-cap-reached-surfaced",
        "the cap is hit after 4 trials; the rest are skipped and the run reports budget_exhausted",
        matrix("1.00", SMALL, flat("0.30")),
    ),
    run_case(
        "pass-inflight-overshoot",
        "a trial dispatched before exhaustion completes after it: tolerated, advisory",
        matrix("1.00", SMALL, flat("0.40"), inflight=2),
        Outcome("PASS", None, ["RUNBUDGET-INFLIGHT-OVERSHOOT"]),
    ),
    run_case(
        "pass-exhausted-on-last-trial",
        "the cap is reached by the very last trial: nothing was stopped, status completed",
        matrix("2.40", SMALL, flat("0.30")),
    ),
    run_case(
        "pass-no-cap", "total_budget_usd null: every trial runs", matrix(None, SMALL, flat("0.30"))
    ),
    run_case(
        "pass-matrix-3x4x5",
        "3 targets x 4 tests x 5 trials, stopped by the cap",
        matrix("3.00", GRID, lambda n: f"0.0{5 + n % 5}"),
    ),
    run_case(
        "fail-dispatch-after-exhaustion",
        "a skipped trial dispatched after all",
        matrix(
            "1.00",
            SMALL,
            flat("0.30"),
            corrupt=edit_lines(LOG, first_event("trial.skipped", event_type="trial.dispatched")),
        ),
        rfail("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", "RUNBUDGET-SPEND-MISREPORTED"),
    ),
    run_case(
        "fail-late-dispatch-completes",
        "a trial dispatched after exhaustion runs to the end: reported at its dispatch, "
        "not tolerated as in-flight overshoot",
        matrix("1.00", SMALL, flat("0.30"), corrupt=edit_lines(LOG, _late_dispatch)),
        rfail("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", "RUNBUDGET-SPEND-MISREPORTED"),
    ),
    run_case(
        "fail-skip-names-a-trial-that-ran",
        "a trial.skipped names a trial that ran, and the one that never ran has no record",
        matrix(
            "1.00",
            SMALL,
            flat("0.30"),
            corrupt=edit_lines(
                LOG,
                first_event("trial.skipped", target="model-a", test="t1", trial=1),
            ),
        ),
        rfail("RUNBUDGET-TERMINATION-NOT-SURFACED"),
    ),
    run_case(
        "fail-status-not-surfaced",
        "stopped by the cap, but run.completed says completed",
        matrix(
            "1.00",
            SMALL,
            flat("0.30"),
            corrupt=edit_lines(LOG, first_event("run.completed", status="completed")),
        ),
        rfail("RUNBUDGET-STATUS-NOT-SURFACED"),
    ),
    run_case(
        "fail-termination-not-surfaced",
        "no budget.decision records the stop",
        matrix(
            "1.00",
            SMALL,
            flat("0.30"),
            corrupt=edit_lines(
                LOG,
                lambda rs: [
                    r
                    for r in rs
                    if not (
                        r.get("event_type") == "budget.decision"
                        and r.get("reason") == "run_budget_exhausted"
                    )
                ],
            ),
        ),
        rfail("RUNBUDGET-TERMINATION-NOT-SURFACED"),
    ),
    run_case(
        "fail-spend-misreported",
        "run.completed understates what was spent",
        matrix(
            "1.00",
            SMALL,
            flat("0.30"),
            corrupt=edit_lines(LOG, first_event("run.completed", spent_usd="0.90")),
        ),
        rfail("RUNBUDGET-SPEND-MISREPORTED"),
    ),
    run_case(
        "fail-spurious-termination",
        "the run claims budget exhaustion it never reached",
        matrix(
            "10.00",
            SMALL,
            flat("0.50"),
            corrupt=edit_lines(LOG, first_event("run.completed", status="budget_exhausted")),
        ),
        rfail("RUNBUDGET-SPURIOUS-TERMINATION"),
    ),
    run_case(
        "fail-incomplete-matrix",
        "no cap hit, yet the last trial never ran and nothing accounts for it",
        matrix(None, SMALL, flat("0.30"), stop_after=7),
        rfail("RUNBUDGET-SPEND-MISREPORTED", "RUNBUDGET-INCOMPLETE-MATRIX"),
    ),
    run_case(
        "fail-config-missing",
        "no run.config event",
        matrix("1.00", SMALL, flat("0.30"), corrupt=edit_lines(LOG, first_event("run.config"))),
        rfail("RUNBUDGET-CONFIG-MISSING"),
    ),
    run_case(
        "not-evaluated-not-a-matrix",
        "eval_matrix absent: not applicable",
        matrix("1.00", SMALL, flat("0.30")),
        Outcome("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D1-04"),
        scenario=NO_FLAGS,
    ),
]

CASES: list[Case] = [*SPEND_CASES, *RUN_CASES]
