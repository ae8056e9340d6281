"""``ledger-<N>``: a spending-cap pack (CL-D1-03) with N charges in spend.jsonl and N/10
``budget.check`` events, each decided here by the replay's own rule in exact Decimal.

Written directly, not through ``vlab.producer.spendcap``, whose ledger re-reads itself on
every check (O(N^2)).
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.generators.common import LOG, MASK64, PROLOGUE, epilogue, jsonline, units
from benchmarks.harness import BenchError

BUDGET_PATH = "artifacts/budget/persona_budget.json"
LEDGER_PATH = "artifacts/budget/spend.jsonl"
DAILY_USD, PER_CALL_USD = "250.00", "0.50"
LEDGER_BUDGET = {"daily_usd": DAILY_USD, "per_call_usd": PER_CALL_USD, "hard_cap": True}
LEDGER_DAYS = 5  # UTC calendar days the charges are spread over
LEDGER_DAY0 = dt.date(2026, 5, 29)
LEDGER_FILL = Decimal("1.1")  # the day's unclamped charges would total 1.1x daily_usd
CHECK_EVERY = 10  # one budget.check before every 10th charge
DAY_MS = 86_400_000
CHECK = (
    '{{"event_id":"evt-{j:07d}","event_type":"budget.check","timestamp":"{ts}",'
    '"decision_id":"chk-{j:07d}","decision_kind":"budget","decision_outcome":"{outcome}",'
    '"estimate_usd":"{estimate}","call_id":"{call}","target":{{"kind":"agent","id":"hermes"}}}}\n'
)
CHARGE = '{{"entry_id":"c-{k:07d}","ts":"{ts}","amount_usd":"{amount}","call_id":"{call}"}}\n'


def _ms_stamp(days: list[str], ms: int) -> str:
    d, rem = divmod(ms, DAY_MS)
    h, rem = divmod(rem, 3_600_000)
    m, rem = divmod(rem, 60_000)
    s, rem = divmod(rem, 1000)
    return f"{days[d]}T{h:02d}:{m:02d}:{s:02d}.{rem:03d}Z"


def write_ledger_files(pack: Path, charges: int) -> dict[str, Any]:
    """spend.jsonl (CHARGES lines) and the budget.check events (one per CHECK_EVERY charges),
    streamed; each check's outcome is the replay's own rule, in exact Decimal: spent = the
    sum of that UTC day's charges before it. The day's charges are clamped at daily_usd, so
    checks late in a day are DENY (over the day) and no day ends above the cap; estimates
    above per_call_usd are DENY (over the call). Returns counts for the report."""
    per_day = charges // LEDGER_DAYS
    if per_day * LEDGER_DAYS != charges or per_day % CHECK_EVERY:
        raise BenchError(f"charges must be a multiple of {LEDGER_DAYS * CHECK_EVERY}")
    step = DAY_MS // per_day  # ms between charges; the day's first is at step/4
    if step < 4:
        raise BenchError("too many charges per day for millisecond timestamps")
    daily, per_call = Decimal(DAILY_USD), Decimal(PER_CALL_USD)
    fill = int(LEDGER_FILL * daily * 10_000)  # the day's charges in 1/10,000 USD
    spread = 1_000 * per_day  # charge k costs fill * (500 + r_k) / spread, r_k in 0 .. 999
    days = [(LEDGER_DAY0 + dt.timedelta(days=d)).isoformat() for d in range(LEDGER_DAYS + 1)]
    stats = {"allow": 0, "deny_per_call": 0, "deny_daily": 0, "clamped_charges": 0}
    day_max = Decimal(0)
    ledger_path, log_path = pack / LEDGER_PATH, pack / LOG
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    (pack / BUDGET_PATH).write_text(json.dumps(LEDGER_BUDGET, indent=2) + "\n", "utf-8")
    with (
        ledger_path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as ledger,
        log_path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as log,
    ):
        log.write(jsonline(PROLOGUE))
        lines: list[str] = []
        checks: list[str] = []
        j = 0
        for d in range(LEDGER_DAYS):
            spent = Decimal(0)  # today's charges so far (a new UTC day starts at zero)
            for i in range(per_day):
                k = d * per_day + i + 1
                at = d * DAY_MS + step // 4 + i * step
                call = f"call-{k:07d}"
                if i % CHECK_EVERY == CHECK_EVERY // 2:  # never the day's first charge
                    j += 1
                    h = (j * 0xD1B54A32D192ED03) & MASK64
                    estimate = units(100 + (h >> 8) % 5_400)  # 0.0100 .. 0.5499
                    e = Decimal(estimate)
                    if e > per_call:
                        outcome = "DENY"
                        stats["deny_per_call"] += 1
                    elif spent + e > daily:
                        outcome = "DENY"
                        stats["deny_daily"] += 1
                    else:
                        outcome = "ALLOW"
                        stats["allow"] += 1
                    check_call = f"chk-call-{j:07d}"
                    ts = _ms_stamp(days, at - step // 2)
                    checks.append(
                        CHECK.format(
                            j=j, ts=ts, outcome=outcome, estimate=estimate, call=check_call
                        )
                    )
                    if outcome == "ALLOW":
                        call = check_call  # the allowed call is the one charged next
                h = (k * 0x9E3779B97F4A7C15) & MASK64
                amount = units(max(1, (fill * (500 + (h >> 24) % 1_000) + spread // 2) // spread))
                value = Decimal(amount)
                if spent + value > daily:
                    value = daily - spent
                    amount = format(value, "f")
                    stats["clamped_charges"] += 1
                spent += value
                lines.append(CHARGE.format(k=k, ts=_ms_stamp(days, at), amount=amount, call=call))
                if len(lines) == 4_000:
                    ledger.write("".join(lines))
                    lines.clear()
                    log.write("".join(checks))
                    checks.clear()
            day_max = max(day_max, spent)
        ledger.write("".join(lines))
        log.write("".join(checks))
        log.write(jsonline(epilogue(f"{days[LEDGER_DAYS]}T00:00:00Z")))
    if not stats["allow"] or not stats["deny_per_call"] or not stats["deny_daily"]:
        raise BenchError(f"the ledger pack needs ALLOW and both kinds of DENY: {stats}")
    return {
        "charges": charges,
        "checks": j,
        "days": LEDGER_DAYS,
        "max_day_total_usd": format(day_max, "f"),
        **stats,
    }
