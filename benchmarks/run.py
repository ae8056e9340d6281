"""vlab benchmark: big-pack throughput against ``sha256sum -c``, cold start, and the
spending-cap / run-wide budget replays (CL-D1-03, CL-D1-04) at two sizes each.

Standard library plus vlab itself. Wall time is ``time.perf_counter`` around each child;
each child's peak RSS and CPU time come from ``os.wait4`` (``ru_maxrss`` is KiB on Linux).
Sizes are decimal: 1 MB = 1,000,000 bytes. Run it from the repository root:

    .venv/bin/python -m benchmarks.run               # every group, big (1,000,000 events) first
    .venv/bin/python -m benchmarks.run --quick       # every size / 10: a fast smoke run
    .venv/bin/python -m benchmarks.run --only replay # or --only big, cold, regress, archive

Generated packs live in benchmarks/out/ (gitignored) and are reused while their
params.json matches. Targets are reported as OK/OVER; the exit status is 0 whatever the
numbers (a benchmark reports, it does not assert). It is non-zero only when the benchmark
cannot run: a generated pack that does not adjudicate PASS, a tool that fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

from benchmarks.generators.events import GENERATOR_VERSION, RULESET
from benchmarks.generators.replay import generate_replay
from benchmarks.harness import MB, OUT, ROOT, BenchError, schema_bundle_sha256, self_rss_kib
from benchmarks.report import report
from benchmarks.suites.archive import ARCHIVE_PACKS, ARCHIVE_ROUNDS, bench_archive
from benchmarks.suites.big import FULL_EVENTS, QUICK_EVENTS, bench_big
from benchmarks.suites.cold import COLD_ROUNDS, bench_cold
from benchmarks.suites.regress import REGRESS_PACKS, REGRESS_ROUNDS, bench_regress
from benchmarks.suites.replay import bench_replay

BIG_ROUNDS = 3  # default --rounds (big and replay)
QUICK_SCALE = 10  # --quick divides the replay sizes and the regress/archive corpora by this


def parser(prog: str | None = None) -> argparse.ArgumentParser:
    assert __doc__ is not None
    p = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_EVENTS:,} events instead of {FULL_EVENTS:,}; replay sizes / 10",
    )
    p.add_argument("--events", type=int, help="event count of the big pack (overrides)")
    p.add_argument(
        "--only", choices=("big", "cold", "replay", "regress", "archive"), help="run one group only"
    )
    p.add_argument("--rounds", type=int, default=BIG_ROUNDS, help="big and replay A/B rounds")
    p.add_argument("--cold-rounds", type=int, default=COLD_ROUNDS, help="cold A/B rounds")
    p.add_argument("--regenerate", action="store_true", help="rebuild packs even if cached")
    p.add_argument("--generate", nargs=4, help=argparse.SUPPRESS)  # KIND SIZE PACK SHA
    return p


def run_groups(args: argparse.Namespace, events: int) -> dict[str, Any]:
    """The selected groups, in order; raises BenchError when one cannot run."""
    results: dict[str, Any] = {"benchmark_version": GENERATOR_VERSION}
    scale = QUICK_SCALE if args.quick else 1
    schema_sha = schema_bundle_sha256(RULESET) if args.only in (None, "big", "cold") else ""
    if args.only in (None, "big"):
        results["big"] = bench_big(events, args.rounds, schema_sha, args.regenerate)
    if args.only in (None, "cold"):
        results["cold"] = bench_cold(args.cold_rounds, schema_sha, args.regenerate)
    if args.only in (None, "replay"):
        results["replay"] = bench_replay(scale, args.rounds, args.regenerate)
    if args.only in (None, "regress"):
        count = REGRESS_PACKS // scale
        results["regress"] = bench_regress(count, REGRESS_ROUNDS, args.regenerate)
    if args.only in (None, "archive"):
        count = ARCHIVE_PACKS // scale
        results["archive"] = bench_archive(count, ARCHIVE_ROUNDS, args.regenerate)
    return results


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    cli = parser(prog)
    args = cli.parse_args(argv)
    if args.generate:  # the child that writes one replay pack (see ensure_replay_pack)
        kind, size, pack, sha = args.generate
        try:
            generate_replay(kind, int(size), Path(pack), sha)
        except BenchError as exc:
            print(f"benchmark error: {exc}", file=sys.stderr)
            return 1
        return 0
    events = args.events or (QUICK_EVENTS if args.quick else FULL_EVENTS)
    if events < 10 or args.rounds < 1 or args.cold_rounds < 1:
        cli.error("--events must be >= 10 and rounds >= 1")

    OUT.mkdir(parents=True, exist_ok=True)
    try:
        results = run_groups(args, events)
    except BenchError as exc:
        print(f"benchmark error: {exc}", file=sys.stderr)
        return 1
    results["host"] = {
        "platform": f"{platform.system()} {platform.machine()}",
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "harness_peak_rss_mb": self_rss_kib() * 1024 / MB,
    }
    report(results)
    out = OUT / "results.json"
    out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
