"""Golden vectors of contract 1.2 itself (importers.md §2), whatever the system: what an
imported pack needs to be admitted, and ruleset-1.3 judging a vlab-dialect pack as 1.2
did (it accepts contract 1.0 and 1.1 too)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from scripts.vectors.cases_12 import c12
from scripts.vectors.model import PASS_12, Case, Gate, Imported, imported_case
from vlab.pack.seal import seal

HAL0 = "fixtures/native/hal0/runs/no-cap"


def _edit_import(change: dict[str, object]) -> object:
    def edit(pack: Path) -> None:
        record = json.loads((pack / "import.json").read_bytes())
        record["importer"].update(change)
        (pack / "import.json").write_bytes(
            (json.dumps(record, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        )
        seal(pack)

    return edit


def _pin_ruleset_12(pack: Path) -> None:
    """Re-pin to ruleset-1.2 (its real digest), as a producer pinning by hand might:
    ``vlab import --ruleset ruleset-1.2`` itself refuses, since 1.2 takes no contract 1.2."""
    from vlab.ruleset.catalog import Catalog

    pinned = Catalog().get("ruleset-1.2")
    assert pinned is not None
    bundle = json.loads((pack / "bundle.manifest.json").read_bytes())
    bundle.update(ruleset_ref="ruleset-1.2", schema_bundle_sha256=pinned.schema_bundle_sha256)
    (pack / "bundle.manifest.json").write_bytes(
        (json.dumps(bundle, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    )
    seal(pack)


def _drop_import(pack: Path) -> None:
    (pack / "import.json").unlink()
    seal(pack)


def _case(
    name: str, description: str, edit: object, gate: Gate, ruleset: str = "ruleset-1.3"
) -> Case:
    return imported_case(
        "i13-contract",
        name,
        description,
        Imported("hal0", [HAL0], pin="ruleset-1.3"),
        {},
        after_seal=edit,  # type: ignore[arg-type]
        gate=gate,
        ruleset=ruleset,
    )


CASES: list[Case] = [
    _case(
        "importer-unknown",
        "a hal0 import whose import.json names importer version 99 (resealed): no such "
        "importer, so the pack cannot be re-imported",
        _edit_import({"version": 99}),
        Gate("ADM-GATE-CONTRACT", ["CONTRACT-IMPORTER-UNKNOWN"]),
    ),
    _case(
        "import-record-missing",
        "a hal0 import with import.json removed (resealed): contract 1.2 requires it",
        _drop_import,
        Gate("ADM-GATE-CONTRACT", ["CONTRACT-FILE-MISSING"]),
    ),
    _case(
        "contract-1.2-under-ruleset-1.2",
        "a hal0 import re-pinned to ruleset-1.2 (resealed), which accepts contracts 1.0 and "
        "1.1 only",
        _pin_ruleset_12,
        Gate("ADM-GATE-CONTRACT", ["CONTRACT-VERSION-NOT-ACCEPTED"]),
        ruleset="ruleset-1.2",
    ),
    dataclasses.replace(
        c12(
            "ruleset-1.3-judges-a-1.1-pack",
            "the r12-d1-02 pass-settled pack pinned to ruleset-1.3: a vlab-dialect contract "
            "1.1 pack is judged as ruleset-1.2 judged it (budget_decision and lifecycle "
            "default to true)",
        ),
        group="i13-contract",
        ruleset="ruleset-1.3",
        pinned="ruleset-1.3",
        base=PASS_12,
    ),
]
