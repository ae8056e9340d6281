"""cold: start-up. ``vlab --help`` and ``vlab adjudicate SMALL --format json`` (a 5-event
pack) side by side in one run with two baselines: ``python -c pass`` and a minimal typer
app (benchmarks/minimal_typer_app.py) that imports the same dependencies and runs one
command (``--help``, and ``judge SMALL``).

Every round runs the five commands once each, the order rotated by one each round, so a
drift of the machine's load spreads over all of them; the ratios are of medians.
"""

from __future__ import annotations

import sys
from typing import Any

from benchmarks.harness import HERE, BenchError, Sample, run_child, summary, vlab_argv
from benchmarks.suites.big import prepared_pack

COLD_ROUNDS = 10
COLD_EVENTS = 5
TARGET_COLD_RATIO = 12.0  # vlab adjudicate (small pack) / python -c pass, wall
TARGET_TYPER_RATIO = 1.3  # vlab / the minimal typer app doing the same kind of thing, wall
MINIMAL_APP = HERE / "minimal_typer_app.py"


def commands(pack: str) -> dict[str, list[str]]:
    """The five timed command lines, by result key."""
    minimal = [sys.executable, str(MINIMAL_APP)]
    return {
        "python_pass": [sys.executable, "-c", "pass"],
        "typer_help": [*minimal, "--help"],
        "typer_run": [*minimal, "judge", pack],
        "vlab_help": vlab_argv("--help"),
        "vlab_adjudicate": vlab_argv("adjudicate", pack, "--format", "json"),
    }


def rotated(names: list[str], n: int) -> list[str]:
    k = n % len(names)
    return names[k:] + names[:k]


def bench_cold(rounds: int, schema_sha: str, force: bool) -> dict[str, Any]:
    print("cold start: small pack, vlab and a minimal typer app")
    pack, _ = prepared_pack("small", COLD_EVENTS, schema_sha, force)
    argv = commands(str(pack))
    names = list(argv)
    for name in names:  # warm-up: page cache, .pyc files
        run_child(argv[name])
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    print(f"  warm-up + {rounds} rounds of {len(names)} commands (order rotated each round)")
    for n in range(rounds):
        for name in rotated(names, n):
            samples[name].append(run_child(argv[name]))
        walls = "  ".join(f"{name} {samples[name][-1].wall:.3f}" for name in names)
        print(f"    round {n + 1}/{rounds}: {walls}", flush=True)
    if any(s.code != 0 for group in samples.values() for s in group):
        raise BenchError("a timed run did not exit 0")
    sums = {name: summary(group) for name, group in samples.items()}

    def ratio(a: str, b: str) -> float:
        return float(sums[a]["median_wall_s"] / sums[b]["median_wall_s"])

    return {
        "events": COLD_EVENTS,
        "rounds": rounds,
        **sums,
        "ratio": ratio("vlab_adjudicate", "python_pass"),  # the historical cold ratio
        "ratios": {
            "vlab_adjudicate/python_pass": ratio("vlab_adjudicate", "python_pass"),
            "vlab_help/python_pass": ratio("vlab_help", "python_pass"),
            "vlab_adjudicate/typer_run": ratio("vlab_adjudicate", "typer_run"),
            "vlab_help/typer_help": ratio("vlab_help", "typer_help"),
            "typer_run/python_pass": ratio("typer_run", "python_pass"),
            "typer_help/python_pass": ratio("typer_help", "python_pass"),
        },
        "targets": {"ratio_max": TARGET_COLD_RATIO, "typer_ratio_max": TARGET_TYPER_RATIO},
    }
