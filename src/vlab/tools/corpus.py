"""What a corpus holds: golden vectors (folders with ``expected.json``) and packs (pack
folders, and archive packs: ``.tar``, ``.tar.gz``/``.tgz``, ``.zip`` files)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vlab.core.walk import find_marked, walk_folders
from vlab.pack.limits import ARCHIVE_ENDINGS, archive_kind

EXPECTED = "expected.json"
CONTROL = ("bundle.manifest.json", "manifest.json", "evidence_pointers.json", "integrity")
# A golden vector's pack: pack/ beside expected.json, or one of these archives.
PACK_ARCHIVES = tuple(f"pack{ending}" for ending, _ in ARCHIVE_ENDINGS)


def find_vectors(root: Path) -> Iterator[tuple[str, Path]]:
    """(vector id, folder) of every folder under root holding an expected.json."""
    return find_marked(root, lambda names: EXPECTED in names)


def _is_pack(names: set[str]) -> bool:
    return any(name in names for name in CONTROL)


def find_packs(corpus: Path) -> Iterator[tuple[str, Path]]:
    """(name relative to the corpus, path) of every pack under it: folders holding a
    control file (not entered), and archive files, in the walk's sorted order."""
    for here, names in walk_folders(corpus, stop_at=_is_pack):
        if _is_pack(names):
            yield (here.relative_to(corpus).as_posix() or "."), here
            continue
        for name in sorted(names):
            path = here / name
            if archive_kind(name) is not None and path.is_file() and not path.is_symlink():
                yield path.relative_to(corpus).as_posix(), path
