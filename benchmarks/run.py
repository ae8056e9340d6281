"""vlab benchmark: big-pack throughput against ``sha256sum -c``, cold start, and the
spending-cap / run-wide budget replays (CL-D1-03, CL-D1-04) at two sizes each.

Standard library plus vlab itself. Wall time is ``time.perf_counter`` around each child;
each child's peak RSS and CPU time come from ``os.wait4`` (``ru_maxrss`` is KiB on Linux).
Sizes are decimal: 1 MB = 1,000,000 bytes.

    .venv/bin/python benchmarks/run.py               # big (1,000,000 events), cold, replay
    .venv/bin/python benchmarks/run.py --quick       # every size / 10: a fast smoke run
    .venv/bin/python benchmarks/run.py --only replay # or --only big, --only cold

Generated packs live in benchmarks/out/ (gitignored) and are reused while their
params.json matches. Targets are reported as OK/OVER; the exit status is 0 whatever the
numbers (a benchmark reports, it does not assert). It is non-zero only when the benchmark
cannot run: a generated pack that does not adjudicate PASS, a tool that fails.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
OUT = HERE / "out"
BIN = Path(sys.executable).parent
RULESET = "ruleset-1.1"
GENERATOR_VERSION = 1  # bump when the generated pack's content changes

FULL_EVENTS = 1_000_000
QUICK_EVENTS = 100_000
BIG_ROUNDS = 3
COLD_ROUNDS = 10

TARGET_BIG_RATIO = 3.0  # vlab adjudicate / sha256sum -c, wall
TARGET_BIG_RSS_MB = 200.0
TARGET_COLD_RATIO = 12.0  # vlab adjudicate (small pack) / python -c pass, wall

# replay group (ruleset-1.2): two sizes, 10x apart, per replay
REPLAY_RULESET = "ruleset-1.2"
REPLAY_GENERATOR_VERSION = 2  # bump when a generated replay pack's content changes
LEDGER_CHARGES = (100_000, 1_000_000)  # charges; budget.check events = charges / 10
MATRIX_TRIALS = (10_000, 100_000)  # planned trials = 10 targets x 100 tests x trials
TARGET_REPLAY_GROWTH = 11.0  # vlab wall at 10x the entries / at 1x
TARGET_REPLAY_RSS_MB = 200.0  # vlab peak RSS, strictly below

MB = 1_000_000


class BenchError(Exception):
    """The benchmark cannot run (not a target missed)."""


# -- running children ------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child (and anything it waited for)
    rss_kib: int  # peak resident set of the child
    code: int


def run_child(argv: list[str], *, cwd: Path | None = None, stdout: Any = None) -> Sample:
    """Run one child to completion; stdout to /dev/null unless a file is given.

    Linux floors a child's ``ru_maxrss`` at the RSS its parent had when it forked, so this
    process keeps itself small (nothing big is ever held in memory here)."""
    out = subprocess.DEVNULL if stdout is None else stdout
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    if proc.returncode not in (0, 1, 2, 3) or (proc.returncode and err):
        sys.stderr.write(err.decode("utf-8", "replace"))
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode)


def vlab_argv(*args: str) -> list[str]:
    script = BIN / "vlab"
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-m", "vlab", *args]


def vlab_json(*args: str) -> Any:
    done = subprocess.run(vlab_argv(*args), capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"vlab {' '.join(args)} exited {done.returncode}: {done.stderr!r}")
    return json.loads(done.stdout)


def seal(pack: Path) -> None:
    done = subprocess.run(vlab_argv("pack", "seal", str(pack)), capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"vlab pack seal {pack} exited {done.returncode}: {done.stderr!r}")


def self_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- pack generation -------------------------------------------------------------------

RUN_ID = "run-bench-0001"
BASE = dt.datetime(2026, 5, 29, 6, 0, 0, tzinfo=dt.timezone.utc)
STEP_MS = 40
TOOLS = ("http.get", "fs.read", "fs.write", "sql.query", "search.web", "code.exec", "mail.send")
MODELS = ("gpt-large", "claude-mid", "local-7b")
AGENTS = tuple(f"agent-{n:02d}" for n in range(1, 9))

# Pre-formatted records, compact JSON in the byte form producers (and orjson) write.
TOOL_CALL = (
    '{{"event_id":"evt-{i:07d}","event_type":"tool_call","timestamp":"{ts}",'
    '"target":{{"kind":"task","id":"task-{task:05d}"}},'
    '"payload":{{"tool":"{tool}","status":"ok",'
    '"latency_ms":{lat},"bytes_out":{size},"cache_hit":{hit}}}}}\n'
)
MODEL_CALL = (
    '{{"event_id":"evt-{i:07d}","event_type":"model_call","timestamp":"{ts}",'
    '"target":{{"kind":"agent","id":"{agent}"}},'
    '"payload":{{"model":"{model}","prompt_tokens":{pt},"completion_tokens":{ct},'
    '"latency_ms":{lat}}}}}\n'
)
MESSAGE = (
    '{{"event_id":"evt-{i:07d}","event_type":"agent_message","timestamp":"{ts}",'
    '"target":{{"kind":"agent","id":"{agent}"}},'
    '"payload":{{"role":"assistant","chars":{size},"digest":"sha256:{h:016x}",'
    '"lang":"en"}}}}\n'
)
TASK_UPDATE = (
    '{{"event_id":"evt-{i:07d}","event_type":"task_update","timestamp":"{ts}",'
    '"target":{{"kind":"task","id":"task-{task:05d}"}},'
    '"payload":{{"from_status":"queued","to_status":"running","worker":"{agent}",'
    '"queue_ms":{lat}}}}}\n'
)
TEMPLATES = (TOOL_CALL, MODEL_CALL, TOOL_CALL, MESSAGE, TOOL_CALL, TASK_UPDATE, MODEL_CALL)
BUDGET_EVENT_ID = "evt-budget-000001"
BUDGET = (
    '{{"event_id":"' + BUDGET_EVENT_ID + '","event_type":"budget_decision","timestamp":"{ts}",'
    '"decision_id":"dec-budget-000001",'
    '"decision_kind":"budget","decision_outcome":"ALLOW",'
    '"target":{{"kind":"run","id":"' + RUN_ID + '"}},'
    '"payload":{{"limit_usd_cents":50000,"spent_usd_cents":31337,"window":"run"}}}}\n'
)
TERMINAL = (
    '{{"event_id":"evt-{i:07d}","event_type":"run_state_transition","timestamp":"{ts}",'
    '"target":{{"kind":"run","id":"' + RUN_ID + '"}},'
    '"from_state":"running","to_state":"completed","is_terminal":true}}\n'
)


def _timestamps() -> Iterator[str]:
    """RFC 3339 UTC timestamps STEP_MS apart, formatted without datetime per line."""
    day0 = BASE.date()
    base_s = BASE.hour * 3600 + BASE.minute * 60 + BASE.second
    days: dict[int, str] = {}
    total_ms = 0
    while True:
        secs, ms = divmod(total_ms, 1000)
        d, secs = divmod(base_s + secs, 86400)
        day = days.get(d)
        if day is None:
            day = days[d] = (day0 + dt.timedelta(days=d)).isoformat()
        h, rem = divmod(secs, 3600)
        m, s = divmod(rem, 60)
        yield f"{day}T{h:02d}:{m:02d}:{s:02d}.{ms:03d}Z"
        total_ms += STEP_MS


def budget_line_number(events: int) -> int:
    return events - max(1, min(1000, events // 10))


def event_lines(events: int) -> Iterator[str]:
    """Every line of trace/events.ndjson, in order (line i+1 is the i-th yielded)."""
    budget_at = budget_line_number(events)
    ts = _timestamps()
    ntemplates = len(TEMPLATES)
    for i in range(1, events + 1):
        stamp = next(ts)
        if i == events:
            yield TERMINAL.format(i=i, ts=stamp)
        elif i == budget_at:
            yield BUDGET.format(i=i, ts=stamp)
        else:
            h = (i * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
            yield TEMPLATES[i % ntemplates].format(
                i=i,
                ts=stamp,
                h=h,
                task=h % 20000,
                tool=TOOLS[h % len(TOOLS)],
                agent=AGENTS[(h >> 8) % len(AGENTS)],
                model=MODELS[(h >> 16) % len(MODELS)],
                lat=5 + h % 4000,
                size=h % 100000,
                pt=200 + (h >> 4) % 8000,
                ct=20 + (h >> 12) % 1500,
                hit="true" if h & 1 else "false",
            )


def write_events(path: Path, events: int) -> tuple[int, str, str]:
    """Stream the event log in batches; returns (bytes, budget line hash, last line hash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    budget_at = budget_line_number(events)
    budget_hash = last_hash = ""
    written = 0
    batch: list[str] = []
    with path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20) as fh:
        for number, line in enumerate(event_lines(events), start=1):
            if number == budget_at:
                budget_hash = hashlib.sha256(line[:-1].encode()).hexdigest()
            if number == events:
                last_hash = hashlib.sha256(line[:-1].encode()).hexdigest()
            batch.append(line)
            if len(batch) == 2_000:
                chunk = "".join(batch)
                written += len(chunk)
                fh.write(chunk)
                batch.clear()
        chunk = "".join(batch)
        written += len(chunk)
        fh.write(chunk)
    return written, budget_hash, last_hash


def schema_bundle_sha256(ruleset: str = RULESET) -> str:
    return str(vlab_json("rulesets", "show", ruleset, "--format", "json")["schema_bundle_sha256"])


def write_control_files(
    pack: Path, events: int, pack_id: str, schema_sha: str, hashes: tuple[str, str]
) -> None:
    from vlab.producer.packwriter import PackWriter  # here: keeps the harness small

    writer = PackWriter(pack)
    trace = "trace/events.ndjson"
    writer.control_files(
        pack_id=pack_id,
        run_id=RUN_ID,
        ruleset_ref=RULESET,
        schema_bundle_sha256=schema_sha,
        scenario_meta={"privileged_action": False, "domain": "benchmark"},
        pointers=[
            {
                "requirement_id": "RQ-D1-01",
                "artifact_path": trace,
                "locator": f"event_id:{BUDGET_EVENT_ID}",
                "status": "PRESENT",
                "content_hash": f"sha256:{hashes[0]}",
            },
            {
                "requirement_id": "RQ-D2-01",
                "artifact_path": trace,
                "locator": f"line:{events}",
                "status": "PRESENT",
                "content_hash": f"sha256:{hashes[1]}",
            },
        ],
    )


def build_pack(pack: Path, events: int, pack_id: str, schema_sha: str) -> int:
    """Generate and seal one pack from scratch; returns the event log's size in bytes."""
    if pack.exists():
        shutil.rmtree(pack)
    size, *hashes = write_events(pack / "trace" / "events.ndjson", events)
    write_control_files(pack, events, pack_id, schema_sha, (hashes[0], hashes[1]))
    seal(pack)
    return size


# A builder makes and seals out/NAME from scratch and returns what to print about it.
Builder = Callable[[Path], str]


def ensure_pack(
    name: str, params: dict[str, Any], what: str, build: Builder, *, force: bool = False
) -> Path:
    """The pack under out/NAME, generated unless one with the same params.json is there."""
    pack = OUT / name
    params_file = OUT / f"{name}.params.json"
    sums = pack / "integrity" / "sha256sums.txt"
    if not force and sums.is_file() and params_file.is_file():
        try:
            if json.loads(params_file.read_text()) == params:
                print(f"  reusing {pack.relative_to(HERE.parent)} ({what})")
                return pack
        except ValueError:
            pass
    params_file.unlink(missing_ok=True)
    print(f"  generating {pack.relative_to(HERE.parent)} ({what}) ...", flush=True)
    start = time.perf_counter()
    if pack.exists():
        shutil.rmtree(pack)
    note = build(pack)
    params_file.write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    print(f"  generated and sealed in {time.perf_counter() - start:.1f} s: {note}")
    return pack


def ensure_big_pack(name: str, events: int, schema_sha: str, *, force: bool = False) -> Path:
    params = {
        "generator_version": GENERATOR_VERSION,
        "events": events,
        "ruleset": RULESET,
        "schema_bundle_sha256": schema_sha,
    }

    def build(pack: Path) -> str:
        size = build_pack(pack, events, f"bench-{name}", schema_sha)
        return f"events.ndjson {size / MB:.1f} MB, {size / events:.0f} bytes/line"

    return ensure_pack(name, params, f"{events:,} events", build, force=force)


def check_pass(pack: Path, ruling_path: Path, clause: str | None = None) -> Sample:
    """Adjudicate once (also the warm-up); the pack must rule PASS with exit 0 (and, when
    given, CLAUSE must be PASS)."""
    with ruling_path.open("wb") as fh:
        sample = run_child(vlab_argv("adjudicate", str(pack), "--format", "json"), stdout=fh)
    ruling: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        ruling = json.loads(ruling_path.read_bytes())
    topline = ruling.get("topline")
    if sample.code != 0 or topline != "PASS":
        raise BenchError(
            f"{pack} does not adjudicate PASS (exit {sample.code}, topline {topline}); "
            f"see {ruling_path}"
        )
    if clause is not None:
        status = {c.get("clause_id"): c.get("status") for c in ruling.get("clauses", [])}
        if status.get(clause) != "PASS":
            raise BenchError(
                f"{pack}: {clause} is {status.get(clause)}, not PASS; see {ruling_path}"
            )
    return sample


def prepared(
    name: str, ensure: Callable[[bool], Path], force: bool, clause: str | None = None
) -> tuple[Path, Sample]:
    """A pack that adjudicates PASS (regenerated once if a reused one does not)."""
    pack = ensure(force)
    ruling = OUT / f"{name}.ruling.json"
    try:
        return pack, check_pass(pack, ruling, clause)
    except BenchError as exc:
        if force:
            raise
        print(f"  {exc}; regenerating")
    pack = ensure(True)
    return pack, check_pass(pack, ruling, clause)


def prepared_pack(name: str, events: int, schema_sha: str, force: bool) -> tuple[Path, Sample]:
    def ensure(again: bool) -> Path:
        return ensure_big_pack(name, events, schema_sha, force=again)

    return prepared(name, ensure, force)


# -- replay packs (ruleset-1.2): spending-cap ledger and eval-matrix run budget --------
#
# Generated in a child process (``run.py --generate KIND SIZE PACK SHA``) so the harness,
# whose peak RSS floors every child's ``ru_maxrss``, never holds a generator's state.

REPLAY_RUN_ID = "run-bench-replay"
LOG = "trace/events.ndjson"
BUDGET_PATH = "artifacts/budget/persona_budget.json"
LEDGER_PATH = "artifacts/budget/spend.jsonl"
DAILY_USD, PER_CALL_USD = "250.00", "0.50"
LEDGER_BUDGET = {"daily_usd": DAILY_USD, "per_call_usd": PER_CALL_USD, "hard_cap": True}
LEDGER_DAYS = 5  # UTC calendar days the charges are spread over
LEDGER_DAY0 = dt.date(2026, 5, 29)
LEDGER_FILL = Decimal("1.1")  # the day's unclamped charges would total 1.1x daily_usd
CHECK_EVERY = 10  # one budget.check before every 10th charge
DAY_MS = 86_400_000
MATRIX_TARGETS = 10
MATRIX_TESTS = 100
MASK64 = 0xFFFFFFFFFFFFFFFF
PROLOGUE = {
    "event_id": "evt-budget-001",
    "event_type": "budget.decision",
    "timestamp": "2026-05-29T00:00:00Z",
    "decision_id": "persona-budget-loaded",
    "decision_kind": "budget",
    "decision_outcome": "allow",
    "target": {"kind": "agent", "id": "hermes"},
}
CHECK = (
    '{{"event_id":"evt-{j:07d}","event_type":"budget.check","timestamp":"{ts}",'
    '"decision_id":"chk-{j:07d}","decision_kind":"budget","decision_outcome":"{outcome}",'
    '"estimate_usd":"{estimate}","call_id":"{call}","target":{{"kind":"agent","id":"hermes"}}}}\n'
)
CHARGE = '{{"entry_id":"c-{k:07d}","ts":"{ts}","amount_usd":"{amount}","call_id":"{call}"}}\n'


def epilogue(timestamp: str) -> dict[str, Any]:
    return {
        "event_id": "evt-end",
        "event_type": "run_state_transition",
        "timestamp": timestamp,
        "from_state": "running",
        "to_state": "completed",
    }


def replay_name(kind: str, size: int) -> str:
    return f"{kind}-{size}"


def _jsonline(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


def _units(units: int) -> str:
    """Money in 1/10,000 USD as an exact decimal string: 123 -> "0.0123"."""
    return f"{units // 10_000}.{units % 10_000:04d}"


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
        log.write(_jsonline(PROLOGUE))
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
                    estimate = _units(100 + (h >> 8) % 5_400)  # 0.0100 .. 0.5499
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
                amount = _units(max(1, (fill * (500 + (h >> 24) % 1_000) + spread // 2) // spread))
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
        log.write(_jsonline(epilogue(f"{days[LEDGER_DAYS]}T00:00:00Z")))
    if not stats["allow"] or not stats["deny_per_call"] or not stats["deny_daily"]:
        raise BenchError(f"the ledger pack needs ALLOW and both kinds of DENY: {stats}")
    return {
        "charges": charges,
        "checks": j,
        "days": LEDGER_DAYS,
        "max_day_total_usd": format(day_max, "f"),
        **stats,
    }


def write_matrix_log(pack: Path, trials: int) -> dict[str, Any]:
    """The eval-matrix log, written by vlab's own RunGuard (sequential dispatch/complete;
    the cap, 0.009 USD x planned trials, is reached at ~90% of a matrix whose trials cost
    0.0050 .. 0.0149). EventLog's records byte for byte, buffered instead of one
    flock + fsync per line (~250 us each: a minute for the larger matrix)."""
    from vlab.producer.appendlog import encode_line
    from vlab.producer.runguard import RunGuard
    from vlab.producer.spendcap import EventLog, StepClock, stamp

    class BufferedEventLog(EventLog):
        def __init__(self, path: Path) -> None:
            super().__init__(path)  # the file does not exist yet: numbering starts at 1
            self.fh = path.open("wb", buffering=1 << 20)

        def append(self, record: dict[str, Any]) -> None:
            self.fh.write(encode_line(record))

    path = pack / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    log = BufferedEventLog(path)
    planned = MATRIX_TARGETS * MATRIX_TESTS * trials
    clock = StepClock("2026-05-29T10:00:00Z")
    try:
        log.append(PROLOGUE)
        guard = RunGuard(
            log,
            total_budget_usd=f"{planned * 9 // 1_000}.00",
            targets=[f"model-{t:02d}" for t in range(MATRIX_TARGETS)],
            tests=[f"test-{s:03d}" for s in range(MATRIX_TESTS)],
            trials=trials,
            clock=clock,
        )
        for n, (target, test, trial) in enumerate(guard.plan(), start=1):
            trial_id = guard.dispatch(target, test, trial)
            if trial_id is not None:
                h = (n * 0x9E3779B97F4A7C15) & MASK64
                status = "failed" if h % 7 == 0 else "passed"
                guard.complete(trial_id, cost_usd=_units(50 + (h >> 16) % 100), status=status)
        report = guard.finish()
        log.append(epilogue(stamp(clock())))
    finally:
        log.fh.close()
    if report["status"] != "budget_exhausted":
        raise BenchError(f"the matrix run was not stopped by its cap: {report}")
    return {
        "planned_trials": planned,
        "matrix": f"{MATRIX_TARGETS} x {MATRIX_TESTS} x {trials}",
        "total_budget_usd": format(guard.cap, "f") if guard.cap is not None else None,
        "trials_run": report["trials_run"],
        "trials_skipped": report["trials_skipped"],
        "spent_usd": report["spent_usd"],
        "events": log._count + 2,
    }


def generate_replay(kind: str, size: int, pack: Path, schema_sha: str) -> None:
    """The child's job: write, describe (out/NAME.stats.json) and seal one replay pack."""
    from vlab.producer.packwriter import PackWriter

    if kind == "ledger":
        stats = write_ledger_files(pack, size)
        scenario = {"spend_cap": True, "settlement_expected": False, "privileged_action": False}
        evidence = ("RQ-D1-03", LEDGER_PATH)
    else:
        stats = write_matrix_log(pack, size // (MATRIX_TARGETS * MATRIX_TESTS))
        scenario = {"eval_matrix": True, "settlement_expected": False, "privileged_action": False}
        evidence = ("RQ-D1-04", LOG)
    PackWriter(pack).control_files(
        pack_id=f"bench-{pack.name}",
        run_id=REPLAY_RUN_ID,
        ruleset_ref=REPLAY_RULESET,
        schema_bundle_sha256=schema_sha,
        scenario_meta=scenario,
        pointers=[
            {
                "requirement_id": "RQ-D1-01",
                "artifact_path": LOG,
                "locator": "event_id:evt-budget-001",
                "status": "PRESENT",
            },
            {
                "requirement_id": "RQ-D2-01",
                "artifact_path": LOG,
                "locator": "event_id:evt-end",
                "status": "PRESENT",
            },
            {
                "requirement_id": evidence[0],
                "artifact_path": evidence[1],
                "locator": "file:",
                "status": "PRESENT",
            },
        ],
    )
    seal(pack)
    stats["files_mb"] = {
        str(p.relative_to(pack)): p.stat().st_size / MB
        for p in sorted(pack.rglob("*"))
        if p.is_file() and p.stat().st_size > 100_000
    }
    (pack.parent / f"{pack.name}.stats.json").write_text(json.dumps(stats, indent=2) + "\n")


def ensure_replay_pack(kind: str, size: int, schema_sha: str, *, force: bool = False) -> Path:
    name = replay_name(kind, size)
    stats_file = OUT / f"{name}.stats.json"
    params = {
        "generator_version": REPLAY_GENERATOR_VERSION,
        "kind": kind,
        "size": size,
        "ruleset": REPLAY_RULESET,
        "schema_bundle_sha256": schema_sha,
    }

    def build(pack: Path) -> str:
        stats_file.unlink(missing_ok=True)
        argv = [sys.executable, str(Path(__file__).resolve())]
        argv += ["--generate", kind, str(size), str(pack), schema_sha]
        done = subprocess.run(argv, capture_output=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"generating {pack} failed: {done.stderr.decode(errors='replace')}")
        stats = json.loads(stats_file.read_text())
        files = ", ".join(f"{k} {v:.1f} MB" for k, v in stats["files_mb"].items())
        return files or "all files small"

    what = f"{size:,} charges" if kind == "ledger" else f"{size:,} planned trials"
    return ensure_pack(name, params, what, build, force=force or not stats_file.is_file())


# -- the benchmarks --------------------------------------------------------------------


def summary(samples: list[Sample]) -> dict[str, Any]:
    return {
        "median_wall_s": statistics.median(s.wall for s in samples),
        "min_wall_s": min(s.wall for s in samples),
        "max_wall_s": max(s.wall for s in samples),
        "median_cpu_s": statistics.median(s.cpu for s in samples),
        "peak_rss_mb": max(s.rss_kib for s in samples) * 1024 / MB,
        "exit_codes": sorted({s.code for s in samples}),
        "samples": [
            {"wall_s": s.wall, "cpu_s": s.cpu, "rss_mb": s.rss_kib * 1024 / MB, "code": s.code}
            for s in samples
        ],
    }


def alternate(a: list[str], b: list[str], rounds: int, *, b_cwd: Path | None = None) -> Any:
    """One warm-up each, then ``rounds`` A/B pairs; returns (A samples, B samples)."""
    run_child(a)
    run_child(b, cwd=b_cwd)
    xs: list[Sample] = []
    ys: list[Sample] = []
    for n in range(rounds):
        xs.append(run_child(a))
        ys.append(run_child(b, cwd=b_cwd))
        print(
            f"    round {n + 1}/{rounds}: {xs[-1].wall:8.3f} s  vs {ys[-1].wall:8.3f} s",
            flush=True,
        )
    return xs, ys


def against_sha256sum(pack: Path, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Summaries of ``vlab adjudicate PACK`` and ``sha256sum -c`` (cwd = PACK), alternating."""
    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        raise BenchError("sha256sum not found on PATH")
    vlab = vlab_argv("adjudicate", str(pack), "--format", "json")
    check = [sha256sum, "-c", "--quiet", "integrity/sha256sums.txt"]
    verify = run_child(check, cwd=pack)
    if verify.code != 0:
        raise BenchError(f"sha256sum -c failed in {pack} (exit {verify.code})")
    check = [sha256sum, "-c", "integrity/sha256sums.txt"]
    print(f"  timing vlab adjudicate vs sha256sum -c, warm-up + {rounds} alternating rounds")
    xs, ys = alternate(vlab, check, rounds, b_cwd=pack)
    if any(s.code != 0 for s in xs + ys):
        raise BenchError("a timed run did not exit 0")
    return summary(xs), summary(ys)


def pack_mb(pack: Path) -> float:
    return sum(p.stat().st_size for p in pack.rglob("*") if p.is_file()) / MB


def bench_big(events: int, rounds: int, schema_sha: str, force: bool) -> dict[str, Any]:
    print(f"big pack: {events:,} events")
    name = f"big-{events}"
    pack, first = prepared_pack(name, events, schema_sha, force)
    print(f"  adjudicates PASS (first run {first.wall:.2f} s)")
    a, b = against_sha256sum(pack, rounds)
    return {
        "events": events,
        "pack_mb": pack_mb(pack),
        "events_mb": (pack / "trace" / "events.ndjson").stat().st_size / MB,
        "rounds": rounds,
        "vlab_adjudicate": a,
        "sha256sum_check": b,
        "ratio": a["median_wall_s"] / b["median_wall_s"],
        "vlab_peak_rss_mb": a["peak_rss_mb"],
        "targets": {"ratio_max": TARGET_BIG_RATIO, "vlab_peak_rss_mb_max": TARGET_BIG_RSS_MB},
    }


def bench_cold(rounds: int, schema_sha: str, force: bool) -> dict[str, Any]:
    print("cold start: small pack")
    events = 5
    pack, _ = prepared_pack("small", events, schema_sha, force)
    vlab = vlab_argv("adjudicate", str(pack), "--format", "json")
    python = [sys.executable, "-c", "pass"]
    print(f"  timing vlab adjudicate vs python -c pass, warm-up + {rounds} alternating rounds")
    xs, ys = alternate(vlab, python, rounds)
    if any(s.code != 0 for s in xs + ys):
        raise BenchError("a timed run did not exit 0")
    a, b = summary(xs), summary(ys)
    return {
        "events": events,
        "rounds": rounds,
        "vlab_adjudicate": a,
        "python_pass": b,
        "ratio": a["median_wall_s"] / b["median_wall_s"],
        "targets": {"ratio_max": TARGET_COLD_RATIO},
    }


REPLAYS = {
    # kind: (clause, sizes at full scale, unit)
    "ledger": ("CL-D1-03", LEDGER_CHARGES, "charges"),
    "matrix": ("CL-D1-04", MATRIX_TRIALS, "trials"),
}


def bench_replay(scale: int, rounds: int, force: bool) -> dict[str, Any]:
    """Both replays at two sizes 10x apart (full sizes / SCALE): time, ratio, RSS, growth."""
    schema_sha = schema_bundle_sha256(REPLAY_RULESET)
    out: dict[str, Any] = {
        "ruleset": REPLAY_RULESET,
        "rounds": rounds,
        "targets": {
            "growth_10x_max": TARGET_REPLAY_GROWTH,
            "vlab_peak_rss_mb_below": TARGET_REPLAY_RSS_MB,
        },
    }
    for kind, (clause, full_sizes, unit) in REPLAYS.items():
        runs = []
        for size in (n // scale for n in full_sizes):
            print(f"replay {kind}: {size:,} {unit} ({clause})")
            name = replay_name(kind, size)

            def ensure(again: bool, kind: str = kind, size: int = size) -> Path:
                return ensure_replay_pack(kind, size, schema_sha, force=again)

            pack, first = prepared(name, ensure, force, clause)
            print(f"  adjudicates PASS, {clause} PASS (first run {first.wall:.2f} s)")
            ruling = json.loads((OUT / f"{name}.ruling.json").read_bytes())
            details = next(c for c in ruling["clauses"] if c["clause_id"] == clause)["details"]
            a, b = against_sha256sum(pack, rounds)
            runs.append(
                {
                    "size": size,
                    "unit": unit,
                    "pack_mb": pack_mb(pack),
                    "generated": json.loads((OUT / f"{name}.stats.json").read_text()),
                    "clause": clause,
                    "clause_details": len(details),
                    "vlab_adjudicate": a,
                    "sha256sum_check": b,
                    "ratio": a["median_wall_s"] / b["median_wall_s"],
                    "vlab_peak_rss_mb": a["peak_rss_mb"],
                }
            )
        small, large = runs
        wall = "median_wall_s"
        out[kind] = {
            "clause": clause,
            "runs": runs,
            "growth": {
                "size_factor": large["size"] / small["size"],
                "vlab_wall": large["vlab_adjudicate"][wall] / small["vlab_adjudicate"][wall],
                "vlab_cpu": large["vlab_adjudicate"]["median_cpu_s"]
                / small["vlab_adjudicate"]["median_cpu_s"],
                "sha256sum_wall": large["sha256sum_check"][wall] / small["sha256sum_check"][wall],
            },
        }
    return out


# -- regress: a corpus of many small packs ---------------------------------------------

TARGET_REGRESS_PER_S = 1000.0
REGRESS_PACKS = 10_000


def ensure_regress_corpus(count: int, force: bool) -> Path:
    """``count`` golden vectors: the repository's vectors copied round-robin (cached)."""
    corpus = OUT / f"regress-{count}"
    source = HERE.parent / "evidence_packs"
    vectors = sorted(p.parent for p in source.rglob("expected.json"))
    stamp = OUT / f"regress-{count}.params.json"
    params = {
        "count": count,
        "generator": GENERATOR_VERSION,
        "source": hashlib.sha256(
            "".join(str(p.relative_to(source)) for p in vectors).encode()
            + b"".join((p / "expected.json").read_bytes() for p in vectors)
        ).hexdigest(),
    }
    if not force and corpus.is_dir() and stamp.exists() and json.loads(stamp.read_text()) == params:
        return corpus
    if corpus.exists():
        shutil.rmtree(corpus)
    for i in range(count):
        src = vectors[i % len(vectors)]
        shutil.copytree(src, corpus / f"g{i // 1000:02d}" / f"v{i:05d}-{src.name}", symlinks=True)
    stamp.write_text(json.dumps(params))
    return corpus


def bench_regress(count: int, rounds: int, force: bool) -> dict[str, Any]:
    print(f"regress: {count:,} small packs")
    corpus = ensure_regress_corpus(count, force)
    out: dict[str, Any] = {"packs": count, "target_packs_per_s_jobs2": TARGET_REGRESS_PER_S}
    for jobs in (2, 1):
        argv = vlab_argv("regress", str(corpus), "--jobs", str(jobs), "--format", "json")
        run_child(argv, stdout=subprocess.DEVNULL)  # warm-up
        samples = []
        for _ in range(rounds):
            sample = run_child(argv, stdout=subprocess.DEVNULL)
            if sample.code != 0:
                raise BenchError(f"vlab regress exited {sample.code} on the corpus")
            samples.append(sample)
        stats = summary(samples)
        out[f"jobs{jobs}"] = {**stats, "packs_per_s": count / stats["median_wall_s"]}
        print(f"  --jobs {jobs}: {count / stats['median_wall_s']:,.0f} packs/s")
    return out


# -- report ----------------------------------------------------------------------------


def verdict(value: float, limit: float, strict: bool = False) -> str:
    return "OK" if value < limit or (value == limit and not strict) else "OVER"


def floored(rss_mb: float, results: dict[str, Any]) -> str:
    """A note when a child's peak RSS is no more than the harness's own (its floor)."""
    return " (harness floor)" if rss_mb <= results["host"]["harness_peak_rss_mb"] + 1 else ""


def report(results: dict[str, Any]) -> None:
    rows: list[tuple[str, str, str, str]] = []

    def row(
        name: str,
        value: str,
        limit: float | None = None,
        unit: str = "",
        got: float = 0.0,
        strict: bool = False,
    ) -> None:
        if limit is None:
            rows.append((name, value, "", ""))
        else:
            bound = "<" if strict else "<="
            rows.append((name, value, f"{bound} {limit:g}{unit}", verdict(got, limit, strict)))

    big = results.get("big")
    if big:
        a, b = big["vlab_adjudicate"], big["sha256sum_check"]
        row(f"big ({big['events']:,} events, {big['pack_mb']:.0f} MB)", "")
        row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
        row("  vlab CPU user+sys", f"{a['median_cpu_s']:.3f} s")
        row("  sha256sum -c", f"{b['median_wall_s']:.3f} s")
        ratio = big["ratio"]
        row("  ratio vlab / sha256sum", f"{ratio:.2f}x", TARGET_BIG_RATIO, "x", ratio)
        rss = big["vlab_peak_rss_mb"]
        row(
            f"  vlab peak RSS{floored(rss, results)}",
            f"{rss:.1f} MB",
            TARGET_BIG_RSS_MB,
            " MB",
            rss,
        )
    cold = results.get("cold")
    if cold:
        a, b = cold["vlab_adjudicate"], cold["python_pass"]
        row(f"cold start ({cold['events']}-event pack)", "")
        row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
        row("  python -c pass", f"{b['median_wall_s']:.3f} s")
        ratio = cold["ratio"]
        row("  ratio vlab / python", f"{ratio:.2f}x", TARGET_COLD_RATIO, "x", ratio)
        row(f"  vlab peak RSS{floored(a['peak_rss_mb'], results)}", f"{a['peak_rss_mb']:.1f} MB")
    replay = results.get("replay")
    for kind in REPLAYS if replay else ():
        group = replay[kind]
        for run in group["runs"]:
            a, b = run["vlab_adjudicate"], run["sha256sum_check"]
            row(
                f"replay {kind} ({run['size']:,} {run['unit']}, {run['pack_mb']:.0f} MB, "
                f"{group['clause']})",
                "",
            )
            row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
            row("  vlab CPU user+sys", f"{a['median_cpu_s']:.3f} s")
            row("  sha256sum -c", f"{b['median_wall_s']:.3f} s")
            row("  ratio vlab / sha256sum", f"{run['ratio']:.2f}x")
            rss = run["vlab_peak_rss_mb"]
            row(
                f"  vlab peak RSS{floored(rss, results)}",
                f"{rss:.1f} MB",
                TARGET_REPLAY_RSS_MB,
                " MB",
                rss,
                strict=True,
            )
        growth = group["growth"]
        row(
            f"replay {kind}: vlab wall at {growth['size_factor']:g}x the {run['unit']}",
            f"{growth['vlab_wall']:.2f}x",
            TARGET_REPLAY_GROWTH,
            "x",
            growth["vlab_wall"],
        )
        row("  (vlab CPU growth)", f"{growth['vlab_cpu']:.2f}x")
        row("  (sha256sum -c growth)", f"{growth['sha256sum_wall']:.2f}x")
    reg = results.get("regress")
    if reg:
        row(f"regress ({reg['packs']:,} small packs)", "")
        for jobs in (2, 1):
            rate = reg[f"jobs{jobs}"]["packs_per_s"]
            wall = reg[f"jobs{jobs}"]["median_wall_s"]
            row(f"  --jobs {jobs} wall", f"{wall:.2f} s")
            if jobs == 2:  # a throughput target: at least, not at most
                status = "OK" if rate >= TARGET_REGRESS_PER_S else "UNDER"
                rows.append(
                    ("  --jobs 2 packs/s", f"{rate:,.0f}", f">= {TARGET_REGRESS_PER_S:g}/s", status)
                )
            else:
                row("  --jobs 1 packs/s", f"{rate:,.0f}")
    width = max(len(r[0]) for r in rows)
    print()
    print(f"{'metric':<{width}}  {'median':>10}  {'target':<11}  status")
    for name, value, target, status in rows:
        print(f"{name:<{width}}  {value:>10}  {target:<11}  {status}".rstrip())
    host = results["host"]
    print(
        f"\nhost: {host['platform']}, {host['cpus']} CPUs, Python {host['python']}; "
        f"harness peak RSS {host['harness_peak_rss_mb']:.1f} MB (a floor for every child's "
        "ru_maxrss on Linux)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_EVENTS:,} events instead of {FULL_EVENTS:,}; replay sizes / 10",
    )
    parser.add_argument("--events", type=int, help="event count of the big pack (overrides)")
    parser.add_argument(
        "--only", choices=("big", "cold", "replay", "regress"), help="run one group only"
    )
    parser.add_argument("--rounds", type=int, default=BIG_ROUNDS, help="big and replay A/B rounds")
    parser.add_argument("--cold-rounds", type=int, default=COLD_ROUNDS, help="cold A/B rounds")
    parser.add_argument("--regenerate", action="store_true", help="rebuild packs even if cached")
    parser.add_argument("--generate", nargs=4, help=argparse.SUPPRESS)  # KIND SIZE PACK SHA
    args = parser.parse_args(argv)
    if args.generate:  # the child that writes one replay pack (see ensure_replay_pack)
        kind, size, pack, sha = args.generate
        try:
            generate_replay(kind, int(size), Path(pack), sha)
        except BenchError as exc:
            print(f"benchmark error: {exc}", file=sys.stderr)
            return 1
        return 0
    events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    if events < 10 or args.rounds < 1 or args.cold_rounds < 1:
        parser.error("--events must be >= 10 and rounds >= 1")

    OUT.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"benchmark_version": GENERATOR_VERSION}
    try:
        schema_sha = schema_bundle_sha256() if args.only in (None, "big", "cold") else ""
        if args.only in (None, "big"):
            results["big"] = bench_big(events, args.rounds, schema_sha, args.regenerate)
        if args.only in (None, "cold"):
            results["cold"] = bench_cold(args.cold_rounds, schema_sha, args.regenerate)
        if args.only in (None, "replay"):
            scale = 10 if args.quick else 1
            results["replay"] = bench_replay(scale, args.rounds, args.regenerate)
        if args.only in (None, "regress"):
            count = REGRESS_PACKS // (10 if args.quick else 1)
            results["regress"] = bench_regress(count, 2, args.regenerate)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 1
    results["host"] = {
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "harness_peak_rss_mb": self_rss_kib() * 1024 / MB,
    }
    report(results)
    out = OUT / "results.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(HERE.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
