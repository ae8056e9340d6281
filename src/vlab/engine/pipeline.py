"""The pipeline: pack reading -> admission -> ruleset -> evaluation -> ruling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError
from vlab.engine.admission import Admission, admit
from vlab.engine.evaluation import evaluate
from vlab.engine.ruling import build_ruling
from vlab.pack.limits import Limits
from vlab.pack.reader import PackReader
from vlab.ruleset.catalog import Catalog
from vlab.ruleset.model import Ruleset


def open_pack(path: Path, limits: Limits | None = None) -> PackReader:
    if not path.exists():
        raise UsageError(f"pack not found: {path}")
    if not path.is_dir():
        name = path.name
        if name.endswith((".tar", ".tar.gz", ".tgz", ".zip")):
            raise UsageError(f"archive packs are not supported in this version: {path}")
        raise UsageError(f"not a pack directory: {path}")
    return PackReader(path, limits)


def admit_pack(path: Path, catalog: Catalog, limits: Limits | None = None) -> Admission:
    return admit(open_pack(path, limits), catalog.get)


def adjudicate(
    path: Path,
    catalog: Catalog,
    *,
    override: Ruleset | None = None,
    limits: Limits | None = None,
    digest: bool = True,
) -> dict[str, Any]:
    """Admit and judge one pack; returns the ruling document. ``digest=False`` skips the
    ruling digest for callers that only compare fields (regress, diff); such a ruling is
    never emitted."""
    reader = open_pack(path, limits)
    admission = admit(reader, catalog.get)
    ruleset = override or admission.pinned
    results = evaluate(ruleset, admission, reader) if admission.admissible and ruleset else []
    return build_ruling(
        admission=admission,
        ruleset=ruleset,
        override=override is not None,
        results=results,
        digest=digest,
    )
