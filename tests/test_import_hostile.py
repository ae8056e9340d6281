"""Hostile native bytes never crash an importer or the gate that re-runs it.

For every imported golden-vector case, each native file the importer collected is
replaced by damaged variants (cut short, emptied, not UTF-8, not JSON, numbers no float
can hold, nesting past the bound, duplicate keys). ``derive`` must either make strict
derived files or refuse with ``ImportRefused``; a pack sealed around the damaged bytes
must be judged (ADMISSIBLE or NOT_ADMISSIBLE), never raise."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scripts.make_vectors import ALL_CASES, ROOT

from vlab.core import strictjson
from vlab.engine.pipeline import adjudicate
from vlab.importers import registry
from vlab.importers.api import import_pack
from vlab.importers.base import NATIVE, ImportRefused
from vlab.importers.build import derived_files
from vlab.pack.limits import artifact_kind
from vlab.pack.seal import seal
from vlab.ruleset.catalog import Catalog

Mutation = Callable[[bytes], bytes]
MUTATIONS: dict[str, Mutation] = {
    "empty": lambda b: b"",
    "half": lambda b: b[: len(b) // 2],
    "last-byte-cut": lambda b: b[:-1],
    "not-utf8": lambda b: b"\xff\xfe" + b[2:],
    "garbage": lambda b: b"\x00{[not json\n",
    "huge-number": lambda b: b'{"cost_usd": 1e999999, "ts": 1e999999}\n',
    "deep": lambda b: b"[" * 5000 + b"]" * 5000 + b"\n",
    "dup-keys": lambda b: b'{"a": 1, "a": 2}\n',
    "wrong-types": lambda b: b'{"schemaVersion": 7, "ts": [], "cost_usd": "x", "rows": {}}\n',
    "doubled": lambda b: b + b,
}

CASES = [c for c in ALL_CASES if c.imported is not None and c.gate is None]


def _sources(case_sources: list[str]) -> list[Path]:
    return [ROOT / s for s in case_sources]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def _first_case_per_system() -> list[object]:
    seen: dict[str, object] = {}
    for case in CASES:
        assert case.imported is not None
        seen.setdefault(case.imported.system, case)
    return list(seen.values())


@pytest.mark.parametrize("case", _first_case_per_system(), ids=lambda c: c.vector_id)  # type: ignore[attr-defined]
def test_damaged_native_bytes_derive_strictly_or_are_refused(
    case: object, tmp_path: Path, catalog: Catalog
) -> None:
    spec = case.imported  # type: ignore[attr-defined]
    pack = tmp_path / "pack"
    options = {
        k: (ROOT / v if k in ("checks", "eval", "admission", "contract") else v)
        for k, v in spec.options.items()
    }
    import_pack(spec.system, _sources(list(spec.sources)), pack, catalog=catalog, **options)
    importer = registry.get(spec.system)
    assert importer is not None
    native = {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted((pack / NATIVE).rglob("*"))
        if p.is_file()
    }
    import json

    recorded = json.loads((pack / "import.json").read_bytes())["options"]
    judged = 0
    for path in native:
        for mutate in MUTATIONS.values():
            damaged = {**native, path: mutate(native[path])}
            try:
                files = derived_files(importer, damaged, recorded)
            except ImportRefused:
                continue
            for rel, data in files.items():
                kind = artifact_kind(rel)
                if kind == "json":
                    strictjson.loads(data)  # derived JSON is strict, whatever native was
                elif kind == "ndjson":
                    for line in data.splitlines():
                        strictjson.loads(line)
            judged += 1
        # One damaged pack per native file goes through the whole pipeline.
        target = pack / path
        original = target.read_bytes()
        target.write_bytes(MUTATIONS["half"](original))
        seal(pack)
        ruling = adjudicate(pack, catalog)
        assert ruling.admission.status in ("ADMISSIBLE", "NOT_ADMISSIBLE")
        target.write_bytes(original)
    seal(pack)
    assert adjudicate(pack, catalog).admission.status == "ADMISSIBLE"
    assert judged > 0  # some damage is imported as evidence, not refused
