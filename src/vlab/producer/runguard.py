"""The run-wide budget guard an eval orchestrator calls before each dispatch and after
each completion, over a targets x tests x trials matrix. It writes the events
RQ-D1-04 judges: run.config, trial.dispatched, trial.completed, budget.decision,
trial.skipped and run.completed.

    guard = RunGuard(log, total_budget_usd="2.00", targets=[...], tests=[...], trials=5)
    for target, test, trial in guard.plan():
        trial_id = guard.dispatch(target, test, trial)   # None: the budget stopped the run
        if trial_id: ... run it ... ; guard.complete(trial_id, cost_usd="0.12")
    guard.finish()
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from vlab.producer.spendcap import Clock, EventLog, to_money, utc_now

EXHAUSTED = "run_budget_exhausted"


class RunGuard:
    """The run-wide budget guard over a targets x tests x trials matrix (see the module
    docstring); writes a ``run.config`` event when created."""

    def __init__(
        self,
        log: EventLog,
        *,
        total_budget_usd: Any,
        targets: list[str],
        tests: list[str],
        trials: int,
        clock: Clock = utc_now,
    ) -> None:
        if not targets or not tests or trials < 1:
            raise ValueError("a matrix needs targets, tests and at least one trial")
        self.log = log
        self.clock = clock
        self.cap = None if total_budget_usd is None else to_money(total_budget_usd, "cap")
        self.targets, self.tests, self.trials = list(targets), list(tests), trials
        self.spent = Decimal(0)
        self.exhausted = False
        self.completed = 0
        self.dispatched: dict[str, tuple[str, str, int]] = {}
        self.skipped: list[tuple[str, str, int]] = []
        self._decided = False
        log.emit(
            "run.config",
            clock(),
            total_budget_usd=None if self.cap is None else format(self.cap, "f"),
            targets=self.targets,
            tests=self.tests,
            trials=trials,
        )

    def plan(self) -> list[tuple[str, str, int]]:
        """Every (target, test, trial) of the matrix, in dispatch order."""
        return [
            (t, s, n) for t in self.targets for s in self.tests for n in range(1, self.trials + 1)
        ]

    def dispatch(self, target: str, test: str, trial: int) -> str | None:
        """The trial's id if it may run; None (recorded as skipped) once the cap is hit."""
        if self.exhausted:
            self._skip((target, test, trial))
            return None
        trial_id = f"{target}/{test}/{trial}"
        self.dispatched[trial_id] = (target, test, trial)
        self.log.emit(
            "trial.dispatched",
            self.clock(),
            trial_id=trial_id,
            target=target,
            test=test,
            trial=trial,
        )
        return trial_id

    def complete(self, trial_id: str, *, cost_usd: Any, status: str = "passed") -> None:
        """Record a finished trial and what it cost; the cap counts as hit from then on
        once the total reaches it."""
        cost = to_money(cost_usd, "cost_usd")
        self.completed += 1
        self.spent += cost
        self.log.emit(
            "trial.completed",
            self.clock(),
            trial_id=trial_id,
            cost_usd=format(cost, "f"),
            status=status,
        )
        if not self.exhausted and self.cap is not None and self.spent >= self.cap:
            self.exhausted = True

    def _skip(self, tup: tuple[str, str, int]) -> None:
        if not self._decided:
            self._decided = True
            self.log.emit(
                "budget.decision",
                self.clock(),
                decision_id="run-budget-stop",
                decision_kind="budget",
                decision_outcome="SUSPEND",
                reason=EXHAUSTED,
                spent_usd=format(self.spent, "f"),
                target={"kind": "run", "id": "run"},
            )
        self.skipped.append(tup)
        self.log.emit(
            "trial.skipped",
            self.clock(),
            trial_id="/".join(map(str, tup)),
            target=tup[0],
            test=tup[1],
            trial=tup[2],
            reason=EXHAUSTED,
        )

    def finish(self) -> dict[str, Any]:
        """Skip what was never offered, then write the run's final report."""
        offered = set(self.dispatched.values()) | set(self.skipped)
        for tup in self.plan():
            if tup not in offered and self.exhausted:
                self._skip(tup)
        stopped = bool(self.skipped)
        return self.log.emit(
            "run.completed",
            self.clock(),
            status="budget_exhausted" if stopped else "completed",
            spent_usd=format(self.spent, "f"),
            trials_run=self.completed,
            trials_skipped=len(self.skipped),
        )
