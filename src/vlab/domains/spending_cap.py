"""Spending-cap replay (RQ-D1-03): recompute every ``budget.check`` decision from the
budget and the append-only spend ledger (domains/D1-03-spending-cap-ledger.md):
``spending_cap@1`` (ruleset-1.2) and ``spending_cap@2`` (ruleset-1.3, rulesets-1.3.md §3:
monthly and lifetime caps, the ledger alone when no checks are recorded)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

from vlab.core.findings import Detail, finding, quote
from vlab.core.money import MONEY_TEXT, exact, fmt, money, native_money
from vlab.core.timestamps import day_text, utc_day, utc_micros
from vlab.core.tokens import key, normalize_token
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

CHECK_EVENT = "budget.check"
_NEVER = 1 << 80  # later than any timestamp in microseconds
_DAY_MICROS = 86_400_000_000  # utc_day(at) == at // _DAY_MICROS
OUTCOMES = {"allow": "ALLOW", "warn": "WARN", "deny": "DENY"}


@dataclass(frozen=True, slots=True)
class Budget:
    daily_usd: Decimal | None
    per_call_usd: Decimal | None
    hard_cap: bool


@dataclass(frozen=True, slots=True)
class Check:
    line: int
    event_id: str
    at: int  # UTC microseconds
    estimate: Decimal
    recorded: str  # ALLOW | WARN | DENY
    call_id: Any


def parse_budget(document: Any) -> tuple[Budget | None, list[str]]:
    """The budget, or None with the reasons it is invalid (all fields optional)."""
    if not isinstance(document, dict):
        return None, ["the budget file is missing or not a JSON object"]
    problems = []
    caps: dict[str, Decimal | None] = {}
    for name in ("daily_usd", "per_call_usd"):
        raw = document.get(name)
        value = money(raw) if raw is not None else None
        if raw is not None and value is None:
            problems.append(f"{name} is not money")
        elif value is not None and value < 0:
            problems.append(f"{name} is negative")
        caps[name] = value
    hard = document.get("hard_cap", True)
    if not isinstance(hard, bool):
        problems.append("hard_cap is not a boolean")
    if problems:
        return None, problems
    return Budget(caps["daily_usd"], caps["per_call_usd"], bool(hard)), []


def expected_outcome(budget: Budget, spent: Decimal, estimate: Decimal) -> str:
    """ALLOW unless a cap is breached; then DENY under a hard cap, WARN under warn-only."""
    over_call = budget.per_call_usd is not None and estimate > budget.per_call_usd
    over_day = budget.daily_usd is not None and spent + estimate > budget.daily_usd
    if not (over_call or over_day):
        return "ALLOW"
    return "DENY" if budget.hard_cap else "WARN"


def _normalized_outcome(value: Any) -> str | None:
    return OUTCOMES.get(normalize_token(value)) if isinstance(value, str) else None


def replay(*args: Any, **kwargs: Any) -> list[Detail]:
    """Every violation (and advisory) of the spending-cap checks, in event/ledger order."""
    with exact():
        return _replay(*args, **kwargs)


def _replay(
    budget_document: Any,
    events: Iterable[tuple[int, dict[str, Any]]],
    ledger: Callable[[], Iterable[tuple[int, dict[str, Any]]]],
    *,
    log_path: str,
    ledger_path: str,
    budget_path: str,
) -> list[Detail]:
    """Every violation (and advisory) of the spending-cap checks, in event/ledger order."""
    found: list[Detail] = []
    budget, problems = parse_budget(budget_document)
    for problem in problems:
        found.append(finding("LEDGER-BUDGET-INVALID", problem, artifact_path=budget_path))

    # 1. The checks, in log order (kept: a run makes far fewer checks than charges).
    checks: list[Check] = []
    for line, event in events:
        if event.get("event_type") != CHECK_EVENT:
            continue
        event_id = str(event.get("event_id"))
        estimate = money(event.get("estimate_usd"))
        recorded = _normalized_outcome(event.get("decision_outcome"))
        at = utc_micros(event.get("timestamp"))
        if estimate is None or recorded is None or at is None:
            what = (
                "estimate_usd is not money"
                if estimate is None
                else "timestamp is not RFC 3339"
                if at is None
                else f"outcome {event.get('decision_outcome')!r} is not allow, warn or deny"
            )
            found.append(
                finding(
                    "LEDGER-CHECK-INVALID",
                    f"check {event_id}: {what}",
                    line=line,
                    artifact_path=log_path,
                )
            )
            continue
        if estimate < 0:
            found.append(
                finding(
                    "LEDGER-NEGATIVE-AMOUNT",
                    f"check {event_id}: estimate {fmt(estimate)}",
                    line=line,
                    artifact_path=log_path,
                )
            )
        checks.append(Check(line, event_id, at, estimate, recorded, event.get("call_id")))
    if not checks and not any(f.code == "LEDGER-CHECK-INVALID" for f in found):
        found.append(
            finding(
                "LEDGER-NO-CHECKS",
                "spend_cap is set but the log has no budget.check event",
                artifact_path=log_path,
            )
        )
    denied_calls = {
        key(c.call_id) for c in checks if c.recorded == "DENY" and c.call_id is not None
    }

    # 2. The ledger, streamed; checks are answered in time order as charges go by. (The
    # loop is written for speed, decision 257: one pass, the common cases inlined; its
    # findings are the released loop's for every input, tests/reference/spending_cap_v1.py.)
    pending = sorted(checks, key=lambda c: (c.at, c.line))
    spent_at: dict[int, Decimal] = {}  # check line -> spent that day before it
    next_check = 0
    next_at = pending[0].at if pending else _NEVER  # when the next pending check is due
    day: int | None = None
    day_sum = Decimal(0)
    day_totals: dict[int, Decimal] = {}
    id_buckets = [array("q") for _ in range(256)]
    appends = [bucket.append for bucket in id_buckets]
    last_ts = -_NEVER  # the latest charge time so far (none yet)
    ordered = True
    zero = Decimal(0)
    money_text = MONEY_TEXT.fullmatch
    for line, entry in ledger():
        entry_id, ts, amount = entry.get("entry_id"), entry.get("ts"), entry.get("amount_usd")
        at = utc_micros(ts)
        value = (
            Decimal(amount)
            if type(amount) is str and money_text(amount) is not None
            else money(amount)
        )
        if not isinstance(entry_id, str) or not entry_id or at is None or value is None:
            found.append(
                finding(
                    "LEDGER-UNPARSEABLE",
                    "a charge needs entry_id, an RFC 3339 ts and a money amount_usd",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
            continue
        if value < zero:
            found.append(
                finding(
                    "LEDGER-NEGATIVE-AMOUNT",
                    f"charge {entry_id}: amount {fmt(value)}",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        # Ids are remembered as 8-byte hashes in 256 arrays (not as strings in a set): a
        # repeated hash is only a candidate, confirmed exactly by re-reading those lines.
        id_hash = hash(entry_id)
        appends[id_hash & 255](id_hash)
        if at < last_ts:
            found.append(
                finding(
                    "LEDGER-NOT-APPEND-ONLY",
                    f"charge {entry_id} is earlier than the one before it",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
            ordered = False
        else:
            last_ts = at
        call = entry.get("call_id")
        if call is not None and (call if type(call) is str else key(call)) in denied_calls:
            found.append(
                finding(
                    "LEDGER-CHARGE-AFTER-DENY",
                    f"charge {entry_id} carries call_id {call!r} of a denied check",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        if not ordered:
            continue
        if at >= next_at:
            while next_check < len(pending) and pending[next_check].at <= at:
                check = pending[next_check]
                spent_at[check.line] = day_sum if day == utc_day(check.at) else Decimal(0)
                next_check += 1
            next_at = pending[next_check].at if next_check < len(pending) else _NEVER
        if at // _DAY_MICROS != day:
            if day is not None:
                day_totals[day] = day_sum
            day, day_sum = at // _DAY_MICROS, Decimal(0)
        day_sum += value
    if ordered and day is not None:
        day_totals[day] = day_sum
    candidates = _repeated_hashes(id_buckets)
    del id_buckets
    if candidates:
        found += _repeated_ids(ledger(), candidates, ledger_path)
    if ordered:
        for check in pending[next_check:]:
            spent_at[check.line] = day_sum if day == utc_day(check.at) else Decimal(0)
    else:
        # The ledger is not append-only (already a finding): re-read it whole to recompute.
        charges = [
            (at, value)
            for _, entry in ledger()
            if (at := utc_micros(entry.get("ts"))) is not None
            and (value := money(entry.get("amount_usd"))) is not None
            and isinstance(entry.get("entry_id"), str)
            and bool(entry.get("entry_id"))
        ]
        spent_at, day_totals = _spent_unordered(pending, charges)

    # 3. Recompute each decision, in log order. (A stricter WARN blocked nothing: the
    # warn-only call ran and was charged; only a stricter DENY blocked work.)
    mismatches = 0
    if budget is not None:
        for check in checks:
            expected = expected_outcome(budget, spent_at[check.line], check.estimate)
            if expected != check.recorded:
                mismatches += 1
                found.append(
                    finding(
                        "LEDGER-DECISION-MISMATCH",
                        f"check {check.event_id}: recorded {check.recorded}, expected {expected} "
                        f"(estimate {fmt(check.estimate)}, spent that day before it "
                        f"{fmt(spent_at[check.line])})",
                        line=check.line,
                        artifact_path=log_path,
                    )
                )
        if mismatches == 0 and budget.daily_usd is not None:
            for over_day, total in sorted(day_totals.items()):
                if total > budget.daily_usd:
                    found.append(
                        finding(
                            "LEDGER-OVERSPEND-TOLERATED",
                            f"{day_text(over_day)}: charges total {fmt(total)} above the daily "
                            f"cap {fmt(budget.daily_usd)}; checks and charges are not "
                            "serialised, so this is tolerated",
                            artifact_path=ledger_path,
                            advisory=True,
                        )
                    )
    return _in_event_ledger_order(found, log_path, ledger_path)


def _repeated_hashes(buckets: list[array[int]]) -> set[int]:
    """Hashes that occur more than once (each bucket is small enough for a set)."""
    repeated: set[int] = set()
    for bucket in buckets:
        if len(set(bucket)) != len(bucket):
            seen: set[int] = set()
            for value in bucket:
                if value in seen:
                    repeated.add(value)
                seen.add(value)
    return repeated


def _repeated_ids(
    entries: Iterable[tuple[int, dict[str, Any]]], candidates: set[int], ledger_path: str
) -> list[Detail]:
    """The exact repeats among the lines whose entry_id hash was seen twice."""
    seen: set[str] = set()
    out = []
    for line, entry in entries:
        entry_id = entry.get("entry_id")
        if not isinstance(entry_id, str) or not entry_id or hash(entry_id) not in candidates:
            continue
        if utc_micros(entry.get("ts")) is None or money(entry.get("amount_usd")) is None:
            continue  # an unparseable line, reported as such
        if entry_id in seen:
            out.append(
                finding(
                    "LEDGER-NOT-APPEND-ONLY",
                    f"entry_id {entry_id} repeats",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        seen.add(entry_id)
    return out


def _in_event_ledger_order(found: list[Detail], log_path: str, ledger_path: str) -> list[Detail]:
    """One detail per violation, in event/ledger order: budget file, then the log's
    findings by line, then the ledger's by line, then advisories (stable within a line)."""

    def key(f: Detail) -> tuple[int, int]:
        if f.advisory:
            return (3, 0)
        where = f.artifact_path
        rank = 1 if where == log_path else 2 if where == ledger_path else 0
        return (rank, f.line or 0)

    return sorted(found, key=key)


def _spent_unordered(
    pending: list[Check], charges: list[tuple[int, Decimal]]
) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
    """The same sums for a ledger that is not in time order (it already failed)."""
    charges = sorted(charges)
    spent: dict[int, Decimal] = {}
    totals: dict[int, Decimal] = {}
    for at, value in charges:
        totals[utc_day(at)] = totals.get(utc_day(at), Decimal(0)) + value
    i, day, day_sum = 0, None, Decimal(0)
    for check in pending:
        while i < len(charges) and charges[i][0] < check.at:
            at, value = charges[i]
            if utc_day(at) != day:
                day, day_sum = utc_day(at), Decimal(0)
            day_sum += value
            i += 1
        spent[check.line] = day_sum if day == utc_day(check.at) else Decimal(0)
    return spent, totals


def _spending_cap_v1(
    view: EvidenceView | None, *, pointer: Any, budget_path: Any, log_path: Any
) -> list[Detail]:
    assert view is not None
    ledger_path = pointer["artifact_path"]
    return replay(
        view.json_artifact(budget_path)["value"],
        view.ndjson_records(log_path),
        lambda: view.ndjson_records(ledger_path),
        log_path=log_path,
        ledger_path=ledger_path,
        budget_path=budget_path,
    )


# The codes version 1 declares (checks.lock.json); version 2 declares these and more.
V1_CODES = (
    "LEDGER-BUDGET-INVALID",
    "LEDGER-CHECK-INVALID",
    "LEDGER-NEGATIVE-AMOUNT",
    "LEDGER-NO-CHECKS",
    "LEDGER-UNPARSEABLE",
    "LEDGER-NOT-APPEND-ONLY",
    "LEDGER-CHARGE-AFTER-DENY",
    "LEDGER-DECISION-MISMATCH",
    "LEDGER-OVERSPEND-TOLERATED",
)


CHECKS: tuple[DomainCheck, ...] = (
    DomainCheck(
        name="spending_cap",
        version=1,
        summary="replay the spend ledger the pointer names against the budget and the checks",
        arguments=(
            Argument("pointer", summary="the pointer (its artifact is the ledger)"),
            Argument("budget_path", summary="the budget JSON at its conventional path"),
            Argument("log_path", summary="the event log holding the budget checks"),
        ),
        codes=V1_CODES,
        run=_spending_cap_v1,
    ),
)


# -- spending_cap@2 (ruleset-1.3, rulesets-1.3.md §3) ------------------------------------------
#
# What changes from @1: caps per call, UTC day, UTC month and lifetime; a window cap is
# breached when ``e > max(0, cap - spent)`` (so a zero estimate is allowed after a cap is
# exceeded); an unknown budget key is an error; a recorded outcome stricter than the
# recomputed one is an advisory (it blocked work and spent nothing), with a note when binary
# floating point gives the recorded outcome; a pack whose import.json says its system records
# no checks is judged on its ledger against the caps alone; an imported ledger's torn final
# line (the importer's marker, honoured only when import.json is present: the CONTRACT gate
# has then re-derived the ledger from the native bytes) is advisory.

RANK = {"ALLOW": 0, "WARN": 1, "DENY": 2}
_STRICTER = {
    "DENY": "; stricter than the caps: it blocked work and spent nothing",
    "WARN": "; stricter than the caps: a warning where none was due (the call ran)",
}
WINDOWS = ("daily", "monthly", "lifetime")
CAP_KEYS = ("per_call_usd", "daily_usd", "monthly_usd", "lifetime_usd")
# Keys an imported budget carries that are not budget settings.
METADATA_KEYS = ("agent_id", "persona_id", "source")
TORN_TAIL = "torn_tail"
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True, slots=True)
class Caps:
    per_call_usd: Decimal | None
    daily_usd: Decimal | None
    monthly_usd: Decimal | None
    lifetime_usd: Decimal | None
    hard_cap: bool

    def windows(self) -> tuple[tuple[str, Decimal | None], ...]:
        return (
            ("daily", self.daily_usd),
            ("monthly", self.monthly_usd),
            ("lifetime", self.lifetime_usd),
        )


@dataclass(frozen=True, slots=True)
class Spent:
    """What was charged before a check (or a charge) in each window: exact, and as the
    binary floats a float-based system (hal0) sums in ledger order."""

    daily: Decimal
    monthly: Decimal
    lifetime: Decimal
    floats: tuple[float, float, float]

    def of(self, window: str) -> Decimal:
        return (
            self.daily
            if window == "daily"
            else self.monthly
            if window == "monthly"
            else self.lifetime
        )


def utc_month(micros: int) -> int:
    """The UTC calendar month of a timestamp in microseconds (year * 12 + month - 1)."""
    return _day_month(utc_day(micros))


@lru_cache(maxsize=4096)
def _day_month(day: int) -> int:
    on = date.fromordinal(day + _EPOCH_ORDINAL)
    return on.year * 12 + on.month - 1


def month_text(month: int) -> str:
    return f"{month // 12:04d}-{month % 12 + 1:02d}"


def parse_caps(document: Any) -> tuple[Caps | None, list[str]]:
    """The caps, or None with the reasons the budget is invalid (every field optional;
    an unknown key is an error, never ignored)."""
    if not isinstance(document, dict):
        return None, ["the budget file is missing or not a JSON object"]
    problems = [
        f"unknown budget key {quote(name)}"
        for name in document
        if name not in CAP_KEYS and name != "hard_cap" and name not in METADATA_KEYS
    ]
    caps: dict[str, Decimal | None] = {}
    for name in CAP_KEYS:
        raw = document.get(name)
        value = native_money(raw) if raw is not None else None
        if raw is not None and value is None:
            problems.append(f"{name} is not money")
        elif value is not None and value < 0:
            problems.append(f"{name} is negative")
        caps[name] = value
    hard = document.get("hard_cap", True)
    if not isinstance(hard, bool):
        problems.append("hard_cap is not a boolean")
    if problems:
        return None, problems
    return Caps(
        caps["per_call_usd"], caps["daily_usd"], caps["monthly_usd"], caps["lifetime_usd"], hard
    ), []


def over_window(cap: Decimal | None, spent: Decimal, amount: Decimal) -> bool:
    """``amount > max(0, cap - spent)``: over the cap, except that zero never is."""
    return cap is not None and amount > max(Decimal(0), cap - spent)


def recomputed_outcome(caps: Caps, spent: Spent, estimate: Decimal) -> str:
    """ALLOW unless a cap is breached; then DENY under a hard cap, WARN under warn-only."""
    breached = (caps.per_call_usd is not None and estimate > caps.per_call_usd) or any(
        over_window(cap, spent.of(window), estimate) for window, cap in caps.windows()
    )
    if not breached:
        return "ALLOW"
    return "DENY" if caps.hard_cap else "WARN"


def float_outcome(caps: Caps, spent: Spent, estimate: Decimal) -> tuple[str, str | None]:
    """The outcome binary floating point gives on the same numbers (as hal0 computes it:
    ``estimate > max(0.0, cap - spent)``), and the first breach it sees."""
    e = float(estimate)
    reason = None
    if caps.per_call_usd is not None and e > float(caps.per_call_usd):
        reason = f"the estimate {e!r} is above the per-call cap {float(caps.per_call_usd)!r}"
    for (window, cap), fspent in zip(caps.windows(), spent.floats, strict=True):
        if reason is None and cap is not None:
            headroom = max(0.0, float(cap) - fspent)
            if e > headroom:
                reason = (
                    f"the {window} cap {float(cap)!r} minus the spent {fspent!r} is {headroom!r}, "
                    f"below the estimate {e!r}"
                )
    if reason is None:
        return "ALLOW", None
    return ("DENY" if caps.hard_cap else "WARN"), reason


def _spent_text(caps: Caps, spent: Spent) -> str:
    capped = [f"{w} {fmt(spent.of(w))}" for w, cap in caps.windows() if cap is not None]
    return f"; spent before it: {', '.join(capped)}" if capped else ""


def _float_note(caps: Caps, spent: Spent, check: Check) -> str:
    outcome, reason = float_outcome(caps, spent, check.estimate)
    if outcome == check.recorded:
        detail = f": {reason}" if reason is not None else ""
        return (
            f"; binary floating-point arithmetic on the same numbers gives the recorded "
            f"{outcome}{detail}"
        )
    return (
        f"; binary floating-point arithmetic gives {outcome} too, so rounding does not explain it"
    )


@dataclass
class _Windows:
    """Running totals per UTC day, per UTC month and for all time, exact and as floats."""

    day: dict[int, Decimal]
    month: dict[int, Decimal]
    fday: dict[int, float]
    fmonth: dict[int, float]
    lifetime: Decimal = Decimal(0)
    flifetime: float = 0.0

    @classmethod
    def empty(cls) -> _Windows:
        return cls({}, {}, {}, {})

    def before(self, at: int) -> Spent:
        """The totals so far, in the windows of an instant (charges so far are earlier)."""
        d, m = utc_day(at), utc_month(at)
        return Spent(
            self.day.get(d, Decimal(0)),
            self.month.get(m, Decimal(0)),
            self.lifetime,
            (self.fday.get(d, 0.0), self.fmonth.get(m, 0.0), self.flifetime),
        )

    def add(self, at: int, value: Decimal) -> None:
        d, m, f = utc_day(at), utc_month(at), float(value)
        self.day[d] = self.day.get(d, Decimal(0)) + value
        self.month[m] = self.month.get(m, Decimal(0)) + value
        self.fday[d] = self.fday.get(d, 0.0) + f
        self.fmonth[m] = self.fmonth.get(m, 0.0) + f
        self.lifetime += value
        self.flifetime += f


def replay_v2(*args: Any, **kwargs: Any) -> list[Detail]:
    """Every violation (and advisory) of spending_cap@2, in event/ledger order."""
    with exact():
        return _replay_v2(*args, **kwargs)


def _read_checks(
    events: Iterable[tuple[int, dict[str, Any]]], log_path: str, found: list[Detail]
) -> tuple[list[Check], bool]:
    """The valid budget.check events in log order, and whether the log had any at all."""
    checks: list[Check] = []
    any_check = False
    for line, event in events:
        if event.get("event_type") != CHECK_EVENT:
            continue
        any_check = True
        event_id = str(event.get("event_id"))
        estimate = native_money(event.get("estimate_usd"))
        recorded = _normalized_outcome(event.get("decision_outcome"))
        at = utc_micros(event.get("timestamp"))
        if estimate is None or recorded is None or at is None:
            what = (
                "estimate_usd is not money"
                if estimate is None
                else "timestamp is not RFC 3339"
                if at is None
                else f"outcome {quote(event.get('decision_outcome'))} is not allow, warn or deny"
            )
            found.append(
                finding(
                    "LEDGER-CHECK-INVALID",
                    f"check {event_id}: {what}",
                    line=line,
                    artifact_path=log_path,
                )
            )
            continue
        if estimate < 0:
            found.append(
                finding(
                    "LEDGER-NEGATIVE-AMOUNT",
                    f"check {event_id}: estimate {fmt(estimate)}",
                    line=line,
                    artifact_path=log_path,
                )
            )
        checks.append(Check(line, event_id, at, estimate, recorded, event.get("call_id")))
    return checks, any_check


def _marker_reason(entry: dict[str, Any]) -> str:
    reason = entry.get("reason")
    text = reason if isinstance(reason, str) and len(reason) <= 200 else "no reason given"
    return f"{quote(entry.get('entry_id'))}: the native line did not parse ({text})"


def _replay_v2(
    budget_document: Any,
    events: Iterable[tuple[int, dict[str, Any]]],
    ledger: Callable[[], Iterable[tuple[int, dict[str, Any]]]],
    *,
    log_path: str,
    ledger_path: str,
    budget_path: str,
    import_path: str = "import.json",
    imported: bool = False,
    checks_recorded: Any = None,
) -> list[Detail]:
    found: list[Detail] = []
    caps, problems = parse_caps(budget_document)
    for problem in problems:
        found.append(finding("LEDGER-BUDGET-INVALID", problem, artifact_path=budget_path))

    # 1. The checks, in log order.
    checks, any_check = _read_checks(events, log_path, found)
    ledger_alone = False
    if not any_check:
        if imported and checks_recorded is False:
            ledger_alone = True
            found.append(
                finding(
                    "LEDGER-CHECKS-NOT-RECORDED",
                    "the imported system records no check decisions (import.json: "
                    "checks_recorded false); the ledger is judged against the caps alone",
                    artifact_path=import_path,
                    advisory=True,
                )
            )
        else:
            found.append(
                finding(
                    "LEDGER-NO-CHECKS",
                    "spend_cap is set but the log has no budget.check event",
                    artifact_path=log_path,
                )
            )
    denied_calls = {
        key(c.call_id) for c in checks if c.recorded == "DENY" and c.call_id is not None
    }

    # 2. The ledger, streamed; checks are answered in time order as charges go by.
    pending = sorted(checks, key=lambda c: (c.at, c.line))
    spent_at: dict[int, Spent] = {}
    next_check = 0
    totals = _Windows.empty()
    id_buckets = [array("q") for _ in range(256)]
    last_ts: int | None = None
    ordered = True
    torn: tuple[int, dict[str, Any]] | None = None  # a torn-tail marker, until one follows it
    for line, entry in ledger():
        if torn is not None:  # a torn line that is not the last one is just unparseable
            found.append(_unparseable(torn[0], _marker_reason(torn[1]), ledger_path))
            torn = None
        if imported and "unparseable" in entry:
            if entry.get("unparseable") == TORN_TAIL:
                torn = (line, entry)
            else:
                found.append(_unparseable(line, _marker_reason(entry), ledger_path))
            continue
        entry_id, ts, amount = entry.get("entry_id"), entry.get("ts"), entry.get("amount_usd")
        at = utc_micros(ts)
        value = native_money(amount)
        if not isinstance(entry_id, str) or not entry_id or at is None or value is None:
            found.append(
                _unparseable(
                    line,
                    "a charge needs entry_id, an RFC 3339 ts and a money amount_usd",
                    ledger_path,
                )
            )
            continue
        if value < 0:
            found.append(
                finding(
                    "LEDGER-NEGATIVE-AMOUNT",
                    f"charge {entry_id}: amount {fmt(value)}",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        id_hash = hash(entry_id)
        id_buckets[id_hash & 255].append(id_hash)
        if last_ts is not None and at < last_ts:
            found.append(
                finding(
                    "LEDGER-NOT-APPEND-ONLY",
                    f"charge {entry_id} is earlier than the one before it",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
            ordered = False
        last_ts = at if last_ts is None else max(last_ts, at)
        if entry.get("call_id") is not None and key(entry.get("call_id")) in denied_calls:
            found.append(
                finding(
                    "LEDGER-CHARGE-AFTER-DENY",
                    f"charge {entry_id} carries call_id {quote(entry.get('call_id'))} of a "
                    "denied check",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        if ordered:
            while next_check < len(pending) and pending[next_check].at <= at:
                spent_at[pending[next_check].line] = totals.before(pending[next_check].at)
                next_check += 1
        if ledger_alone and caps is not None:
            found += _cap_exceeded(caps, totals.before(at), at, value, entry_id, line, ledger_path)
        totals.add(at, value)
    if torn is not None:
        found.append(
            finding(
                "LEDGER-TORN-TAIL",
                f"{_marker_reason(torn[1])}: the final line has no terminator and is not JSON, "
                "a crash artefact; the charge it held is unknown",
                line=torn[0],
                artifact_path=ledger_path,
                advisory=True,
            )
        )
    candidates = _repeated_hashes(id_buckets)
    del id_buckets
    if candidates:
        found += _repeated_ids(ledger(), candidates, ledger_path)
    if ordered:
        for check in pending[next_check:]:
            spent_at[check.line] = totals.before(check.at)
    else:
        spent_at = _spent_unordered_v2(pending, ledger())

    # 3. Recompute each decision, in log order. (A stricter WARN blocked nothing: the
    # warn-only call ran and was charged; only a stricter DENY blocked work.)
    mismatches = 0
    if caps is not None:
        for check in checks:
            spent = spent_at[check.line]
            expected = recomputed_outcome(caps, spent, check.estimate)
            if expected == check.recorded:
                continue
            stricter = RANK[check.recorded] > RANK[expected]
            mismatches += not stricter
            found.append(
                finding(
                    "LEDGER-DECISION-STRICTER" if stricter else "LEDGER-DECISION-MISMATCH",
                    f"check {check.event_id}: recorded {check.recorded}, expected {expected} in "
                    f"exact decimal (estimate {fmt(check.estimate)}{_spent_text(caps, spent)})"
                    + (_STRICTER[check.recorded] if stricter else "")
                    + _float_note(caps, spent, check),
                    line=check.line,
                    artifact_path=log_path,
                    advisory=stricter,
                )
            )
        if mismatches == 0 and not ledger_alone:
            found += _overspend(caps, totals, ledger_path)
    return _in_v2_order(found, import_path, budget_path, log_path, ledger_path)


def _unparseable(line: int, why: str, ledger_path: str) -> Detail:
    return finding("LEDGER-UNPARSEABLE", why, line=line, artifact_path=ledger_path)


def _cap_exceeded(
    caps: Caps, spent: Spent, at: int, value: Decimal, entry_id: str, line: int, ledger_path: str
) -> list[Detail]:
    """Ledger alone: the charge above the per-call cap, and each window it takes strictly
    above its cap (a zero charge never does); violations under a hard cap."""
    how = "" if caps.hard_cap else " (warn-only: advisory)"
    out = []
    if caps.per_call_usd is not None and value > caps.per_call_usd:
        out.append(
            f"charge {entry_id}: {fmt(value)} is above the per-call cap {fmt(caps.per_call_usd)}"
        )
    for window, cap in caps.windows():
        if cap is not None and over_window(cap, spent.of(window), value):
            where = (
                day_text(utc_day(at))
                if window == "daily"
                else month_text(utc_month(at))
                if window == "monthly"
                else "all time"
            )
            out.append(
                f"charge {entry_id}: takes the {window} total ({where}) from "
                f"{fmt(spent.of(window))} to {fmt(spent.of(window) + value)}, above the cap "
                f"{fmt(cap)}"
            )
    return [
        finding(
            "LEDGER-CAP-EXCEEDED",
            message + how,
            line=line,
            artifact_path=ledger_path,
            advisory=not caps.hard_cap,
        )
        for message in out
    ]


def _overspend(caps: Caps, totals: _Windows, ledger_path: str) -> list[Detail]:
    """Windows whose charges end above their cap although every check was right."""
    ends: list[tuple[str, str, Decimal, Decimal]] = []
    if caps.daily_usd is not None:
        ends += [
            (day_text(d), "daily", t, caps.daily_usd)
            for d, t in sorted(totals.day.items())
            if t > caps.daily_usd
        ]
    if caps.monthly_usd is not None:
        ends += [
            (month_text(m), "monthly", t, caps.monthly_usd)
            for m, t in sorted(totals.month.items())
            if t > caps.monthly_usd
        ]
    if caps.lifetime_usd is not None and totals.lifetime > caps.lifetime_usd:
        ends.append(("all time", "lifetime", totals.lifetime, caps.lifetime_usd))
    return [
        finding(
            "LEDGER-OVERSPEND-TOLERATED",
            f"{where}: charges total {fmt(total)} above the {window} cap {fmt(cap)}; checks "
            "and charges are not serialised, so this is tolerated",
            artifact_path=ledger_path,
            advisory=True,
        )
        for where, window, total, cap in ends
    ]


def _spent_unordered_v2(
    pending: list[Check], entries: Iterable[tuple[int, dict[str, Any]]]
) -> dict[int, Spent]:
    """The windows' sums before each check for a ledger not in time order (it already
    failed): the valid charges re-read and sorted by time (file order among equals)."""
    charges = sorted(
        (
            (at, line, value)
            for line, entry in entries
            if "unparseable" not in entry
            and (at := utc_micros(entry.get("ts"))) is not None
            and (value := native_money(entry.get("amount_usd"))) is not None
            and isinstance(entry.get("entry_id"), str)
            and bool(entry.get("entry_id"))
        ),
        key=lambda c: (c[0], c[1]),
    )
    spent: dict[int, Spent] = {}
    totals = _Windows.empty()
    i = 0
    for check in pending:
        while i < len(charges) and charges[i][0] < check.at:
            totals.add(charges[i][0], charges[i][2])
            i += 1
        spent[check.line] = totals.before(check.at)
    return spent


def _in_v2_order(
    found: list[Detail], import_path: str, budget_path: str, log_path: str, ledger_path: str
) -> list[Detail]:
    """Violations, then advisories; each by file (import record and budget, log, ledger)
    and line (stable within a line)."""
    rank = {import_path: 0, budget_path: 0, log_path: 1, ledger_path: 2}

    def order(f: Detail) -> tuple[int, int, int]:
        line = f.line if f.line is not None else 1 << 62
        return (int(f.advisory), rank.get(f.artifact_path or "", 3), line)

    return sorted(found, key=order)


def _spending_cap_v2(
    view: EvidenceView | None, *, pointer: Any, budget_path: Any, log_path: Any, import_path: Any
) -> list[Detail]:
    assert view is not None
    ledger_path = pointer["artifact_path"]
    record = view.json_artifact(import_path)
    value = record["value"]
    imported = bool(record["found"]) and isinstance(value, dict)
    evidence = value.get("evidence") if imported else None
    checks_recorded = evidence.get("checks_recorded") if isinstance(evidence, dict) else None
    return replay_v2(
        view.json_artifact(budget_path)["value"],
        view.ndjson_records(log_path),
        lambda: view.ndjson_records(ledger_path),
        log_path=log_path,
        ledger_path=ledger_path,
        budget_path=budget_path,
        import_path=import_path,
        imported=imported,
        checks_recorded=checks_recorded,
    )


CHECKS = (
    *CHECKS,
    DomainCheck(
        name="spending_cap",
        version=2,
        summary=(
            "replay the spend ledger against caps per call, UTC day, UTC month and lifetime; "
            "the ledger alone when the imported system records no checks"
        ),
        arguments=(
            Argument("pointer", summary="the pointer (its artifact is the ledger)"),
            Argument("budget_path", summary="the budget JSON at its conventional path"),
            Argument("log_path", summary="the event log holding the budget checks"),
            Argument("import_path", summary="import.json of an imported pack (contract 1.2)"),
        ),
        codes=(
            *V1_CODES,
            "LEDGER-DECISION-STRICTER",
            "LEDGER-CHECKS-NOT-RECORDED",
            "LEDGER-CAP-EXCEEDED",
            "LEDGER-TORN-TAIL",
        ),
        run=_spending_cap_v2,
    ),
)


# -- series for the review dossier (vlab.engine.series) ----------------------------------------
#
# What the CL-D1-03 chart draws, computed by this module's own readers and outcome rules:
# each charge with the running totals of its windows, and each check with what the caps
# give for it. Bounded: at most MAX_SERIES points of each kind are kept.

MAX_SERIES = 2000


@dataclass(frozen=True, slots=True)
class ChargePoint:
    line: int
    at: int  # UTC microseconds
    amount: Decimal
    day_total: Decimal  # in its UTC day, after it
    month_total: Decimal
    lifetime_total: Decimal


@dataclass(frozen=True, slots=True)
class CheckPoint:
    line: int
    at: int
    event_id: str
    estimate: Decimal
    spent_day: Decimal  # charged in its UTC day before it
    recorded: str
    expected: str | None  # None when the budget is invalid
    code: str | None  # LEDGER-DECISION-MISMATCH / -STRICTER when they differ


@dataclass(frozen=True, slots=True)
class CapSeries:
    caps: tuple[tuple[str, Decimal | None], ...]  # daily, monthly, lifetime
    per_call: Decimal | None
    hard_cap: bool
    charges: tuple[ChargePoint, ...]
    checks: tuple[CheckPoint, ...]
    over: tuple[tuple[str, int, str], ...]  # (window, charge line, detail code)
    truncated: bool


def _series(
    version: int, view: EvidenceView | None, *, pointer: Any, budget_path: Any, log_path: Any
) -> CapSeries | None:
    assert view is not None
    if not isinstance(pointer, dict) or not isinstance(pointer.get("artifact_path"), str):
        return None
    with exact():
        document = view.json_artifact(budget_path)["value"]
        windows: tuple[tuple[str, Decimal | None], ...]
        if version == 1:
            budget, _ = parse_budget(document)
            caps = None
            windows = (("daily", budget.daily_usd if budget else None),)
            per_call = budget.per_call_usd if budget else None
            hard = budget.hard_cap if budget else True
        else:
            caps, _ = parse_caps(document)
            budget = None
            windows = caps.windows() if caps else (("daily", None),)
            per_call = caps.per_call_usd if caps else None
            hard = caps.hard_cap if caps else True
        checks, _ = _read_checks(view.ndjson_records(log_path), log_path, [])
        charges: list[tuple[int, int, Decimal]] = []
        truncated = False
        for line, entry in view.ndjson_records(pointer["artifact_path"]):
            at = utc_micros(entry.get("ts"))
            value = native_money(entry.get("amount_usd"))
            if at is None or value is None:
                continue
            if len(charges) >= MAX_SERIES:
                truncated = True
                break
            charges.append((at, line, value))
        charges.sort()
        pending = sorted(checks, key=lambda c: (c.at, c.line))[:MAX_SERIES]
        truncated = truncated or len(checks) > MAX_SERIES
        totals = _Windows.empty()
        points: list[ChargePoint] = []
        marks: list[CheckPoint] = []
        over: list[tuple[str, int, str]] = []
        code_over = "LEDGER-OVERSPEND-TOLERATED"
        nxt = 0
        for at, line, value in [*charges, (1 << 62, 0, Decimal(0))]:
            while nxt < len(pending) and pending[nxt].at <= at:
                c = pending[nxt]
                spent = totals.before(c.at)
                expected = (
                    expected_outcome(budget, spent.daily, c.estimate)
                    if budget is not None
                    else recomputed_outcome(caps, spent, c.estimate)
                    if caps is not None
                    else None
                )
                code = None
                if expected is not None and expected != c.recorded:
                    stricter = version > 1 and RANK[c.recorded] > RANK[expected]
                    code = "LEDGER-DECISION-STRICTER" if stricter else "LEDGER-DECISION-MISMATCH"
                marks.append(
                    CheckPoint(
                        c.line,
                        c.at,
                        c.event_id,
                        c.estimate,
                        spent.daily,
                        c.recorded,
                        expected,
                        code,
                    )
                )
                nxt += 1
            if line == 0:
                break
            before = totals.before(at)
            totals.add(at, value)
            after = totals.before(at)
            for window, cap in windows:
                if cap is not None and before.of(window) <= cap < after.of(window):
                    over.append((window, line, code_over))
            points.append(ChargePoint(line, at, value, after.daily, after.monthly, after.lifetime))
    return CapSeries(windows, per_call, hard, tuple(points), tuple(marks), tuple(over), truncated)


def _series_v1(view: EvidenceView | None, **arguments: Any) -> CapSeries | None:
    return _series(1, view, **arguments)


def _series_v2(
    view: EvidenceView | None, *, import_path: Any = None, **arguments: Any
) -> CapSeries | None:
    return _series(2, view, **arguments)


CHECKS = tuple(replace(c, series=_series_v1 if c.version == 1 else _series_v2) for c in CHECKS)
