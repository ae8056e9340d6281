"""Measuring children: wall time, CPU and peak RSS per run, A/B alternation, summaries.

Wall time is ``time.perf_counter`` around each child; each child's peak RSS and CPU time
come from ``os.wait4`` (``ru_maxrss`` is KiB on Linux). Sizes are decimal: 1 MB =
1,000,000 bytes. Linux floors a child's ``ru_maxrss`` at the RSS its parent had when it
forked, so the harness keeps itself small: nothing big is ever held in memory here, and
vlab itself is only ever run as a child (its ``vlab.producer`` helpers are imported lazily
by the generators).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

HERE = Path(__file__).resolve().parent  # benchmarks/
ROOT = HERE.parent  # the repository: the cwd of ``python -m benchmarks.run`` children
OUT = HERE / "out"
BIN = Path(sys.executable).parent
MB = 1_000_000


class BenchError(Exception):
    """The benchmark cannot run (not a target missed)."""


@dataclass(frozen=True)
class Sample:
    wall: float  # seconds
    cpu: float  # user + system seconds of the child (and anything it waited for)
    rss_kib: int  # peak resident set of the child
    code: int


def run_child(
    argv: list[str], *, cwd: Path | None = None, stdout: IO[bytes] | int | None = None
) -> Sample:
    """Run one child to completion; stdout to /dev/null unless a file is given.

    Linux floors a child's ``ru_maxrss`` at the RSS its parent had when it forked, so this
    process keeps itself small (nothing big is ever held in memory here)."""
    out = subprocess.DEVNULL if stdout is None else stdout
    start = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=cwd, stdout=out, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    proc.stderr.close()
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    if proc.returncode not in (0, 1, 2, 3) or (proc.returncode and err):
        sys.stderr.write(err.decode("utf-8", "replace"))
    return Sample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, proc.returncode)


def vlab_argv(*args: str) -> list[str]:
    script = BIN / "vlab"
    if script.is_file():
        return [str(script), *args]
    return [sys.executable, "-m", "vlab", *args]


def vlab_json(*args: str) -> Any:
    done = subprocess.run(vlab_argv(*args), capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"vlab {' '.join(args)} exited {done.returncode}: {done.stderr!r}")
    return json.loads(done.stdout)


def seal(pack: Path) -> None:
    done = subprocess.run(vlab_argv("pack", "seal", str(pack)), capture_output=True, check=False)
    if done.returncode != 0:
        raise BenchError(f"vlab pack seal {pack} exited {done.returncode}: {done.stderr!r}")


def schema_bundle_sha256(ruleset: str) -> str:
    return str(vlab_json("rulesets", "show", ruleset, "--format", "json")["schema_bundle_sha256"])


def self_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def summary(samples: list[Sample]) -> dict[str, Any]:
    return {
        "median_wall_s": statistics.median(s.wall for s in samples),
        "min_wall_s": min(s.wall for s in samples),
        "max_wall_s": max(s.wall for s in samples),
        "median_cpu_s": statistics.median(s.cpu for s in samples),
        "peak_rss_mb": max(s.rss_kib for s in samples) * 1024 / MB,
        "exit_codes": sorted({s.code for s in samples}),
        "samples": [
            {"wall_s": s.wall, "cpu_s": s.cpu, "rss_mb": s.rss_kib * 1024 / MB, "code": s.code}
            for s in samples
        ],
    }


def alternate(
    a: list[str], b: list[str], rounds: int, *, b_cwd: Path | None = None
) -> tuple[list[Sample], list[Sample]]:
    """One warm-up each, then ``rounds`` A/B pairs; returns (A samples, B samples)."""
    run_child(a)
    run_child(b, cwd=b_cwd)
    xs: list[Sample] = []
    ys: list[Sample] = []
    for n in range(rounds):
        xs.append(run_child(a))
        ys.append(run_child(b, cwd=b_cwd))
        print(
            f"    round {n + 1}/{rounds}: {xs[-1].wall:8.3f} s  vs {ys[-1].wall:8.3f} s",
            flush=True,
        )
    return xs, ys


def against_sha256sum(pack: Path, rounds: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """Summaries of ``vlab adjudicate PACK`` and ``sha256sum -c`` (cwd = PACK), alternating."""
    sha256sum = shutil.which("sha256sum")
    if sha256sum is None:
        raise BenchError("sha256sum not found on PATH")
    vlab = vlab_argv("adjudicate", str(pack), "--format", "json")
    check = [sha256sum, "-c", "--quiet", "integrity/sha256sums.txt"]
    verify = run_child(check, cwd=pack)
    if verify.code != 0:
        raise BenchError(f"sha256sum -c failed in {pack} (exit {verify.code})")
    check = [sha256sum, "-c", "integrity/sha256sums.txt"]
    print(f"  timing vlab adjudicate vs sha256sum -c, warm-up + {rounds} alternating rounds")
    xs, ys = alternate(vlab, check, rounds, b_cwd=pack)
    if any(s.code != 0 for s in xs + ys):
        raise BenchError("a timed run did not exit 0")
    return summary(xs), summary(ys)


def pack_mb(pack: Path) -> float:
    return sum(p.stat().st_size for p in pack.rglob("*") if p.is_file()) / MB


def rotated_rounds(
    argv: dict[str, list[str]], rounds: int, ok: tuple[int, ...] = (0,)
) -> dict[str, list[Sample]]:
    """Each command once to warm up, then ``rounds`` rounds of all of them, the order
    rotated each round (so no command always runs first or right after another); a
    command that exits other than ``ok`` stops the benchmark."""
    names = list(argv)
    for name in names:  # warm-up
        run_child(argv[name], stdout=subprocess.DEVNULL)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    for n in range(rounds):
        k = n % len(names)
        for name in names[k:] + names[:k]:
            sample = run_child(argv[name], stdout=subprocess.DEVNULL)
            if sample.code not in ok:
                raise BenchError(f"{' '.join(argv[name])} exited {sample.code}")
            samples[name].append(sample)
        walls = "  ".join(f"{name} {samples[name][-1].wall:.3f} s" for name in names)
        print(f"    round {n + 1}/{rounds}: {walls}", flush=True)
    return samples
