"""``vlab.importers.import_pack``: read a system's output, write a sealed contract-1.2
pack (what ``vlab import`` runs)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vlab.core.errors import UsageError
from vlab.importers import registry
from vlab.importers.base import IMPORT_FILE, NATIVE, Importer, ImportRefused
from vlab.importers.build import CONTRACT_VERSION, derived_files, refuse_inadmissible
from vlab.pack.archive import write_archive
from vlab.pack.limits import archive_kind, artifact_kind
from vlab.pack.seal import seal

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog

# While ruleset-1.3 is a draft, import pins it anyway (importers.md §1).
DEFAULT_RULESET = "ruleset-1.3"
PROTOCOL_PIN = "1.0.0"


@dataclass(frozen=True)
class ImportResult:
    pack: Path
    files_read: int
    records_derived: int
    notes: tuple[str, ...]


def importer_for(system: str) -> Importer:
    found = registry.get(system)
    if found is None:
        raise UsageError(
            f"unknown system {system!r}; vlab imports: {', '.join(registry.systems())}"
        )
    return found


def import_pack(
    system: str,
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    ruleset: str | None = None,
    run_id: str | None = None,
    force: bool = False,
    catalog: Catalog | None = None,
    **options: Any,
) -> ImportResult:
    """Import ``sources`` (as ``system`` wrote them) into a sealed pack at ``out``.

    Raises ``UsageError`` (exit 64: unknown system, no source, a path that does not
    exist, a non-empty ``out`` without ``force``) and ``ImportRefused`` (exit 65: the path
    is not that system's output). Damaged native evidence is imported as it is.
    """
    importer = importer_for(system)
    paths = [Path(s) for s in sources]
    if not paths:
        raise UsageError(f"vlab import {system}: give at least one SOURCE")
    for path in paths:
        if not path.exists():
            raise UsageError(f"no such file or folder: {path}")
    unknown = sorted(set(options) - set(importer.options))
    if unknown:
        raise UsageError(f"vlab import {system}: unknown option(s) {', '.join(unknown)}")
    given = {k: v for k, v in options.items() if v is not None}
    collected = importer.collect(paths, given)
    native = {f"{NATIVE}/{system}/{rel}": data for rel, data in collected.native.items()}
    recorded = {**_pins(ruleset or importer.default_ruleset, catalog), **collected.options}
    if run_id is not None:
        recorded["run_id"] = run_id
    files = derived_files(importer, native, recorded)
    refuse_inadmissible(files, str(paths[0]))
    target = Path(out)
    if archive_kind(target.name) is None:
        _prepare(target, force)
        _write(target, {**native, **files}, paths[0])
    else:  # an archive pack: sealed in a scratch folder, then archived (scale.md §1)
        _prepare_archive(target, force)
        with tempfile.TemporaryDirectory(prefix="vlab-import-") as scratch:
            folder = Path(scratch) / "pack"
            folder.mkdir()
            _write(folder, {**native, **files}, paths[0])
            write_archive(folder, target)
    notes = tuple(_notes(files))
    derived = sum(
        data.count(b"\n") for rel, data in files.items() if artifact_kind(rel) == "ndjson"
    )
    return ImportResult(target, len(native), derived, notes)


def _pins(ruleset_id: str, catalog: Catalog | None) -> dict[str, Any]:
    if catalog is None:
        from vlab.ruleset.catalog import Catalog

        catalog = Catalog()
    pinned = catalog.get(ruleset_id)
    if pinned is None:
        raise UsageError(f"unknown ruleset {ruleset_id!r}")
    if CONTRACT_VERSION not in pinned.contract_versions:
        # The pack would be NOT_ADMISSIBLE whatever it holds: say so before writing it.
        raise UsageError(
            f"{ruleset_id} accepts contracts {', '.join(pinned.contract_versions)}; an "
            f"imported pack is contract {CONTRACT_VERSION}"
        )
    return {
        "ruleset_ref": ruleset_id,
        "protocol_pin": PROTOCOL_PIN,
        "schema_bundle_sha256": pinned.schema_bundle_sha256,
    }


def _prepare(target: Path, force: bool) -> None:
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UsageError(f"--out {target} exists and is not a folder")
    if target.is_dir() and any(target.iterdir()):
        if not force:
            raise UsageError(f"--out {target} is not empty (give --force to replace it)")
        if not ((target / "manifest.json").is_file() or (target / "integrity").is_dir()):
            # --force replaces a pack, never an arbitrary folder.
            raise UsageError(f"--out {target} is not empty and is not a pack; not replacing it")
        shutil.rmtree(target)
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {target}: cannot make the folder ({exc.strerror})") from None


def _write(target: Path, files: dict[str, bytes], source: Path) -> None:
    for rel, data in sorted(files.items()):
        dest = target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
    try:
        seal(target)
    except UsageError as exc:
        # A native file the SECURITY gate refuses (a line over the bound, a name it cannot
        # hold): no pack of this source can be admitted, so none is left behind.
        shutil.rmtree(target)
        raise ImportRefused(str(source), f"files a pack can hold ({exc})") from None


def _prepare_archive(target: Path, force: bool) -> None:
    if target.is_symlink() or (target.exists() and not target.is_file()):
        raise UsageError(f"--out {target} exists and is not a file")
    if target.exists() and not force:
        raise UsageError(f"--out {target} exists (give --force to replace it)")
    if not target.parent.is_dir():
        raise UsageError(f"--out {target}: no folder {target.parent}")


def _notes(files: dict[str, bytes]) -> list[str]:
    from vlab.importers.base import load_json

    record = load_json(files[IMPORT_FILE])
    return [str(n) for n in record.get("notes", [])]


__all__ = ["ImportRefused", "ImportResult", "import_pack", "importer_for"]
