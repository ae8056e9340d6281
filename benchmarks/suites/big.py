"""big: ``vlab adjudicate`` on a big pack against ``sha256sum -c`` of the same pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.generators.events import ensure_big_pack
from benchmarks.harness import MB, Sample, against_sha256sum, pack_mb, run_child, vlab_argv
from benchmarks.packs import prepared

FULL_EVENTS = 1_000_000
QUICK_EVENTS = 100_000
# The memory target's size: its peak RSS is measured beside the timed pack's (full runs;
# ``--rss-events 0`` leaves it out, ``--rss-events N`` picks another size).
RSS_EVENTS = 5_000_000
RSS_ROUNDS = 2

TARGET_BIG_RATIO = 2.0  # vlab adjudicate / sha256sum -c, wall (issue 17)
TARGET_BIG_RSS_MB = 200.0  # at RSS_EVENTS and at the timed size


def prepared_pack(name: str, events: int, schema_sha: str, force: bool) -> tuple[Path, Sample]:
    def ensure(again: bool) -> Path:
        return ensure_big_pack(name, events, schema_sha, force=again)

    return prepared(name, ensure, force)


def bench_big(
    events: int, rounds: int, schema_sha: str, force: bool, rss_events: int = 0
) -> dict[str, Any]:
    print(f"big pack: {events:,} events")
    name = f"big-{events}"
    pack, first = prepared_pack(name, events, schema_sha, force)
    print(f"  adjudicates PASS (first run {first.wall:.2f} s)")
    a, b = against_sha256sum(pack, rounds)
    at_size = rss_at(rss_events, schema_sha, force) if rss_events else None
    return {
        "rss_at": at_size,
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


def rss_at(events: int, schema_sha: str, force: bool) -> dict[str, Any]:
    """Peak RSS (the largest single process) and wall of ``vlab adjudicate`` on an
    ``events``-event pack: the memory target, measured on its own size."""
    print(f"big pack for peak memory: {events:,} events")
    pack, first = prepared_pack(f"big-{events}", events, schema_sha, force)
    samples = [run_child(vlab_argv("adjudicate", str(pack), "--format", "json"))]
    for _ in range(RSS_ROUNDS - 1):
        samples.append(run_child(vlab_argv("adjudicate", str(pack), "--format", "json")))
    print("    peak RSS " + ", ".join(f"{s.rss_kib / 1024:.1f} MiB" for s in samples))
    return {
        "events": events,
        "events_mb": (pack / "trace" / "events.ndjson").stat().st_size / MB,
        "peak_rss_mb": max(s.rss_kib for s in samples) * 1024 / MB,
        "median_wall_s": sorted(s.wall for s in samples)[len(samples) // 2],
        "exit_codes": sorted({s.code for s in samples} | {first.code}),
    }
