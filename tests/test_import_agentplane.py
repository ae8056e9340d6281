"""``vlab import agentplane``: agentplane's real files in, a reproducible contract-1.2 pack
out (importers.md §3); what is not agentplane's output is refused (65); ``vlab receipt
check`` gives agentplane's own validator's answer on its six fixtures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.core.errors import UsageError
from vlab.engine.pipeline import adjudicate
from vlab.importers import registry
from vlab.importers.api import import_pack
from vlab.importers.base import ImportRefused
from vlab.importers.build import derived_files
from vlab.ruleset.catalog import Catalog

if TYPE_CHECKING:
    from conftest import Runner

ROOT = Path(__file__).resolve().parent.parent
AGENTPLANE = ROOT / "fixtures" / "native" / "agentplane"
RECEIPTS = AGENTPLANE / "tests" / "fixtures" / "receipts"
MADE = AGENTPLANE / "made"
SETTLED = RECEIPTS / "budget-settlement-receipt.settled.valid.json"
ADMIT = MADE / "attempt-admission-receipt.alpha-001.admit.json"
REJECT = MADE / "attempt-admission-receipt.alpha-001.reject.json"
CONTRACT = MADE / "governed-run-contract.alpha-001.json"
SEED_CODES = {
    "missing-admission-ref.invalid": "RCPT-ADMISSION-REF-MISSING",
    "missing-actuals.invalid": "RCPT-ACTUALS-MISSING",
    "negative-actual.invalid": "RCPT-NEGATIVE-COUNTER",
    "hidden-overrun.invalid": "RCPT-OVERRUN-HIDDEN",
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


def files(pack: Path) -> dict[str, bytes]:
    return {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted(pack.rglob("*"))
        if p.is_file()
    }


def clause(pack: Path, catalog: Catalog) -> dict[str, Any]:
    ruling = adjudicate(pack, catalog).to_json()
    assert ruling["admission"]["status"] == "ADMISSIBLE", ruling["admission"]
    found = next(c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-02")
    assert isinstance(found, dict)
    return found


def test_the_importer_is_registered() -> None:
    importer = registry.get("agentplane")
    assert importer is not None and importer.version == 1
    assert set(importer.options) == {"admission", "contract"}


def test_a_pack_with_admission_and_contract(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "pack"
    result = import_pack(
        "agentplane", [SETTLED], pack, catalog=catalog, admission=ADMIT, contract=CONTRACT
    )
    got = files(pack)
    assert (
        got["native/agentplane/receipts/budget-settlement-receipt.settled.valid.json"]
        == SETTLED.read_bytes()
    )
    assert (
        got["native/agentplane/admission/attempt-admission-receipt.alpha-001.admit.json"]
        == ADMIT.read_bytes()
    )
    assert (
        got["native/agentplane/contract/governed-run-contract.alpha-001.json"]
        == CONTRACT.read_bytes()
    )
    assert got["artifacts/budget/settlement_receipt.json"] == SETTLED.read_bytes()
    assert got["artifacts/budget/admission_receipt.json"] == ADMIT.read_bytes()
    assert got["artifacts/budget/governed_run_contract.json"] == CONTRACT.read_bytes()
    bundle = json.loads(got["bundle.manifest.json"])
    assert bundle["run_id"] == "governed-run-alpha-001"
    assert bundle["scenario_meta"] == {
        "settlement_expected": True,
        "budget_decision": False,
        "lifecycle": False,
        "privileged_action": False,
        "termination_case": False,
        "spend_cap": False,
        "eval_matrix": False,
        "mission_policy": False,
    }
    manifest = json.loads(got["manifest.json"])
    assert manifest["created_at"] == "2026-05-22T12:45:00Z"  # issued_at, before settled_at
    assert manifest["pack_id"] == "agentplane-governed-run-alpha-001"
    pointers = json.loads(got["evidence_pointers.json"])["pointers"]
    assert [(p["requirement_id"], p["artifact_path"], p["locator"]) for p in pointers] == [
        ("RQ-D1-02", "artifacts/budget/settlement_receipt.json", "file:")
    ]
    record = json.loads(got["import.json"])
    assert record["claims"]["settlements"][0]["settlement_status"] == "settled"
    assert record["claims"]["settlements"][0]["overrun"]["actual_cost_usd"] == "0.18"
    assert record["claims"]["admission"]["admission_decision"] == "admit"
    assert not any("--admission" in n for n in record["notes"])
    assert result.files_read == 3
    assert clause(pack, catalog)["status"] == "PASS"


def test_without_admission_the_note_says_what_cannot_be_shown(
    tmp_path: Path, catalog: Catalog
) -> None:
    pack = tmp_path / "pack"
    result = import_pack("agentplane", [SETTLED], pack, catalog=catalog)
    assert any("cannot resolve" in n for n in result.notes)
    found = clause(pack, catalog)
    assert [d["code"] for d in found["details"]] == ["RCPT-ADMISSION-REF-UNRESOLVED"]


def test_settled_after_reject_fails(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "pack"
    import_pack("agentplane", [SETTLED], pack, catalog=catalog, admission=REJECT)
    claims = json.loads((pack / "import.json").read_bytes())["claims"]
    assert claims["admission"] == {
        "source": {"artifact_path": f"native/agentplane/admission/{REJECT.name}"},
        "admission_decision": "reject",
        "admitted": False,
        "reason_code": "authority_suspended",
    }
    assert [d["code"] for d in clause(pack, catalog)["details"]] == ["RCPT-SETTLED-AFTER-DENY"]


# -- determinism ---------------------------------------------------------------------------


def test_import_twice_gives_identical_bytes(tmp_path: Path, catalog: Catalog) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        import_pack(
            "agentplane", [SETTLED], out, catalog=catalog, admission=ADMIT, contract=CONTRACT
        )
    assert files(a) == files(b)


def test_the_same_files_from_two_folders_give_the_same_pack(
    tmp_path: Path, catalog: Catalog
) -> None:
    packs = []
    for where in ("first/deep/folder", "second"):
        folder = tmp_path / where
        folder.mkdir(parents=True)
        for src in (SETTLED, ADMIT, CONTRACT):
            shutil.copyfile(src, folder / src.name)
        out = tmp_path / f"pack-{len(packs)}"
        import_pack(
            "agentplane",
            [folder / SETTLED.name],
            out,
            catalog=catalog,
            admission=str(folder / ADMIT.name),
            contract=folder / CONTRACT.name,
        )
        packs.append(files(out))
        for data in packs[-1].values():
            assert str(tmp_path).encode() not in data  # no machine path recorded
    assert packs[0] == packs[1]


def test_derive_is_pure_and_reproduces_the_pack(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "pack"
    import_pack("agentplane", [SETTLED], pack, catalog=catalog, admission=ADMIT)
    got = files(pack)
    importer = registry.get("agentplane")
    assert importer is not None
    native = {p: d for p, d in got.items() if p.startswith("native/")}
    options = json.loads(got["import.json"])["options"]
    remade = derived_files(importer, native, options)
    assert remade == {p: d for p, d in got.items() if not p.startswith(("native/", "integrity/"))}


def test_several_receipts_one_pointer_each(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "pack"
    hidden = RECEIPTS / "budget-settlement-receipt.hidden-overrun.invalid.json"
    result = import_pack("agentplane", [SETTLED, hidden], pack, catalog=catalog)
    got = files(pack)
    # In the order of their native names: hidden-overrun.invalid before settled.valid.
    assert got["artifacts/budget/settlement_receipt-1.json"] == hidden.read_bytes()
    assert got["artifacts/budget/settlement_receipt-2.json"] == SETTLED.read_bytes()
    assert "artifacts/budget/settlement_receipt.json" not in got
    pointers = json.loads(got["evidence_pointers.json"])["pointers"]
    assert [p["artifact_path"] for p in pointers] == [
        "artifacts/budget/settlement_receipt-1.json",
        "artifacts/budget/settlement_receipt-2.json",
    ]
    assert any("every one of them" in n for n in result.notes)
    # run_id from the first receipt; the other names another run.
    assert json.loads(got["bundle.manifest.json"])["run_id"] == "governed-run-invalid-004"
    other = tmp_path / "reversed"
    import_pack("agentplane", [hidden, SETTLED], other, catalog=catalog)
    assert files(other) == got


def test_created_at_is_the_earliest_timestamp_in_utc(tmp_path: Path, catalog: Catalog) -> None:
    text = SETTLED.read_text("utf-8").replace(
        '"2026-05-22T13:00:00Z"', '"2026-05-22T14:00:00.250+02:00"'
    )
    src = tmp_path / "r.json"
    src.write_text(text, "utf-8")
    import_pack("agentplane", [src], tmp_path / "pack", catalog=catalog, admission=ADMIT)
    manifest = json.loads((tmp_path / "pack" / "manifest.json").read_bytes())
    assert manifest["created_at"] == "2026-05-22T12:00:00.25Z"


def test_names_are_made_safe(tmp_path: Path, catalog: Catalog) -> None:
    src = tmp_path / "my receipt"
    shutil.copyfile(SETTLED, src)
    import_pack("agentplane", [src], tmp_path / "pack", catalog=catalog)
    assert (
        tmp_path / "pack/native/agentplane/receipts/my_receipt.json"
    ).read_bytes() == SETTLED.read_bytes()
    assert clause(tmp_path / "pack", catalog)["status"] == "FAIL"  # unresolved, but judged


def test_two_files_with_one_name_are_a_usage_error(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    shutil.copyfile(SETTLED, tmp_path / "a" / "r.json")
    shutil.copyfile(SETTLED, tmp_path / "b" / "r.json")
    with pytest.raises(UsageError, match="distinct names"):
        import_pack(
            "agentplane",
            [tmp_path / "a/r.json", tmp_path / "b/r.json"],
            tmp_path / "p",
            catalog=catalog,
        )


def test_a_receipt_without_run_id_still_imports(tmp_path: Path, catalog: Catalog) -> None:
    doc = json.loads(SETTLED.read_text("utf-8"))
    del doc["run_id"]
    src = tmp_path / "r.json"
    src.write_text(json.dumps(doc), "utf-8")
    result = import_pack("agentplane", [src], tmp_path / "pack", catalog=catalog, admission=ADMIT)
    run_id = json.loads((tmp_path / "pack/bundle.manifest.json").read_bytes())["run_id"]
    assert run_id.startswith("unnamed-") and any(run_id in n for n in result.notes)
    codes = [d["code"] for d in clause(tmp_path / "pack", catalog)["details"]]
    assert codes == ["RCPT-SCHEMA-INVALID", "RCPT-IDENTITY-MISMATCH"]


# -- refusals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("not-utf8.json", b'\xff\xfe{"schemaVersion": 1}', "not valid UTF-8"),
        (
            "not-json.json",
            b"schemaVersion: agentplane.budget-settlement-receipt.v0.1\n",
            "not JSON",
        ),
        (
            "nan.json",
            b'{"schemaVersion": "agentplane.budget-settlement-receipt.v0.1", "x": NaN}',
            "not JSON",
        ),
        (
            "dup.json",
            b'{"schemaVersion": "agentplane.budget-settlement-receipt.v0.1", "schemaVersion": "x"}',
            "duplicate key",
        ),
        ("surrogate.json", b'{"schemaVersion": "\\ud800"}', "lone surrogate"),
        ("array.json", b'["agentplane.budget-settlement-receipt.v0.1"]', "not a JSON object"),
        ("empty.json", b"", "not JSON"),
        ("old.json", b'{"schemaVersion": "agentplane.budget-settlement-receipt.v0.0"}', "v0.0"),
        ("vlab.json", b'{"schema": "BudgetSettlementReceipt/v0.1"}', "no schemaVersion"),
    ],
)
def test_what_is_not_agentplanes_receipt_is_refused(
    name: str, data: bytes, says: str, tmp_path: Path, catalog: Catalog
) -> None:
    src = tmp_path / name
    src.write_bytes(data)
    with pytest.raises(ImportRefused, match=says) as refused:
        import_pack("agentplane", [src], tmp_path / "pack", catalog=catalog)
    assert "BudgetSettlementReceipt" in refused.value.expected
    assert not (tmp_path / "pack").exists()


def test_the_wrong_record_in_each_place_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(ImportRefused, match="BudgetSettlementReceipt"):
        import_pack("agentplane", [ADMIT], tmp_path / "p1", catalog=catalog)
    with pytest.raises(ImportRefused, match="AttemptAdmissionReceipt"):
        import_pack("agentplane", [SETTLED], tmp_path / "p2", catalog=catalog, admission=CONTRACT)
    with pytest.raises(ImportRefused, match="GovernedRunContract"):
        import_pack("agentplane", [SETTLED], tmp_path / "p3", catalog=catalog, contract=ADMIT)
    with pytest.raises(ImportRefused, match="a folder"):
        import_pack("agentplane", [RECEIPTS], tmp_path / "p4", catalog=catalog)
    with pytest.raises(UsageError, match="--admission"):
        import_pack(
            "agentplane",
            [SETTLED],
            tmp_path / "p5",
            catalog=catalog,
            admission=tmp_path / "nope.json",
        )


def test_derive_refuses_native_files_outside_its_layout() -> None:
    importer = registry.get("agentplane")
    assert importer is not None
    good = {"receipts/r.json": SETTLED.read_bytes()}
    importer.derive(good, {})
    for native in (
        {},
        {**good, "notes.txt.json": b"{}"},
        {**good, "receipts/deeper/r.json": SETTLED.read_bytes()},
        {"receipts/r.json": b"\xff"},
        {**good, "admission/a.json": ADMIT.read_bytes(), "admission/b.json": ADMIT.read_bytes()},
        {**good, "admission/a.json": SETTLED.read_bytes()},
    ):
        with pytest.raises(ImportRefused):
            importer.derive(native, {})


def test_the_command_line_exits_65_on_a_wrong_schema_version(vlab: Runner, tmp_path: Path) -> None:
    proc = vlab("import", "agentplane", ADMIT, "--out", tmp_path / "pack", text=True)
    assert proc.returncode == 65, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "schemaVersion 'agentplane.attempt-admission-receipt.v0.1'" in proc.stderr
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\x80\x81 not utf-8")
    proc = vlab("import", "agentplane", bad, "--out", tmp_path / "pack", text=True)
    assert proc.returncode == 65 and "not valid UTF-8" in proc.stderr


def test_the_command_line_imports_with_admission(vlab: Runner, tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    proc = vlab("import", "agentplane", SETTLED, "--admission", REJECT, "--out", pack, text=True)
    assert proc.returncode == 0, proc.stderr
    judged = vlab("adjudicate", pack, "--format", "json", text=True)
    assert judged.returncode == 1
    ruling = json.loads(judged.stdout)
    d102 = next(c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-02")
    assert [d["code"] for d in d102["details"]] == ["RCPT-SETTLED-AFTER-DENY"]


# -- vlab receipt check on agentplane's six fixtures ---------------------------------------


def test_receipt_check_gives_agentplanes_verdicts(vlab: Runner) -> None:
    six = sorted(RECEIPTS.glob("budget-settlement-receipt.*.json"))
    assert len(six) == 6
    proc = vlab("receipt", "check", "--format", "json", *six, text=True)
    assert proc.returncode == 1, proc.stderr
    rows = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    verdicts = {}
    for line in (AGENTPLANE / "verdicts.txt").read_text("utf-8").splitlines():
        name, rc, *_ = line.split("\t")
        verdicts[name] = rc == "rc=0"
    assert {n: r["valid"] for n, r in rows.items()} == verdicts
    assert sum(verdicts.values()) == 2
    for name, row in rows.items():
        kind = name.removeprefix("budget-settlement-receipt.").removesuffix(".json")
        if kind in SEED_CODES:
            assert SEED_CODES[kind] in row["codes"], (name, row["codes"])
        else:
            assert row["codes"] == []


def test_receipt_check_table_names_each_file(vlab: Runner) -> None:
    proc = vlab(
        "receipt",
        "check",
        SETTLED,
        RECEIPTS / "budget-settlement-receipt.hidden-overrun.invalid.json",
        text=True,
    )
    assert proc.returncode == 1
    assert "VALID " in proc.stdout and "INVALID " in proc.stdout
    assert "RCPT-OVERRUN-HIDDEN" in proc.stdout
    assert vlab("receipt", "check", SETTLED, text=True).returncode == 0


def test_receipt_check_under_1_2_knows_only_vlabs_dialect(vlab: Runner) -> None:
    proc = vlab(
        "receipt", "check", "--ruleset", "ruleset-1.2", "--format", "json", SETTLED, text=True
    )
    assert proc.returncode == 1
    assert "RCPT-SCHEMA-INVALID" in json.loads(proc.stdout)[0]["codes"]


def test_vlabs_own_receipts_are_judged_the_same_under_1_2_and_1_3(vlab: Runner) -> None:
    own = sorted((ROOT / "fixtures" / "receipts").glob("*.json"))
    runs = [
        json.loads(
            vlab("receipt", "check", "--ruleset", rs, "--format", "json", *own, text=True).stdout
        )
        for rs in ("ruleset-1.2", "ruleset-1.3")
    ]
    assert runs[0] == runs[1]
