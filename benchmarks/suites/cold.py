"""cold: start-up, ``vlab adjudicate`` on a 5-event pack against ``python -c pass``."""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.harness import BenchError, alternate, summary, vlab_argv
from benchmarks.suites.big import prepared_pack

COLD_ROUNDS = 10
COLD_EVENTS = 5
TARGET_COLD_RATIO = 12.0  # vlab adjudicate (small pack) / python -c pass, wall


def bench_cold(rounds: int, schema_sha: str, force: bool) -> dict[str, Any]:
    print("cold start: small pack")
    events = COLD_EVENTS
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
