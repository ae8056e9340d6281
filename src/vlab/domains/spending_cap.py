"""Spending-cap replay (RQ-D1-03): recompute every ``budget.check`` decision from the
budget and the append-only spend ledger (domains/D1-03-spending-cap-ledger.md)."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.money import exact, fmt, money
from vlab.core.timestamps import day_text, utc_day, utc_micros
from vlab.core.tokens import key, normalize_token
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

CHECK_EVENT = "budget.check"
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

    # 2. The ledger, streamed; checks are answered in time order as charges go by.
    pending = sorted(checks, key=lambda c: (c.at, c.line))
    spent_at: dict[int, Decimal] = {}  # check line -> spent that day before it
    next_check = 0
    day: int | None = None
    day_sum = Decimal(0)
    day_totals: dict[int, Decimal] = {}
    id_buckets = [array("q") for _ in range(256)]
    last_ts: int | None = None
    ordered = True
    for line, entry in ledger():
        entry_id, ts, amount = entry.get("entry_id"), entry.get("ts"), entry.get("amount_usd")
        at = utc_micros(ts)
        value = money(amount)
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
        if value < 0:
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
                    f"charge {entry_id} carries call_id {entry.get('call_id')!r} of a denied check",
                    line=line,
                    artifact_path=ledger_path,
                )
            )
        if not ordered:
            continue
        while next_check < len(pending) and pending[next_check].at <= at:
            check = pending[next_check]
            spent_at[check.line] = day_sum if day == utc_day(check.at) else Decimal(0)
            next_check += 1
        if utc_day(at) != day:
            day, day_sum = utc_day(at), Decimal(0)
        day_sum += value
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

    # 3. Recompute each decision, in log order.
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


CHECKS = (
    DomainCheck(
        name="spending_cap",
        version=1,
        summary="replay the spend ledger the pointer names against the budget and the checks",
        arguments=(
            Argument("pointer", summary="the pointer (its artifact is the ledger)"),
            Argument("budget_path", summary="the budget JSON at its conventional path"),
            Argument("log_path", summary="the event log holding the budget checks"),
        ),
        codes=(
            "LEDGER-BUDGET-INVALID",
            "LEDGER-CHECK-INVALID",
            "LEDGER-NEGATIVE-AMOUNT",
            "LEDGER-NO-CHECKS",
            "LEDGER-UNPARSEABLE",
            "LEDGER-NOT-APPEND-ONLY",
            "LEDGER-CHARGE-AFTER-DENY",
            "LEDGER-DECISION-MISMATCH",
            "LEDGER-OVERSPEND-TOLERATED",
        ),
        run=_spending_cap_v1,
    ),
)
