"""The replay built-ins on plain lists: exact money, UTC days, ordered streaming."""

from decimal import Decimal

import pytest

from vlab.core.money import money
from vlab.core.timestamps import utc_day, utc_micros
from vlab.domains import run_budget as runbudget
from vlab.domains import spending_cap as ledger


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("2026-05-29T23:59:59Z", "2026-05-30T01:59:59+02:00"),
        ("2026-05-29T10:00:00.5Z", "2026-05-29T10:00:00.500000Z"),
    ],
)
def test_utc_micros_compares_after_conversion(a: str, b: str) -> None:
    assert utc_micros(a) == utc_micros(b)


def test_utc_day_boundary() -> None:
    late, midnight = utc_micros("2026-05-29T23:59:59Z"), utc_micros("2026-05-30T00:00:00Z")
    assert late is not None and midnight is not None
    assert utc_day(late) + 1 == utc_day(midnight)
    assert utc_day(utc_micros("2026-05-30T01:00:00+02:00") or 0) == utc_day(late)
    assert utc_micros("2026-05-29T10:00:00") is None and utc_micros("2026-02-30T00:00:00Z") is None


def test_money_is_exact() -> None:
    assert money("0.1") + money("0.2") == money("0.3")
    assert money(True) is None and money("1e3") is None and money(Decimal("NaN")) is None


def check(line: int, at: str, estimate: str, outcome: str, call: str) -> tuple[int, dict]:
    return line, {
        "event_id": f"e{line}",
        "event_type": "budget.check",
        "timestamp": at,
        "estimate_usd": estimate,
        "decision_outcome": outcome,
        "call_id": call,
    }


def charge(line: int, at: str, amount: str, call: str | None = None) -> tuple[int, dict]:
    return line, {"entry_id": f"c{line}", "ts": at, "amount_usd": amount, "call_id": call}


def codes(found: list[dict]) -> list[str]:
    return [f.code for f in found]


def run_ledger(budget: dict, events: list, charges: list) -> list[dict]:
    return ledger.replay(
        budget,
        iter(events),
        lambda: iter(charges),
        log_path="log",
        ledger_path="ledger",
        budget_path="budget",
    )


def test_ledger_spent_only_counts_same_day_earlier_charges() -> None:
    budget = {"daily_usd": "1.00"}
    events = [
        check(1, "2026-05-30T00:00:00Z", "0.95", "ALLOW", "x"),
        check(2, "2026-05-29T23:59:59.9Z", "0.20", "DENY", "y"),
    ]
    charges = [charge(1, "2026-05-29T23:59:59Z", "0.90"), charge(2, "2026-05-30T00:00:00Z", "5")]
    found = run_ledger(budget, events, charges)
    # Both decisions recompute right; the 5.00 charge on the 30th is a tolerated overspend.
    assert codes(found) == ["LEDGER-OVERSPEND-TOLERATED"] and found[0].advisory is True
    assert found[0].message.startswith("2026-05-30:")


def test_ledger_mismatch_names_recorded_and_expected() -> None:
    found = run_ledger(
        {"per_call_usd": "0.5"}, [check(3, "2026-05-29T10:00:00Z", "0.6", "WARN", "x")], []
    )
    assert codes(found) == ["LEDGER-DECISION-MISMATCH"]
    assert "recorded WARN, expected DENY" in found[0].message and found[0].line == 3


def test_unordered_ledger_is_reported_and_still_recomputed() -> None:
    events = [check(1, "2026-05-29T12:00:00Z", "0.5", "DENY", "x")]
    charges = [charge(1, "2026-05-29T11:00:00Z", "0.3"), charge(2, "2026-05-29T10:00:00Z", "0.3")]
    assert codes(run_ledger({"daily_usd": "1"}, events, charges)) == ["LEDGER-NOT-APPEND-ONLY"]


def trial_events(cap: str | None, costs: list[str], dispatch_all: bool = False) -> list:
    events = [
        {
            "event_type": "run.config",
            "total_budget_usd": cap,
            "targets": ["a"],
            "tests": ["t"],
            "trials": len(costs),
        }
    ]
    spent, stopped = Decimal(0), False
    for n, cost in enumerate(costs, 1):
        if stopped and not dispatch_all:
            events.append(
                {
                    "event_type": "trial.skipped",
                    "target": "a",
                    "test": "t",
                    "trial": n,
                    "reason": "run_budget_exhausted",
                }
            )
            continue
        events.append(
            {
                "event_type": "trial.dispatched",
                "trial_id": n,
                "target": "a",
                "test": "t",
                "trial": n,
            }
        )
        events.append({"event_type": "trial.completed", "trial_id": n, "cost_usd": cost})
        spent += Decimal(cost)
        stopped = cap is not None and spent >= Decimal(cap)
    return events


def run_budget(events: list) -> list[str]:
    return codes(runbudget.replay(enumerate(events, 1), log_path="log"))


def test_run_budget_needs_surfacing_when_stopped() -> None:
    events = trial_events("1.0", ["0.6", "0.6", "0.6"])
    assert run_budget(events) == [
        "RUNBUDGET-TERMINATION-NOT-SURFACED",
        "RUNBUDGET-STATUS-NOT-SURFACED",
        "RUNBUDGET-SPEND-MISREPORTED",
    ]
    events += [
        {"event_type": "budget.decision", "reason": "run_budget_exhausted"},
        {
            "event_type": "run.completed",
            "status": "budget_exhausted",
            "spent_usd": "1.2",
            "trials_run": 2,
            "trials_skipped": 1,
        },
    ]
    assert run_budget(events) == []


def test_run_budget_dispatch_after_exhaustion() -> None:
    events = trial_events("1.0", ["0.6", "0.6", "0.6"], dispatch_all=True)
    events.append(
        {
            "event_type": "run.completed",
            "status": "completed",
            "spent_usd": "1.8",
            "trials_run": 3,
            "trials_skipped": 0,
        }
    )
    # The late trial is reported at its dispatch; its completion is not "in flight".
    assert run_budget(events) == ["RUNBUDGET-DISPATCH-AFTER-EXHAUSTION"]


def test_run_budget_config_problems() -> None:
    assert run_budget([]) == ["RUNBUDGET-CONFIG-MISSING"]
    bad = [{"event_type": "run.config", "targets": [], "tests": ["t"], "trials": 1}]
    assert run_budget(bad) == ["RUNBUDGET-CONFIG-MISSING"]
