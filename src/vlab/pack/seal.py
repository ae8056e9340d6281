"""``vlab pack seal``: the producer side of the INTEGRITY gate."""

from __future__ import annotations

import os
from pathlib import Path

from vlab.core.errors import UsageError
from vlab.pack.limits import Limits, artifact_kind
from vlab.pack.reader import PackReader
from vlab.pack.signatures import is_signature_path
from vlab.pack.sums import SUMS_PATH, render_sums

# The control files a pack cannot be judged without (evidence-pack.md). ``vlab pack seal``
# refuses a folder lacking one unless told ``--allow-incomplete``; ``seal`` itself seals
# any folder, since hostile test vectors are built by sealing incomplete ones.
CONTROL_FILES = ("manifest.json", "bundle.manifest.json", "evidence_pointers.json")


def missing_control_files(path: Path) -> list[str]:
    """The control files that are not regular files directly in ``path``, in order."""
    return [name for name in CONTROL_FILES if not (path / name).is_file()]


def seal(path: Path, limits: Limits | None = None) -> int:
    """Write integrity/sha256sums.txt for every other file; returns how many were listed."""
    if not path.is_dir():
        raise UsageError(f"not a pack directory: {path}")
    reader = PackReader(path, limits)
    inventory = reader.inventory()
    if inventory.refusals:
        first = inventory.refusals[0]
        where = f" ({first.artifact_path})" if first.artifact_path else ""
        raise UsageError(f"refused by the SECURITY gate: {first.code}{where}: {first.message}")
    hashes: dict[str, str] = {}
    max_line = reader.limits.max_line_bytes
    for f in inventory.files:
        if f.path == SUMS_PATH or is_signature_path(f.path):
            continue  # signatures sign the sums; they are never listed (trust.md §2)
        ndjson = artifact_kind(f.path) == "ndjson"
        try:
            hashes[f.path], too_long = reader.hash_file(f.path, max_line if ndjson else None)
        except OSError as exc:
            detail = exc.strerror or str(exc)
            raise UsageError(f"cannot read {f.path}: {detail}") from None
        if too_long is not None:
            raise UsageError(
                f"refused by the SECURITY gate: SECURITY-LINE-TOO-LONG ({f.path} line {too_long})"
            )
    target = path / "integrity"
    if target.is_symlink():
        raise UsageError("refused: integrity/ is a symbolic link")
    target.mkdir(exist_ok=True)
    tmp = target / ".sha256sums.txt.tmp"
    tmp.write_bytes(render_sums(hashes))
    os.replace(tmp, path / SUMS_PATH)
    return len(hashes)
