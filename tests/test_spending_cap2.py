"""spending_cap@2 (ruleset-1.3, rulesets-1.3.md §3): caps per call, UTC day, UTC month
and lifetime; ``e > max(0, cap - spent)``; unknown budget keys; stricter outcomes as
advisories with the binary-float note; the ledger alone when import.json says no checks
were recorded; a torn tail honoured only in an imported pack."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from vlab.domains import spending_cap as sc
from vlab.domains.registry import get

Record = tuple[int, dict[str, Any]]


def check(line: int, at: str, estimate: str, outcome: str, call: str | None = None) -> Record:
    return line, {
        "event_id": f"e{line}",
        "event_type": "budget.check",
        "timestamp": at,
        "estimate_usd": estimate,
        "decision_outcome": outcome,
        "call_id": call if call is not None else f"k{line}",
    }


def charge(line: int, at: str, amount: str, call: str | None = None) -> Record:
    return line, {"entry_id": f"c{line}", "ts": at, "amount_usd": amount, "call_id": call}


def marker(line: int, kind: str) -> Record:
    return line, {
        "entry_id": f"hal0:{line}",
        "source": {"artifact_path": "native/hal0/x.jsonl", "line": line},
        "unparseable": kind,
        "reason": "not JSON: Expecting value",
    }


def run(
    budget: Any,
    events: list[Record],
    charges: list[Record],
    *,
    imported: bool = False,
    checks_recorded: Any = None,
) -> list[Any]:
    return sc.replay_v2(
        budget,
        iter(events),
        lambda: iter(charges),
        log_path="log",
        ledger_path="ledger",
        budget_path="budget",
        import_path="import.json",
        imported=imported,
        checks_recorded=checks_recorded,
    )


def codes(found: list[Any]) -> list[str]:
    return [f.code for f in found]


DAY = "2026-05-29T"


# -- caps and windows -----------------------------------------------------------------------


def test_daily_window_counts_only_earlier_charges_of_that_utc_day() -> None:
    budget = {"daily_usd": "1.00"}
    charges = [charge(1, "2026-05-29T23:59:59Z", "0.90"), charge(2, "2026-05-30T00:00:00Z", "0.5")]
    events = [
        check(1, "2026-05-29T23:59:59.5Z", "0.20", "DENY"),  # 0.90 spent that day
        check(
            2, "2026-05-30T00:00:00Z", "0.95", "ALLOW"
        ),  # a charge at the same instant: not earlier
        check(3, "2026-05-30T01:59:59.9+02:00", "0.20", "DENY"),  # 2026-05-29T23:59:59.9Z
    ]
    assert run(budget, events, charges) == []


def test_month_boundary_and_lifetime() -> None:
    budget = {"monthly_usd": "1.0", "lifetime_usd": "1.5"}
    charges = [
        charge(1, "2026-04-30T12:00:05Z", "0.9"),
        charge(2, "2026-05-01T00:00:06Z", "0.5"),
        charge(3, "2026-05-01T02:00:05Z", "0.1"),
    ]
    events = [
        check(1, "2026-04-30T13:00:00Z", "0.2", "DENY"),  # April: 0.9 + 0.2 > 1.0
        check(2, "2026-05-01T00:00:01Z", "0.5", "ALLOW"),  # a new month; lifetime 0.9 + 0.5
        check(3, "2026-05-01T01:00:00Z", "0.2", "DENY"),  # lifetime 1.4 + 0.2 > 1.5
        check(4, "2026-05-01T02:00:00Z", "0.1", "ALLOW"),  # exactly at the lifetime cap
        check(5, "2026-05-01T03:00:00Z", "0", "ALLOW"),  # zero estimate at the cap
        check(6, "2026-05-01T03:00:01Z", "0.01", "DENY"),
    ]
    assert run(budget, events, charges) == []
    # A check one microsecond into May does not see April's month.
    late = [check(1, "2026-04-30T23:59:59.999999Z", "0.2", "ALLOW")]
    assert codes(run(budget, late, charges[:1])) == ["LEDGER-DECISION-MISMATCH"]


def test_per_call_is_strict_and_any_breached_cap_is_enough() -> None:
    budget = {"per_call_usd": "0.5", "daily_usd": "10", "lifetime_usd": "0.6"}
    events = [
        check(1, DAY + "10:00:00Z", "0.5", "ALLOW"),
        check(2, DAY + "10:00:01Z", "0.51", "DENY"),
        check(3, DAY + "10:00:03Z", "0.2", "DENY"),  # lifetime 0.5 spent
    ]
    assert run(budget, events, [charge(1, DAY + "10:00:02Z", "0.5")]) == []


def test_zero_estimate_after_the_cap_is_exceeded_is_allowed() -> None:
    budget = {"daily_usd": "1.0"}
    charges = [charge(1, DAY + "10:00:00Z", "1.05")]
    tolerated = ["LEDGER-OVERSPEND-TOLERATED"]  # the day ends above its cap
    assert codes(run(budget, [check(1, DAY + "11:00:00Z", "0", "ALLOW")], charges)) == tolerated
    assert codes(run(budget, [check(1, DAY + "11:00:00Z", "0.01", "DENY")], charges)) == tolerated
    found = run(budget, [check(1, DAY + "11:00:00Z", "0", "DENY")], charges)
    assert codes(found) == ["LEDGER-DECISION-STRICTER", "LEDGER-OVERSPEND-TOLERATED"]


def test_warn_only_expects_warn() -> None:
    budget = {"daily_usd": "0.5", "hard_cap": False}
    charges = [charge(1, DAY + "10:00:05Z", "0.3")]
    assert run(budget, [check(1, DAY + "10:05:00Z", "0.3", "WARN")], charges) == []
    found = run(budget, [check(1, DAY + "10:05:00Z", "0.3", "ALLOW")], charges)
    assert codes(found) == ["LEDGER-DECISION-MISMATCH"]
    found = run(budget, [check(1, DAY + "10:05:00Z", "0.3", "DENY")], charges)
    assert codes(found) == ["LEDGER-DECISION-STRICTER"] and found[0].advisory


def test_no_cap_allows_everything() -> None:
    assert run({}, [check(1, DAY + "10:00:00Z", "1000", "ALLOW")], []) == []


# -- the budget file --------------------------------------------------------------------------


def test_unknown_budget_keys_are_named_and_metadata_is_not_a_key() -> None:
    budget = {
        "agent_id": "hermes",
        "persona_id": "analyst",
        "source": {"artifact_path": "native/hal0/a.toml", "jsonptr": "/persona/budget"},
        "daily_usd": "1",
        "weekly_usd": "2",
        "[persona.budget].per_call_usd": "3",
    }
    found = run(budget, [check(1, DAY + "10:00:00Z", "5", "ALLOW")], [])
    assert codes(found) == ["LEDGER-BUDGET-INVALID", "LEDGER-BUDGET-INVALID"]
    assert "'weekly_usd'" in found[0].message
    assert "'[persona.budget].per_call_usd'" in found[1].message
    budget = {k: v for k, v in budget.items() if "weekly" not in k and "[" not in k}
    assert codes(run(budget, [check(1, DAY + "10:00:00Z", "0.5", "ALLOW")], [])) == []


@pytest.mark.parametrize(
    ("budget", "why"),
    [
        ({"monthly_usd": "-1"}, "monthly_usd is negative"),
        ({"lifetime_usd": {"toml_value": "0.3", "toml_type": "string"}}, "not money"),
        ({"hard_cap": "yes"}, "hard_cap is not a boolean"),
        ([], "not a JSON object"),
        (None, "not a JSON object"),
    ],
)
def test_invalid_budgets(budget: Any, why: str) -> None:
    found = run(budget, [check(1, DAY + "10:00:00Z", "1", "ALLOW")], [])
    assert codes(found) == ["LEDGER-BUDGET-INVALID"] and why in found[0].message


# -- stricter, and the binary floating-point note -------------------------------------------


def test_stricter_says_when_binary_floats_give_the_recorded_outcome() -> None:
    # hal0: 0.3 - 0.1 = 0.19999999999999998 in binary floats, below the estimate 0.2.
    found = run(
        {"daily_usd": "0.3"},
        [check(1, DAY + "09:01:00Z", "0.2", "DENY")],
        [charge(1, DAY + "09:00:05Z", "0.1")],
    )
    assert codes(found) == ["LEDGER-DECISION-STRICTER"]
    assert found[0].advisory and found[0].line == 1 and found[0].artifact_path == "log"
    message = found[0].message
    assert "recorded DENY, expected ALLOW in exact decimal" in message
    assert "binary floating-point arithmetic on the same numbers gives the recorded DENY" in message
    assert "0.19999999999999998" in message


def test_stricter_says_when_rounding_does_not_explain_it() -> None:
    found = run({"daily_usd": "1"}, [check(1, DAY + "09:00:00Z", "0.2", "DENY")], [])
    assert codes(found) == ["LEDGER-DECISION-STRICTER"]
    assert "binary floating-point arithmetic gives ALLOW too" in found[0].message


def test_float_outcome_follows_hal0s_arithmetic() -> None:
    caps, problems = sc.parse_caps({"daily_usd": "0.3", "lifetime_usd": "1.5"})
    assert caps is not None and problems == []
    spent = sc.Spent(Decimal("0.1"), Decimal("0.1"), Decimal("0.1"), (0.1, 0.1, 0.1))
    assert sc.recomputed_outcome(caps, spent, Decimal("0.2")) == "ALLOW"
    assert sc.float_outcome(caps, spent, Decimal("0.2"))[0] == "DENY"


def test_a_mismatch_is_a_violation_and_stops_the_overspend_advisory() -> None:
    found = run(
        {"daily_usd": "1.0"},
        [check(1, DAY + "10:00:00Z", "0.6", "ALLOW"), check(2, DAY + "10:00:01Z", "0.6", "ALLOW")],
        [charge(1, DAY + "10:00:02Z", "0.6"), charge(2, DAY + "10:00:03Z", "0.6")],
    )
    assert codes(found) == ["LEDGER-OVERSPEND-TOLERATED"]  # both saw nothing spent: a race
    found = run(
        {"daily_usd": "1.0"},
        [check(1, DAY + "10:00:00Z", "0.6", "ALLOW"), check(2, DAY + "10:00:03Z", "0.6", "ALLOW")],
        [charge(1, DAY + "10:00:02Z", "0.6"), charge(2, DAY + "10:00:04Z", "0.6")],
    )
    assert codes(found) == ["LEDGER-DECISION-MISMATCH"]
    assert not found[0].advisory and "spent before it: daily 0.6" in found[0].message


def test_overspend_is_reported_for_every_window() -> None:
    budget = {"daily_usd": "1", "monthly_usd": "1.5", "lifetime_usd": "2"}
    events = [check(1, "2026-05-29T10:00:00Z", "0.1", "ALLOW")]
    charges = [
        charge(1, "2026-04-29T10:00:05Z", "0.9"),
        charge(2, "2026-05-29T10:00:05Z", "1.2"),
        charge(3, "2026-05-30T10:00:05Z", "0.4"),
    ]
    found = run(budget, events, charges)
    assert codes(found) == ["LEDGER-OVERSPEND-TOLERATED"] * 3
    assert [f.message.split(":")[0] for f in found] == ["2026-05-29", "2026-05", "all time"]
    assert all(f.advisory for f in found)


def test_an_unordered_ledger_is_recomputed_in_time_order() -> None:
    charges = [charge(1, "2026-05-01T10:00:00Z", "0.8"), charge(2, "2026-04-01T10:00:00Z", "0.5")]
    events = [
        check(1, "2026-04-15T00:00:00Z", "0.6", "DENY"),  # lifetime 0.5 spent by then
        check(2, "2026-05-02T00:00:00Z", "0.1", "DENY"),
    ]
    found = run({"lifetime_usd": "1.0"}, events, charges)
    assert codes(found) == ["LEDGER-NOT-APPEND-ONLY", "LEDGER-OVERSPEND-TOLERATED"]


def test_1_2_checks_keep_their_meaning() -> None:
    # @1 is unchanged: a zero estimate after the daily cap is exceeded is DENY there.
    found = sc.replay(
        {"daily_usd": "1.0"},
        iter([check(1, DAY + "11:00:00Z", "0", "ALLOW")]),
        lambda: iter([charge(1, DAY + "10:00:00Z", "1.05")]),
        log_path="log",
        ledger_path="ledger",
        budget_path="budget",
    )
    assert codes(found) == ["LEDGER-DECISION-MISMATCH"]


# -- no recorded checks: the ledger alone -------------------------------------------------------


OVER = [
    charge(1, "2026-05-29T10:00:05Z", "0.5"),
    charge(2, "2026-05-29T10:00:06Z", "0.55"),  # the day: 1.05 > 1.0
    charge(3, "2026-05-29T10:30:05Z", "0"),  # zero never takes a total over
    charge(4, "2026-05-30T09:00:05Z", "0.7"),  # above per-call 0.6; the month 1.75 > 1.5
]
OVER_CAPS = {"daily_usd": "1.0", "monthly_usd": "1.5", "per_call_usd": "0.6"}


def test_ledger_alone_names_each_charge_and_window_over_its_cap() -> None:
    found = run(OVER_CAPS, [], OVER, imported=True, checks_recorded=False)
    assert codes(found) == ["LEDGER-CAP-EXCEEDED"] * 3 + ["LEDGER-CHECKS-NOT-RECORDED"]
    assert [f.line for f in found[:3]] == [2, 4, 4]
    assert "daily total (2026-05-29) from 0.5 to 1.05" in found[0].message
    assert "per-call cap 0.6" in found[1].message
    assert "monthly total (2026-05) from 1.05 to 1.75" in found[2].message
    assert [f.advisory for f in found] == [False, False, False, True]
    assert found[3].artifact_path == "import.json"


def test_ledger_alone_under_warn_only_is_advisory() -> None:
    caps = {**OVER_CAPS, "hard_cap": False}
    found = run(caps, [], OVER, imported=True, checks_recorded=False)
    assert codes(found) == ["LEDGER-CHECKS-NOT-RECORDED"] + ["LEDGER-CAP-EXCEEDED"] * 3
    assert all(f.advisory for f in found) and "warn-only" in found[1].message


def test_ledger_alone_within_caps_passes_with_the_advisory() -> None:
    found = run(OVER_CAPS, [], OVER[:1], imported=True, checks_recorded=False)
    assert codes(found) == ["LEDGER-CHECKS-NOT-RECORDED"]
    assert codes(
        run({"lifetime_usd": "1.05"}, [], OVER[:3], imported=True, checks_recorded=False)
    ) == ["LEDGER-CHECKS-NOT-RECORDED"]


@pytest.mark.parametrize(
    ("imported", "recorded"), [(False, None), (False, False), (True, True), (True, None)]
)
def test_any_other_pack_without_checks_keeps_no_checks(imported: bool, recorded: Any) -> None:
    found = run(OVER_CAPS, [], OVER, imported=imported, checks_recorded=recorded)
    # (as in @1, the windows that end above their cap are still reported)
    assert codes(found) == ["LEDGER-NO-CHECKS"] + ["LEDGER-OVERSPEND-TOLERATED"] * 2


# -- the torn tail ----------------------------------------------------------------------------


def test_a_torn_final_line_is_advisory_in_an_imported_pack() -> None:
    charges = [charge(1, DAY + "10:00:05Z", "0.1"), marker(2, "torn_tail")]
    events = [check(1, DAY + "10:00:00Z", "0.1", "ALLOW")]
    found = run({"daily_usd": "1"}, events, charges, imported=True, checks_recorded=True)
    assert codes(found) == ["LEDGER-TORN-TAIL"]
    assert found[0].advisory and found[0].line == 2 and "'hal0:2'" in found[0].message


def test_the_torn_marker_is_honoured_only_with_import_json() -> None:
    charges = [charge(1, DAY + "10:00:05Z", "0.1"), marker(2, "torn_tail")]
    events = [check(1, DAY + "10:00:00Z", "0.1", "ALLOW")]
    found = run({"daily_usd": "1"}, events, charges, imported=False)
    assert codes(found) == ["LEDGER-UNPARSEABLE"] and not found[0].advisory


def test_a_torn_marker_that_is_not_last_and_an_invalid_line_are_unparseable() -> None:
    charges = [marker(1, "torn_tail"), charge(2, DAY + "10:00:05Z", "0.1"), marker(3, "invalid")]
    events = [check(1, DAY + "10:00:00Z", "0.1", "ALLOW")]
    found = run({}, events, charges, imported=True, checks_recorded=True)
    assert codes(found) == ["LEDGER-UNPARSEABLE", "LEDGER-UNPARSEABLE"]
    assert [f.line for f in found] == [1, 3] and "did not parse" in found[0].message


def test_ledger_alone_with_a_torn_tail() -> None:
    charges = [charge(1, DAY + "10:00:05Z", "0.1"), marker(2, "torn_tail")]
    found = run({"daily_usd": "1"}, [], charges, imported=True, checks_recorded=False)
    assert codes(found) == ["LEDGER-CHECKS-NOT-RECORDED", "LEDGER-TORN-TAIL"]


# -- the registered check reads import.json through the view ---------------------------------


class View:
    def __init__(self, files: dict[str, Any], records: dict[str, list[Record]]) -> None:
        self.files, self.records = files, records

    def json_artifact(self, path: str) -> dict[str, Any]:
        found = path in self.files
        return {"found": found, "sha256": None, "value": self.files.get(path)}

    def ndjson_records(self, path: str) -> Iterator[Record]:
        yield from self.records.get(path, [])

    def artifact_bytes(self, path: str) -> tuple[bytes, str] | None:
        return None

    def first_after(self, *args: Any) -> None:
        return None


def _call(files: dict[str, Any]) -> list[str]:
    check2 = get("spending_cap@2")
    assert check2 is not None
    view = View(
        {"budget.json": {"daily_usd": "1.0"}, **files},
        {"ledger.jsonl": [charge(1, DAY + "10:00:00Z", "1.5"), marker(2, "torn_tail")]},
    )
    found = check2(
        view,  # type: ignore[arg-type]
        pointer={"artifact_path": "ledger.jsonl"},
        budget_path="budget.json",
        log_path="log.ndjson",
        import_path="import.json",
    )
    return codes(found)


def test_the_check_takes_its_mode_from_import_json() -> None:
    no_checks = {"import.json": {"evidence": {"checks_recorded": False}}}
    assert _call(no_checks) == [
        "LEDGER-CAP-EXCEEDED",
        "LEDGER-CHECKS-NOT-RECORDED",
        "LEDGER-TORN-TAIL",
    ]
    tolerated = "LEDGER-OVERSPEND-TOLERATED"
    assert _call({}) == ["LEDGER-NO-CHECKS", "LEDGER-UNPARSEABLE", tolerated]
    assert _call({"import.json": {"evidence": {"checks_recorded": True}}}) == [
        "LEDGER-NO-CHECKS",
        "LEDGER-TORN-TAIL",
        tolerated,
    ]
    assert _call({"import.json": None})[0] == "LEDGER-NO-CHECKS"  # found but not an object


def test_the_registered_declaration() -> None:
    check2 = get("spending_cap@2")
    assert check2 is not None
    assert [a.name for a in check2.arguments] == [
        "pointer",
        "budget_path",
        "log_path",
        "import_path",
    ]
    assert len(check2.codes) == 13
