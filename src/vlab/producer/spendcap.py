"""The per-persona spending-cap primitive: a budget, an append-only spend ledger, and
``check``/``charge`` that write their events into the pack's event log.

    budget = Budget.load(Path("persona_budget.toml"))  # or hal0's agents/<a>/personas/<p>.toml
    cap = SpendingCap(budget, SpendLedger(pack / "artifacts/budget/spend.jsonl"),
                      EventLog(pack / "trace/events.ndjson"), agent_id="hermes")
    if cap.check("0.04", call_id="call-1") != "DENY":
        ...  # make the paid call
        cap.charge("0.031", call_id="call-1")

Several processes may share one ledger and one log: each check and each charge runs under
both files' locks, so ids never repeat and timestamps never go backwards (``appendlog``).
Race tolerance (by design, as in the source PR): check-then-charge is still not
serialised, so concurrent callers may overspend one window; the lab reports that as an
advisory.
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
from vlab.producer.appendlog import SequencedLog, not_before

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
    """The current time in UTC: the default clock of everything that writes events."""
    # Producer side only: the events a live run writes carry real time. vlab's rulings
    # never read the clock.
    return datetime.now(timezone.utc)


def stamp(at: datetime) -> str:
    """``at`` as an RFC 3339 UTC timestamp (``...Z``, microseconds only when non-zero)."""
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


# The caps a budget may set, and the keys a budget file may carry besides (what an
# imported persona_budget.json names: rulesets-1.3.md, spending_cap@2).
CAP_KEYS = ("daily_usd", "per_call_usd", "monthly_usd", "lifetime_usd")
METADATA_KEYS = ("agent_id", "persona_id", "source")
# hal0's persona TOML (Hal0ai/hal0 600b56b, src/hal0/agents/budget.py): [persona.budget]
# key -> the key here. hal0 silently ignores any other key; here it is an error.
HAL0_KEYS = {
    "daily_usd": "daily_usd",
    "monthly_usd": "monthly_usd",
    "lifetime_usd": "lifetime_usd",
    "per_call_max_usd": "per_call_usd",
    "hard_cap": "hard_cap",
}


@dataclass(frozen=True)
class Budget:
    """A persona's spending caps in USD (None: no such cap). ``hard_cap``: a breach is
    DENY; otherwise only WARN. ``monthly_usd`` (UTC calendar month) and ``lifetime_usd``
    (every earlier charge) are judged by ruleset-1.3 (``spending_cap@2``); ruleset-1.2
    knows only the daily and per-call caps."""

    daily_usd: Decimal | None = None
    per_call_usd: Decimal | None = None
    hard_cap: bool = True
    monthly_usd: Decimal | None = None
    lifetime_usd: Decimal | None = None

    @classmethod
    def from_mapping(cls, data: Any) -> Budget:
        """From a budget mapping (persona_budget.json's shape). An unknown key is an
        error, never ignored; money is a decimal string, an int or a Decimal."""
        if not isinstance(data, dict):
            raise BudgetError("a budget is a mapping")
        unknown = [k for k in data if k not in (*CAP_KEYS, "hard_cap", *METADATA_KEYS)]
        if unknown:
            raise BudgetError(
                f"unknown budget key(s) {', '.join(map(repr, unknown))} "
                f"(a budget sets {', '.join(CAP_KEYS)} and hard_cap)"
            )
        caps = {}
        for name in CAP_KEYS:
            value = data.get(name)
            if isinstance(value, float):
                raise BudgetError(f"{name}: write money as a decimal string, not a float")
            caps[name] = None if value is None else to_money(value, name)
        hard = data.get("hard_cap", True)
        if not isinstance(hard, bool):
            raise BudgetError("hard_cap must be true or false")
        return cls(
            caps["daily_usd"],
            caps["per_call_usd"],
            hard,
            caps["monthly_usd"],
            caps["lifetime_usd"],
        )

    @classmethod
    def from_hal0(cls, table: Any) -> Budget:
        """From hal0's ``[persona.budget]`` table, as parsed with floats as the exact
        decimal of their literal: ``per_call_max_usd`` is ``per_call_usd``; a key hal0
        does not define (hal0 itself would ignore it) is an error."""
        if not isinstance(table, dict):
            raise BudgetError("[persona.budget] must be a table")
        unknown = [k for k in table if k not in HAL0_KEYS]
        if unknown:
            hint = (
                " (hal0 calls the per-call cap per_call_max_usd)"
                if "per_call_usd" in unknown
                else ""
            )
            raise BudgetError(
                f"[persona.budget]: unknown key(s) {', '.join(map(repr, unknown))}{hint}; "
                f"hal0 defines {', '.join(HAL0_KEYS)} and would silently ignore the rest"
            )
        mapped: dict[str, Any] = {}
        for name, value in table.items():
            if name != "hard_cap" and (
                isinstance(value, bool) or not isinstance(value, (int, Decimal))
            ):
                raise BudgetError(f"[persona.budget].{name} must be a number, not {value!r}")
            mapped[HAL0_KEYS[name]] = value
        try:
            return cls.from_mapping(mapped)
        except BudgetError as exc:
            raise BudgetError(f"[persona.budget]: {exc}") from None

    @classmethod
    def load(cls, path: Path) -> Budget:
        """From JSON, or from TOML: hal0's persona file (``[persona.budget]``), a
        ``[budget]`` table, or top-level keys."""
        if path.suffix == ".toml":
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - Python 3.10
                import tomli as tomllib
            try:
                data: Any = tomllib.loads(path.read_text("utf-8"), parse_float=Decimal)
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise BudgetError(f"{path.name}: not TOML ({exc})") from None
            if isinstance(data.get("persona"), dict):  # a hal0 persona
                table = data["persona"].get("budget")
                return cls() if table is None else cls.from_hal0(table)
            data = data.get("budget", data)
            floats = (
                [k for k, v in data.items() if isinstance(v, Decimal)]
                if isinstance(data, dict)
                else []
            )
            if floats:  # only hal0's floats are read as money; elsewhere write strings
                raise BudgetError(f"{floats[0]}: write money as a decimal string, not a float")
        else:
            data = json.loads(path.read_text("utf-8"), parse_float=Decimal)
        return cls.from_mapping(data)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "daily_usd": None if self.daily_usd is None else format(self.daily_usd, "f"),
            "per_call_usd": None if self.per_call_usd is None else format(self.per_call_usd, "f"),
            "hard_cap": self.hard_cap,
        }
        for name in ("monthly_usd", "lifetime_usd"):  # written only when set (1.2's shape)
            value = getattr(self, name)
            if value is not None:
                out[name] = format(value, "f")
        return out

    def decide(
        self,
        spent_today: Decimal,
        estimate: Decimal,
        *,
        spent_month: Decimal = Decimal(0),
        spent_lifetime: Decimal = Decimal(0),
    ) -> str:
        """ALLOW, or DENY (hard cap) / WARN (warn-only) when any cap would be breached:
        ``estimate > per_call_usd``, or ``spent + estimate > cap`` in a window."""
        over_call = self.per_call_usd is not None and estimate > self.per_call_usd
        over_window = any(
            cap is not None and spent + estimate > cap
            for cap, spent in (
                (self.daily_usd, spent_today),
                (self.monthly_usd, spent_month),
                (self.lifetime_usd, spent_lifetime),
            )
        )
        if not (over_call or over_window):
            return "ALLOW"
        return "DENY" if self.hard_cap else "WARN"


class EventLog(SequencedLog):
    """The pack's event log: numbered events, one line each."""

    id_field, ts_field = "event_id", "timestamp"

    def __init__(self, path: Path, prefix: str = "evt") -> None:
        super().__init__(path, prefix)
        # Numbering goes on after the records already there when the log is opened (a log
        # begun by other code, with ids of its own, still starts at evt-<records + 1>);
        # the file's own ids, read under the lock at each emit, keep concurrent writers apart.
        self._count = sum(1 for _ in self.records()) if path.exists() else 0

    def next_number(self) -> int:
        """The number of the next event emitted here (it stays so inside ``locked``)."""
        if not self._shares_protocol():
            return self._count + 1
        return max(self.last_number(), self._count) + 1

    def emit(self, event_type: str, at: datetime, **fields: Any) -> dict[str, Any]:
        """Append an event with the next id, at ``at`` or, if the log already holds a later
        timestamp, at that one (a log's timestamps never go backwards)."""
        with self.locked():
            number = self.next_number()
            record = {
                "event_id": f"{self.prefix}-{number:06d}",
                "event_type": event_type,
                "timestamp": stamp(not_before(at, self.last_timestamp())),
                **fields,
            }
            self.append(record)
            self._count = number
        return record


class SpendLedger(SequencedLog):
    """One JSON line per charge: ``{entry_id, ts, amount_usd, call_id}``."""

    id_field, ts_field = "entry_id", "ts"

    def __init__(self, path: Path, prefix: str = "c") -> None:
        super().__init__(path, prefix)

    def spent_on_day_before(self, at: datetime) -> Decimal:
        day = at.astimezone(timezone.utc).date()
        total = Decimal(0)
        for entry in self.records():
            ts = datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00"))
            ts = ts.astimezone(timezone.utc)
            if ts.date() == day and ts < at:
                total += Decimal(str(entry["amount_usd"]))
        return total

    def spent_before(self, at: datetime) -> tuple[Decimal, Decimal, Decimal]:
        """What was charged before ``at``: that UTC day, that UTC month, and ever."""
        day = at.astimezone(timezone.utc).date()
        today = month = lifetime = Decimal(0)
        for entry in self.records():
            ts = datetime.fromisoformat(str(entry["ts"]).replace("Z", "+00:00"))
            ts = ts.astimezone(timezone.utc)
            if ts < at:
                value = Decimal(str(entry["amount_usd"]))
                lifetime += value
                if (ts.year, ts.month) == (day.year, day.month):
                    month += value
                    if ts.date() == day:
                        today += value
        return today, month, lifetime

    def next_entry_id(self) -> str:
        """``c-<n>``: one past the highest such id in the ledger, or past its record count
        while it has none (it stays so inside ``locked``)."""
        if not self._shares_protocol():
            number = sum(1 for _ in self.records()) + 1
        else:
            number = self.last_number(or_records=True) + 1
        return f"{self.prefix}-{number:06d}"


class SpendingCap:
    """The spending-cap primitive a run calls around each paid call: ``check(estimate)``
    before it (ALLOW, WARN or DENY, recorded as a ``budget.check`` event) and
    ``charge(amount)`` after it (a ledger entry and a ``budget.charge`` event). The
    ``clock`` is the real UTC time unless a test passes one (``StepClock``)."""

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

    # Both methods hold the ledger's lock, then the log's (always in that order, so two
    # callers cannot deadlock), from the clock reading to the last append. Timestamps are
    # moved forward past what either file already holds: a charge lands at or after every
    # earlier check and charge, a check strictly after every charge already in the ledger.
    # The engine's replay (charges with ts < the check's) then sums exactly the charges the
    # check saw, however many processes share the files.

    def check(self, estimate: Any, *, call_id: str) -> str:
        """Decide whether this call's estimate may be spent; writes a budget.check event."""
        amount = to_money(estimate, "estimate")
        with self.ledger.locked(), self.log.locked():
            at = not_before(self.clock(), self.log.last_timestamp())
            at = not_before(at, self.ledger.last_timestamp(), strictly=True)
            today, month, lifetime = self.ledger.spent_before(at)
            outcome = self.budget.decide(today, amount, spent_month=month, spent_lifetime=lifetime)
            self.log.emit(
                "budget.check",
                at,
                decision_id=f"chk-{self.log.next_number():06d}",
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
        with self.ledger.locked(), self.log.locked():
            at = not_before(self.clock(), self.ledger.last_timestamp())
            at = not_before(at, self.log.last_timestamp())
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
