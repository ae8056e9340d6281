"""spending_cap@1's replay as released before decision 257 (ruleset-1.2), kept verbatim as
the reference the streamlined loop is compared with (tests/test_replay_differential.py)."""

# ruff: noqa
from __future__ import annotations

from array import array
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.money import exact, fmt, money
from vlab.core.timestamps import day_text, utc_day
from vlab.core.timestamps import _full_micros as utc_micros  # the parser of that release
from vlab.core.tokens import key
from vlab.domains.spending_cap import (
    CHECK_EVENT,
    Check,
    _in_event_ledger_order,
    _normalized_outcome,
    _repeated_hashes,
    _repeated_ids,
    _spent_unordered,
    expected_outcome,
    parse_budget,
)


def replay(*args: Any, **kwargs: Any) -> list[Detail]:
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
