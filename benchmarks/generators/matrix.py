"""``matrix-<M>``: an eval-matrix run-budget pack (CL-D1-04) written by vlab's own
``vlab.producer.runguard.RunGuard`` over 10 targets x 100 tests x M/1,000 trials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.generators.common import LOG, MASK64, PROLOGUE, epilogue, units
from benchmarks.harness import BenchError

MATRIX_TARGETS = 10
MATRIX_TESTS = 100


def write_matrix_log(pack: Path, trials: int) -> dict[str, Any]:
    """The eval-matrix log, written by vlab's own RunGuard (sequential dispatch/complete;
    the cap, 0.009 USD x planned trials, is reached at ~90% of a matrix whose trials cost
    0.0050 .. 0.0149). EventLog's records byte for byte, buffered instead of one
    flock + fsync per line (~250 us each: a minute for the larger matrix)."""
    from vlab.producer.appendlog import encode_line
    from vlab.producer.runguard import RunGuard
    from vlab.producer.spendcap import EventLog, StepClock, stamp

    class BufferedEventLog(EventLog):
        def __init__(self, path: Path) -> None:
            super().__init__(path)  # the file does not exist yet: numbering starts at 1
            self.fh = path.open("wb", buffering=1 << 20)

        def append(self, record: dict[str, Any]) -> None:
            self.fh.write(encode_line(record))

    path = pack / LOG
    path.parent.mkdir(parents=True, exist_ok=True)
    log = BufferedEventLog(path)
    planned = MATRIX_TARGETS * MATRIX_TESTS * trials
    clock = StepClock("2026-05-29T10:00:00Z")
    try:
        log.append(PROLOGUE)
        guard = RunGuard(
            log,
            total_budget_usd=f"{planned * 9 // 1_000}.00",
            targets=[f"model-{t:02d}" for t in range(MATRIX_TARGETS)],
            tests=[f"test-{s:03d}" for s in range(MATRIX_TESTS)],
            trials=trials,
            clock=clock,
        )
        for n, (target, test, trial) in enumerate(guard.plan(), start=1):
            trial_id = guard.dispatch(target, test, trial)
            if trial_id is not None:
                h = (n * 0x9E3779B97F4A7C15) & MASK64
                status = "failed" if h % 7 == 0 else "passed"
                guard.complete(trial_id, cost_usd=units(50 + (h >> 16) % 100), status=status)
        report = guard.finish()
        log.append(epilogue(stamp(clock())))
    finally:
        log.fh.close()
    if report["status"] != "budget_exhausted":
        raise BenchError(f"the matrix run was not stopped by its cap: {report}")
    return {
        "planned_trials": planned,
        "matrix": f"{MATRIX_TARGETS} x {MATRIX_TESTS} x {trials}",
        "total_budget_usd": format(guard.cap, "f") if guard.cap is not None else None,
        "trials_run": report["trials_run"],
        "trials_skipped": report["trials_skipped"],
        "spent_usd": report["spent_usd"],
        "events": log._count + 2,
    }
