"""Same pack bytes, same ruleset bytes -> byte-identical ruling, whatever the environment."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Runner

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"
PACKS = [
    VECTORS / "d1-01" / "fail-two-pointers-neither-holds" / "pack",
    VECTORS / "d2-01" / "pass-snapshot-state-is-terminal" / "pack",
    VECTORS / "admission" / "integrity-malformed-line" / "pack",
]


def ruling_bytes(vlab: Runner, pack: Path, cwd: Path, **env: str) -> bytes:
    """``adjudicate --format json`` with TZ/LANG/LC_ALL unset unless given in ``env``."""
    proc = vlab(
        "adjudicate", pack, "--format", "json", cwd=cwd, env=env, drop=("TZ", "LANG", "LC_ALL")
    )
    assert proc.returncode in (0, 1, 2, 3), proc.stderr
    assert proc.stderr == b""
    out: bytes = proc.stdout
    return out


def copy_in_order(src: Path, dst: Path, reverse: bool) -> None:
    """Recreate a pack creating its files in a chosen order (directory order differs)."""
    files = sorted(p for p in src.rglob("*") if p.is_file())
    for path in reversed(files) if reverse else files:
        target = dst / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)


@pytest.mark.parametrize("pack", PACKS, ids=lambda p: p.parent.name)
def test_identical_bytes_across_environments_and_copies(
    pack: Path, tmp_path: Path, vlab: Runner
) -> None:
    baseline = ruling_bytes(vlab, pack, ROOT)
    variants = [
        ruling_bytes(
            vlab, pack, ROOT, TZ="Pacific/Kiritimati", LANG="tr_TR.UTF-8", PYTHONHASHSEED="1"
        ),
        ruling_bytes(
            vlab, pack, tmp_path, TZ="America/St_Johns", LANG="C", LC_ALL="C", PYTHONHASHSEED="4242"
        ),
    ]
    for i, reverse in enumerate((False, True)):
        copy = tmp_path / f"copy-{i}" / "some-other-name"
        copy_in_order(pack, copy, reverse)
        variants.append(ruling_bytes(vlab, copy, tmp_path, PYTHONHASHSEED=str(7 + i)))
    assert all(v == baseline for v in variants)
    assert baseline.endswith(b"}\n") and baseline.count(b"\n") == 1
    text = baseline.decode("utf-8")
    assert str(ROOT) not in text and "some-other-name" not in text and str(tmp_path) not in text


def test_digest_excludes_engine_and_detects_edits(vlab: Runner) -> None:
    from vlab.engine.ruling import ruling_digest

    ruling = json.loads(ruling_bytes(vlab, PACKS[0], ROOT))
    assert ruling_digest(ruling) == ruling["digest"]
    ruling["engine"]["version"] = "99.0.0"
    assert ruling_digest(ruling) == ruling["digest"]
    ruling["clauses"][0]["status"] = "PASS"
    assert ruling_digest(ruling) != ruling["digest"]
