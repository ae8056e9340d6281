"""replay: the spending-cap ledger (CL-D1-03) and eval-matrix run budget (CL-D1-04) replays
at two sizes 10x apart each, against ``sha256sum -c``, with the growth factor."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.generators.common import REPLAY_RULESET, replay_name
from benchmarks.generators.replay import ensure_replay_pack
from benchmarks.harness import OUT, against_sha256sum, pack_mb, schema_bundle_sha256
from benchmarks.packs import prepared

LEDGER_CHARGES = (100_000, 1_000_000)  # charges; budget.check events = charges / 10
MATRIX_TRIALS = (10_000, 100_000)  # planned trials = 10 targets x 100 tests x trials
TARGET_REPLAY_GROWTH = 11.0  # vlab wall at 10x the entries / at 1x
TARGET_REPLAY_RSS_MB = 200.0  # vlab peak RSS, strictly below

REPLAYS = {
    # kind: (clause, sizes at full scale, unit)
    "ledger": ("CL-D1-03", LEDGER_CHARGES, "charges"),
    "matrix": ("CL-D1-04", MATRIX_TRIALS, "trials"),
}


def replay_run(
    kind: str, size: int, unit: str, clause: str, schema_sha: str, rounds: int, force: bool
) -> dict[str, Any]:
    """One replay pack: generated (or reused), checked PASS, timed against sha256sum -c."""
    print(f"replay {kind}: {size:,} {unit} ({clause})")
    name = replay_name(kind, size)

    def ensure(again: bool) -> Path:
        return ensure_replay_pack(kind, size, schema_sha, force=again)

    pack, first = prepared(name, ensure, force, clause)
    print(f"  adjudicates PASS, {clause} PASS (first run {first.wall:.2f} s)")
    ruling = json.loads((OUT / f"{name}.ruling.json").read_bytes())
    details = next(c for c in ruling["clauses"] if c["clause_id"] == clause)["details"]
    a, b = against_sha256sum(pack, rounds)
    return {
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
        runs = [
            replay_run(kind, n // scale, unit, clause, schema_sha, rounds, force)
            for n in full_sizes
        ]
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
