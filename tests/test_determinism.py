"""Same pack bytes, same ruleset bytes -> byte-identical ruling, whatever the environment."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"
PACKS = [
    VECTORS / "d1-01" / "fail-two-pointers-neither-holds" / "pack",
    VECTORS / "d2-01" / "pass-snapshot-state-is-terminal" / "pack",
    VECTORS / "admission" / "integrity-malformed-line" / "pack",
]


def ruling_bytes(pack: Path, cwd: Path, **env: str) -> bytes:
    full = {k: v for k, v in os.environ.items() if k not in ("TZ", "LANG", "LC_ALL")}
    full.update(env)
    proc = subprocess.run(
        [sys.executable, "-m", "vlab", "adjudicate", str(pack), "--format", "json"],
        capture_output=True,
        env=full,
        cwd=cwd,
        check=False,
    )
    assert proc.returncode in (0, 1, 2, 3), proc.stderr
    assert proc.stderr == b""
    return proc.stdout


def copy_in_order(src: Path, dst: Path, reverse: bool) -> None:
    """Recreate a pack creating its files in a chosen order (directory order differs)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    for path in reversed(files) if reverse else files:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.parent.name)
def test_identical_bytes_across_environments_and_copies(pack: Path, tmp_path: Path) -> None:
    baseline = ruling_bytes(pack, ROOT)
    variants = [
        ruling_bytes(pack, ROOT, TZ="Pacific/Kiritimati", LANG="tr_TR.UTF-8", PYTHONHASHSEED="1"),
        ruling_bytes(
            pack, tmp_path, TZ="America/St_Johns", LANG="C", LC_ALL="C", PYTHONHASHSEED="4242"
        ),
    ]
    for i, reverse in enumerate((False, True)):
        copy = tmp_path / f"copy-{i}" / "some-other-name"
        copy_in_order(pack, copy, reverse)
        variants.append(ruling_bytes(copy, tmp_path, PYTHONHASHSEED=str(7 + i)))
    assert all(v == baseline for v in variants)
    assert baseline.endswith(b"}\n") and baseline.count(b"\n") == 1
    text = baseline.decode("utf-8")
    assert str(ROOT) not in text and "some-other-name" not in text and str(tmp_path) not in text


def test_digest_excludes_engine_and_detects_edits() -> None:
    from vlab.engine.ruling import ruling_digest

    ruling = json.loads(ruling_bytes(PACKS[0], ROOT))
    assert ruling_digest(ruling) == ruling["digest"]
    ruling["engine"]["version"] = "99.0.0"
    assert ruling_digest(ruling) == ruling["digest"]
    ruling["clauses"][0]["status"] = "PASS"
    assert ruling_digest(ruling) != ruling["digest"]
