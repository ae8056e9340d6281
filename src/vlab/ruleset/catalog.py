"""Installed rulesets: ``rulesets/<id>/ruleset.yaml``, found by id or given by path."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from vlab.core.errors import RulesetError, UsageError
from vlab.ruleset.loader import (
    RULESET_FILE,
    fingerprint,
    from_compiled,
    load_ruleset,
    read_compiled,
)
from vlab.ruleset.model import Ruleset


def default_root() -> Path:
    """Rulesets shipped in the wheel (``vlab/_rulesets``) or, in a checkout, ``rulesets/``."""
    env = os.environ.get("VLAB_RULESETS_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    shipped = here / "_rulesets"
    if shipped.is_dir():
        return shipped
    return here.parent.parent / "rulesets"


class Catalog:
    def __init__(self, root: Path | None = None) -> None:
        self.root = root or default_root()
        self._loaded: dict[str, Ruleset] = {}
        self._loading: set[str] = set()
        self._fingerprints: dict[str, str] = {}

    def ids(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if (p / RULESET_FILE).is_file())

    def get(self, ruleset_id: str) -> Ruleset | None:
        """The installed ruleset with this id, or None."""
        if ruleset_id in self._loaded:
            return self._loaded[ruleset_id]
        if ruleset_id not in self.ids():
            return None
        path = self.root / ruleset_id / RULESET_FILE
        if ruleset_id in self._loading:
            raise RulesetError(str(path), None, f"extends cycle through {ruleset_id}")
        self._loading.add(ruleset_id)
        try:
            ruleset = self._from_compiled(path) or load_ruleset(path, self._parent_document)
        finally:
            self._loading.discard(ruleset_id)
        if ruleset.id != ruleset_id:
            raise RulesetError(str(path), None, f"id {ruleset.id!r} differs from its folder name")
        self._loaded[ruleset_id] = ruleset
        return ruleset

    def fingerprint(self, ruleset_id: str) -> str:
        """Fingerprint of an installed ruleset's inputs (its parents' included)."""
        if ruleset_id not in self._fingerprints:
            path = self.root / ruleset_id / RULESET_FILE
            record = read_compiled(path)
            parent = record.get("extends") if record else None
            parent_fp = self.fingerprint(parent) if isinstance(parent, str) else None
            self._fingerprints[ruleset_id] = fingerprint(path, parent_fp)
        return self._fingerprints[ruleset_id]

    def _from_compiled(self, path: Path) -> Ruleset | None:
        record = read_compiled(path)
        if record is None or record.get("compiled_format") != 1:
            return None
        parent = record.get("extends")
        if parent is not None and (not isinstance(parent, str) or parent not in self.ids()):
            return None
        if record.get("fingerprint") != self.fingerprint(path.parent.name):
            return None
        return from_compiled(path, record)

    def _parent_document(self, parent_id: str) -> dict[str, Any]:
        parent = self.get(parent_id)
        if parent is None:
            raise UsageError(f"extends names unknown ruleset {parent_id!r}")
        return parent.document

    def resolve(self, id_or_path: str) -> Ruleset:
        """``--ruleset`` / ``rulesets show``: an installed id, or a path to a ruleset."""
        ruleset = self.get(id_or_path) if "/" not in id_or_path else None
        if ruleset is not None:
            return ruleset
        path = Path(id_or_path)
        if path.is_dir():
            path = path / RULESET_FILE
        if path.is_file():
            return load_ruleset(path, self._parent_document)
        raise UsageError(f"unknown ruleset {id_or_path!r} (not an installed id or a file)")
