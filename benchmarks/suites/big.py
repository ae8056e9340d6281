"""big: ``vlab adjudicate`` on a big pack against ``sha256sum -c`` of the same pack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.generators.events import ensure_big_pack
from benchmarks.harness import MB, Sample, against_sha256sum, pack_mb
from benchmarks.packs import prepared

FULL_EVENTS = 1_000_000
QUICK_EVENTS = 100_000

TARGET_BIG_RATIO = 3.0  # vlab adjudicate / sha256sum -c, wall
TARGET_BIG_RSS_MB = 200.0


def prepared_pack(name: str, events: int, schema_sha: str, force: bool) -> tuple[Path, Sample]:
    def ensure(again: bool) -> Path:
        return ensure_big_pack(name, events, schema_sha, force=again)

    return prepared(name, ensure, force)


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
