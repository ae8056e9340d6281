"""The rulesets vlab knows: shipped ones (``rulesets/<id>/ruleset.yaml``) plus those an
organisation adds with ``--rulesets-dir DIR`` or ``VLAB_RULESETS_PATH``; found by id or
given by path. An added id that shadows a shipped one, or appears twice, is a usage error.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vlab.core.errors import RulesetError, UsageError
from vlab.ruleset.compiled import fingerprint, read_compiled
from vlab.ruleset.loader import RULESET_FILE, from_compiled, load_ruleset
from vlab.ruleset.model import Ruleset

PATH_ENV = "VLAB_RULESETS_PATH"


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


def env_dirs() -> list[Path]:
    """The folders ``VLAB_RULESETS_PATH`` names (``os.pathsep``-separated)."""
    return [Path(p) for p in os.environ.get(PATH_ENV, "").split(os.pathsep) if p]


def _ids_in(folder: Path) -> list[str]:
    if (folder / RULESET_FILE).is_file():  # DIR may be one ruleset's own folder
        return [folder.name]
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / RULESET_FILE).is_file())


class Catalog:
    def __init__(
        self,
        root: Path | None = None,
        extra_dirs: Iterable[Path] = (),
        *,
        use_compiled: bool = True,
    ) -> None:
        self.root = root or default_root()
        self.use_compiled = use_compiled
        self._loaded: dict[str, Ruleset] = {}
        self._loading: set[str] = set()
        self._fingerprints: dict[str, str] = {}
        self._folders: dict[str, Path] = {i: self.root / i for i in _ids_in(self.root)}
        self.shipped = frozenset(self._folders)
        for folder in extra_dirs:
            if not folder.is_dir():
                raise UsageError(f"rulesets folder not found: {folder}")
            for ruleset_id in _ids_in(folder):
                where = folder if (folder / RULESET_FILE).is_file() else folder / ruleset_id
                if ruleset_id in self.shipped:
                    raise UsageError(
                        f"{where}: ruleset id {ruleset_id!r} shadows a shipped ruleset"
                    )
                if ruleset_id in self._folders:
                    raise UsageError(
                        f"{where}: ruleset id {ruleset_id!r} is also in {self._folders[ruleset_id]}"
                    )
                self._folders[ruleset_id] = where

    def ids(self) -> list[str]:
        return sorted(self._folders)

    def get(self, ruleset_id: str) -> Ruleset | None:
        """The ruleset with this id, or None."""
        if ruleset_id in self._loaded:
            return self._loaded[ruleset_id]
        if ruleset_id not in self._folders:
            return None
        path = self._folders[ruleset_id] / RULESET_FILE
        if ruleset_id in self._loading:
            raise RulesetError(str(path), None, f"extends cycle through {ruleset_id}")
        self._loading.add(ruleset_id)
        try:
            ruleset = self._from_compiled(path) or load_ruleset(path, self.parent_document)
        finally:
            self._loading.discard(ruleset_id)
        if ruleset.id != ruleset_id:
            raise RulesetError(str(path), None, f"id {ruleset.id!r} differs from its folder name")
        self._loaded[ruleset_id] = ruleset
        return ruleset

    def fingerprint(self, ruleset_id: str) -> str:
        """Fingerprint of a ruleset's inputs (its parents' included)."""
        if ruleset_id not in self._fingerprints:
            path = self._folders[ruleset_id] / RULESET_FILE
            record = read_compiled(path)
            parent = record.get("extends") if record else None
            parent_fp = (
                self.fingerprint(parent)
                if isinstance(parent, str) and parent in self._folders
                else None
            )
            self._fingerprints[ruleset_id] = fingerprint(path, parent_fp)
        return self._fingerprints[ruleset_id]

    def _from_compiled(self, path: Path) -> Ruleset | None:
        if not self.use_compiled:
            return None
        record = read_compiled(path)
        if record is None or record.get("compiled_format") != 1:
            return None
        parent = record.get("extends")
        if parent is not None and (not isinstance(parent, str) or parent not in self._folders):
            return None
        if record.get("fingerprint") != self.fingerprint(path.parent.name):
            return None
        return from_compiled(path, record)

    def parent_document(self, parent_id: str) -> dict[str, Any]:
        """The resolved document of a ruleset another one ``extends``."""
        parent = self.get(parent_id)
        if parent is None:
            raise UsageError(f"extends names unknown ruleset {parent_id!r}")
        return parent.document

    def resolve(self, id_or_path: str) -> Ruleset:
        """``--ruleset`` / ``rulesets show``: a known id, or a path to a ruleset."""
        ruleset = self.get(id_or_path) if "/" not in id_or_path else None
        if ruleset is not None:
            return ruleset
        path = Path(id_or_path)
        if path.is_dir():
            path = path / RULESET_FILE
        if path.is_file():
            return load_ruleset(path, self.parent_document)
        raise UsageError(f"unknown ruleset {id_or_path!r} (not a known id or a file)")
