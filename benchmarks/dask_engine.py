"""The dask engine's fixed costs: an embedded cluster's start-up and shutdown, and the
per-task overhead (tasks/s for a trivial function on 2 workers), paired with a plain
``ProcessPoolExecutor(2)`` doing the same submissions in the same run (A B A B ...).

    .venv/bin/python -m benchmarks.dask_engine [--tasks 2000] [--rounds 5]

These are the inputs of the paper model of a 100-node cluster (benchmarks/README.md,
"Dask engine"). A benchmark reports; it asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def trivial(x: int) -> int:
    return x + 1


def _dask_round(tasks: int) -> tuple[float, ...]:
    from vlab.tools.batch.engines import EngineOptions
    from vlab.tools.batch.engines.dask import DaskEngine

    t0 = time.perf_counter()
    engine = DaskEngine(EngineOptions(jobs=2))
    t1 = time.perf_counter()
    for _ in engine.map_unordered(trivial, range(50)):  # warm the workers' imports
        pass
    t2, cpu2 = time.perf_counter(), time.process_time()
    n = sum(1 for _ in engine.map_unordered(trivial, range(tasks)))
    t3, cpu3 = time.perf_counter(), time.process_time()
    engine.close()
    t4 = time.perf_counter()
    assert n == tasks
    return t1 - t0, tasks / (t3 - t2), t4 - t3, (cpu3 - cpu2) / tasks * 1000


def _pool_round(tasks: int) -> tuple[float, ...]:
    t0 = time.perf_counter()
    pool = ProcessPoolExecutor(2)
    for f in as_completed([pool.submit(trivial, i) for i in range(50)]):
        f.result()
    t2 = time.perf_counter()
    n = sum(1 for f in as_completed([pool.submit(trivial, i) for i in range(tasks)]) if f.result())
    t3 = time.perf_counter()
    pool.shutdown()
    t4 = time.perf_counter()
    assert n == tasks
    return t2 - t0, tasks / (t3 - t2), t4 - t3, 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    dask_rows, pool_rows = [], []
    load = [os.getloadavg()[0]]
    for _ in range(args.rounds):
        dask_rows.append(_dask_round(args.tasks))
        pool_rows.append(_pool_round(args.tasks))
        load.append(os.getloadavg()[0])
    ratios = [d[1] / p[1] for d, p in zip(dask_rows, pool_rows, strict=True)]

    def med(rows: list[tuple[float, ...]], i: int) -> str:
        values = sorted(r[i] for r in rows)
        return f"{statistics.median(values):.3g} (min {values[0]:.3g}, max {values[-1]:.3g})"

    print(f"{args.rounds} paired rounds of {args.tasks} trivial tasks, 2 workers; "
          f"load average {min(load):.2f}-{max(load):.2f}")  # fmt: skip
    print(f"dask embedded: start-up s {med(dask_rows, 0)}; tasks/s {med(dask_rows, 1)}; "
          f"shutdown s {med(dask_rows, 2)}; CPU ms a task in the batch process "
          f"(scheduler, client, nannies) {med(dask_rows, 3)}")  # fmt: skip
    print(f"process pool:  start-up s {med(pool_rows, 0)}; tasks/s {med(pool_rows, 1)}; "
          f"shutdown s {med(pool_rows, 2)}")  # fmt: skip
    print(f"dask/pool tasks/s, pair by pair: median {statistics.median(ratios):.3f} "
          f"(min {min(ratios):.3f}, max {max(ratios):.3f})")  # fmt: skip


if __name__ == "__main__":
    main()
