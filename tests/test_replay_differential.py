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
