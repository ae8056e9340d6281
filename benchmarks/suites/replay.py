"""replay: the spending-cap ledger (CL-D1-03) and eval-matrix run budget (CL-D1-04) replays
at two sizes 10x apart each, against ``sha256sum -c``, with the growth factor."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from benchmarks.generators.common import REPLAY_RULESET, replay_name
from benchmarks.generators.replay import ensure_replay_pack
from benchmarks.harness import (
    OUT,
    ROOT,
    against_sha256sum,
    alternate,
    pack_mb,
    schema_bundle_sha256,
    summary,
    vlab_argv,
)
from benchmarks.packs import prepared

LEDGER_CHARGES = (100_000, 1_000_000)  # charges; budget.check events = charges / 10
MATRIX_TRIALS = (100_000, 1_000_000)  # planned trials = 10 targets x 100 tests x (M/1,000)
TARGET_REPLAY_GROWTH = 11.0  # vlab wall at 10x the entries / at 1x
TARGET_REPLAY_RSS_MB = 200.0  # vlab peak RSS, strictly below
TARGET_REPLAY_FLOOR_RATIO = 4.0  # vlab wall / the parse floor (benchmarks/floor.py), at most

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
    floor = floor_run(pack, rounds)
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
        **floor,
        "vlab_peak_rss_mb": a["peak_rss_mb"],
    }


def ndjson_files(pack: Path) -> list[Path]:
    """The pack's NDJSON artifacts (what a replay parses), largest first."""
    found = [
        p
        for p in pack.rglob("*")
        if p.is_file() and p.suffix in (".ndjson", ".jsonl") and "integrity" not in p.parts
    ]
    return sorted(found, key=lambda p: (-p.stat().st_size, str(p)))


def floor_run(pack: Path, rounds: int) -> dict[str, Any]:
    """vlab adjudicate against the parse floor over the same files, alternating."""
    files = [str(p) for p in ndjson_files(pack)]
    floor = [sys.executable, "-m", "benchmarks.floor", *files]
    vlab = vlab_argv("adjudicate", str(pack), "--format", "json")
    print(f"  timing vlab adjudicate vs the parse floor, warm-up + {rounds} alternating rounds")
    xs, ys = alternate(vlab, floor, rounds, b_cwd=ROOT)
    a, b = summary(xs), summary(ys)
    pairs = sorted(x.wall / y.wall for x, y in zip(xs, ys, strict=True))
    return {
        "floor_files": [str(Path(f).relative_to(pack)) for f in files],
        "vlab_vs_floor": a,
        "parse_floor": b,
        "floor_ratio": a["median_wall_s"] / b["median_wall_s"],
        "floor_ratio_pairs": pairs,
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
            "floor_ratio_max": TARGET_REPLAY_FLOOR_RATIO,
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
