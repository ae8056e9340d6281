"""The attacker's resource cases at the attacker's sizes (issue 11): every one must stay
under 200 MB peak RSS and a few seconds, refused with a precise code where it is refused.

``python -m benchmarks.hostile`` (or ``make bench-hostile``) builds each pack under
``benchmarks/out/hostile/`` (kept between runs; ``--regenerate`` rebuilds), runs the real
command in a child (wall, peak RSS via ``wait4``) and prints one row a case. Timing lives
here, never in ``make test``: the test suite asserts the same cases by counting work.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import OUT, run_child, seal, vlab_argv

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = OUT / "hostile"
MAX_RSS_MB = 200
MAX_WALL_S = 5.0
SMALL = ROOT / "evidence_packs/d1-01/pass-event-id/pack"
MISSION = ROOT / "evidence_packs/r12-d5-01/pass-verified-strong/pack"


def _copy(src: Path, name: str) -> Path:
    dest = HOSTILE / name
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(src, dest)
    return dest


def _write_stream(path: Path, head: bytes, item: bytes, count: int, tail: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(head)
        batch = 100_000
        left = count
        first = True
        while left:
            n = min(batch, left)
            piece = b",".join([item] * n)
            fh.write(piece if first else b"," + piece)
            first = False
            left -= n
        fh.write(tail)


def pointers_of_empty_objects(name: str, items: int) -> Path:
    pack = _copy(SMALL, name)
    _write_stream(pack / "evidence_pointers.json", b'{"pointers":[', b"{}", items, b"]}\n")
    seal_unchecked(pack)
    return pack


def big_json_artifact(name: str, mb: int) -> Path:
    pack = _copy(SMALL, name)
    _write_stream(pack / "artifacts/big.json", b"[", b"{}", mb * 1_000_000 // 3, b"]\n")
    seal_unchecked(pack)
    return pack


def many_pointers(name: str, count: int) -> Path:
    pack = _copy(SMALL, name)
    item = json.dumps(
        {
            "requirement_id": "RQ-D1-01",
            "artifact_path": "trace/events.ndjson",
            "locator": "event_id:no-such-event",
            "status": "PRESENT",
        },
        separators=(",", ":"),
    ).encode()
    _write_stream(pack / "evidence_pointers.json", b'{"pointers":[', item, count, b"]}\n")
    seal_unchecked(pack)
    return pack


def empty_folders(name: str, count: int) -> Path:
    pack = _copy(SMALL, name)
    for i in range(count):  # 1,000 a folder: the folder bound is hit, not the entry bound
        (pack / "artifacts" / f"g{i // 1000}" / f"d{i}").mkdir(parents=True)
    seal_unchecked(pack)
    return pack


def huge_folder(name: str, count: int) -> Path:
    pack = _copy(SMALL, name)
    folder = pack / "artifacts" / "many"
    folder.mkdir(parents=True)
    base = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for i in range(count):
            os.close(os.open(f"{i}.json", os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=base))
    finally:
        os.close(base)
    return pack


def seal_unchecked(pack: Path) -> None:
    """Seal with hashlib (``vlab pack seal`` would refuse what the case is about)."""
    import hashlib

    lines = []
    for path in sorted(pack.rglob("*")):
        rel = path.relative_to(pack).as_posix()
        if path.is_file() and rel != "integrity/sha256sums.txt":
            digest = hashlib.sha256()
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
            lines.append(f"{digest.hexdigest()}  {rel}\n")
    (pack / "integrity/sha256sums.txt").write_text("".join(lines), encoding="utf-8")


def _mission(name: str, policy: bytes | None = None, receipt: Any = None) -> Path:
    pack = _copy(MISSION, name)
    mission = pack / "artifacts/mission"
    if policy is not None:
        (mission / "policy.yaml").write_bytes(policy)
    if receipt is not None:
        (mission / "outcome_receipt.json").write_text(json.dumps(receipt), encoding="utf-8")
    seal(pack)
    return pack


def _receipt() -> Any:
    return json.loads((MISSION / "artifacts/mission/outcome_receipt.json").read_text())


def glob_doublestars(name: str, stars: int, segments: int) -> Path:
    policy = (MISSION / "artifacts/mission/policy.yaml").read_text(encoding="utf-8")
    pattern = "/".join(["**"] * stars) + "/x"
    policy = policy.replace('protect: ["tests/**", "package.json"]', f'protect: ["{pattern}"]')
    receipt = _receipt()
    receipt["verification"]["changed_files"] = ["/".join(["a"] * segments)] * 10
    return _mission(name, policy.encode(), receipt)


def big_policy(name: str, kb: int) -> Path:
    policy = (MISSION / "artifacts/mission/policy.yaml").read_bytes()
    pad = b"".join(
        b"# padding line %08d ................................\n" % i for i in range(kb * 20)
    )
    return _mission(name, policy + pad[: kb * 1000])


def protected_files_number(name: str) -> Path:
    receipt = _receipt()
    receipt["verification"]["protected_files"] = 7
    return _mission(name, receipt=receipt)


# name -> (builder, command after the pack path, expected codes in the ruling or "")
CASES: dict[str, tuple[Callable[[], Path], tuple[str, ...], str]] = {
    "pointers: 300 KB of {} items": (
        lambda: pointers_of_empty_objects("pointers-300k", 100_000),
        (),
        "CONTRACT-TOO-MANY-POINTERS",
    ),
    "pointers: 60 MB of {} items": (
        lambda: pointers_of_empty_objects("pointers-60m", 20_000_000),
        (),
        "CONTRACT-DOCUMENT-TOO-LARGE",
    ),
    "pointers: 250 MB of {} items": (
        lambda: pointers_of_empty_objects("pointers-250m", 83_000_000),
        (),
        "SECURITY-FILE-TOO-LARGE",
    ),
    "JSON artifact: 60 MB [{},...]": (
        lambda: big_json_artifact("artifact-60m", 60),
        (),
        "CONTRACT-DOCUMENT-TOO-LARGE",
    ),
    "JSON artifact: 250 MB [{},...]": (
        lambda: big_json_artifact("artifact-250m", 250),
        (),
        "SECURITY-FILE-TOO-LARGE",
    ),
    "200,000 pointers": (
        lambda: many_pointers("pointers-200k", 200_000),
        (),
        "CONTRACT-DOCUMENT-TOO-LARGE",
    ),
    "10,000 failing pointers (details capped)": (
        lambda: many_pointers("pointers-10k", 10_000),
        (),
        "POINTER-UNRESOLVABLE",
    ),
    "100,000 empty folders": (
        lambda: empty_folders("folders-100k", 100_000),
        (),
        "SECURITY-TOO-MANY-FOLDERS",
    ),
    "1,000,000-entry folder": (
        lambda: huge_folder("entries-1m", 1_000_000),
        (),
        "SECURITY-TOO-MANY-ENTRIES",
    ),
    "glob: 3,000 ** against 30,000-segment paths": (
        lambda: glob_doublestars("glob-3000", 3_000, 30_000),
        (),
        "MISSION-",
    ),
    "policy YAML: 1.4 MB": (
        lambda: big_policy("policy-1400k", 1_400),
        (),
        "MISSION-POLICY-INVALID",
    ),
    "protected_files: a number": (
        lambda: protected_files_number("protected-number"),
        (),
        "MISSION-",
    ),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.hostile")
    parser.add_argument("--only", action="append", help="a substring of a case name")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    HOSTILE.mkdir(parents=True, exist_ok=True)
    worst = 0
    print(f"{'case':<46} {'wall s':>7} {'RSS MB':>7} {'exit':>4}  codes / status")
    for name, (build, extra, expect) in CASES.items():
        if args.only and not any(o in name for o in args.only):
            continue
        marker = HOSTILE / (name.replace(" ", "_").replace("/", "_") + ".built")
        pack_file = marker.with_suffix(".path")
        if args.regenerate or not pack_file.exists():
            pack = build()
            pack_file.write_text(str(pack), encoding="utf-8")
        pack = Path(pack_file.read_text(encoding="utf-8"))
        out = HOSTILE / "ruling.json"
        with open(out, "wb") as fh:
            sample = run_child(
                vlab_argv("adjudicate", str(pack), "--format", "json", *extra), stdout=fh
            )
        data = out.read_bytes()
        try:
            ruling = json.loads(data)
            codes = ruling["reason_codes"]
        except (ValueError, KeyError):
            codes = ["(no ruling)"]
        rss = sample.rss_kib * 1024 / 1e6
        ok = sample.code in (0, 1, 2, 3) and rss <= MAX_RSS_MB and sample.wall <= MAX_WALL_S
        hit = any(expect in c for c in codes) or expect in data.decode("utf-8", "replace")
        status = ("OK" if ok else "OVER") + ("" if hit else f" (expected {expect})")
        worst = max(worst, 0 if ok and hit else 1)
        shown = ", ".join(c for c in codes if not c.startswith("ADM-GATE-"))[:60]
        print(f"{name:<46} {sample.wall:7.2f} {rss:7.1f} {sample.code:>4}  {shown} {status}")
        print(f"{'':<46} ruling {len(data):,} bytes")
    return worst


if __name__ == "__main__":
    sys.exit(main())
