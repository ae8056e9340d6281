"""Producer primitives: budget parsing, the append-only ledger under crashes and concurrent
writers, check/charge decisions, and the run-wide guard. (Several processes at once, and
kill -9 in the middle of a 4 MiB record: tests/test_producer_concurrency.py.)"""

import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
import types
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest

from vlab.producer import appendlog
from vlab.producer.appendlog import AppendLog, TornLineError
from vlab.producer.runguard import RunGuard
from vlab.producer.spendcap import (
    Budget,
    BudgetError,
    EventLog,
    SpendingCap,
    SpendLedger,
    StepClock,
)

SRC = str(Path(__file__).resolve().parent.parent / "src")


def test_budget_from_json_and_toml(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{"daily_usd": "5.00", "per_call_usd": "0.50"}')
    (tmp_path / "b.toml").write_text('[budget]\ndaily_usd = "5.00"\nhard_cap = false\n')
    assert Budget.load(tmp_path / "b.json") == Budget(Decimal("5.00"), Decimal("0.50"), True)
    assert Budget.load(tmp_path / "b.toml") == Budget(Decimal("5.00"), None, False)


@pytest.mark.parametrize(
    "data",
    [{"daily_usd": "-1"}, {"per_call_usd": 0.5}, {"hard_cap": "yes"}, [], {"daily_usd": "x"}],
)
def test_budget_rejects(data: object) -> None:
    with pytest.raises(BudgetError):
        Budget.from_mapping(data)


def test_decide_rules() -> None:
    b = Budget(Decimal("1.00"), Decimal("0.50"), True)
    assert b.decide(Decimal(0), Decimal("0.50")) == "ALLOW"  # per-call is strict
    assert b.decide(Decimal(0), Decimal("0.51")) == "DENY"
    assert b.decide(Decimal("0.60"), Decimal("0.41")) == "DENY"
    assert b.decide(Decimal("0.60"), Decimal("0.40")) == "ALLOW"
    assert Budget(Decimal("0.3")).decide(Decimal("0.1") + Decimal("0.1"), Decimal("0.1")) == (
        "ALLOW"
    )
    assert Budget(Decimal("1"), None, False).decide(Decimal("1"), Decimal("0.01")) == "WARN"
    assert Budget().decide(Decimal("1000"), Decimal("1000")) == "ALLOW"


def test_check_and_charge_write_events_and_ledger(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "trace" / "events.ndjson")
    ledger = SpendLedger(tmp_path / "spend.jsonl")
    cap = SpendingCap(
        Budget(Decimal("1.00"), Decimal("0.50")),
        ledger,
        log,
        agent_id="a",
        clock=StepClock("2026-05-29T10:00:00Z"),
    )
    assert cap.check("0.40", call_id="c1") == "ALLOW"
    cap.charge("0.70", call_id="c1")
    assert cap.check("0.40", call_id="c2") == "DENY"
    events = list(log.records())
    assert [e["event_type"] for e in events] == ["budget.check", "budget.charge", "budget.check"]
    assert events[0]["estimate_usd"] == "0.40" and events[2]["decision_outcome"] == "DENY"
    assert [e["amount_usd"] for e in ledger.records()] == ["0.70"]
    with pytest.raises(BudgetError):
        cap.charge(0.1, call_id="c3")  # floats are refused as money


def test_torn_last_line_is_detected_never_merged(tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    script = (
        "import os, sys, signal\n"
        "from vlab.producer.appendlog import AppendLog\n"
        "log = AppendLog(__import__('pathlib').Path(sys.argv[1]))\n"
        "log.append({'entry_id': 'c-1', 'ts': '2026-05-29T10:00:00Z', 'amount_usd': '0.1'})\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)\n"
        'os.write(fd, b\'{"entry_id":"c-2","ts":"2026-05\')\n'  # crash mid-record
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        env={**os.environ, "PYTHONPATH": SRC},
        check=False,
    )
    assert proc.returncode == -signal.SIGKILL
    log = AppendLog(path)
    torn = log.torn_tail()
    assert torn is not None and torn.tail.startswith(b'{"entry_id":"c-2"')
    with pytest.raises(TornLineError):
        log.append({"entry_id": "c-3"})
    with pytest.raises(TornLineError):
        list(log.records())
    aside = log.quarantine_torn_tail()
    assert aside is not None and aside.read_bytes().startswith(b'{"entry_id":"c-2"')
    log.append({"entry_id": "c-3", "ts": "2026-05-29T10:00:02Z", "amount_usd": "0.2"})
    assert [r["entry_id"] for r in log.records()] == ["c-1", "c-3"]


def test_torn_ledger_in_a_pack_is_reported_not_admitted(tmp_path: Path) -> None:
    import shutil

    from vlab.engine.pipeline import adjudicate
    from vlab.pack.seal import seal
    from vlab.ruleset.catalog import Catalog

    vector = Path(__file__).resolve().parent.parent / "evidence_packs" / "r12-d1-03"
    pack = tmp_path / "pack"
    shutil.copytree(vector / "pass-over-daily-denied" / "pack", pack)
    with open(pack / "artifacts" / "budget" / "spend.jsonl", "ab") as fh:
        fh.write(b'{"entry_id":"c-9","ts":"2026-05')
    seal(pack)
    ruling = adjudicate(pack, Catalog())
    assert ruling.topline == "NOT_ADMISSIBLE"
    contract = ruling.admission.gates[3]
    assert [(d.code, d.artifact_path) for d in contract.details] == [
        ("CONTRACT-JSON-INVALID", "artifacts/budget/spend.jsonl")
    ]


WRITER = (
    "import sys\n"
    "from pathlib import Path\n"
    "from vlab.producer.appendlog import AppendLog\n"
    "log = AppendLog(Path(sys.argv[1]))\n"
    "for i in range(int(sys.argv[3])):\n"
    "    log.append({'writer': sys.argv[2], 'n': i, 'pad': 'x' * (i % 200)})\n"
)


def test_two_writers_never_interleave(tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    env = {**os.environ, "PYTHONPATH": SRC}
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "400"], env=env)
        for name in ("a", "b")
    ]
    assert all(p.wait(timeout=120) == 0 for p in procs)
    lines = path.read_bytes().split(b"\n")
    assert lines[-1] == b""
    records = [json.loads(line) for line in lines[:-1]]
    assert len(records) == 800
    for name in ("a", "b"):
        assert [r["n"] for r in records if r["writer"] == name] == list(range(400))


def test_killed_writer_leaves_only_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "spend.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), "k", "100000"],
        env={**os.environ, "PYTHONPATH": SRC},
    )
    deadline = time.monotonic() + 120  # liveness only: it is killed wherever it got to
    while (not path.exists() or path.stat().st_size < 2000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = AppendLog(path)
    # Each record is one write(2), so a kill nearly always lands between records; the kernel
    # may still stop a write at a page boundary, and then the tear is detected and set aside.
    torn = log.torn_tail()
    if torn is not None:
        assert torn.tail.startswith(b'{"writer":"k"')
        with pytest.raises(TornLineError):
            log.append({"writer": "next"})
        assert log.quarantine_torn_tail() is not None
    records = list(log.records())
    assert [r["n"] for r in records] == list(range(len(records)))
    assert all(r["writer"] == "k" for r in records)


def test_run_guard_stops_and_surfaces(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.ndjson")
    guard = RunGuard(
        log,
        total_budget_usd="1.00",
        targets=["m"],
        tests=["t1", "t2"],
        trials=2,
        clock=StepClock("2026-05-29T10:00:00Z"),
    )
    for tup in guard.plan():
        trial_id = guard.dispatch(*tup)
        if trial_id:
            guard.complete(trial_id, cost_usd="0.60")
    report = guard.finish()
    kinds = [e["event_type"] for e in log.records()]
    assert kinds.count("trial.dispatched") == 2 and kinds.count("trial.skipped") == 2
    assert kinds.count("budget.decision") == 1
    assert report["status"] == "budget_exhausted" and report["trials_skipped"] == 2
    assert report["spent_usd"] == "1.20"


def test_single_writer_ids_unchanged_and_a_clock_going_back_is_held(tmp_path: Path) -> None:
    """One writer gets the ids it always got (evt-<n> numbered after the records already in
    the log when it was opened, chk-<event number>, c-<n>); a clock that jumps back is held
    at the latest time in the files (a check just past the last charge)."""
    log = EventLog(tmp_path / "events.ndjson")
    log.append({"event_id": "evt-budget-001", "timestamp": "2026-05-29T00:00:00Z"})
    clock = StepClock("2026-05-29T10:00:00Z")
    ledger = SpendLedger(tmp_path / "spend.jsonl")
    cap = SpendingCap(Budget(), ledger, log, agent_id="a", clock=clock)
    cap.check("0.10", call_id="c1")
    cap.charge("0.10", call_id="c1")
    clock.set("2026-05-29T09:00:00Z")  # an hour back
    cap.check("0.10", call_id="c2")
    cap.charge("0.10", call_id="c2")
    events = list(log.records())
    assert [e["event_id"] for e in events] == ["evt-budget-001"] + [
        f"evt-{n:06d}" for n in range(1, 5)
    ]
    assert [e.get("decision_id") for e in events[1:]] == ["chk-000001", None, "chk-000003", None]
    assert [e["timestamp"] for e in events[1:]] == [
        "2026-05-29T10:00:00Z",
        "2026-05-29T10:00:01Z",
        "2026-05-29T10:00:01.000001Z",
        "2026-05-29T10:00:01.000001Z",
    ]
    assert [(r["entry_id"], r["ts"]) for r in ledger.records()] == [
        ("c-000001", "2026-05-29T10:00:01Z"),
        ("c-000002", "2026-05-29T10:00:01.000001Z"),
    ]
    # Reopened, both go on where the files are.
    assert EventLog(log.path).next_number() == 6  # after the 5 records there
    assert SpendLedger(ledger.path).next_entry_id() == "c-000003"


def test_ids_follow_the_file_not_the_object(tmp_path: Path) -> None:
    """Numbering reads the end of the file under the lock: past records written by other
    objects, past a large record without an own id, and past blank lines."""
    path = tmp_path / "spend.jsonl"
    foreign = SpendLedger(path)
    foreign.append({"entry_id": "x-1", "ts": "2026-05-29T10:00:00Z", "amount_usd": "1"})
    foreign.append({"entry_id": "x-2", "ts": "2026-05-29T10:00:01Z", "amount_usd": "1"})
    assert SpendLedger(path).next_entry_id() == "c-000003"  # the record count, as before
    a, b = SpendLedger(path), SpendLedger(path)
    assert a.next_entry_id() == "c-000003"
    b.append({"entry_id": b.next_entry_id(), "ts": "2026-05-29T10:00:02Z", "amount_usd": "1"})
    assert a.next_entry_id() == "c-000004"
    with open(path, "ab") as fh:
        fh.write(b"\n\n")
    big = "y" * (3 << 20)  # read backwards over several blocks
    b.append({"entry_id": "x-big", "ts": "2026-05-29T11:00:00Z", "pad": big})
    assert a.next_entry_id() == "c-000004"
    stamp = a.last_timestamp()
    assert stamp is not None and stamp.isoformat() == "2026-05-29T11:00:00+00:00"

    log = EventLog(tmp_path / "events.ndjson")
    other = EventLog(tmp_path / "events.ndjson")
    log.emit("x", StepClock("2026-05-29T10:00:00Z")())
    assert other.emit("y", StepClock("2026-05-29T09:00:00Z")()) == {
        "event_id": "evt-000002",
        "event_type": "y",
        "timestamp": "2026-05-29T10:00:00Z",
    }


def _cap(tmp_path: Path) -> SpendingCap:
    return SpendingCap(
        Budget(Decimal("0.50")),
        SpendLedger(tmp_path / "spend.jsonl"),
        EventLog(tmp_path / "events.ndjson"),
        agent_id="a",
    )


def test_threads_and_objects_in_one_process_share_one_lock(tmp_path: Path) -> None:
    """Two threads on one SpendingCap and two on their own objects for the same files: flock
    alone would not serialise them (nor let one thread nest two objects' locks)."""
    shared = _cap(tmp_path)
    caps = [shared, shared, _cap(tmp_path), _cap(tmp_path)]
    failures: list[BaseException] = []

    def work(name: str, cap: SpendingCap) -> None:
        try:
            for i in range(25):
                if cap.check("0.01", call_id=f"{name}-{i}") != "DENY":
                    cap.charge("0.01", call_id=f"{name}-{i}")
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(f"t{n}", c)) for n, c in enumerate(caps)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads) and failures == []
    entries = list(shared.ledger.records())
    events = list(shared.log.records())
    assert [e["entry_id"] for e in entries] == [f"c-{n:06d}" for n in range(1, len(entries) + 1)]
    assert [e["event_id"] for e in events] == [f"evt-{n:06d}" for n in range(1, 1 + len(events))]
    assert len(events) == 100 + len(entries)
    stamps = [e["timestamp"] for e in events]
    times = [datetime.fromisoformat(s.replace("Z", "+00:00")) for s in stamps]
    assert times == sorted(times)

    same_file = SpendLedger(tmp_path / "spend.jsonl")

    def nest() -> None:  # another object for the same file nests inside the lock
        with shared.ledger.locked():
            same_file.append({"entry_id": same_file.next_entry_id(), "ts": stamps[-1]})

    nested = threading.Thread(target=nest, daemon=True)  # a deadlock fails, not hangs
    nested.start()
    nested.join(timeout=300)
    assert not nested.is_alive()
    assert list(same_file.records())[-1]["entry_id"] == f"c-{len(entries) + 1:06d}"


def test_a_failed_write_is_rolled_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails part-way (a full disk) is cut back under the lock, not left torn."""
    log = AppendLog(tmp_path / "spend.jsonl")
    log.append({"n": 0})
    fake_os = types.ModuleType("os")
    fake_os.__dict__.update(vars(os))

    def half_then_full(fd: int, data: bytes) -> int:
        def full(*_: object) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        fake_os.write = full  # type: ignore[attr-defined]
        return os.write(fd, bytes(data[: len(data) // 2]))

    fake_os.write = half_then_full  # type: ignore[attr-defined]
    monkeypatch.setattr(appendlog, "os", fake_os)
    with pytest.raises(OSError, match="No space"):
        log.append({"n": 1, "pad": "x" * 10_000})
    monkeypatch.undo()
    assert log.torn_tail() is None
    log.append({"n": 2})
    assert [r["n"] for r in log.records()] == [0, 2]
