"""run_budget@1's replay as released before decision 258 (ruleset-1.2), kept verbatim as the
reference the compact one-pass replay is compared with (tests/test_replay_differential.py)."""

# ruff: noqa
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.money import exact, fmt, money
from vlab.core.tokens import key
from vlab.domains.run_budget import EXHAUSTED, MAX_TRIALS, _Plan, _tuple


def replay(events: Iterable[tuple[int, dict[str, Any]]], *, log_path: str) -> list[Detail]:
    with exact():
        return _replay(events, log_path=log_path)


def _replay(events: Iterable[tuple[int, dict[str, Any]]], *, log_path: str) -> list[Detail]:
    found: list[Detail] = []

    def add(code: str, message: str, line: int | None = None, advisory: bool = False) -> None:
        found.append(finding(code, message, line=line, artifact_path=log_path, advisory=advisory))

    configs: list[tuple[int, dict[str, Any]]] = []
    cap: Decimal | None = None
    spent = Decimal(0)
    exhausted_line: int | None = None
    completed = 0
    dispatched: dict[Any, tuple[Any, Any, Any]] = {}  # trial_id -> tuple
    dispatched_tuples: set[tuple[Any, Any, Any]] = set()
    skipped: list[tuple[int, tuple[Any, Any, Any], Any]] = []
    reported = False
    exhaustion_decision = False
    final: tuple[int, dict[str, Any]] | None = None
    completed_tuples: set[tuple[Any, Any, Any]] = set()
    late: set[Any] = set()  # trial_ids dispatched after exhaustion
    for line, event in events:
        kind = event.get("event_type")
        if kind == "run.config":
            configs.append((line, event))
            if len(configs) == 1:
                cap = money(event.get("total_budget_usd"))
        elif kind == "trial.dispatched":
            if exhausted_line is not None:
                add(
                    "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
                    f"trial {event.get('trial_id')!r} dispatched after the budget was exhausted "
                    f"(line {exhausted_line})",
                    line,
                )
            dispatched[key(event.get("trial_id"))] = _tuple(event)
            dispatched_tuples.add(_tuple(event))
            if exhausted_line is not None:
                late.add(key(event.get("trial_id")))
        elif kind == "trial.completed":
            cost = money(event.get("cost_usd"))
            if cost is None:
                add(
                    "RUNBUDGET-SPEND-MISREPORTED",
                    f"trial {event.get('trial_id')!r} completed without a money cost_usd",
                    line,
                )
                cost = Decimal(0)
            completed += 1
            if key(event.get("trial_id")) in dispatched:
                completed_tuples.add(dispatched[key(event.get("trial_id"))])
            # Only trials already in flight at exhaustion are tolerated overshoot; a trial
            # dispatched after it was reported at its dispatch.
            if exhausted_line is not None and key(event.get("trial_id")) not in late:
                add(
                    "RUNBUDGET-INFLIGHT-OVERSHOOT",
                    f"trial {event.get('trial_id')!r} dispatched before exhaustion completed "
                    f"after it (cost {fmt(cost)})",
                    line,
                    advisory=True,
                )
            spent += cost
            if exhausted_line is None and cap is not None and spent >= cap:
                exhausted_line = line
        elif kind == "budget.decision":
            if event.get("reason") == EXHAUSTED:
                reported = exhaustion_decision = True
        elif kind == "trial.skipped":
            skipped.append((line, _tuple(event), event.get("reason")))
            if event.get("reason") == EXHAUSTED:
                reported = True
        elif kind == "run.completed":
            final = (line, event)
            if event.get("status") == "budget_exhausted":
                reported = True

    if len(configs) != 1:
        add(
            "RUNBUDGET-CONFIG-MISSING",
            "no run.config event" if not configs else f"{len(configs)} run.config events",
            configs[1][0] if len(configs) > 1 else None,
        )
        return found
    config_line, config = configs[0]
    targets, tests, trials = config.get("targets"), config.get("tests"), config.get("trials")
    raw_cap = config.get("total_budget_usd")
    if (
        not isinstance(targets, list)
        or not targets
        or not isinstance(tests, list)
        or not tests
        or not isinstance(trials, int)
        or isinstance(trials, bool)
        or not 1 <= trials <= MAX_TRIALS
        or (raw_cap is not None and (cap is None or cap < 0))
    ):
        add(
            "RUNBUDGET-CONFIG-MISSING",
            "run.config needs non-empty targets and tests, 1 <= trials <= 10^9 and a money or "
            "null total_budget_usd",
            config_line,
        )
        return found
    plan = _Plan(targets, tests, trials)
    dispatched_planned = {t for t in dispatched_tuples if t in plan}
    never_dispatched = plan.size - len(dispatched_planned)
    exhausted = exhausted_line is not None
    stopped = exhausted and never_dispatched > 0
    skipped_tuples = {t for _, t, _ in skipped}
    skipped_undispatched = {t for t in skipped_tuples if t in plan} - dispatched_planned

    wrong_skips = [
        (line, tup) for line, tup, _ in skipped if tup not in plan or tup in dispatched_planned
    ]
    if stopped:
        missing_skips = never_dispatched - len(skipped_undispatched)
        # The skip records must name exactly the never-dispatched trials: a missing one and
        # one naming a trial that ran are the same failure to surface the stop.
        if not exhaustion_decision or missing_skips or wrong_skips:
            why = (
                "no budget.decision with reason run_budget_exhausted"
                if not exhaustion_decision
                else f"{missing_skips} never-dispatched trial(s) have no trial.skipped record"
                if missing_skips
                else f"trial.skipped names {list(wrong_skips[0][1])!r}, which was dispatched "
                "or is not planned"
            )
            add(
                "RUNBUDGET-TERMINATION-NOT-SURFACED",
                f"{never_dispatched} planned trial(s) never ran: {why}",
            )
        if final is None or final[1].get("status") != "budget_exhausted":
            add(
                "RUNBUDGET-STATUS-NOT-SURFACED",
                "budget stopped the run but run.completed.status is not budget_exhausted",
                final[0] if final else None,
            )
    if reported and not exhausted:
        add(
            "RUNBUDGET-SPURIOUS-TERMINATION",
            "the run reports budget exhaustion but the cap was never reached"
            if cap is not None
            else "the run reports budget exhaustion but no cap is configured",
        )
    for line, tup in wrong_skips if not stopped else []:
        add(
            "RUNBUDGET-SPEND-MISREPORTED",
            f"trial.skipped names {list(tup)!r}, which was dispatched or is not planned",
            line,
        )
    if final is None:
        add("RUNBUDGET-SPEND-MISREPORTED", "no run.completed report")
    else:
        line, report = final
        stated = {
            "spent_usd": money(report.get("spent_usd")),
            "trials_run": report.get("trials_run"),
            "trials_skipped": report.get("trials_skipped"),
        }
        actual = {"spent_usd": spent, "trials_run": completed, "trials_skipped": never_dispatched}
        wrong = [
            f"{k} {report.get(k)!r} (recomputed {fmt(v) if isinstance(v, Decimal) else v})"
            for k, v in actual.items()
            if stated[k] is None or stated[k] != v or isinstance(stated[k], bool)
        ]
        if wrong:
            add("RUNBUDGET-SPEND-MISREPORTED", "run.completed reports " + "; ".join(wrong), line)
    ran = plan.count(completed_tuples)
    accounted = plan.count(completed_tuples | skipped_tuples)
    not_run, unaccounted = plan.size - ran, plan.size - accounted
    if not exhausted and not_run and unaccounted:
        add(
            "RUNBUDGET-INCOMPLETE-MATRIX",
            f"{ran} of {plan.size} planned trials ran, the cap was not hit, and "
            f"{unaccounted} trial(s) are not accounted for",
        )
    return found
