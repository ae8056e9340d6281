"""regress: ``vlab regress`` over a corpus of many small packs, ``--jobs 2`` and ``--jobs 1``."""

from __future__ import annotations

import subprocess
from typing import Any

from benchmarks.generators.corpus import ensure_regress_corpus
from benchmarks.harness import BenchError, Sample, run_child, summary, vlab_argv

REGRESS_PACKS = 10_000
REGRESS_ROUNDS = 2
TARGET_REGRESS_PER_S = 1000.0
TARGET_REGRESS_SPEEDUP = 1.8  # packs/s with --jobs 2 over --jobs 1, at least


def bench_regress(count: int, rounds: int, force: bool) -> dict[str, Any]:
    print(f"regress: {count:,} small packs")
    corpus = ensure_regress_corpus(count, force)
    out: dict[str, Any] = {
        "packs": count,
        "target_packs_per_s_jobs2": TARGET_REGRESS_PER_S,
        "target_speedup_jobs2_over_jobs1": TARGET_REGRESS_SPEEDUP,
    }
    argv = {
        jobs: vlab_argv("regress", str(corpus), "--jobs", str(jobs), "--format", "json")
        for jobs in (2, 1)
    }
    for jobs in (2, 1):
        run_child(argv[jobs], stdout=subprocess.DEVNULL)  # warm-up
    samples: dict[int, list[Sample]] = {2: [], 1: []}
    for _ in range(rounds):  # side by side: --jobs 2 and --jobs 1 alternate
        for jobs in (2, 1):
            sample = run_child(argv[jobs], stdout=subprocess.DEVNULL)
            if sample.code != 0:
                raise BenchError(f"vlab regress exited {sample.code} on the corpus")
            samples[jobs].append(sample)
    for jobs in (2, 1):
        stats = summary(samples[jobs])
        out[f"jobs{jobs}"] = {**stats, "packs_per_s": count / stats["median_wall_s"]}
        print(f"  --jobs {jobs}: {count / stats['median_wall_s']:,.0f} packs/s")
    return out
