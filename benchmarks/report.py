"""The results table: every figure next to its target (OK / OVER / UNDER), then the host."""

from __future__ import annotations

from typing import Any

from benchmarks.suites.archive import TARGET_ARCHIVE_RATIO
from benchmarks.suites.batch import TARGET_BATCH_PER_S, TARGET_DASK_RATIO, TARGET_SCALING
from benchmarks.suites.big import TARGET_BIG_RATIO, TARGET_BIG_RSS_MB
from benchmarks.suites.cold import TARGET_COLD_RATIO, TARGET_TYPER_RATIO
from benchmarks.suites.regress import TARGET_REGRESS_PER_S, TARGET_REGRESS_SPEEDUP
from benchmarks.suites.replay import (
    REPLAYS,
    TARGET_REPLAY_FLOOR_RATIO,
    TARGET_REPLAY_GROWTH,
    TARGET_REPLAY_RSS_MB,
)


def verdict(value: float, limit: float, strict: bool = False) -> str:
    return "OK" if value < limit or (value == limit and not strict) else "OVER"


def floored(rss_mb: float, results: dict[str, Any]) -> str:
    """A note when a child's peak RSS is no more than the harness's own (its floor)."""
    return " (harness floor)" if rss_mb <= results["host"]["harness_peak_rss_mb"] + 1 else ""


class Table:
    """Rows of (metric, median, target, status)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str, str]] = []

    def row(
        self,
        name: str,
        value: str,
        limit: float | None = None,
        unit: str = "",
        got: float = 0.0,
        strict: bool = False,
    ) -> None:
        if limit is None:
            self.rows.append((name, value, "", ""))
        else:
            bound = "<" if strict else "<="
            self.rows.append((name, value, f"{bound} {limit:g}{unit}", verdict(got, limit, strict)))

    def print(self) -> None:
        width = max(len(r[0]) for r in self.rows)
        print()
        print(f"{'metric':<{width}}  {'median':>10}  {'target':<11}  status")
        for name, value, target, status in self.rows:
            print(f"{name:<{width}}  {value:>10}  {target:<11}  {status}".rstrip())


def big_rows(t: Table, big: dict[str, Any], results: dict[str, Any]) -> None:
    a, b = big["vlab_adjudicate"], big["sha256sum_check"]
    t.row(f"big ({big['events']:,} events, {big['pack_mb']:.0f} MB)", "")
    t.row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
    t.row("  vlab CPU user+sys", f"{a['median_cpu_s']:.3f} s")
    t.row("  sha256sum -c", f"{b['median_wall_s']:.3f} s")
    ratio = big["ratio"]
    t.row("  ratio vlab / sha256sum", f"{ratio:.2f}x", TARGET_BIG_RATIO, "x", ratio)
    rss = big["vlab_peak_rss_mb"]
    t.row(f"  vlab peak RSS{floored(rss, results)}", f"{rss:.1f} MB", TARGET_BIG_RSS_MB, " MB", rss)
    at = big.get("rss_at")
    if at:
        rss = at["peak_rss_mb"]
        t.row(
            f"  vlab peak RSS at {at['events']:,} events ({at['events_mb']:.0f} MB log)",
            f"{rss:.1f} MB",
            TARGET_BIG_RSS_MB,
            " MB",
            rss,
        )
        t.row(f"  vlab adjudicate at {at['events']:,} events", f"{at['median_wall_s']:.3f} s")


def cold_rows(t: Table, cold: dict[str, Any], results: dict[str, Any]) -> None:
    a, b = cold["vlab_adjudicate"], cold["python_pass"]
    t.row(f"cold start ({cold['events']}-event pack)", "")
    t.row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
    t.row("  python -c pass", f"{b['median_wall_s']:.3f} s")
    ratio = cold["ratio"]
    t.row("  ratio vlab / python", f"{ratio:.2f}x", TARGET_COLD_RATIO, "x", ratio)
    t.row(f"  vlab peak RSS{floored(a['peak_rss_mb'], results)}", f"{a['peak_rss_mb']:.1f} MB")
    if "typer_run" not in cold:  # a results.json from before the typer baseline
        return
    ratios = cold["ratios"]
    t.row("cold start against a minimal typer app (same dependencies)", "")
    for key, label in (
        ("vlab_help", "vlab --help"),
        ("typer_help", "minimal typer app --help"),
        ("typer_run", "minimal typer app judge SMALL"),
    ):
        t.row(f"  {label}", f"{cold[key]['median_wall_s']:.3f} s")
    for key, label in (
        ("vlab_help/python_pass", "  ratio vlab --help / python"),
        ("typer_help/python_pass", "  ratio typer --help / python"),
        ("typer_run/python_pass", "  ratio typer judge / python"),
    ):
        t.row(label, f"{ratios[key]:.2f}x")
    for key, label in (
        ("vlab_help/typer_help", "  ratio vlab --help / typer --help"),
        ("vlab_adjudicate/typer_run", "  ratio vlab adjudicate / typer judge"),
    ):
        value = ratios[key]
        t.row(label, f"{value:.2f}x", TARGET_TYPER_RATIO, "x", value)


def replay_rows(t: Table, kind: str, group: dict[str, Any], results: dict[str, Any]) -> None:
    for run in group["runs"]:
        a, b = run["vlab_adjudicate"], run["sha256sum_check"]
        t.row(
            f"replay {kind} ({run['size']:,} {run['unit']}, {run['pack_mb']:.0f} MB, "
            f"{group['clause']})",
            "",
        )
        t.row("  vlab adjudicate --format json", f"{a['median_wall_s']:.3f} s")
        t.row("  vlab CPU user+sys", f"{a['median_cpu_s']:.3f} s")
        t.row("  sha256sum -c", f"{b['median_wall_s']:.3f} s")
        t.row("  ratio vlab / sha256sum", f"{run['ratio']:.2f}x")
        if "floor_ratio" in run:
            f = run["parse_floor"]
            t.row("  parse floor (read lines, orjson.loads each)", f"{f['median_wall_s']:.3f} s")
            t.row(
                "  ratio vlab / parse floor",
                f"{run['floor_ratio']:.2f}x",
                TARGET_REPLAY_FLOOR_RATIO,
                "x",
                run["floor_ratio"],
            )
        rss = run["vlab_peak_rss_mb"]
        t.row(
            f"  vlab peak RSS{floored(rss, results)}",
            f"{rss:.1f} MB",
            TARGET_REPLAY_RSS_MB,
            " MB",
            rss,
            strict=True,
        )
    growth = group["growth"]
    unit = group["runs"][-1]["unit"]
    t.row(
        f"replay {kind}: vlab wall at {growth['size_factor']:g}x the {unit}",
        f"{growth['vlab_wall']:.2f}x",
        TARGET_REPLAY_GROWTH,
        "x",
        growth["vlab_wall"],
    )
    t.row("  (vlab CPU growth)", f"{growth['vlab_cpu']:.2f}x")
    t.row("  (sha256sum -c growth)", f"{growth['sha256sum_wall']:.2f}x")


def regress_rows(t: Table, reg: dict[str, Any]) -> None:
    t.row(f"regress ({reg['packs']:,} small packs)", "")
    for jobs in (2, 1):
        rate = reg[f"jobs{jobs}"]["packs_per_s"]
        wall = reg[f"jobs{jobs}"]["median_wall_s"]
        t.row(f"  --jobs {jobs} wall", f"{wall:.2f} s")
        if jobs == 2:  # a throughput target: at least, not at most
            status = "OK" if rate >= TARGET_REGRESS_PER_S else "UNDER"
            t.rows.append(
                ("  --jobs 2 packs/s", f"{rate:,.0f}", f">= {TARGET_REGRESS_PER_S:g}/s", status)
            )
        else:
            t.row("  --jobs 1 packs/s", f"{rate:,.0f}")
    speedup = reg["jobs2"]["packs_per_s"] / reg["jobs1"]["packs_per_s"]
    status = "OK" if speedup >= TARGET_REGRESS_SPEEDUP else "UNDER"
    t.rows.append(
        ("  --jobs 2 / --jobs 1", f"{speedup:.2f}x", f">= {TARGET_REGRESS_SPEEDUP:g}x", status)
    )


def archive_rows(t: Table, arc: dict[str, Any]) -> None:
    t.row(f"archive packs ({arc['packs']:,} small packs; the same as folders)", "")
    folder = arc["folder"]
    t.row("  folders: vlab regress --jobs 1", f"{folder['regress']['median_wall_s']:.2f} s")
    t.row("  folders: vlab adjudicate one pack", f"{folder['adjudicate']['median_wall_s']:.3f} s")
    for kind in (".tgz", ".zip"):
        a = arc[kind]
        t.row(f"  {kind}: vlab regress --jobs 1", f"{a['regress']['median_wall_s']:.2f} s")
        ratio = a["ratio_regress"]
        t.row(f"  {kind} / folders, regress", f"{ratio:.2f}x", TARGET_ARCHIVE_RATIO, "x", ratio)
        ratio = a["ratio_adjudicate"]
        t.row(
            f"  {kind} / folders, one adjudicate", f"{ratio:.2f}x", TARGET_ARCHIVE_RATIO, "x", ratio
        )


def _at_least(t: Table, name: str, value: str, got: float, target: float, unit: str) -> None:
    """A row whose target is a floor (throughput, scaling): OK at or above it."""
    t.rows.append((name, value, f">= {target:g}{unit}", "OK" if got >= target else "UNDER"))


def batch_rows(t: Table, b: dict[str, Any]) -> None:
    t.row(f"batch ({b['packs']:,} small packs)", "")
    for name in ("local-1", "local-2", "dask-2"):
        if name not in b:
            continue
        rate = b[name]["packs_per_s"]
        t.row(f"  {name} wall", f"{b[name]['median_wall_s']:.2f} s")
        label = f"  {name} packs/s"
        if name == "local-2":
            _at_least(t, label, f"{rate:,.0f}", rate, TARGET_BATCH_PER_S, "/s")
        else:
            t.row(label, f"{rate:,.0f}")
    _at_least(
        t,
        "  scaling: 1 worker / 2 workers",
        f"{b['scaling']:.2f}x",
        b["scaling"],
        TARGET_SCALING,
        "x",
    )
    if "dask_ratio" in b:
        _at_least(
            t,
            "  dask / local, 2 workers (speed)",
            f"{b['dask_ratio']:.2f}x",
            b["dask_ratio"],
            TARGET_DASK_RATIO,
            "x",
        )
    arc = b.get("archives")
    if arc:
        t.row(f"batch --jobs 2, the same {arc['packs']:,} packs as folders and archives", "")
        for name, stats in arc.items():
            if not isinstance(stats, dict):
                continue
            t.row(f"  {name} packs/s", f"{stats['packs_per_s']:,.0f}")
            if "ratio" in stats:
                ratio = stats["ratio"]
                t.row(f"  {name} / folders, wall", f"{ratio:.2f}x", arc["target_ratio"], "x", ratio)


def report(results: dict[str, Any]) -> None:
    t = Table()
    if results.get("big"):
        big_rows(t, results["big"], results)
    if results.get("cold"):
        cold_rows(t, results["cold"], results)
    replay = results.get("replay")
    for kind in REPLAYS if replay else ():
        replay_rows(t, kind, replay[kind], results)
    if results.get("regress"):
        regress_rows(t, results["regress"])
    if results.get("archive"):
        archive_rows(t, results["archive"])
    if results.get("batch"):
        batch_rows(t, results["batch"])
    t.print()
    host = results["host"]
    print(
        f"\nhost: {host['platform']}, {host['cpus']} CPUs, Python {host['python']}; "
        f"harness peak RSS {host['harness_peak_rss_mb']:.1f} MB (a floor for every child's "
        "ru_maxrss on Linux)"
    )
