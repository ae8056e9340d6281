"""``python -m fuzz``: run a campaign, replay one execution, reproduce a saved finding.

    python -m fuzz [--execs N] [--seed S] [--jobs J] [--out DIR] [--report-json PATH]
    python -m fuzz replay --seed S --index I [--save DIR]
    python -m fuzz repro fuzz/out/crash-0001234
    python -m fuzz mutators

Exit status of a campaign: 0 when it found nothing, 1 when it found a crash, a hang or an
invariant failure, 2 when it was interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from fuzz.campaign import Config, replay, repro, run_campaign
from fuzz.mutate import MUTATORS


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    return int(value) if value.strip() else default


def _campaign(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m fuzz", description="A bounded fuzz campaign.")
    p.add_argument("--execs", type=int, default=_env_int("FUZZ_EXECS", 200_000))
    p.add_argument("--seed", type=int, default=_env_int("FUZZ_SEED", 1))
    p.add_argument("--jobs", type=int, default=_env_int("FUZZ_JOBS", 2))
    p.add_argument("--out", type=Path, default=Config.out, help="where findings are saved")
    p.add_argument("--report-json", type=Path, help="also write the report as JSON here")
    p.add_argument("--budget-s", type=float, default=Config.budget_s, help="per-stage wall clock")
    p.add_argument("--rss-mb", type=float, default=Config.rss_mb, help="peak RSS growth bound")
    p.add_argument("--big-rate", type=float, default=Config.big_rate)
    p.add_argument("--cli-rate", type=float, default=Config.cli_rate)
    p.add_argument("--subprocess-rate", type=float, default=Config.subprocess_rate)
    p.add_argument("--table-rate", type=float, default=Config.table_rate)
    p.add_argument("--no-minimise", action="store_true", help="save findings as generated")
    p.add_argument(
        "--max-saved",
        type=int,
        default=Config.max_saved_per_signature,
        help="findings saved per signature and worker (all are counted)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.add_argument("--watchdog-s", type=float, help="hard kill of a stuck worker after this")
    p.add_argument("--plant", default="", help=argparse.SUPPRESS)  # INDEX:KIND,... (self-test)
    a = p.parse_args(argv)
    plant = []
    for item in filter(None, a.plant.split(",")):
        index, _, kind = item.partition(":")
        if kind not in ("crash", "hang", "stall", "die") or not index.isdigit():
            p.error(f"--plant takes INDEX:crash|hang|stall|die, not {item!r}")
        plant.append((int(index), kind))
    if a.execs < 1 or a.jobs < 1:
        p.error("--execs and --jobs must be at least 1")
    cfg = Config(
        seed=a.seed,
        execs=a.execs,
        jobs=a.jobs,
        out=a.out.resolve(),
        budget_s=a.budget_s,
        rss_mb=a.rss_mb,
        big_rate=a.big_rate,
        cli_rate=a.cli_rate,
        subprocess_rate=a.subprocess_rate,
        table_rate=a.table_rate,
        minimise=not a.no_minimise,
        max_saved_per_signature=a.max_saved,
        quiet=a.quiet,
        watchdog_s=a.watchdog_s,
        plant=tuple(plant),
    )
    report = run_campaign(cfg)
    print(report.text())
    if a.report_json:
        a.report_json.parent.mkdir(parents=True, exist_ok=True)
        a.report_json.write_text(json.dumps(report.to_json(), indent=2) + "\n", "utf-8")
    if any(w.get("why", "").startswith("interrupted") for w in report.watchdog):
        return 2
    return 0 if report.clean else 1


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["replay"]:
        p = argparse.ArgumentParser(prog="python -m fuzz replay")
        p.add_argument("--seed", type=int, required=True)
        p.add_argument("--index", type=int, required=True)
        p.add_argument("--save", type=Path, help="also write the generated pack here")
        a = p.parse_args(args[1:])
        return replay(Config(seed=a.seed), a.index, a.save)
    if args[:1] == ["repro"]:
        p = argparse.ArgumentParser(prog="python -m fuzz repro")
        p.add_argument("finding", type=Path, help="a fuzz/out/<kind>-<n> folder")
        a = p.parse_args(args[1:])
        return repro(a.finding)
    if args[:1] == ["mutators"]:
        for m in MUTATORS.values():
            print(f"{m.name:<22} {m.phase:<8} w={m.weight:<4} {m.doc}")
        return 0
    return _campaign(args)


if __name__ == "__main__":
    sys.exit(main())
