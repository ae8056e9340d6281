"""run_budget@2 (CL-D1-04 in ruleset-1.3, rulesets-1.3.md §3): case-level dispatch, caps per
run and per target, trials in flight of a started case, a case started after exhaustion,
case-level costs only (an advisory, never a guess), logs ordered per target; and a
trial-mode log without @2's keys judged exactly as run_budget@1 judges it."""

from __future__ import annotations

from typing import Any

import pytest

from vlab.core.strictjson import loads
from vlab.domains import registry
from vlab.domains.run_budget import replay, replay_v2

LOG = "trace/events.ndjson"
EXHAUSTED = "run_budget_exhausted"


def config(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_type": "run.config",
        "dispatch_unit": "case",
        "targets": ["a", "b"],
        "tests": ["t1", "t2"],
        "trials": 1,
        "total_budget_usd": None,
    }
    base.update(fields)
    return {k: v for k, v in base.items() if v is not ...}


def dispatched(case: str, target: str, test: str) -> dict[str, Any]:
    return {"event_type": "case.dispatched", "case_id": case, "target": target, "test": test}


def completed(case: str, cost: str | None, basis: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"event_type": "case.completed", "case_id": case, "status": "ok"}
    if cost is not None:
        event["cost_usd"] = cost
    if basis is not None:
        event["cost_basis"] = basis
    return event


def trial(case: str, number: int, cost: str) -> dict[str, Any]:
    return {
        "event_type": "trial.completed",
        "trial_id": f"{case}:{number}",
        "case_id": case,
        "trial": number,
        "cost_usd": cost,
        "status": "ok",
    }


def skipped(case: str, target: str, test: str, **fields: Any) -> dict[str, Any]:
    return {
        "event_type": "case.skipped",
        "case_id": case,
        "target": target,
        "test": test,
        "reason": EXHAUSTED,
        **fields,
    }


DECISION = {
    "event_type": "budget.decision",
    "decision_kind": "budget",
    "decision_outcome": "SUSPEND",
    "reason": EXHAUSTED,
}


def report(status: str, spent: str, run: int, skipped_: int) -> dict[str, Any]:
    return {
        "event_type": "run.completed",
        "status": status,
        "spent_usd": spent,
        "cases_run": run,
        "cases_skipped": skipped_,
    }


def judge(events: list[dict[str, Any]]) -> list[tuple[str, int | None, bool]]:
    # Money as the engine reads it: exact decimals from the NDJSON text.
    import json

    records = [(n, loads(json.dumps(e).encode())) for n, e in enumerate(events, 1)]
    return [(d.code, d.line, d.advisory) for d in replay_v2(records, log_path=LOG)]


def codes(events: list[dict[str, Any]]) -> list[str]:
    return [c for c, _, _ in judge(events)]


def full_run(cap: str | None = None, **cfg: Any) -> list[dict[str, Any]]:
    """Four cases that all ran, 0.10 each."""
    return [
        config(total_budget_usd=cap, **cfg),
        *(
            e
            for i, (t, s) in enumerate([("a", "t1"), ("a", "t2"), ("b", "t1"), ("b", "t2")], 1)
            for e in (dispatched(f"c{i}", t, s), completed(f"c{i}", "0.10"))
        ),
        report("completed", "0.40", 4, 0),
    ]


# -- case dispatch ------------------------------------------------------------------------------


def test_a_full_case_matrix_without_a_cap_passes() -> None:
    assert codes(full_run()) == []


def test_cases_are_the_planned_units_not_trials() -> None:
    # trials 5 plans 4 cases, not 20 trials: four completed cases are the whole matrix.
    assert codes(full_run(trials=5)) == []


def test_a_case_started_after_exhaustion_is_dispatch_after_exhaustion() -> None:
    events = [
        config(total_budget_usd="0.20"),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "a", "t2"),
        completed("c2", "0.10"),  # 0.20: exhausted here
        dispatched("c3", "b", "t1"),  # started after
        completed("c3", "0.10"),
        DECISION,
        skipped("c4", "b", "t2"),
        report("budget_exhausted", "0.30", 3, 1),
    ]
    assert judge(events) == [("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", 6, False)]


def test_a_stop_at_case_level_surfaced_passes() -> None:
    events = [
        config(total_budget_usd="0.20"),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "a", "t2"),
        completed("c2", "0.10"),
        DECISION,
        skipped("c3", "b", "t1"),
        skipped("c4", "b", "t2"),
        report("budget_exhausted", "0.20", 2, 2),
    ]
    assert codes(events) == []


def test_every_case_never_dispatched_needs_a_skip_record() -> None:
    events = [
        config(total_budget_usd="0.20"),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "a", "t2"),
        completed("c2", "0.10"),
        DECISION,
        skipped("c3", "b", "t1"),  # b/t2 never ran and is not accounted for
        report("budget_exhausted", "0.20", 2, 2),
    ]
    assert codes(events) == ["RUNBUDGET-TERMINATION-NOT-SURFACED"]


def test_a_skip_naming_a_case_that_ran_is_reported() -> None:
    events = [*full_run()[:-1], skipped("x", "a", "t1"), report("completed", "0.40", 4, 0)]
    assert codes(events) == ["RUNBUDGET-SPURIOUS-TERMINATION", "RUNBUDGET-SPEND-MISREPORTED"]


def test_the_report_counts_cases() -> None:
    events = [*full_run()[:-1], report("completed", "0.40", 3, 0)]
    assert codes(events) == ["RUNBUDGET-SPEND-MISREPORTED"]


def test_explicit_cases_plan_a_partial_matrix() -> None:
    events = [
        config(cases=[{"target": "a", "test": "t1"}, {"target": "b", "test": "t2"}]),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "b", "t2"),
        completed("c2", "0.10"),
        report("completed", "0.20", 2, 0),
    ]
    assert codes(events) == []
    missing = [*events[:3], report("completed", "0.10", 1, 0)]
    assert codes(missing) == ["RUNBUDGET-SPEND-MISREPORTED", "RUNBUDGET-INCOMPLETE-MATRIX"]


# -- trials of a started case -------------------------------------------------------------------


def test_trials_of_a_started_case_run_on_in_flight() -> None:
    events = [
        config(total_budget_usd="0.25", trials=3),
        dispatched("c1", "a", "t1"),
        trial("c1", 1, "0.10"),
        trial("c1", 2, "0.10"),
        trial("c1", 3, "0.10"),  # 0.20 before it: not yet exhausted
        completed("c1", None, "trials"),
        dispatched("c2", "a", "t2"),  # 0.30 >= 0.25: after exhaustion
        trial("c2", 1, "0.10"),
        completed("c2", None, "trials"),
        DECISION,
        skipped("c3", "b", "t1"),
        skipped("c4", "b", "t2"),
        report("budget_exhausted", "0.40", 2, 2),
    ]
    assert judge(events) == [("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", 7, False)]


def test_a_case_exhausting_the_cap_mid_way_runs_its_other_trials_as_in_flight() -> None:
    events = [
        config(total_budget_usd="0.15", trials=3),
        dispatched("c1", "a", "t1"),
        trial("c1", 1, "0.10"),
        trial("c1", 2, "0.10"),  # 0.20 >= 0.15: exhausted
        trial("c1", 3, "0.10"),  # in flight: the case had started
        completed("c1", None, "trials"),
        DECISION,
        *(
            skipped(f"s{i}", t, s)
            for i, (t, s) in enumerate([("a", "t2"), ("b", "t1"), ("b", "t2")])
        ),
        report("budget_exhausted", "0.30", 1, 3),
    ]
    assert judge(events) == [("RUNBUDGET-INFLIGHT-OVERSHOOT", 5, True)]


def test_a_case_cost_beside_its_trials_must_be_their_sum() -> None:
    events = [
        config(trials=2, tests=["t1"], targets=["a"]),
        dispatched("c1", "a", "t1"),
        trial("c1", 1, "0.10"),
        trial("c1", 2, "0.20"),
        completed("c1", "0.20", "trials"),
        report("completed", "0.30", 1, 0),
    ]
    assert judge(events) == [("RUNBUDGET-SPEND-MISREPORTED", 5, False)]


# -- caps per target ----------------------------------------------------------------------------


def per_target(**caps: str | None) -> dict[str, Any]:
    return config(budget_scope="target", budget_usd_by_target=caps)


def test_a_target_cap_stops_that_target_only() -> None:
    events = [
        per_target(a="0.10", b="1.00"),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),  # a exhausted
        dispatched("c2", "b", "t1"),  # b has its own cap: fine
        completed("c2", "0.10"),
        dispatched("c3", "b", "t2"),
        completed("c3", "0.10"),
        DECISION,
        skipped("c4", "a", "t2", budget_scope="target", reported_cap_usd="0.1000"),
        report("budget_exhausted", "0.30", 3, 1),
    ]
    assert codes(events) == []


def test_a_case_of_an_exhausted_target_is_dispatch_after_exhaustion() -> None:
    events = [
        per_target(a="0.10"),  # b has no cap of its own
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "b", "t1"),
        completed("c2", "5.00"),
        dispatched("c3", "a", "t2"),  # a was exhausted at line 3
        completed("c3", "0.10"),
        dispatched("c4", "b", "t2"),
        completed("c4", "5.00"),
        report("completed", "10.20", 4, 0),
    ]
    assert judge(events) == [("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", 6, False)]


def test_a_run_cap_and_target_caps_hold_together() -> None:
    events = [
        config(total_budget_usd="0.15", budget_scope="target", budget_usd_by_target={"a": "1"}),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.10"),
        dispatched("c2", "b", "t1"),
        completed("c2", "0.10"),  # the run cap: 0.20 >= 0.15
        dispatched("c3", "a", "t2"),
        completed("c3", "0.10"),
        DECISION,
        skipped("c4", "b", "t2"),
        report("budget_exhausted", "0.30", 3, 1),
    ]
    assert codes(events) == ["RUNBUDGET-DISPATCH-AFTER-EXHAUSTION"]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"budget_scope": "suite"}, "budget_scope"),
        ({"budget_scope": "target"}, "budget_usd_by_target object"),
        ({"budget_usd_by_target": {"a": "1"}}, "budget_scope is not target"),
        ({"budget_scope": "target", "budget_usd_by_target": {"z": "1"}}, "not a target"),
        ({"budget_scope": "target", "budget_usd_by_target": {"a": "-1"}}, "neither money"),
        ({"dispatch_unit": "batch"}, "dispatch_unit"),
        ({"order": "random"}, "order"),
        ({"order": "per_target", "workers": 0}, "workers"),
        ({"cases": [{"target": "a", "test": "t9"}]}, "not a configured"),
        ({"cases": [{"target": "a", "test": "t1"}, {"target": "a", "test": "t1"}]}, "twice"),
        ({"dispatch_unit": "trial", "cases": [{"target": "a", "test": "t1"}]}, "case"),
        ({"trials": 0}, "1 <= trials"),
    ],
)
def test_an_invalid_v2_config_is_config_missing(fields: dict[str, Any], why: str) -> None:
    import json

    events = [config(**fields), *full_run()[1:]]
    records = [(n, loads(json.dumps(e).encode())) for n, e in enumerate(events, 1)]
    found = replay_v2(records, log_path=LOG)
    assert [d.code for d in found] == ["RUNBUDGET-CONFIG-MISSING"]
    assert why in found[0].message


def test_a_skip_reporting_another_cap_than_run_config_is_config_missing() -> None:
    events = [
        config(total_budget_usd=None),  # --budget-usd not given to the importer
        dispatched("c1", "a", "t1"),
        completed("c1", "0.70"),
        DECISION,
        skipped("c2", "a", "t2", budget_scope="run", reported_cap_usd="0.6000"),
        skipped("c3", "b", "t1", budget_scope="run", reported_cap_usd="0.6000"),
        skipped("c4", "b", "t2", budget_scope="run", reported_cap_usd="0.6000"),
        report("budget_exhausted", "0.70", 1, 3),
    ]
    assert judge(events) == [("RUNBUDGET-CONFIG-MISSING", 5, False)]
    agreed = [config(total_budget_usd="0.6"), *events[1:]]
    assert codes(agreed) == []  # 0.6 is 0.6000 at agentv's four decimals


# -- case-level costs only ----------------------------------------------------------------------


def partial_run(cap: str, spent: str) -> list[dict[str, Any]]:
    """Two trials a case, each case recording one trial's cost (agentv 4.42.4)."""
    return [
        config(total_budget_usd=cap, trials=2),
        dispatched("c1", "a", "t1"),
        completed("c1", spent, "partial"),
        DECISION,
        skipped("c2", "a", "t2"),
        skipped("c3", "b", "t1"),
        skipped("c4", "b", "t2"),
        report("budget_exhausted", spent, 1, 3),
    ]


def test_case_costs_only_are_said_in_an_advisory() -> None:
    found = judge(partial_run("0.10", "0.10"))
    assert found == [("RUNBUDGET-CASE-COSTS-ONLY", None, True)]


def test_a_reported_exhaustion_partial_costs_do_not_reach_is_not_refuted() -> None:
    # 0.05 recorded of a 0.10 cap: the unrecorded trial may have cost the rest.
    assert judge(partial_run("0.10", "0.05")) == [("RUNBUDGET-CASE-COSTS-ONLY", None, True)]


def test_with_exact_case_costs_the_same_stop_is_spurious() -> None:
    events = partial_run("0.10", "0.05")
    events[2] = completed("c1", "0.05", "case")
    assert codes(events) == ["RUNBUDGET-SPURIOUS-TERMINATION", "RUNBUDGET-CASE-COSTS-ONLY"]


def test_one_trial_a_case_needs_no_case_cost_advisory() -> None:
    events = partial_run("0.10", "0.10")
    events[0] = config(total_budget_usd="0.10", trials=1)
    events[2] = completed("c1", "0.10", "case")
    assert codes(events) == []


def test_a_case_without_a_cost_is_a_lower_bound_and_a_bad_one_is_reported() -> None:
    events = partial_run("0.10", "0.10")
    events[2] = completed("c1", None)
    events[-1] = report("budget_exhausted", "0", 1, 3)
    assert codes(events) == ["RUNBUDGET-CASE-COSTS-ONLY"]
    events[2] = completed("c1", "-0.10")
    assert codes(events) == ["RUNBUDGET-SPEND-MISREPORTED", "RUNBUDGET-CASE-COSTS-ONLY"]


# -- logs ordered per target --------------------------------------------------------------------


def ordered_per_target(workers: int | None, cap: str) -> list[dict[str, Any]]:
    """Target a's three cases, 0.30, 0.40, then a third; b's one case."""
    return [
        config(
            targets=["a", "b"],
            tests=["t1", "t2", "t3"],
            budget_scope="target",
            budget_usd_by_target={"a": cap},
            order="per_target",
            workers=workers,
            cases=[
                {"target": "a", "test": "t1"},
                {"target": "a", "test": "t2"},
                {"target": "a", "test": "t3"},
                {"target": "b", "test": "t1"},
            ],
        ),
        dispatched("c1", "a", "t1"),
        completed("c1", "0.30"),
        dispatched("c2", "a", "t2"),
        completed("c2", "0.40"),
        dispatched("c3", "a", "t3"),
        completed("c3", "0.01"),
        dispatched("c4", "b", "t1"),
        completed("c4", "9.00"),
        report("completed", "9.71", 4, 0),
    ]


def test_one_worker_orders_a_targets_cases() -> None:
    # c3 started after c1 and c2 finished: 0.70 >= 0.35.
    assert judge(ordered_per_target(1, "0.35")) == [
        ("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", 6, False)
    ]


def test_two_workers_leave_only_the_cheapest_earlier_case_certain() -> None:
    # With 2 at once, c3 started once at least one of c1, c2 had finished: at least 0.30
    # (and c2 may have started before or after c1's 0.30 was spent).
    assert codes(ordered_per_target(2, "0.30")) == [
        "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
        "RUNBUDGET-ORDER-PARTIAL",
    ]
    assert codes(ordered_per_target(2, "0.35")) == ["RUNBUDGET-ORDER-PARTIAL"]


def test_unrecorded_workers_leave_nothing_certain() -> None:
    assert codes(ordered_per_target(None, "0.35")) == ["RUNBUDGET-ORDER-PARTIAL"]


def test_another_targets_spend_is_never_certain_before_a_dispatch() -> None:
    events = ordered_per_target(1, "0.35")
    # The run-wide cap instead: b's 9.00 may or may not have come before a's cases.
    events[0] = {**events[0], "budget_scope": "run", "total_budget_usd": "5"}
    del events[0]["budget_usd_by_target"]
    assert codes(events) == ["RUNBUDGET-ORDER-PARTIAL"]


def test_a_long_per_target_log_is_judged() -> None:
    # 20 000 cases of one target, four at once: the bound is kept in heaps, not re-sorted.
    n = 20_000
    events: list[dict[str, Any]] = [
        config(
            targets=["a"],
            tests=[f"t{i}" for i in range(n)],
            order="per_target",
            workers=4,
            total_budget_usd="1000000",
        )
    ]
    for i in range(n):
        events += [dispatched(f"c{i}", "a", f"t{i}"), completed(f"c{i}", "0.01")]
    events.append(report("completed", "200.00", n, 0))
    assert codes(events) == []


# -- trial mode ---------------------------------------------------------------------------------


def trial_log() -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = [
        {
            "event_type": "run.config",
            "targets": ["a"],
            "tests": ["t1"],
            "trials": 3,
            "total_budget_usd": "0.20",
        }
    ]
    for n in (1, 2, 3):
        tid = f"a-t1-{n}"
        events.append(
            {
                "event_type": "trial.dispatched",
                "trial_id": tid,
                "target": "a",
                "test": "t1",
                "trial": n,
            }
        )
        events.append(
            {"event_type": "trial.completed", "trial_id": tid, "cost_usd": "0.10", "status": "ok"}
        )
    events.append(
        {
            "event_type": "run.completed",
            "status": "completed",
            "spent_usd": "0.30",
            "trials_run": 3,
            "trials_skipped": 0,
        }
    )
    return events


def test_a_trial_log_without_v2_keys_is_judged_as_run_budget_1() -> None:
    import json

    records = [(n, loads(json.dumps(e).encode())) for n, e in enumerate(trial_log(), 1)]
    v1 = [(d.code, d.message, d.line) for d in replay(records, log_path=LOG)]
    v2 = [(d.code, d.message, d.line) for d in replay_v2(records, log_path=LOG)]
    assert v1 == v2 == [("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", v1[0][1], 6)]


def test_per_target_caps_work_in_trial_mode_too() -> None:
    events = trial_log()
    events[0] = {
        **events[0],
        "total_budget_usd": None,
        "budget_scope": "target",
        "budget_usd_by_target": {"a": "0.20"},
    }
    assert codes(events) == ["RUNBUDGET-DISPATCH-AFTER-EXHAUSTION"]


# -- the registered check -----------------------------------------------------------------------


class _View:
    def __init__(self, events: list[dict[str, Any]]) -> None:
        import json

        self.records = [(n, loads(json.dumps(e).encode())) for n, e in enumerate(events, 1)]

    def ndjson_records(self, path: str) -> Any:
        assert path == LOG
        return iter(self.records)


def test_run_budget_2_is_registered_with_its_codes_and_emits_only_them() -> None:
    check = registry.get("run_budget@2")
    assert check is not None
    assert {"RUNBUDGET-CASE-COSTS-ONLY", "RUNBUDGET-ORDER-PARTIAL"} <= set(check.codes)
    found = check(_View(partial_run("0.10", "0.05")), pointer={"artifact_path": LOG})
    assert [d.code for d in found] == ["RUNBUDGET-CASE-COSTS-ONLY"]
    assert found[0].advisory


def test_ruleset_1_3_judges_cl_d1_04_with_run_budget_2(catalog: Any) -> None:
    ruleset = catalog.get("ruleset-1.3")
    clause = next(c for c in ruleset.clauses if c.clause_id == "CL-D1-04")
    (check,) = clause.checks
    assert check.calls == ("run_budget@2",)
    assert set(check.emits) == set(registry.get("run_budget@2").codes)


def test_an_unreadable_native_record_is_damage_even_when_every_case_is_accounted_for() -> None:
    # An importer's record.unreadable (agentv: a NUL line, a NUL tail): never silent.
    events = full_run()
    assert codes(events) == []
    damaged = [
        *events[:-1],
        {"event_type": "record.unreadable", "reason": "not JSON", "first_line": 5, "last_line": 9},
        events[-1],
    ]
    assert judge(damaged) == [("RUNBUDGET-SPEND-MISREPORTED", len(damaged) - 1, False)]
