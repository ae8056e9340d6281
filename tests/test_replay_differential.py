"""Differential tests of the streamlined replays (decisions 257, 258) against the released
implementations kept verbatim in tests/reference/: the same details (code, message, file,
line, advisory) for every generated input, seeded, with the shapes counted so a generator
that stopped producing a case fails."""

from __future__ import annotations

import random
from collections import Counter
from decimal import Decimal
from typing import Any

from tests.reference import spending_cap_v1 as old_ledger

from vlab.domains import spending_cap as new_ledger

DAYS = ["2026-05-29", "2026-05-30", "2026-05-31"]


def _stamp(rng: random.Random) -> Any:
    day = rng.choice(DAYS)
    h, m, s = rng.randrange(24), rng.randrange(60), rng.randrange(61)
    roll = rng.random()
    if roll < 0.70:
        return f"{day}T{h:02d}:{m:02d}:{s:02d}.{rng.randrange(1000):03d}Z"
    if roll < 0.80:
        return f"{day}T{h:02d}:{m:02d}:{s:02d}Z"
    if roll < 0.88:
        return f"{day}T{h:02d}:{m:02d}:{s:02d}+0{rng.randrange(3)}:00"
    if roll < 0.93:
        return f"{day}T{h:02d}:{m:02d}:{s:02d}z"
    return rng.choice([None, 7, "yesterday", f"{day}T25:00:00Z", f"{day} 10:00:00Z", ""])


def _amount(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.75:
        return f"{rng.randrange(0, 30)}.{rng.randrange(10_000):04d}"
    if roll < 0.80:
        return f"-{rng.randrange(3)}.{rng.randrange(100):02d}"
    if roll < 0.85:
        return rng.randrange(0, 20)
    if roll < 0.90:
        return Decimal(f"{rng.randrange(20)}.{rng.randrange(1000):03d}")  # a strict float
    return rng.choice([None, True, "1e3", "01.5", "abc", 1.5, [1], "0." + "1" * 19])


def _case(rng: random.Random, tally: Counter[str]) -> tuple[Any, list[Any], list[Any]]:
    budget: Any = {
        "daily_usd": rng.choice(["40.00", "100", "5.5", None, "x"]),
        "per_call_usd": rng.choice(["10.00", "2", None]),
        "hard_cap": rng.choice([True, False, True, "yes"]),
    }
    if rng.random() < 0.05:
        budget = rng.choice([None, [], "budget"])
    events: list[Any] = []
    calls = [f"call-{i}" for i in range(8)] + [7, ["x"], None]
    for line in range(1, rng.randrange(1, 14)):
        if rng.random() < 0.2:
            events.append((line, {"event_type": "tool.call", "event_id": f"t{line}"}))
            continue
        events.append(
            (
                line,
                {
                    "event_id": f"e{line}",
                    "event_type": "budget.check",
                    "timestamp": _stamp(rng),
                    "estimate_usd": _amount(rng),
                    "decision_outcome": rng.choice(["allow", "DENY", "warn", "Allow", "maybe"]),
                    "call_id": rng.choice(calls),
                },
            )
        )
    ordered = rng.random() < 0.6
    stamps = sorted(s for s in (_stamp(rng) for _ in range(40)) if isinstance(s, str))
    charges: list[Any] = []
    for line in range(1, rng.randrange(1, 40)):
        ts = stamps[line % len(stamps)] if ordered and stamps else _stamp(rng)
        entry: dict[str, Any] = {
            "entry_id": rng.choice([f"c{line}", f"c{line}", f"c{line}", f"c{line - 1}", "", 3]),
            "ts": ts,
            "amount_usd": _amount(rng),
        }
        if rng.random() < 0.7:
            entry["call_id"] = rng.choice(calls)
        charges.append((line, entry))
    tally["ordered" if ordered else "shuffled"] += 1
    return budget, events, charges


def _as_tuples(details: list[Any]) -> list[tuple[Any, ...]]:
    return [(d.code, d.message, d.artifact_path, d.line, d.advisory) for d in details]


def test_spending_cap_v1_loop_matches_the_released_one() -> None:
    rng = random.Random(257)
    tally: Counter[str] = Counter()
    for _ in range(3_000):
        budget, events, charges = _case(rng, tally)
        args = dict(log_path="log", ledger_path="ledger", budget_path="budget")
        old = old_ledger.replay(budget, iter(events), lambda c=charges: iter(c), **args)
        new = new_ledger.replay(budget, iter(events), lambda c=charges: iter(c), **args)
        assert _as_tuples(new) == _as_tuples(old), (budget, events, charges)
        tally.update(d.code for d in old)
    # Every code of spending_cap@1 occurred, and both kinds of ledger.
    assert set(new_ledger.V1_CODES) <= set(tally), tally
    assert tally["ordered"] > 1000 and tally["shuffled"] > 1000


# -- run_budget@1 (decision 258) ------------------------------------------------------------


def _matrix_log(rng: random.Random) -> list[tuple[int, dict[str, Any]]]:
    """A RunGuard-shaped log (often mutated): config, dispatch/complete, skips, report."""
    noisy = rng.random() < 0.4  # per-event mutations (else only whole-log ones)

    def odd(p: float) -> bool:
        return noisy and rng.random() < p

    targets = [f"m{i}" for i in range(rng.randint(1, 3))]
    tests = [f"t{i}" for i in range(rng.randint(1, 3))]
    trials = rng.randint(1, 4)
    plan = [(a, b, n) for a in targets for b in tests for n in range(1, trials + 1)]
    cap = rng.choice([f"{len(plan) * 0.006:.2f}"] * 5 + ["1000", None, "-1", "x"])
    config: dict[str, Any] = {
        "event_type": "run.config",
        "targets": targets,
        "tests": tests,
        "trials": trials,
        "total_budget_usd": cap,
    }
    if rng.random() < 0.05:
        config["targets"] = [*targets, "a/b"]
    if rng.random() < 0.05:
        config["trials"] = rng.choice([0, True, 10**10, "2"])
    events: list[dict[str, Any]] = [{"event_type": "budget.decision", "reason": "start"}]
    if rng.random() < 0.95:
        events.append(config)
    spent = Decimal(0)
    stopped_at = None
    lag = rng.random() < 0.3
    held: list[dict[str, Any]] = []
    for i, (a, b, n) in enumerate(plan):
        if stopped_at is None and cap not in (None, "x", "-1") and spent >= Decimal(cap):
            stopped_at = i
        if stopped_at is not None and not odd(0.1):
            continue
        tid = f"{a}/{b}/{n}"
        if odd(0.05):
            tid = rng.choice([f"{a}/{b}/0{n}", f"{a}-{b}-{n}", 7, f"{a}/{b}/{n + 1}"])
        dispatch = {"event_type": "trial.dispatched", "trial_id": tid, "target": a}
        dispatch |= {"test": b, "trial": n if not odd(0.03) else str(n)}
        events.append(dispatch)
        if held:  # the previous trial completes after this one is dispatched (in flight)
            events.append(held.pop())
        cost = f"{rng.randint(50, 149) / 10_000:.4f}" if not odd(0.05) else rng.choice([None, 1.5])
        done_id = tid if not odd(0.05) else rng.choice([f"{a}/{b}/{n % trials + 1}", "zz"])
        done = {"event_type": "trial.completed", "trial_id": done_id, "cost_usd": cost}
        (held if lag else events).append(done)
        spent += Decimal(cost) if isinstance(cost, str) else 0
        if odd(0.03):
            events.append(dispatch)  # dispatched again
    events += held
    if stopped_at is not None or rng.random() < 0.2:
        if rng.random() < 0.85:
            events.append({"event_type": "budget.decision", "reason": "run_budget_exhausted"})
        skipped = [t for t in plan[stopped_at or 0 :] if not odd(0.1)]
        if skipped and rng.random() < 0.15:
            skipped.pop(rng.randrange(len(skipped)))
        if rng.random() < 0.15:
            skipped.insert(0, plan[0])  # a trial that ran
        for a, b, n in skipped:
            skip = {"event_type": "trial.skipped", "target": a, "test": b, "trial": n}
            events.append(skip | {"reason": "run_budget_exhausted"})
    if rng.random() < 0.05:
        events.append({"event_type": "trial.skipped", "target": "m9", "test": "t0", "trial": 1})
    if rng.random() < 0.05:
        events.insert(rng.randrange(len(events) + 1), dict(config))
    if rng.random() < 0.05 and len(events) > 2:  # a trial event before run.config
        events.insert(1, events.pop())
    report = {"event_type": "run.completed", "spent_usd": str(spent)}
    report |= {"status": rng.choice(["budget_exhausted", "completed"])}
    report |= {"trials_run": rng.randint(0, len(plan)), "trials_skipped": rng.randint(0, 3)}
    if rng.random() < 0.9:
        events.append(report)
    return list(enumerate(events, 1))


def test_run_budget_v1_compact_pass_matches_the_released_one() -> None:
    from tests.reference import run_budget_v1 as old_budget

    from vlab.core.money import exact
    from vlab.domains import run_budget as new_budget

    rng = random.Random(258)
    tally: Counter[str] = Counter()
    for _ in range(4_000):
        log = _matrix_log(rng)
        old = old_budget.replay(log, log_path="log")
        new = new_budget.replay(log, log_path="log")
        assert _as_tuples(new) == _as_tuples(old), log
        with exact():
            took = new_budget._replay_compact(log, log_path="log") is not None
        tally["compact" if took else "general"] += 1
        tally.update(("compact:" if took else "") + d.code for d in old)
    # Every code of run_budget@1 came out of the compact pass; both passes ran often.
    assert {"compact:" + c for c in new_budget.V1_CODES} <= set(tally), tally
    assert tally["compact"] > 1500 and tally["general"] > 1500, tally
