"""The producer under several writer processes at once, and under kill -9.

Six processes make 100 calls each (check, then charge) into one spend ledger and one event
log: no id may repeat, no timestamp may go backwards, and the sealed pack must be judged
like a single writer's. A writer killed in the middle of a 4 MiB record leaves a torn line
that the next writer and reader detect, and that is never merged with the next record.

Nothing here measures time: processes are released together through their stdin and are
synchronised on the file growing (or on /proc/locks); the timeouts only turn a hang into a
failure.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from vlab.core.timestamps import utc_micros
from vlab.producer.appendlog import AppendLog, TornLineError, encode_line
from vlab.producer.spendcap import stamp, utc_now

ROOT = Path(__file__).resolve().parent.parent
SRC = str(ROOT / "src")
VECTOR = ROOT / "evidence_packs" / "r12-d1-03" / "pass-over-daily-denied" / "pack"
LEDGER = "artifacts/budget/spend.jsonl"
LOG = "trace/events.ndjson"
BUDGET = "artifacts/budget/persona_budget.json"
WRITERS, CALLS = 6, 100
LIVENESS = 300.0  # seconds: only a hang gets near it, and it fails rather than waits on
BIG = 4 << 20  # a 4 MiB record

# Warn-only, so every call is charged (600 charges) and the later checks WARN: the replay
# must then agree with every decision the concurrent writers recorded.
BUDGET_DOC = {"daily_usd": "3.00", "per_call_usd": "0.50", "hard_cap": False}

WORKER = """
import sys
from pathlib import Path
from vlab.producer.spendcap import (
    Budget, EventLog, SpendingCap, SpendLedger, StepClock, utc_now,
)
pack, name, calls, clock = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
cap = SpendingCap(
    Budget.load(pack / "artifacts/budget/persona_budget.json"),
    SpendLedger(pack / "artifacts/budget/spend.jsonl"),
    EventLog(pack / "trace/events.ndjson"),
    agent_id="hermes",
    # "step": every writer's own clock starts at the same instant, so they all disagree
    clock=StepClock("2026-05-29T10:00:00Z", 0.5) if clock == "step" else utc_now,
)
sys.stdin.read(1)  # released together with the others
for i in range(calls):
    call_id = f"{name}-{i:03d}"
    if cap.check("0.01", call_id=call_id) != "DENY":
        cap.charge("0.01", call_id=call_id)
"""


def _env(src: str = SRC) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": src}


def _lines(path: Path) -> list[dict[str, Any]]:
    data = path.read_bytes()
    assert data.endswith(b"\n")
    return [json.loads(line) for line in data.split(b"\n")[:-1]]


def build_concurrent_pack(root: Path, clock: str, *, src: str = SRC) -> Path:
    """The spending-cap vector's control files, with a ledger and a log written by WRITERS
    processes at once (between the vector's own first and last events)."""
    pack = root / "pack"
    shutil.copytree(VECTOR, pack)
    for rel in (LEDGER, LOG, "integrity/sha256sums.txt"):
        (pack / rel).unlink()
    (pack / BUDGET).write_text(json.dumps(BUDGET_DOC, indent=2) + "\n", "utf-8")
    prologue, *_, epilogue = _lines(VECTOR / LOG)
    if clock == "wall":
        prologue["timestamp"] = stamp(utc_now())
    log = AppendLog(pack / LOG)
    log.append(prologue)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(pack), f"w{n}", str(CALLS), clock],
            env=_env(src),
            stdin=subprocess.PIPE,
        )
        for n in range(WRITERS)
    ]
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"g")
        proc.stdin.close()
    assert [proc.wait(timeout=LIVENESS) for proc in procs] == [0] * WRITERS
    if clock == "wall":
        epilogue["timestamp"] = stamp(utc_now())
    log.append(epilogue)
    return pack


def anomalies(pack: Path) -> dict[str, int]:
    """What the engine's checks on a ledger and an event log would trip over, counted."""
    ledger, events = _lines(pack / LEDGER), _lines(pack / LOG)

    def backwards(records: list[dict[str, Any]], field: str) -> int:
        stamps = [utc_micros(r[field]) for r in records]
        assert None not in stamps
        return sum(1 for a, b in pairwise(stamps) if b < a)  # type: ignore[operator]

    return {
        "charges": len(ledger),
        "duplicate entry ids": len(ledger) - len({r["entry_id"] for r in ledger}),
        "backwards ledger timestamps": backwards(ledger, "ts"),
        "events": len(events),
        "duplicate event ids": len(events) - len({r["event_id"] for r in events}),
        "backwards event timestamps": backwards(events, "timestamp"),
    }


@pytest.mark.parametrize("clock", ["step", "wall"])
def test_concurrent_writers_keep_ids_unique_and_time_monotonic(tmp_path: Path, clock: str) -> None:
    from vlab.engine.pipeline import adjudicate
    from vlab.pack.seal import seal
    from vlab.ruleset.catalog import Catalog

    pack = build_concurrent_pack(tmp_path, clock)
    assert anomalies(pack) == {
        "charges": WRITERS * CALLS,
        "duplicate entry ids": 0,
        "backwards ledger timestamps": 0,
        "events": 2 + 2 * WRITERS * CALLS,
        "duplicate event ids": 0,
        "backwards event timestamps": 0,
    }
    ledger, events = _lines(pack / LEDGER), _lines(pack / LOG)
    # Ids are handed out in file order, without gaps.
    assert [r["entry_id"] for r in ledger] == [f"c-{n:06d}" for n in range(1, 601)]
    numbers = [int(e["event_id"][4:]) for e in events[1:-1]]
    assert numbers == sorted(numbers)
    checks = [e for e in events if e["event_type"] == "budget.check"]
    assert len({e["decision_id"] for e in checks}) == len(checks)
    # Each charge event names its ledger line, at the same time; each writer's calls keep
    # their own order in both files.
    charged = {e["entry_id"]: e for e in events if e["event_type"] == "budget.charge"}
    assert all(charged[r["entry_id"]]["timestamp"] == r["ts"] for r in ledger)
    assert all(charged[r["entry_id"]]["call_id"] == r["call_id"] for r in ledger)
    for n in range(WRITERS):
        mine = [r["call_id"] for r in ledger if r["call_id"].startswith(f"w{n}-")]
        assert mine == [f"w{n}-{i:03d}" for i in range(CALLS)]

    seal(pack)
    ruling = adjudicate(pack, Catalog())
    assert ruling.admission.status == "ADMISSIBLE", ruling.admission
    assert ruling.topline == "PASS"
    (clause,) = [c for c in ruling.clauses if c.clause_id == "CL-D1-03"]
    assert clause.status == "PASS"
    assert all(d.advisory for d in clause.details), clause.details
    if clock == "step":  # one UTC day for sure: 6.00 charged against a daily cap of 3.00
        assert {d.code for d in clause.details} == {"LEDGER-OVERSPEND-TOLERATED"}
        assert 0 < sum(e["decision_outcome"] == "WARN" for e in checks) < len(checks)


# -- kill -9 in the middle of a 4 MiB record --------------------------------------------------

FROZEN = """
import os, signal, sys
from pathlib import Path
from vlab.producer.appendlog import AppendLog
log = AppendLog(Path(sys.argv[1]))
pad = "x" * int(sys.argv[2])
log.append({"n": 0, "pad": pad})
real_write = os.write
def split_then_freeze(fd, data):
    # What the kernel may do to one big write(2): take only part of it. This writer then
    # never gets to write the rest (it freezes, holding the lock, until it is killed).
    os.write = lambda *_: signal.pause()
    return real_write(fd, bytes(data[: len(data) // 2]))
os.write = split_then_freeze
log.append({"n": 1, "pad": pad})
"""

NEXT_WRITER = """
import sys
from pathlib import Path
from vlab.producer.appendlog import AppendLog, TornLineError
try:
    AppendLog(Path(sys.argv[1])).append({"n": 2})
except TornLineError as torn:
    print(torn.offset, len(torn.tail))
    sys.exit(3)
"""

STREAM = """
import sys
from pathlib import Path
from vlab.producer.appendlog import AppendLog
log = AppendLog(Path(sys.argv[1]))
pad = "x" * int(sys.argv[2])
for n in range(int(sys.argv[3])):
    log.append({"n": n, "pad": pad})
"""


def _wait_for(ready: Callable[[], bool], proc: subprocess.Popen[bytes]) -> None:
    """Poll until ready; fails if the child dies first or nothing happens for LIVENESS."""
    give_up = time.monotonic() + LIVENESS
    while not ready():
        assert proc.poll() is None, f"the writer exited early ({proc.returncode})"
        assert time.monotonic() < give_up, "the writer made no progress"
        time.sleep(0.002)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def _waits_for_a_lock(pid: int) -> bool:
    """Whether ``pid`` is blocked on a flock (Linux lists waiters as ``-> FLOCK`` lines)."""
    try:
        text = Path("/proc/locks").read_text()
    except OSError:  # pragma: no cover - not Linux: the next writer may also start late
        return True
    for line in text.splitlines():  # "1: -> FLOCK  ADVISORY  WRITE <pid> <dev:inode> 0 EOF"
        parts = line.split()
        if parts[1:3] == ["->", "FLOCK"] and parts[5] == str(pid):
            return True
    return False


def test_writer_killed_mid_record_leaves_a_detected_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    line = len(encode_line({"n": 0, "pad": "x" * BIG}))
    frozen = subprocess.Popen([sys.executable, "-c", FROZEN, str(path), str(BIG)], env=_env())
    try:
        # Synchronised on the file: the first record whole, then part of the second.
        _wait_for(lambda: _size(path) > line, frozen)
        log = AppendLog(path)
        # The writer is alive and holds the lock: its half record is unfinished, not torn,
        # and a reader neither blocks on it nor reports it.
        assert log.torn_tail() is None
        assert [r["n"] for r in log.records()] == [0]
        nxt = subprocess.Popen(
            [sys.executable, "-c", NEXT_WRITER, str(path)], env=_env(), stdout=subprocess.PIPE
        )
        _wait_for(lambda: _waits_for_a_lock(nxt.pid), nxt)
    finally:
        frozen.kill()
        frozen.wait(timeout=LIVENESS)
    assert frozen.returncode == -signal.SIGKILL
    out, _ = nxt.communicate(timeout=LIVENESS)
    half = len(encode_line({"n": 1, "pad": "x" * BIG})) // 2  # what the frozen writer wrote
    # The next writer got the lock when the kernel dropped it, saw the torn line, wrote nothing.
    assert (nxt.returncode, out.split()) == (3, [str(line).encode(), str(half).encode()])
    assert _size(path) == line + half

    torn = log.torn_tail()
    assert torn is not None and (torn.offset, len(torn.tail)) == (line, half)
    assert torn.tail.startswith(b'{"n":1,"pad":"xxx')
    with pytest.raises(TornLineError):
        list(log.records())
    with pytest.raises(TornLineError):
        log.append({"n": 2})
    aside = log.quarantine_torn_tail()
    assert aside is not None and aside.stat().st_size == half + 1
    log.append({"n": 2})
    assert [r["n"] for r in log.records()] == [0, 2]
    assert _size(path) == line + len(encode_line({"n": 2}))


def test_kill_during_a_stream_of_big_records(tmp_path: Path) -> None:
    """The kernel's own behaviour: killed as soon as the file is seen part-way through the
    second record. Whether or not the kill landed inside a write(2), only whole records are
    read, and a partial one is detected and can be set aside."""
    path = tmp_path / "big.jsonl"
    line = len(encode_line({"n": 0, "pad": "x" * BIG}))
    proc = subprocess.Popen([sys.executable, "-c", STREAM, str(path), str(BIG), "16"], env=_env())
    try:
        _wait_for(lambda: _size(path) >= line + line // 2 or proc.poll() is not None, proc)
    finally:
        proc.kill()
        proc.wait(timeout=LIVENESS)
    size = _size(path)
    whole, part = divmod(size, line)
    log = AppendLog(path)
    torn = log.torn_tail()
    if part:
        assert torn is not None and (torn.offset, len(torn.tail)) == (whole * line, part)
        with pytest.raises(TornLineError):
            log.append({"n": -1})
        assert log.quarantine_torn_tail() is not None
    else:
        assert torn is None
    log.append({"n": -1})
    assert [r["n"] for r in log.records()] == [*range(whole), -1]
