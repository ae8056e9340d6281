"""Producer primitives: budget parsing, the append-only ledger under crashes and concurrent
writers, check/charge decisions, and the run-wide guard."""

import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

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
    deadline = time.monotonic() + 30
    while (not path.exists() or path.stat().st_size < 2000) and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    log = AppendLog(path)
    # Each record is one write(2): a kill lands between records, never inside one.
    assert log.torn_tail() is None
    assert all(r["writer"] == "k" for r in log.records())


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
