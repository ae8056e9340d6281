"""regress: ``vlab regress`` over a corpus of many small packs, ``--jobs 2`` and ``--jobs 1``."""

from __future__ import annotations

import subprocess
from typing import Any

from benchmarks.generators.corpus import ensure_regress_corpus
from benchmarks.harness import BenchError, Sample, run_child, summary, vlab_argv

REGRESS_PACKS = 10_000
REGRESS_ROUNDS = 2
TARGET_REGRESS_PER_S = 1000.0


def bench_regress(count: int, rounds: int, force: bool) -> dict[str, Any]:
    print(f"regress: {count:,} small packs")
    corpus = ensure_regress_corpus(count, force)
    out: dict[str, Any] = {"packs": count, "target_packs_per_s_jobs2": TARGET_REGRESS_PER_S}
    for jobs in (2, 1):
        argv = vlab_argv("regress", str(corpus), "--jobs", str(jobs), "--format", "json")
        run_child(argv, stdout=subprocess.DEVNULL)  # warm-up
        samples: list[Sample] = []
        for _ in range(rounds):
            sample = run_child(argv, stdout=subprocess.DEVNULL)
            if sample.code != 0:
                raise BenchError(f"vlab regress exited {sample.code} on the corpus")
            samples.append(sample)
        stats = summary(samples)
        out[f"jobs{jobs}"] = {**stats, "packs_per_s": count / stats["median_wall_s"]}
        print(f"  --jobs {jobs}: {count / stats['median_wall_s']:,.0f} packs/s")
    return out
