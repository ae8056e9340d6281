"""The cache of generated packs under benchmarks/out/, and the PASS check before timing."""

from __future__ import annotations

import contextlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.harness import OUT, ROOT, BenchError, Sample, run_child, vlab_argv

# A builder makes and seals out/NAME from scratch and returns what to print about it.
Builder = Callable[[Path], str]


def ensure_pack(
    name: str, params: dict[str, Any], what: str, build: Builder, *, force: bool = False
) -> Path:
    """The pack under out/NAME, generated unless one with the same params.json is there."""
    pack = OUT / name
    params_file = OUT / f"{name}.params.json"
    sums = pack / "integrity" / "sha256sums.txt"
    if not force and sums.is_file() and params_file.is_file():
        try:
            if json.loads(params_file.read_text()) == params:
                print(f"  reusing {pack.relative_to(ROOT)} ({what})")
                return pack
        except ValueError:
            pass
    params_file.unlink(missing_ok=True)
    print(f"  generating {pack.relative_to(ROOT)} ({what}) ...", flush=True)
    start = time.perf_counter()
    if pack.exists():
        shutil.rmtree(pack)
    note = build(pack)
    params_file.write_text(json.dumps(params, indent=2, sort_keys=True) + "\n")
    print(f"  generated and sealed in {time.perf_counter() - start:.1f} s: {note}")
    return pack


def check_pass(pack: Path, ruling_path: Path, clause: str | None = None) -> Sample:
    """Adjudicate once (also the warm-up); the pack must rule PASS with exit 0 (and, when
    given, CLAUSE must be PASS)."""
    with ruling_path.open("wb") as fh:
        sample = run_child(vlab_argv("adjudicate", str(pack), "--format", "json"), stdout=fh)
    ruling: dict[str, Any] = {}
    with contextlib.suppress(ValueError):
        ruling = json.loads(ruling_path.read_bytes())
    topline = ruling.get("topline")
    if sample.code != 0 or topline != "PASS":
        raise BenchError(
            f"{pack} does not adjudicate PASS (exit {sample.code}, topline {topline}); "
            f"see {ruling_path}"
        )
    if clause is not None:
        status = {c.get("clause_id"): c.get("status") for c in ruling.get("clauses", [])}
        if status.get(clause) != "PASS":
            raise BenchError(
                f"{pack}: {clause} is {status.get(clause)}, not PASS; see {ruling_path}"
            )
    return sample


def prepared(
    name: str, ensure: Callable[[bool], Path], force: bool, clause: str | None = None
) -> tuple[Path, Sample]:
    """A pack that adjudicates PASS (regenerated once if a reused one does not)."""
    pack = ensure(force)
    ruling = OUT / f"{name}.ruling.json"
    try:
        return pack, check_pass(pack, ruling, clause)
    except BenchError as exc:
        if force:
            raise
        print(f"  {exc}; regenerating")
    pack = ensure(True)
    return pack, check_pass(pack, ruling, clause)
