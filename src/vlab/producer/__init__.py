"""The producer library: what a run (or a test) imports to *emit* an evidence pack that
vlab then judges.

    from vlab.producer import EventLog, PackWriter, pointer, schema_bundle_sha256, utc_now

    log = EventLog(pack / "trace/events.ndjson")
    budget = log.emit("budget.decision", utc_now(), decision_kind="budget",
                      decision_outcome="ALLOW")
    PackWriter(pack).write_pointers(
        [pointer("RQ-D1-01", "trace/events.ndjson", f"event_id:{budget['event_id']}")])
    PackWriter(pack).seal()

What is here:

- ``PackWriter``: a pack folder's files at safe paths, the control files, ``seal()``;
- ``pointer`` / ``schema_bundle_sha256``: one evidence pointer, checked as the CONTRACT
  gate checks it, and the digest a pack pins for a ruleset (``vlab rulesets show ID``);
- ``EventLog``: the pack's event log, numbered events appended under a file lock;
- ``Budget``, ``SpendLedger``, ``SpendingCap`` (also ``SpendCap``): the per-persona
  spending cap (``check`` before a paid call, ``charge`` after it) that CL-D1-03 replays;
- ``RunGuard``: the run-wide budget guard of an eval matrix, judged by CL-D1-04;
- ``AppendLog``, ``SequencedLog``, ``TornLineError``: the append-only JSON-lines files
  underneath, safe with several writing processes and writers that die mid-line;
- ``utc_now``, ``stamp``, ``StepClock``, ``now_rfc3339``, ``to_money``: clocks,
  timestamps and exact money.

Producer side only: the real clock is read here (``created_at``, event timestamps), never
by the engine. The library imports only ``vlab.core`` and ``vlab.pack``
(pyproject.toml's import-linter contracts), except ``schema_bundle_sha256``, which asks the
engine's ruleset catalog when it is called.
"""

from __future__ import annotations

from vlab.producer.appendlog import AppendLog, SequencedLog, TornLineError
from vlab.producer.packwriter import PackWriter, now_rfc3339
from vlab.producer.pins import pointer, schema_bundle_sha256
from vlab.producer.runguard import RunGuard
from vlab.producer.spendcap import (
    Budget,
    BudgetError,
    Clock,
    EventLog,
    SpendingCap,
    SpendLedger,
    StepClock,
    stamp,
    to_money,
    utc_now,
)

SpendCap = SpendingCap
"""Another name for ``SpendingCap`` (the name the CLI spec's example imports)."""

__all__ = [
    "AppendLog",
    "Budget",
    "BudgetError",
    "Clock",
    "EventLog",
    "PackWriter",
    "RunGuard",
    "SequencedLog",
    "SpendCap",
    "SpendLedger",
    "SpendingCap",
    "StepClock",
    "TornLineError",
    "now_rfc3339",
    "pointer",
    "schema_bundle_sha256",
    "stamp",
    "to_money",
    "utc_now",
]
