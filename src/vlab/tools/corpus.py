"""What a corpus holds: golden vectors (folders with ``expected.json``) and packs."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from vlab.core.walk import find_marked

EXPECTED = "expected.json"
CONTROL = ("bundle.manifest.json", "manifest.json", "evidence_pointers.json", "integrity")


def find_vectors(root: Path) -> Iterator[tuple[str, Path]]:
    """(vector id, folder) of every folder under root holding an expected.json."""
    return find_marked(root, lambda names: EXPECTED in names)


def find_packs(corpus: Path) -> Iterator[tuple[str, Path]]:
    """(name relative to the corpus, folder) of every pack under it (packs are not entered)."""
    return find_marked(corpus, lambda names: any(name in names for name in CONTROL))
