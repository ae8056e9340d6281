"""The per-persona spending-cap primitive: a budget, an append-only spend ledger, and
``check``/``charge`` that write their events into the pack's event log.

    budget = Budget.load(Path("persona_budget.toml"))
    cap = SpendingCap(budget, SpendLedger(pack / "artifacts/budget/spend.jsonl"),
                      EventLog(pack / "trace/events.ndjson"), agent_id="hermes")
    if cap.check("0.04", call_id="call-1") != "DENY":
        ...  # make the paid call
        cap.charge("0.031", call_id="call-1")

Race tolerance (by design, as in the source PR): check-then-charge is not serialised, so
concurrent callers may overspend one window; the lab reports that as an advisory.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core.money import money
from vlab.producer.appendlog import AppendLog

Clock = Callable[[], datetime]


class BudgetError(ValueError):
    """A budget that cannot be used (negative cap, wrong type)."""


def to_money(value: Any, name: str = "amount") -> Decimal:
    """Exact, non-negative money from a decimal string, an int or a Decimal (never a float),
    within the bound the engine reads (``vlab.core.money``: the one money parser)."""
    amount = money(value) if not isinstance(value, float) else None
    if (
        amount is not None
        and amount >= 0
        and not (isinstance(value, str) and value.startswith("-"))
    ):
        return amount
    raise BudgetError(f"{name} must be non-negative money (a decimal string), not {value!r}")


def utc_now() -> datetime:
    # Producer side only: the events a live run writes carry real time. vlab's rulings
    # never read the clock.
    return datetime.now(timezone.utc)


def stamp(at: datetime) -> str:
    at = at.astimezone(timezone.utc)
    text = at.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{at.microsecond:06d}" if at.microsecond else "") + "Z"


class StepClock:
    """A deterministic clock for tests and vectors: each call advances by ``step``."""

    def __init__(self, start: str, step_seconds: float = 1.0) -> None:
        self.now = datetime.fromisoformat(start.replace("Z", "+00:00"))
        self.step = timedelta(seconds=step_seconds)

    def __call__(self) -> datetime:
        current = self.now
        self.now += self.step
        return current

    def set(self, at: str) -> None:
        self.now = datetime.fromisoformat(at.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Budget:
    daily_usd: Decimal | None = None
    per_call_usd: Decimal | None = None
    hard_cap: bool = True

    @classmethod
    def from_mapping(cls, data: Any) -> Budget:
        if not isinstance(data, dict):
            raise BudgetError("a budget is a mapping")
        caps = {}
        for name in ("daily_usd", "per_call_usd"):
            value = data.get(name)
            if isinstance(value, float):
                raise BudgetError(f"{name}: write money as a decimal string, not a float")
            caps[name] = None if value is None else to_money(value, name)
        hard = data.get("hard_cap", True)
        if not isinstance(hard, bool):
            raise BudgetError("hard_cap must be true or false")
        return cls(caps["daily_usd"], caps["per_call_usd"], hard)

    @classmethod
    def load(cls, path: Path) -> Budget:
        """From JSON, or from TOML (a ``[budget]`` table or top-level keys)."""
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            data: Any = tomllib.loads(path.read_text("utf-8"))
            data = data.get("budget", data)
        else:
            data = json.loads(path.read_text("utf-8"), parse_float=Decimal)
        return cls.from_mapping(data)

    def to_json(self) -> dict[str, Any]:
        return {
            "daily_usd": None if self.daily_usd is None else format(self.daily_usd, "f"),
            "per_call_usd": None if self.per_call_usd is None else format(self.per_call_usd, "f"),
            "hard_cap": self.hard_cap,
        }

    def decide(self, spent_today: Decimal, estimate: Decimal) -> str:
        """ALLOW, or DENY (hard cap) / WARN (warn-only) when any cap would be breached."""
        over_call = self.per_call_usd is not None and estimate > self.per_call_usd
        over_day = self.daily_usd is not None and spent_today + estimate > self.daily_usd
        if not (over_call or over_day):
            return "ALLOW"
        return "DENY" if self.hard_cap else "WARN"


class EventLog(AppendLog):
    """The pack's event log: numbered events, one line each."""

    def __init__(self, path: Path, prefix: str = "evt") -> None:
        super().__init__(path)
        self.prefix = prefix
        self._count = sum(1 for _ in self.records()) if path.exists() else 0

    def emit(self, event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
        self._count += 1
        record = {
            "event_id": f"{self.prefix}-{self._count:06d}",
            "event_type": event_type,
            "timestamp": stamp(at),
            **fields,
        }
        self.append(record)
        return record


class SpendLedger(AppendLog):
    """One JSON line per charge: ``{entry_id, ts, amount_usd, call_id}``."""

    def spent_on_day_before(self, at: datetime) -> Decimal:
        day = at.astimezone(timezone.utc).date()
        total = Decimal(0)
        for entry in self.records():
            ts = datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00"))
            ts = ts.astimezone(timezone.utc)
            if ts.date() == day and ts < at:
                total += Decimal(str(entry["amount_usd"]))
        return total

    def next_entry_id(self) -> str:
        return f"c-{sum(1 for _ in self.records()) + 1:06d}"


class SpendingCap:
    def __init__(
        self,
        budget: Budget,
        ledger: SpendLedger,
        log: EventLog,
        *,
        agent_id: str,
        clock: Clock = utc_now,
    ) -> None:
        self.budget = budget
        self.ledger = ledger
        self.log = log
        self.agent_id = agent_id
        self.clock = clock

    def check(self, estimate: Any, *, call_id: str) -> str:
        """Decide whether this call's estimate may be spent; writes a budget.check event."""
        amount = to_money(estimate, "estimate")
        at = self.clock()
        outcome = self.budget.decide(self.ledger.spent_on_day_before(at), amount)
        event_number = self.log._count + 1
        self.log.emit(
            "budget.check",
            at,
            decision_id=f"chk-{event_number:06d}",
            decision_kind="budget",
            decision_outcome=outcome,
            estimate_usd=format(amount, "f"),
            call_id=call_id,
            target={"kind": "agent", "id": self.agent_id},
        )
        return outcome

    def charge(self, amount: Any, *, call_id: str) -> dict[str, Any]:
        """Record what the call really cost: a ledger line and a budget.charge event."""
        value = to_money(amount, "amount")
        at = self.clock()
        entry = {
            "entry_id": self.ledger.next_entry_id(),
            "ts": stamp(at),
            "amount_usd": format(value, "f"),
            "call_id": call_id,
        }
        self.ledger.append(entry)
        self.log.emit(
            "budget.charge",
            at,
            amount_usd=entry["amount_usd"],
            call_id=call_id,
            entry_id=entry["entry_id"],
        )
        return entry
