"""Build every golden vector under evidence_packs/ from the declarative cases.

    python -m scripts.make_vectors [--out DIR]

Each vector is ``<group>/<name>/pack/`` (sealed with ``vlab pack seal``) plus
``<group>/<name>/expected.json`` written from the case, not from running the engine.
The output is byte-for-byte reproducible; tests/test_vectors.py checks the committed tree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

from scripts.vectors.cases_11 import CASES as CASES_11
from scripts.vectors.cases_12 import CASES as CASES_12
from scripts.vectors.cases_archive import CASES as CASES_ARCHIVE
from scripts.vectors.cases_caps import CASES as CASES_CAPS
from scripts.vectors.cases_import_agentplane import CASES as CASES_AGENTPLANE
from scripts.vectors.cases_import_agentv import CASES as CASES_AGENTV
from scripts.vectors.cases_import_contract import CASES as CASES_CONTRACT
from scripts.vectors.cases_import_hal0 import CASES as CASES_HAL0
from scripts.vectors.cases_import_mplp import CASES as CASES_MPLP
from scripts.vectors.cases_import_runcap import CASES as CASES_RUNCAP
from scripts.vectors.cases_mission import CASES as CASES_MISSION
from scripts.vectors.cases_trust import CASES as CASES_TRUST
from scripts.vectors.model import (
    LOG,
    TRUST_POLICY,
    Archive,
    Case,
    JSONObject,
    base_events,
    base_pointers,
    expectation,
    override,
    test_key,
)
from vlab.pack.seal import seal
from vlab.pack.signatures import key_signer, sign_pack
from vlab.producer.packwriter import PackWriter
from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
ALL_CASES: list[Case] = [
    *CASES_11,
    *CASES_12,
    *CASES_CAPS,
    *CASES_MISSION,
    *CASES_AGENTPLANE,
    *CASES_HAL0,
    *CASES_AGENTV,
    *CASES_CONTRACT,
    *CASES_RUNCAP,
    *CASES_MPLP,
    *CASES_TRUST,
    *CASES_ARCHIVE,
]
KEEP = {"README.md"}


def build(case: Case, folder: Path, catalog: Catalog) -> None:
    pinned = catalog.get(case.pinned)
    assert pinned is not None, case.pinned
    if case.imported is not None:
        _build_imported(case, folder, catalog)
        return
    writer = PackWriter(folder / "pack")
    if case.produce is not None:
        case.produce(writer.root)
    elif case.events_bytes is not None:
        writer.write_bytes(LOG, case.events_bytes)
    else:
        writer.write_ndjson(LOG, case.events if case.events is not None else base_events())
    for rel, content in case.files.items():
        if isinstance(content, bytes):
            writer.write_bytes(rel, content)
        else:
            writer.write_json(rel, content)
    manifest: JSONObject = {
        "pack_id": case.name,
        "contract_version": "1.1",
        "protocol_version": "1.0.0",
        "created_at": "2026-05-29T10:00:00Z",
    }
    bundle: JSONObject = {
        "run_id": f"run-{case.name}",
        "ruleset_ref": case.pinned,
        "protocol_pin": "1.0.0",
        "schema_bundle_sha256": pinned.schema_bundle_sha256,
    }
    if case.scenario is not None:
        bundle["scenario_meta"] = case.scenario
    writer.write_json("manifest.json", override(manifest, case.manifest))
    writer.write_json("bundle.manifest.json", override(bundle, case.bundle))
    pointers = case.pointers if case.pointers is not None else base_pointers()
    writer.write_json("evidence_pointers.json", {"pointers": pointers})
    if case.before_seal:
        case.before_seal(writer.root)
    seal(writer.root)
    for name in case.signers:
        sign_pack(writer.root, key_signer(test_key(name)))
    if case.trusted is not None:
        (folder / TRUST_POLICY).write_text(trust_policy(case), "utf-8")
    if case.after_seal:
        case.after_seal(writer.root)
        _prune_empty_folders(writer.root)
    if case.archive is not None:
        _archive(case.archive, folder)
    clause_ids: list[str] = []
    if case.ruleset is not None:
        ruleset = catalog.get(case.ruleset)
        assert ruleset is not None, case.ruleset
        clause_ids = [c.clause_id for c in ruleset.clauses]
    text = json.dumps(expectation(case, clause_ids), indent=2, ensure_ascii=False) + "\n"
    (folder / "expected.json").write_text(text, "utf-8")


def _archive(spec: Archive, folder: Path) -> None:
    """Replace the vector's pack/ folder by the archive the case describes."""
    from vlab.pack.archive import Entry, archive_bytes, folder_entries
    from vlab.pack.limits import archive_kind

    kind = archive_kind("pack" + spec.ending)
    assert kind is not None, spec.ending
    entries = folder_entries(folder / "pack", spec.top)
    if spec.dot:
        entries = [Entry(".", "dir"), *(Entry("./" + e.name, e.kind, e.data) for e in entries)]
    if spec.entries is not None:
        entries = spec.entries(entries)
    data = archive_bytes(entries, kind)
    if spec.raw is not None:
        data = spec.raw(data)
    (folder / f"pack{spec.ending}").write_bytes(data)
    shutil.rmtree(folder / "pack")


def _build_imported(case: Case, folder: Path, catalog: Catalog) -> None:
    """``vlab import`` of real output (a scratch copy when the case edits it first)."""
    from vlab.importers import import_pack

    spec = case.imported
    assert spec is not None
    with tempfile.TemporaryDirectory() as scratch:
        sources = [ROOT / s for s in spec.sources]
        if spec.edit_source is not None:
            copy_root = Path(scratch) / "src"
            for rel, src in zip(spec.sources, sources, strict=False):
                dest = copy_root / rel
                if src.is_dir():
                    shutil.copytree(src, dest)
                else:
                    dest.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(src, dest)
            spec.edit_source(copy_root)
            sources = [copy_root / s for s in spec.sources]
        options = {
            k: (ROOT / v if k in PATH_OPTIONS and isinstance(v, str) else v)
            for k, v in spec.options.items()
        }
        import_pack(
            spec.system,
            sources,
            folder / "pack",
            ruleset=spec.pin or case.pinned,
            catalog=catalog,
            **options,
        )
    if case.after_seal:
        case.after_seal(folder / "pack")
        _prune_empty_folders(folder / "pack")
    clause_ids: list[str] = []
    if case.ruleset is not None:
        ruleset = catalog.get(case.ruleset)
        assert ruleset is not None, case.ruleset
        clause_ids = [c.clause_id for c in ruleset.clauses]
    text = json.dumps(expectation(case, clause_ids), indent=2, ensure_ascii=False) + "\n"
    (folder / "expected.json").write_text(text, "utf-8")


# Import options that name files (repository-relative in a case).
PATH_OPTIONS = frozenset({"checks", "eval", "admission", "contract", "repo"})


def _prune_empty_folders(root: Path) -> None:
    """Drop the folders an after-seal edit left empty: git keeps no empty folder, so the
    committed corpus has none."""
    for path in sorted(root.rglob("*"), reverse=True):
        if path.is_dir() and not path.is_symlink() and not any(path.iterdir()):
            path.rmdir()


def trust_policy(case: Case) -> str:
    """The vector's policy: the trusted TEST-ONLY public keys, inline (a vector folder
    stands alone)."""
    lines = ["# A trust policy for a golden vector: TEST-ONLY keys (fixtures/keys).", "keys:"]
    for name in case.trusted or ():
        pem = test_key(name, ".pub").read_text("ascii").strip().splitlines()
        lines += [f"  - name: {name}", "    public_key: |", *(f"      {x}" for x in pem)]
    lines.append(f"require: {case.require}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "evidence_packs")
    args = parser.parse_args(argv)
    out: Path = args.out
    ids = [c.vector_id for c in ALL_CASES]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise SystemExit(f"duplicate vector ids: {duplicates}")
    out.mkdir(parents=True, exist_ok=True)
    for child in out.iterdir():
        if child.name not in KEEP:
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    catalog = Catalog()
    for case in ALL_CASES:
        build(case, out / case.group / case.name, catalog)
    print(f"built {len(ALL_CASES)} vectors under {out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
