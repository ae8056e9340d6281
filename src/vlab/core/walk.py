"""Folder walks over corpora: iterative, sorted, never following links, depth-bounded."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

from vlab.core.errors import UsageError

MAX_FOLDER_DEPTH = 64


def walk_folders(
    root: Path, stop_at: Callable[[set[str]], bool]
) -> Iterator[tuple[Path, set[str]]]:
    """Folders under root, sorted depth-first, without recursion and without following
    links; a folder where ``stop_at(names)`` holds is not entered further."""
    stack = [(root, 0)]
    while stack:
        here, depth = stack.pop()
        try:
            with os.scandir(here) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            raise UsageError(f"cannot read folder {here}: {exc.strerror}") from None
        names = {e.name for e in entries}
        yield here, names
        if stop_at(names):
            continue
        subfolders = [Path(e.path) for e in entries if e.is_dir(follow_symlinks=False)]
        if subfolders and depth >= MAX_FOLDER_DEPTH:
            raise UsageError(f"folders nest deeper than {MAX_FOLDER_DEPTH} levels under {root}")
        stack.extend((sub, depth + 1) for sub in reversed(subfolders))


def find_marked(root: Path, is_marked: Callable[[set[str]], bool]) -> Iterator[tuple[str, Path]]:
    """(name relative to root, folder) of every folder whose entries are marked; a marked
    folder is not entered further."""
    for here, names in walk_folders(root, stop_at=is_marked):
        if is_marked(names):
            yield (here.relative_to(root).as_posix() or "."), here
