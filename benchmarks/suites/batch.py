"""batch: ``vlab batch`` over a corpus of many small packs (scale.md §3).

Side by side in one run, the order rotated each round: ``--engine local`` with 1 and 2
workers and, when the dask engine and its extra are installed, ``--engine dask`` with an
embedded LocalCluster of 2 workers. Figures: packs/s each, the 2-worker time as a ratio of
the 1-worker time (scaling), dask's wall as a ratio of local's at 2 workers (its overhead).
The corpus is the regress corpus (``generators.corpus``: golden vectors copied
round-robin, hostile and archive packs among them); the results are checked identical.
"""

from __future__ import annotations

import importlib.util
import statistics
from pathlib import Path
from typing import Any

from benchmarks.generators.corpus import ensure_regress_corpus
from benchmarks.harness import OUT, BenchError, rotated_rounds, summary, vlab_argv

BATCH_PACKS = 10_000
TARGET_BATCH_PER_S = 1000.0  # 2 workers, at least
TARGET_SCALING = 1.8  # 1-worker wall / 2-worker wall, at least
TARGET_DASK_RATIO = 0.8  # dask packs/s / local packs/s at 2 workers, at least
ARCHIVE_BATCH_PACKS = 2_000  # the archive corpora of the archive group (folder, .tgz, .zip)
TARGET_ARCHIVE_RATIO = 1.3  # archive wall / folder wall, at most


def dask_available() -> bool:
    """The dask engine module and Dask distributed are both installed."""
    try:
        return (
            importlib.util.find_spec("vlab.tools.batch.engines.dask") is not None
            and importlib.util.find_spec("distributed") is not None
        )
    except (ImportError, ValueError):
        return False


def bench_batch(count: int, rounds: int, force: bool) -> dict[str, Any]:
    print(f"batch: {count:,} small packs")
    corpus = ensure_regress_corpus(count, force)
    work = OUT / "batch"
    work.mkdir(parents=True, exist_ok=True)
    runs = {"local-1": ("local", 1), "local-2": ("local", 2)}
    if dask_available():
        runs["dask-2"] = ("dask", 2)
    else:
        print("  (dask engine or extra not installed: dask skipped)")
    argv = {
        name: vlab_argv(
            "batch",
            str(corpus),
            "--results",
            str(work / f"{name}.jsonl"),
            "--engine",
            engine,
            "--jobs",
            str(jobs),
            "--quiet",
        )
        for name, (engine, jobs) in runs.items()
    }
    names = list(argv)
    samples = rotated_rounds(argv, rounds)
    first = Path(work / f"{names[0]}.jsonl").read_bytes()
    for name in names[1:]:
        if Path(work / f"{name}.jsonl").read_bytes() != first:
            raise BenchError(f"vlab batch ({name}) wrote other results than {names[0]}")
    out: dict[str, Any] = {
        "packs": count,
        "target_packs_per_s_jobs2": TARGET_BATCH_PER_S,
        "target_scaling": TARGET_SCALING,
        "target_dask_ratio": TARGET_DASK_RATIO,
    }
    for name in names:
        stats = summary(samples[name])
        out[name] = {**stats, "packs_per_s": count / stats["median_wall_s"]}
        print(f"  {name}: {out[name]['packs_per_s']:,.0f} packs/s")
    # Paired ratios, round by round (the machine's speed drifts between rounds).
    pairs = zip(samples["local-1"], samples["local-2"], strict=True)
    out["scaling"] = statistics.median(a.wall / b.wall for a, b in pairs)
    if "dask-2" in samples:
        pairs = zip(samples["local-2"], samples["dask-2"], strict=True)
        out["dask_ratio"] = statistics.median(a.wall / b.wall for a, b in pairs)
    out["archives"] = bench_batch_archives(min(count, ARCHIVE_BATCH_PACKS), rounds, force, work)
    return out


def _rulings(path: Path) -> list[bytes]:
    """The rulings of a results file, in order (the paths differ: pack/ or pack.tgz)."""
    import orjson

    return [orjson.dumps(orjson.loads(line)["ruling"]) for line in path.read_bytes().splitlines()]


def bench_batch_archives(count: int, rounds: int, force: bool, work: Path) -> dict[str, Any]:
    """``batch --jobs 2`` over the same packs as folders, .tgz and .zip (scale.md §3)."""
    from benchmarks.generators.archives import ensure_archive_corpora

    print(f"batch: the same {count:,} packs as folders and as archives")
    corpora = ensure_archive_corpora(count, force)
    argv = {
        kind: vlab_argv(
            "batch",
            str(corpus),
            "--results",
            str(work / f"archive-{kind.lstrip('.')}.jsonl"),
            "--jobs",
            "2",
            "--quiet",
        )
        for kind, corpus in corpora.items()
    }
    names = list(argv)
    samples = rotated_rounds(argv, rounds)
    folder = names[0]
    first = _rulings(work / f"archive-{folder.lstrip('.')}.jsonl")
    for name in names[1:]:
        if _rulings(work / f"archive-{name.lstrip('.')}.jsonl") != first:
            raise BenchError(f"vlab batch over {name} ruled otherwise than over {folder}")
    out: dict[str, Any] = {"packs": count, "target_ratio": TARGET_ARCHIVE_RATIO}
    for name in names:
        stats = summary(samples[name])
        out[name] = {**stats, "packs_per_s": count / stats["median_wall_s"]}
        if name != folder:
            pairs = zip(samples[name], samples[folder], strict=True)
            out[name]["ratio"] = statistics.median(a.wall / b.wall for a, b in pairs)
    return out
