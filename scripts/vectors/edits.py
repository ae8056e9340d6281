"""Steps run on a pack folder: before sealing, after sealing (tampering), or after a
producer wrote it (deliberate corruption)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

from scripts.vectors.model import JSONObject, PackEdit

RecordsEdit = Callable[[list[JSONObject]], list[JSONObject]]


def append_to(rel: str, data: bytes) -> PackEdit:
    def run(root: Path) -> None:
        with open(root / rel, "ab") as fh:
            fh.write(data)

    return run


def write(rel: str, data: bytes) -> PackEdit:
    def run(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)

    return run


def delete(rel: str) -> PackEdit:
    def run(root: Path) -> None:
        (root / rel).unlink()

    return run


def symlink(rel: str, target: str) -> PackEdit:
    def run(root: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, root / rel)

    return run


def sums_edit(edit: Callable[[list[str]], list[str]]) -> PackEdit:
    """Rewrite the lines of integrity/sha256sums.txt."""

    def run(root: Path) -> None:
        path = root / "integrity/sha256sums.txt"
        lines = path.read_text("utf-8").splitlines()
        path.write_text("".join(line + "\n" for line in edit(lines)), "utf-8")

    return run


def edit_lines(rel: str, edit: RecordsEdit) -> PackEdit:
    """Rewrite a JSON-lines file record by record (compact JSON, blank lines dropped)."""

    def run(root: Path) -> None:
        path = root / rel
        records = [json.loads(x) for x in path.read_text("utf-8").splitlines() if x.strip()]
        text = "".join(json.dumps(r, separators=(",", ":")) + "\n" for r in edit(records))
        path.write_text(text, "utf-8")

    return run


def all_of(*steps: PackEdit) -> PackEdit:
    def run(root: Path) -> None:
        for step in steps:
            step(root)

    return run
