"""The big (and the 5-event cold-start) pack: a synthetic ruleset-1.1 event log.

``trace/events.ndjson`` is streamed out in small batches (the harness's own RSS floors
every child's ``ru_maxrss``), then the control files are written and the pack is sealed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from benchmarks.harness import MB, seal
from benchmarks.packs import ensure_pack

RULESET = "ruleset-1.1"
GENERATOR_VERSION = 1  # bump when the generated pack's content changes

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
