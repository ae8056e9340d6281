"""Run-wide budget replay (RQ-D1-04): walk an eval matrix's event log in order, recompute
spend, exhaustion, skipped trials and the run's own final report
(domains/D1-04-run-wide-budget.md)."""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail, finding, quote
from vlab.core.money import MONEY_TEXT, exact, fmt, money, native_money
from vlab.core.tokens import key
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

EXHAUSTED = "run_budget_exhausted"
MAX_TRIALS = 10**9  # trials per (target, test); a larger count is not a real matrix


def _tuple(event: dict[str, Any]) -> tuple[Any, Any, Any]:
    """(target, test, trial) as hashable keys (any JSON value may appear in a hostile log)."""
    return (key(event.get("target")), key(event.get("test")), key(event.get("trial")))


class _Plan:
    """The planned matrix, tested by membership instead of being built: a hostile
    ``trials: 1000000000`` costs nothing."""

    def __init__(self, targets: list[Any], tests: list[Any], trials: int) -> None:
        self.targets = {key(t) for t in targets}
        self.tests = {key(t) for t in tests}
        self.trials = trials
        self.size = len(self.targets) * len(self.tests) * trials

    def __contains__(self, tup: tuple[Any, Any, Any]) -> bool:
        target, test, trial = tup
        return (
            target in self.targets
            and test in self.tests
            and type(trial) is int
            and 1 <= trial <= self.trials
        )

    def count(self, tuples: set[tuple[Any, Any, Any]]) -> int:
        return sum(1 for t in tuples if t in self)


def replay(events: Iterable[tuple[int, dict[str, Any]]], *, log_path: str) -> list[Detail]:
    """run_budget@1's findings. ``events`` should be re-iterable (a list, or a view that
    streams the log again): the compact pass may give way to the general one, which reads
    it again; a one-shot iterator is held as a list first."""
    if iter(events) is events:
        events = list(events)
    with exact():
        compact = _replay_compact(events, log_path=log_path)
        return compact if compact is not None else _replay(events, log_path=log_path)


# -- the compact pass (decision 258) -------------------------------------------------------------
#
# A log written the way RunGuard writes it (run.config before any trial event, string
# targets and tests without "/", every dispatch named "<target>/<test>/<trial>" of a planned
# trial, every skip a planned trial) is replayed with one byte of flags per planned trial
# instead of dicts and sets of tuples: memory is the plan's size, not the log's. Any other
# log returns None at the first event that breaks the shape, and ``_replay`` (the general
# reading, unchanged) judges it. Both give the same details for every log
# (tests/test_replay_differential.py).

MAX_COMPACT_CELLS = 1 << 24  # planned trials held as flags (16 MiB); a larger plan: general
_DISPATCHED, _COMPLETED, _SKIPPED, _LATE = 1, 2, 4, 8


def _count(flags: bytearray, mask: int, unless: int = 0) -> int:
    """How many cells have a bit of ``mask`` and none of ``unless`` (a C pass)."""
    table = bytes(1 if b & mask and not b & unless else 0 for b in range(256))
    return flags.translate(table).count(1)


def _replay_compact(
    events: Iterable[tuple[int, dict[str, Any]]], *, log_path: str
) -> list[Detail] | None:
    found: list[Detail] = []

    def add(code: str, message: str, line: int | None = None, advisory: bool = False) -> None:
        found.append(finding(code, message, line=line, artifact_path=log_path, advisory=advisory))

    config_count = 0
    second_config_line = 0
    cap: Decimal | None = None
    spent = Decimal(0)
    exhausted_line: int | None = None
    completed = 0
    reported = False
    exhaustion_decision = False
    final: tuple[int, dict[str, Any]] | None = None
    flags: bytearray | None = None
    target_index: dict[str, int] = {}
    test_index: dict[str, int] = {}
    targets: list[str] = []
    tests: list[str] = []
    trials = 0
    skip_lines: array[int] = array("q")
    skip_cells: array[int] = array("q")
    money_text = MONEY_TEXT.fullmatch

    def cell_of(trial_id: Any) -> int | None:
        """The planned cell a canonical trial id names, else None."""
        if type(trial_id) is not str:
            return None
        parts = trial_id.split("/")
        if len(parts) != 3:
            return None
        ti, si, number = target_index.get(parts[0]), test_index.get(parts[1]), parts[2]
        if (
            ti is None
            or si is None
            or not (number.isdigit() and number.isascii())
            or number[0] == "0"
            or len(number) > 10
        ):
            return None
        trial = int(number)
        if trial > trials:
            return None
        return (ti * len(tests) + si) * trials + trial - 1

    for line, event in events:
        kind = event.get("event_type")
        if kind == "trial.dispatched":
            trial_id = event.get("trial_id")
            if exhausted_line is not None:
                add(
                    "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
                    f"trial {trial_id!r} dispatched after the budget was exhausted "
                    f"(line {exhausted_line})",
                    line,
                )
            if flags is None:
                return None
            target, test, trial = event.get("target"), event.get("test"), event.get("trial")
            ti = target_index.get(target) if type(target) is str else None
            si = test_index.get(test) if type(test) is str else None
            if (
                ti is None
                or si is None
                or type(trial) is not int
                or not 1 <= trial <= trials
                or trial_id != f"{target}/{test}/{trial}"
            ):
                return None
            cell = (ti * len(tests) + si) * trials + trial - 1
            flags[cell] |= _DISPATCHED if exhausted_line is None else _DISPATCHED | _LATE
        elif kind == "trial.completed":
            raw_cost = event.get("cost_usd")
            cost = (
                Decimal(raw_cost)
                if type(raw_cost) is str and money_text(raw_cost) is not None
                else money(raw_cost)
            )
            if cost is None:
                add(
                    "RUNBUDGET-SPEND-MISREPORTED",
                    f"trial {event.get('trial_id')!r} completed without a money cost_usd",
                    line,
                )
                cost = Decimal(0)
            completed += 1
            named_cell = cell_of(event.get("trial_id")) if flags is not None else None
            state = flags[named_cell] if flags is not None and named_cell is not None else 0
            if state & _DISPATCHED:
                assert flags is not None and named_cell is not None
                flags[named_cell] = state | _COMPLETED
            if exhausted_line is not None and not state & _LATE:
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
        elif kind == "trial.skipped":
            if flags is None:
                return None
            target, test, trial = event.get("target"), event.get("test"), event.get("trial")
            ti = target_index.get(target) if type(target) is str else None
            si = test_index.get(test) if type(test) is str else None
            if ti is None or si is None or type(trial) is not int or not 1 <= trial <= trials:
                return None
            cell = (ti * len(tests) + si) * trials + trial - 1
            flags[cell] |= _SKIPPED
            skip_lines.append(line)
            skip_cells.append(cell)
            if event.get("reason") == EXHAUSTED:
                reported = True
        elif kind == "run.config":
            config_count += 1
            if config_count == 2:
                second_config_line = line
            if config_count != 1:
                continue
            cap = money(event.get("total_budget_usd"))
            raw_targets, raw_tests = event.get("targets"), event.get("tests")
            trials_value, raw_cap = event.get("trials"), event.get("total_budget_usd")
            if (
                not isinstance(raw_targets, list)
                or not raw_targets
                or not isinstance(raw_tests, list)
                or not raw_tests
                or not isinstance(trials_value, int)
                or isinstance(trials_value, bool)
                or not 1 <= trials_value <= MAX_TRIALS
                or (raw_cap is not None and (cap is None or cap < 0))
                or not all(type(t) is str and "/" not in t for t in raw_targets + raw_tests)
            ):
                return None
            targets, tests = list(dict.fromkeys(raw_targets)), list(dict.fromkeys(raw_tests))
            trials = trials_value
            if len(targets) * len(tests) * trials > MAX_COMPACT_CELLS:
                return None
            target_index = {t: i for i, t in enumerate(targets)}
            test_index = {t: i for i, t in enumerate(tests)}
            flags = bytearray(len(targets) * len(tests) * trials)
        elif kind == "budget.decision":
            if event.get("reason") == EXHAUSTED:
                reported = exhaustion_decision = True
        elif kind == "run.completed":
            final = (line, event)
            if event.get("status") == "budget_exhausted":
                reported = True

    if config_count != 1:
        add(
            "RUNBUDGET-CONFIG-MISSING",
            "no run.config event" if not config_count else f"{config_count} run.config events",
            second_config_line if config_count > 1 else None,
        )
        return found
    assert flags is not None

    def named(cell: int) -> list[Any]:
        unit, trial = divmod(cell, trials)
        ti, si = divmod(unit, len(tests))
        return [targets[ti], tests[si], trial + 1]

    size = len(flags)
    dispatched_planned = _count(flags, _DISPATCHED)
    never_dispatched = size - dispatched_planned
    exhausted = exhausted_line is not None
    stopped = exhausted and never_dispatched > 0
    skipped_undispatched = _count(flags, _SKIPPED, unless=_DISPATCHED)
    wrong_skips = [
        (line, cell)
        for line, cell in zip(skip_lines, skip_cells, strict=True)
        if flags[cell] & _DISPATCHED
    ]
    if stopped:
        missing_skips = never_dispatched - skipped_undispatched
        if not exhaustion_decision or missing_skips or wrong_skips:
            why = (
                "no budget.decision with reason run_budget_exhausted"
                if not exhaustion_decision
                else f"{missing_skips} never-dispatched trial(s) have no trial.skipped record"
                if missing_skips
                else f"trial.skipped names {named(wrong_skips[0][1])!r}, which was dispatched "
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
    for line, cell in wrong_skips if not stopped else []:
        add(
            "RUNBUDGET-SPEND-MISREPORTED",
            f"trial.skipped names {named(cell)!r}, which was dispatched or is not planned",
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
    ran = _count(flags, _COMPLETED)
    accounted = _count(flags, _COMPLETED | _SKIPPED)
    not_run, unaccounted = size - ran, size - accounted
    if not exhausted and not_run and unaccounted:
        add(
            "RUNBUDGET-INCOMPLETE-MATRIX",
            f"{ran} of {size} planned trials ran, the cap was not hit, and "
            f"{unaccounted} trial(s) are not accounted for",
        )
    return found


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


def _run_budget_v1(view: EvidenceView | None, *, pointer: Any) -> list[Detail]:
    assert view is not None
    path = pointer["artifact_path"]
    return replay(_Reread(view, path), log_path=path)


# -- run_budget@2: case-level dispatch, per-target caps, logs ordered per target ----------------
#
# rulesets-1.3.md §3 (CL-D1-04). ``run.config`` keeps @1's fields and may add:
#   dispatch_unit         "trial" (default) | "case": the budget is checked when a case
#                         (target x test) starts, and a started case may run all its trials
#   budget_scope          "run" (default) | "target": caps per target in
#   budget_usd_by_target  {target: money | null} (a target absent or null has no cap of its
#                         own); total_budget_usd stays the one cap the whole run shares
#   order                 "log" (default: the log order is the real order) | "per_target": the
#                         log orders each target's events, never events of different targets
#   workers               with order per_target: at most this many units of one target run
#                         at once, dispatched in log order; null or absent: not recorded
#   cases                 (case mode) the planned cases, [{target, test}], when not every
#                         target runs every test
# Case mode reads case.dispatched {case_id, target, test}; trial.completed {trial_id,
# case_id, trial, cost_usd, status} where trial costs are recorded; case.completed {case_id,
# status, cost_usd, cost_basis: case | partial | trials}; case.skipped {case_id, target, test,
# trials, reason, budget_scope?, reported_cap_usd?}; budget.decision; run.completed {status,
# spent_usd, cases_run, cases_skipped}. A log whose run.config has none of the keys above is
# judged exactly as run_budget@1 judges it.

CASE = "case"
TRIAL = "trial"
RUN_SCOPE = "run"
TARGET_SCOPE = "target"
ORDER_LOG = "log"
ORDER_PER_TARGET = "per_target"
MAX_WORKERS = 10**6
V2_KEYS = ("budget_scope", "budget_usd_by_target", "order", "workers", "cases")
COST_BASES = ("case", "partial", "trials")


class _Unbounded:
    """An upper bound the evidence does not give (a cost unknown or only partly recorded)."""

    def __repr__(self) -> str:
        return "unbounded"


UNBOUNDED = _Unbounded()
Bound = Decimal | _Unbounded


def _plus(a: Bound, b: Bound) -> Bound:
    if isinstance(a, _Unbounded) or isinstance(b, _Unbounded):
        return UNBOUNDED
    return a + b


def _reaches(bound: Bound, cap: Decimal) -> bool:
    return isinstance(bound, _Unbounded) or bound >= cap


def uses_v2(config: dict[str, Any] | None) -> bool:
    """Whether a run.config needs run_budget@2's reading (else @1's, unchanged)."""
    if config is None:
        return False
    return config.get("dispatch_unit", TRIAL) != TRIAL or any(k in config for k in V2_KEYS)


class _Config2:
    def __init__(self, line: int, event: dict[str, Any]) -> None:
        self.line = line
        self.unit = CASE if event.get("dispatch_unit") == CASE else TRIAL
        self.targets: list[Any] = []
        self.tests: list[Any] = []
        self.trials = 1
        self.run_cap: Decimal | None = None
        self.target_caps: dict[Any, Decimal] = {}
        self.order = ORDER_LOG
        self.workers: int | None = None
        self.cases: set[tuple[Any, ...]] | None = None

    def caps(self, target: Any) -> list[tuple[str, Decimal]]:
        """The capped scopes a unit of ``target`` spends from, as (name, cap)."""
        found = []
        if target in self.target_caps:
            found.append((f"target {target!r}", self.target_caps[target]))
        if self.run_cap is not None:
            found.append((RUN_SCOPE, self.run_cap))
        return found

    @property
    def capped(self) -> bool:
        return self.run_cap is not None or bool(self.target_caps)

    @property
    def noun(self) -> str:
        return self.unit  # "case" or "trial"


def _read_config(line: int, event: dict[str, Any]) -> tuple[_Config2 | None, str]:
    """The v2 config, or why this run.config is not a valid one."""
    cfg = _Config2(line, event)
    unit = event.get("dispatch_unit", TRIAL)
    if unit not in (TRIAL, CASE):
        return None, f"dispatch_unit {unit!r} is not trial or case"
    targets, tests, trials = event.get("targets"), event.get("tests"), event.get("trials")
    raw_cap = event.get("total_budget_usd")
    cap = native_money(raw_cap)
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
        return None, (
            "run.config needs non-empty targets and tests, 1 <= trials <= 10^9 and a money or "
            "null total_budget_usd"
        )
    cfg.targets, cfg.tests, cfg.trials, cfg.run_cap = targets, tests, trials, cap
    known_targets = {key(t) for t in targets}
    known_tests = {key(t) for t in tests}
    scope = event.get("budget_scope", RUN_SCOPE)
    by_target = event.get("budget_usd_by_target")
    if scope not in (RUN_SCOPE, TARGET_SCOPE):
        return None, f"budget_scope {scope!r} is not run or target"
    if scope == RUN_SCOPE and by_target is not None:
        return None, "budget_usd_by_target is given but budget_scope is not target"
    if scope == TARGET_SCOPE:
        if not isinstance(by_target, dict):
            return None, "budget_scope target needs a budget_usd_by_target object"
        for name, value in by_target.items():
            target_cap = native_money(value)
            if name not in known_targets:
                return None, f"budget_usd_by_target names {name!r}, which is not a target"
            if value is not None and (target_cap is None or target_cap < 0):
                return None, f"budget_usd_by_target[{name!r}] is neither money nor null"
            if target_cap is not None:
                cfg.target_caps[name] = target_cap
    order = event.get("order", ORDER_LOG)
    if order not in (ORDER_LOG, ORDER_PER_TARGET):
        return None, f"order {order!r} is not log or per_target"
    cfg.order = order
    workers = event.get("workers")
    if workers is not None and (type(workers) is not int or not 1 <= workers <= MAX_WORKERS):
        return None, "workers is neither null nor an integer from 1 to 10^6"
    cfg.workers = workers
    cases = event.get("cases")
    if cases is not None:
        if cfg.unit != CASE or not isinstance(cases, list) or not cases:
            return None, "cases needs dispatch_unit case and a non-empty list"
        planned: set[tuple[Any, ...]] = set()
        for item in cases:
            pair = (
                (key(item.get("target")), key(item.get("test"))) if isinstance(item, dict) else None
            )
            if pair is None or pair[0] not in known_targets or pair[1] not in known_tests:
                return None, f"cases lists {quote(item)}, which is not a configured target and test"
            if pair in planned:
                return None, f"cases lists {quote(item)} twice"
            planned.add(pair)
        cfg.cases = planned
    return cfg, ""


class _Plan2:
    """The planned units, tested by membership: (target, test) cases or (target, test,
    trial) trials."""

    def __init__(self, cfg: _Config2) -> None:
        self.cfg = cfg
        self.targets = {key(t) for t in cfg.targets}
        self.tests = {key(t) for t in cfg.tests}
        if cfg.unit == TRIAL:
            self.size = len(self.targets) * len(self.tests) * cfg.trials
        elif cfg.cases is not None:
            self.size = len(cfg.cases)
        else:
            self.size = len(self.targets) * len(self.tests)

    def __contains__(self, unit: tuple[Any, ...]) -> bool:
        if self.cfg.unit == CASE:
            if self.cfg.cases is not None:
                return unit in self.cfg.cases
            return len(unit) == 2 and unit[0] in self.targets and unit[1] in self.tests
        if len(unit) != 3:
            return False
        target, test, trial = unit
        return (
            target in self.targets
            and test in self.tests
            and type(trial) is int
            and 1 <= trial <= self.cfg.trials
        )

    def count(self, units: set[tuple[Any, ...]]) -> int:
        return sum(1 for u in units if u in self)


class _Unit:
    """A dispatched (or only completed) case or trial: its target and what it cost."""

    def __init__(self) -> None:
        self.target: Any = None
        self.dispatched = False
        self.late = False  # dispatched after exhaustion (already reported)
        self.trial_steps: list[tuple[int, Decimal, bool]] = []  # case mode: (line, cost, exact)
        self.own_steps: list[tuple[int, Decimal, bool]] = []  # its completion records' costs
        self.stated: list[tuple[int, Decimal | None, Any]] = []  # case.completed: cost, basis

    def steps(self) -> list[tuple[int, Decimal, bool]]:
        """The spend this unit adds, in log order: its trial costs when it has any."""
        return self.trial_steps if self.trial_steps else self.own_steps

    def lower(self) -> Decimal:
        return sum((cost for _, cost, _ in self.steps()), Decimal(0))

    def upper(self) -> Bound:
        return self.lower() if all(ok for _, _, ok in self.steps()) else UNBOUNDED


class _Step:
    """One dispatch or skip, where the log has it."""

    __slots__ = ("line", "skip", "uid", "unit")

    def __init__(self, line: int, uid: Any, unit: tuple[Any, ...], skip: bool) -> None:
        self.line, self.uid, self.unit, self.skip = line, uid, unit, skip


class _SmallestSum:
    """The sum of the ``m`` smallest values added so far, ``m`` only growing: two heaps,
    so a long log costs O(n log n)."""

    def __init__(self) -> None:
        self.chosen: list[Decimal] = []  # a max-heap (negated) of the m smallest
        self.rest: list[Decimal] = []  # a min-heap of the others
        self.total = Decimal(0)

    def add(self, value: Decimal) -> None:
        if self.chosen and value < -self.chosen[0]:
            moved = -heapq.heappushpop(self.chosen, -value)
            self.total += value - moved
            heapq.heappush(self.rest, moved)
        else:
            heapq.heappush(self.rest, value)

    def grow_to(self, m: int) -> None:
        while len(self.chosen) < m and self.rest:
            value = heapq.heappop(self.rest)
            heapq.heappush(self.chosen, -value)
            self.total += value


class _Replay2:
    """One replay of a log under run_budget@2."""

    def __init__(self, log_path: str) -> None:
        self.log_path = log_path
        self.walk: list[tuple[int, int, Detail]] = []  # findings at records, by line
        self.post: list[Detail] = []  # findings about the whole run, in judging order
        self.judging = False
        self.undecided = 0
        self.units: dict[Any, _Unit] = {}
        self.unit_keys: dict[Any, tuple[Any, ...]] = {}
        self.steps: list[_Step] = []  # every dispatch and skip, in log order
        self.spend_order: list[tuple[int, Any, Decimal]] = []  # (line, unit id, cost)
        self.loose: list[tuple[int, Decimal, bool]] = []  # trial costs naming no case
        self.dispatched_units: set[tuple[Any, ...]] = set()
        self.completed_units: set[tuple[Any, ...]] = set()
        self.skips: list[tuple[int, tuple[Any, ...], dict[str, Any]]] = []
        self.closed = 0
        self.exhaustion_decision = False
        self.reported = False
        self.final: tuple[int, dict[str, Any]] | None = None

    def add(self, code: str, message: str, line: int | None = None, advisory: bool = False) -> None:
        detail = finding(code, message, line=line, artifact_path=self.log_path, advisory=advisory)
        if self.judging or line is None:
            self.post.append(detail)
        else:
            self.walk.append((line, len(self.walk), detail))

    def findings(self) -> list[Detail]:
        return [d for _, _, d in sorted(self.walk, key=lambda w: (w[0], w[1]))] + self.post

    def run(self, records: Iterable[tuple[int, dict[str, Any]]]) -> list[Detail]:
        configs = [(line, e) for line, e in records if e.get("event_type") == "run.config"]
        if len(configs) != 1:
            self.add(
                "RUNBUDGET-CONFIG-MISSING",
                "no run.config event" if not configs else f"{len(configs)} run.config events",
                configs[1][0] if len(configs) > 1 else None,
            )
            return self.findings()
        cfg, why = _read_config(*configs[0])
        if cfg is None:
            self.add("RUNBUDGET-CONFIG-MISSING", why, configs[0][0])
            return self.findings()
        self.cfg, self.plan = cfg, _Plan2(cfg)
        mismatch = self._collect(records)
        if mismatch is not None:
            self.walk.clear()
            self.add("RUNBUDGET-CONFIG-MISSING", *mismatch)
            return self.findings()
        if cfg.order == ORDER_LOG:
            self._replay_in_log_order()
        else:
            self._replay_per_target()
        self.judging = True
        self._judge()
        return self.findings()

    # -- reading the log -----------------------------------------------------------------------

    def _collect(self, records: Iterable[tuple[int, dict[str, Any]]]) -> tuple[str, int] | None:
        """Every record into units, steps and costs; a skip's reported cap that run.config
        contradicts comes back as (message, line)."""
        case_mode = self.cfg.unit == CASE
        dispatch_type, skip_type = (
            ("case.dispatched", "case.skipped")
            if case_mode
            else ("trial.dispatched", "trial.skipped")
        )
        closes: set[Any] = set()
        for line, event in records:
            kind = event.get("event_type")
            if kind == dispatch_type:
                uid = key(event.get("case_id" if case_mode else "trial_id"))
                unit_key = self._unit_key(event)
                unit = self.units.setdefault(uid, _Unit())
                unit.target, unit.dispatched = unit_key[0], True
                self.steps.append(_Step(line, uid, unit_key, False))
                self.dispatched_units.add(unit_key)
                self.unit_keys.setdefault(uid, unit_key)
            elif kind == skip_type:
                unit_key = self._unit_key(event)
                self.steps.append(_Step(line, None, unit_key, True))
                self.skips.append((line, unit_key, event))
                if event.get("reason") == EXHAUSTED:
                    self.reported = True
            elif kind == "trial.completed" and case_mode:
                self._trial_of_case(line, event)
            elif kind == ("case.completed" if case_mode else "trial.completed"):
                uid = key(event.get("case_id" if case_mode else "trial_id"))
                self.closed += 1
                closes.add(uid)
                if case_mode:
                    self._case_cost(line, uid, event)
                else:
                    self._trial_cost(line, uid, event)
            elif kind == "budget.decision":
                if event.get("reason") == EXHAUSTED:
                    self.reported = self.exhaustion_decision = True
            elif kind == "record.unreadable":
                self._unreadable(line, event)
            elif kind == "run.completed":
                self.final = (line, event)
                if event.get("status") == "budget_exhausted":
                    self.reported = True
        for uid in closes:
            if uid in self.unit_keys:
                self.completed_units.add(self.unit_keys[uid])
        superseded: set[int] = set()
        for uid, unit in self.units.items():
            if unit.trial_steps:
                superseded.update(line for line, _, _ in unit.own_steps)
                self._against_trials(uid, unit)
            else:
                for line, _, basis in unit.stated:
                    if basis == "trials":
                        self.add(
                            "RUNBUDGET-SPEND-MISREPORTED",
                            f"case {unit_label(uid)} has cost_basis trials but no trial.completed "
                            "records",
                            line,
                        )
        self.spend_order = [s for s in self.spend_order if s[0] not in superseded]
        return self._reported_cap_mismatch()

    def _unreadable(self, line: int, event: dict[str, Any]) -> None:
        """A native record the log stands for that could not be read (an importer's
        record.unreadable): what it recorded (a case, its cost) is unknown, so the run's
        report cannot be checked against its records. Damage is never silent."""
        first, last = event.get("first_line"), event.get("last_line")
        where = ""
        if type(first) is int and type(last) is int:
            where = (
                f" (native lines {first}-{last})" if last != first else f" (native line {first})"
            )
        reason = event.get("reason")
        self.add(
            "RUNBUDGET-SPEND-MISREPORTED",
            "the run's records are damaged: an unreadable native record"
            + where
            + (f", {reason[:120]}" if isinstance(reason, str) and reason else "")
            + "; what it recorded is unknown, so the run's report cannot be checked against "
            "its records",
            line,
        )

    def _unit_key(self, event: dict[str, Any]) -> tuple[Any, ...]:
        if self.cfg.unit == CASE:
            return (key(event.get("target")), key(event.get("test")))
        return _tuple(event)

    def _trial_cost(self, line: int, uid: Any, event: dict[str, Any]) -> None:
        """Trial mode, as @1: a completion without a money cost counts 0, reported."""
        cost = native_money(event.get("cost_usd"))
        if cost is None:
            self.add(
                "RUNBUDGET-SPEND-MISREPORTED",
                f"trial {event.get('trial_id')!r} completed without a money cost_usd",
                line,
            )
            cost = Decimal(0)
        self.units.setdefault(uid, _Unit()).own_steps.append((line, cost, True))
        self.spend_order.append((line, uid, cost))

    def _amount(self, what: str, raw: Any, line: int) -> Decimal | None:
        """A recorded cost: None when not recorded or not a non-negative amount (reported)."""
        cost = native_money(raw)
        if raw is not None and (cost is None or cost < 0):
            self.add(
                "RUNBUDGET-SPEND-MISREPORTED",
                f"{what} has cost_usd {quote(raw)}, which is not a non-negative amount",
                line,
            )
            return None
        return cost

    def _trial_of_case(self, line: int, event: dict[str, Any]) -> None:
        what = f"trial {quote(event.get('trial_id'))}"
        cost = self._amount(what, event.get("cost_usd"), line)
        step = (line, cost if cost is not None else Decimal(0), cost is not None)
        if event.get("case_id") is None:
            self.add("RUNBUDGET-SPEND-MISREPORTED", f"{what} names no case_id", line)
            self.loose.append(step)
            self.spend_order.append((line, None, step[1]))
            return
        uid = key(event.get("case_id"))
        self.units.setdefault(uid, _Unit()).trial_steps.append(step)
        self.spend_order.append((line, uid, step[1]))

    def _case_cost(self, line: int, uid: Any, event: dict[str, Any]) -> None:
        unit = self.units.setdefault(uid, _Unit())
        basis = event.get("cost_basis", "case")
        if basis not in COST_BASES:
            self.add(
                "RUNBUDGET-SPEND-MISREPORTED",
                f"case {unit_label(uid)} has cost_basis {quote(basis)}, not case, partial or "
                "trials",
                line,
            )
        cost = self._amount(f"case {unit_label(uid)}", event.get("cost_usd"), line)
        unit.stated.append((line, cost, basis))
        amount = cost if cost is not None else Decimal(0)
        unit.own_steps.append((line, amount, cost is not None and basis == "case"))
        self.spend_order.append((line, uid, amount))

    def _against_trials(self, uid: Any, unit: _Unit) -> None:
        """A case.completed cost beside trial records must be their sum."""
        total = sum((c for _, c, _ in unit.trial_steps), Decimal(0))
        for line, stated, _ in unit.stated:
            if stated is not None and stated != total:
                self.add(
                    "RUNBUDGET-SPEND-MISREPORTED",
                    f"case {unit_label(uid)} reports cost_usd {fmt(stated)}; its trials cost "
                    f"{fmt(total)}",
                    line,
                )

    def _reported_cap_mismatch(self) -> tuple[str, int] | None:
        """A skip that names the cap it applied (agentv's message) when run.config has
        another: the config does not describe the run."""
        for line, unit, event in self.skips:
            scope = event.get("budget_scope")
            reported = native_money(event.get("reported_cap_usd"))
            if reported is None or scope not in (RUN_SCOPE, TARGET_SCOPE):
                continue
            configured = (
                self.cfg.run_cap if scope == RUN_SCOPE else self.cfg.target_caps.get(unit[0])
            )
            if configured is None or not _same_at_precision(configured, reported):
                where = "run-wide cap" if scope == RUN_SCOPE else f"cap of target {unit[0]!r}"
                has = f"says {fmt(configured)}" if configured is not None else "has none"
                return f"a skip reports the {where} as {fmt(reported)}; run.config {has}", line
        return None

    # -- spend and exhaustion ------------------------------------------------------------------

    def _replay_in_log_order(self) -> None:
        """The log is the real order: the spend of each scope at every dispatch is exact (a
        lower bound where costs are partial)."""
        cfg = self.cfg
        spent: dict[str, Decimal] = {}
        exhausted_at: dict[str, int] = {}
        timeline: list[tuple[int, int, Any, Decimal]] = [
            (s.line, 0, s.uid, Decimal(0)) for s in self.steps if not s.skip
        ]
        timeline += [(line, 1, uid, cost) for line, uid, cost in self.spend_order]
        timeline.sort(key=lambda t: (t[0], t[1]))
        for line, kind, uid, cost in timeline:
            unit = self.units.get(uid) if uid is not None else None
            scopes = cfg.caps(unit.target if unit is not None and unit.dispatched else None)
            if kind == 0:
                assert unit is not None
                hit = [name for name, _ in scopes if name in exhausted_at]
                if hit and not unit.late:
                    unit.late = True
                    self.add(
                        "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
                        f"{cfg.noun} {unit_label(uid)} dispatched after the {hit[0]} budget was "
                        f"exhausted (line {exhausted_at[hit[0]]})",
                        line,
                    )
                continue
            if any(name in exhausted_at for name, _ in scopes) and not (unit and unit.late):
                self._inflight(uid, cost, line)
            for name, cap in scopes:
                spent[name] = spent.get(name, Decimal(0)) + cost
                if name not in exhausted_at and spent[name] >= cap:
                    exhausted_at[name] = line

    def _replay_per_target(self) -> None:
        """The log orders each target's units only. Each dispatch is judged against the
        spend that certainly preceded it: the cheapest of its target's earlier units that
        must have finished (all but ``workers - 1`` of them; none when workers is not
        recorded). Where the recorded spend of units that may have finished before it
        (every earlier unit of its target, every unit of the others) reaches a cap, the
        order the log lacks would have been needed: ORDER-PARTIAL counts those."""
        by_target: dict[Any, list[_Step]] = {}
        seen: set[Any] = set()
        for step in self.steps:
            first = step.skip or step.uid not in seen  # a unit's spend counts once
            seen.add(step.uid)
            if first:
                by_target.setdefault(step.unit[0], []).append(step)
        totals = {
            target: sum((self.units[s.uid].lower() for s in steps if not s.skip), Decimal(0))
            for target, steps in by_target.items()
        }
        loose = sum((u.lower() for u in self.units.values() if not u.dispatched), Decimal(0))
        loose += sum((amount for _, amount, _ in self.loose), Decimal(0))
        workers = self.cfg.workers
        everything = loose + sum(totals.values(), Decimal(0))
        for target, steps in by_target.items():
            others = everything - totals[target]
            finished = _SmallestSum()
            before = Decimal(0)
            for index, step in enumerate(steps):
                if workers is not None:
                    finished.grow_to(index - (workers - 1))
                cost = Decimal(0)
                if not step.skip:
                    unit = self.units[step.uid]
                    self._judge_dispatch(step, unit, finished.total, before, others)
                    cost = unit.lower()
                finished.add(cost)
                before += cost

    def _judge_dispatch(
        self, step: _Step, unit: _Unit, lower: Decimal, before: Decimal, others: Decimal
    ) -> None:
        cfg = self.cfg
        undecided = False
        for name, cap in cfg.caps(unit.target):
            if lower >= cap:
                unit.late = True
                self.add(
                    "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
                    f"{cfg.noun} {unit_label(step.uid)} dispatched after at least {fmt(lower)} "
                    f"of the {name} cap {fmt(cap)} was spent",
                    step.line,
                )
                return
            most = before + others if name == RUN_SCOPE else before
            undecided = undecided or most >= cap
        self.undecided += undecided
        # Trials of a started case that complete once its spend reached a cap are in flight.
        running = lower
        for line, cost, _ in unit.steps():
            if any(running >= cap for _, cap in cfg.caps(unit.target)):
                self._inflight(step.uid, cost, line)
            running += cost

    def _inflight(self, uid: Any, cost: Decimal, line: int) -> None:
        what = "a trial" if self.cfg.unit == CASE else ""
        self.add(
            "RUNBUDGET-INFLIGHT-OVERSHOOT",
            f"{self.cfg.noun} {unit_label(uid)} dispatched before exhaustion completed "
            f"{what + ' ' if what else ''}after it (cost {fmt(cost)})",
            line,
            advisory=True,
        )

    # -- the run's report ----------------------------------------------------------------------

    def _totals(self) -> dict[str, tuple[Decimal, Bound, Decimal]]:
        """Each capped scope's recorded spend: (at least, at most, cap)."""
        cfg = self.cfg
        totals: dict[str, tuple[Decimal, Bound, Decimal]] = {}
        for name, cap in cfg.caps(None) + [
            (f"target {t!r}", c) for t, c in cfg.target_caps.items()
        ]:
            totals[name] = (Decimal(0), Decimal(0), cap)
        spends: list[tuple[Any, Decimal, Bound]] = [
            (u.target if u.dispatched else None, u.lower(), u.upper()) for u in self.units.values()
        ]
        spends += [(None, cost, cost if ok else UNBOUNDED) for _, cost, ok in self.loose]
        for target, lower, upper in spends:
            for name, _ in cfg.caps(target):
                lo, up, cap = totals[name]
                totals[name] = (lo + lower, _plus(up, upper), cap)
        return totals

    def _judge(self) -> None:
        cfg, plan, noun = self.cfg, self.plan, self.cfg.noun
        totals = self._totals()
        reached = any(lo >= cap for lo, _, cap in totals.values())
        refuted = all(not _reaches(up, cap) for _, up, cap in totals.values())
        exhausted = reached or (self.reported and not refuted)
        dispatched_planned = {u for u in self.dispatched_units if u in plan}
        never_dispatched = plan.size - len(dispatched_planned)
        stopped = exhausted and never_dispatched > 0
        skipped_units = {unit for _, unit, _ in self.skips}
        skipped_undispatched = {u for u in skipped_units if u in plan} - dispatched_planned
        wrong_skips = [
            (line, unit)
            for line, unit, _ in self.skips
            if unit not in plan or unit in dispatched_planned
        ]
        if stopped:
            missing = never_dispatched - len(skipped_undispatched)
            if not self.exhaustion_decision or missing or wrong_skips:
                why = (
                    "no budget.decision with reason run_budget_exhausted"
                    if not self.exhaustion_decision
                    else f"{missing} never-dispatched {noun}(s) have no {noun}.skipped record"
                    if missing
                    else f"{noun}.skipped names {list(wrong_skips[0][1])!r}, which was "
                    "dispatched or is not planned"
                )
                self.add(
                    "RUNBUDGET-TERMINATION-NOT-SURFACED",
                    f"{never_dispatched} planned {noun}(s) never ran: {why}",
                )
            if self.final is None or self.final[1].get("status") != "budget_exhausted":
                self.add(
                    "RUNBUDGET-STATUS-NOT-SURFACED",
                    "budget stopped the run but run.completed.status is not budget_exhausted",
                    self.final[0] if self.final else None,
                )
        if self.reported and not exhausted:
            self.add(
                "RUNBUDGET-SPURIOUS-TERMINATION",
                "the run reports budget exhaustion but the cap was never reached"
                if cfg.capped
                else "the run reports budget exhaustion but no cap is configured",
            )
        for line, unit in wrong_skips if not stopped else []:
            self.add(
                "RUNBUDGET-SPEND-MISREPORTED",
                f"{noun}.skipped names {list(unit)!r}, which was dispatched or is not planned",
                line,
            )
        self._report(never_dispatched)
        ran = plan.count(self.completed_units)
        accounted = plan.count(self.completed_units | skipped_units)
        not_run, unaccounted = plan.size - ran, plan.size - accounted
        if not exhausted and not_run and unaccounted:
            self.add(
                "RUNBUDGET-INCOMPLETE-MATRIX",
                f"{ran} of {plan.size} planned {noun}s ran, the cap was not hit, and "
                f"{unaccounted} {noun}(s) are not accounted for",
            )
        self._advise(totals, reached)

    def _report(self, never_dispatched: int) -> None:
        if self.final is None:
            self.add("RUNBUDGET-SPEND-MISREPORTED", "no run.completed report")
            return
        line, report = self.final
        ran, skipped = (
            ("cases_run", "cases_skipped")
            if self.cfg.unit == CASE
            else ("trials_run", "trials_skipped")
        )
        spent = sum((u.lower() for u in self.units.values()), Decimal(0))
        spent += sum((cost for _, cost, _ in self.loose), Decimal(0))
        stated = {
            "spent_usd": native_money(report.get("spent_usd")),
            ran: report.get(ran),
            skipped: report.get(skipped),
        }
        actual = {"spent_usd": spent, ran: self.closed, skipped: never_dispatched}
        wrong = [
            f"{k} {report.get(k)!r} (recomputed {fmt(v) if isinstance(v, Decimal) else v})"
            for k, v in actual.items()
            if stated[k] is None or stated[k] != v or isinstance(stated[k], bool)
        ]
        if wrong:
            self.add(
                "RUNBUDGET-SPEND-MISREPORTED", "run.completed reports " + "; ".join(wrong), line
            )

    def _advise(self, totals: dict[str, tuple[Decimal, Bound, Decimal]], reached: bool) -> None:
        """What the spend checks could not see: costs only per case, and an order per target."""
        if not self.cfg.capped:
            return
        if self.cfg.unit == CASE:
            # With one trial a case, a case's cost is its trial's: nothing to say then.
            case_level = (
                sum(1 for u in self.units.values() if u.own_steps and not u.trial_steps)
                if self.cfg.trials > 1
                else 0
            )
            short = sum(1 for u in self.units.values() for _, _, ok in u.steps() if not ok)
            short += sum(1 for _, _, ok in self.loose if not ok)
            if case_level or short:
                parts = []
                if case_level:
                    parts.append(f"{case_level} case(s) record a case-level cost only")
                if short:
                    parts.append(
                        f"{short} cost(s) cover only part of a case or are not recorded, so the "
                        "recomputed spend is a lower bound"
                    )
                if self.reported and not reached:
                    spends = [
                        f"{name}: at least {fmt(lo)} of {fmt(cap)}"
                        for name, (lo, _, cap) in sorted(totals.items())
                    ]
                    parts.append(
                        "the reported exhaustion cannot be checked against them ("
                        + ", ".join(spends[:3])
                        + (", ..." if len(spends) > 3 else "")
                        + ")"
                    )
                self.add(
                    "RUNBUDGET-CASE-COSTS-ONLY",
                    "spend checks use the recorded costs: " + "; ".join(parts),
                    advisory=True,
                )
        if self.cfg.order == ORDER_PER_TARGET and self.undecided:
            concurrency = (
                "how many units of a target ran at once is not recorded"
                if self.cfg.workers is None
                else f"up to {self.cfg.workers} unit(s) of a target ran at once"
            )
            self.add(
                "RUNBUDGET-ORDER-PARTIAL",
                f"{self.undecided} dispatch(es) cannot be placed against every completion (the "
                f"log orders events within each target only, and {concurrency}): each was "
                "judged against the spend that certainly preceded it",
                advisory=True,
            )


def _same_at_precision(configured: Decimal, reported: Decimal) -> bool:
    """Whether a cap reported as rounded text (agentv writes ``toFixed(4)``) is this one."""
    exponent = reported.as_tuple().exponent
    return isinstance(exponent, int) and abs(configured - reported) * 2 <= Decimal(1).scaleb(
        exponent
    )


def unit_label(uid: Any) -> str:
    return quote(uid)


def replay_v2(events: Iterable[tuple[int, dict[str, Any]]], *, log_path: str) -> list[Detail]:
    """run_budget@2 over a log: @1's reading unless run.config asks for @2's."""
    # ``events`` is read more than once (a list, or a view re-read from the sealed bytes),
    # never held whole: a large log is streamed on each pass.
    first = next((e for _, e in events if e.get("event_type") == "run.config"), None)
    if not uses_v2(first):
        return replay(events, log_path=log_path)
    with exact():
        return _Replay2(log_path).run(events)


class _Reread:
    """The pointer's log as an iterable that streams it again on every pass."""

    def __init__(self, view: EvidenceView, path: str) -> None:
        self.view, self.path = view, path

    def __iter__(self) -> Iterator[tuple[int, dict[str, Any]]]:
        return iter(self.view.ndjson_records(self.path))


def _run_budget_v2(view: EvidenceView | None, *, pointer: Any) -> list[Detail]:
    assert view is not None
    path = pointer["artifact_path"]
    return replay_v2(_Reread(view, path), log_path=path)


# The codes version 1 declares (checks.lock.json); version 2 declares these and more.
V1_CODES = (
    "RUNBUDGET-CONFIG-MISSING",
    "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
    "RUNBUDGET-TERMINATION-NOT-SURFACED",
    "RUNBUDGET-STATUS-NOT-SURFACED",
    "RUNBUDGET-SPURIOUS-TERMINATION",
    "RUNBUDGET-SPEND-MISREPORTED",
    "RUNBUDGET-INCOMPLETE-MATRIX",
    "RUNBUDGET-INFLIGHT-OVERSHOOT",
)


CHECKS = (
    DomainCheck(
        name="run_budget",
        version=1,
        summary="replay the eval-matrix log the pointer names against its run-wide cap",
        arguments=(Argument("pointer", summary="the pointer (its artifact is the event log)"),),
        codes=V1_CODES,
        run=_run_budget_v1,
    ),
    DomainCheck(
        name="run_budget",
        version=2,
        summary="replay the eval-matrix log the pointer names: trial or case dispatch, caps "
        "per run and per target, logs ordered per target",
        arguments=(Argument("pointer", summary="the pointer (its artifact is the event log)"),),
        codes=(
            *V1_CODES,
            "RUNBUDGET-CASE-COSTS-ONLY",
            "RUNBUDGET-ORDER-PARTIAL",
        ),
        run=_run_budget_v2,
    ),
)


# -- series for the review dossier (vlab.engine.series) ----------------------------------------
#
# The CL-D1-04 chart: each planned (target, test, trial) by what happened to it, read with
# @1's event semantics (what @1 replays: a completion's cost counts, exhaustion is the first
# completion that brings the spend to the cap), and the spend after each completion.
# Bounded: a matrix over MAX_CELLS cells, or a config @1 refuses, draws nothing.

MAX_CELLS = 2000
COMPLETED, IN_FLIGHT, AFTER, SKIPPED, NOT_RUN = (
    "completed",
    "in flight at exhaustion",
    "dispatched after exhaustion",
    "skipped",
    "not dispatched",
)


@dataclass(frozen=True, slots=True)
class MatrixSeries:
    targets: tuple[str, ...]
    tests: tuple[str, ...]
    trials: int
    cells: tuple[tuple[int, int, int, str], ...]  # (target, test, trial index, state)
    cap: Decimal | None
    spend: tuple[tuple[int, Decimal], ...]  # (log line, spend after a completion)
    exhausted_line: int | None


def matrix_series(view: EvidenceView | None, *, pointer: Any) -> MatrixSeries | None:
    assert view is not None
    if not isinstance(pointer, dict) or not isinstance(pointer.get("artifact_path"), str):
        return None
    with exact():
        config: dict[str, Any] | None = None
        state: dict[tuple[Any, Any, Any], str] = {}
        trial_of: dict[Any, tuple[Any, Any, Any]] = {}
        spent = Decimal(0)
        spend: list[tuple[int, Decimal]] = []
        exhausted: int | None = None
        cap: Decimal | None = None
        for line, event in view.ndjson_records(pointer["artifact_path"]):
            kind = event.get("event_type")
            if kind == "run.config" and config is None:
                config, cap = event, money(event.get("total_budget_usd"))
            elif kind == "trial.dispatched":
                tup = _tuple(event)
                trial_of[key(event.get("trial_id"))] = tup
                state[tup] = AFTER if exhausted is not None else IN_FLIGHT
            elif kind == "trial.completed":
                ran = trial_of.get(key(event.get("trial_id")))
                if ran is not None and state.get(ran) == IN_FLIGHT and exhausted is None:
                    state[ran] = COMPLETED
                spent += money(event.get("cost_usd")) or Decimal(0)
                if len(spend) < MAX_CELLS:
                    spend.append((line, spent))
                if exhausted is None and cap is not None and spent >= cap:
                    exhausted = line
            elif kind == "trial.skipped":
                state.setdefault(_tuple(event), SKIPPED)
        if config is None:
            return None
        targets, tests, trials = config.get("targets"), config.get("tests"), config.get("trials")
        if (
            not isinstance(targets, list)
            or not isinstance(tests, list)
            or not isinstance(trials, int)
            or isinstance(trials, bool)
            or not 1 <= len(targets) * len(tests) * trials <= MAX_CELLS
        ):
            return None
        cells = tuple(
            (i, j, k, state.get((key(target), key(test), key(k + 1)), NOT_RUN))
            for i, target in enumerate(targets)
            for j, test in enumerate(tests)
            for k in range(trials)
        )
        return MatrixSeries(
            tuple(str(t) for t in targets),
            tuple(str(t) for t in tests),
            trials,
            cells,
            cap,
            tuple(spend),
            exhausted,
        )


CHECKS = (replace(CHECKS[0], series=matrix_series), replace(CHECKS[1], series=matrix_series))
