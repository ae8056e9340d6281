"""Contract 1.2: an imported pack is admitted only when its importer, run again on the
sealed native/ bytes with the recorded options, makes every other file byte for byte
(importers.md §2). A toy importer keeps these tests independent of any real system."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from vlab.core.errors import UsageError
from vlab.engine.pipeline import adjudicate
from vlab.importers import registry
from vlab.importers.api import import_pack
from vlab.importers.base import (
    Collected,
    Derived,
    Importer,
    ImportRefused,
    json_bytes,
    lines,
    load_json,
    money_text,
    native_path,
    ndjson_bytes,
    source,
)
from vlab.pack.seal import seal
from vlab.ruleset.catalog import Catalog


def _collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    data = sources[0].read_bytes()
    if not data.startswith(b"TOY"):
        raise ImportRefused(sources[0].name, "a toy ledger starting with TOY")
    return Collected({"ledger.txt": data}, {"label": options.get("label", "none")})


def _derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    data = native.get("ledger.txt")
    if data is None or not data.startswith(b"TOY"):
        raise ImportRefused("ledger.txt", "a toy ledger")
    where = native_path("toy", "ledger.txt")
    events = [
        {
            "event_id": f"toy:{n}",
            "event_type": "toy.line",
            "text": raw.decode("utf-8", "replace"),
            "source": source(where, line=n),
        }
        for n, raw, _ in lines(data)
        if n > 1
    ]
    return Derived(
        files={"trace/events.ndjson": ndjson_bytes(events)},
        pointers=[],
        run_id="toy-run",
        created_at="2026-05-29T10:00:00Z",
        scenario_meta=dict.fromkeys(
            (
                "budget_decision",
                "lifecycle",
                "privileged_action",
                "termination_case",
                "settlement_expected",
                "spend_cap",
                "eval_matrix",
                "mission_policy",
            ),
            False,
        ),
        claims={"label": options.get("label")},
        evidence={"lines": len(events)},
        notes=["a toy: nothing is judged"],
    )


TOY = Importer("toy", 1, "a toy for tests", _collect, _derive, {"label": "a label"})


@pytest.fixture(autouse=True)
def _toy(monkeypatch: pytest.MonkeyPatch) -> None:
    table = {**registry.importers(), ("toy", 1): TOY}
    monkeypatch.setattr(registry, "importers", lambda: table)


def _source(tmp_path: Path, name: str = "src") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "ledger.txt").write_bytes(b"TOY\nfirst\nsecond\n")
    return folder / "ledger.txt"


def _files(pack: Path) -> dict[str, bytes]:
    return {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted(pack.rglob("*"))
        if p.is_file()
    }


def _ruling(pack: Path) -> Any:
    return adjudicate(pack, Catalog())


def test_an_imported_pack_is_admitted_and_its_files_are_the_importers(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    result = import_pack("toy", [_source(tmp_path)], pack, label="x")
    assert result.files_read == 1 and result.notes == ("a toy: nothing is judged",)
    files = _files(pack)
    assert set(files) == {
        "native/toy/ledger.txt",
        "import.json",
        "manifest.json",
        "bundle.manifest.json",
        "evidence_pointers.json",
        "trace/events.ndjson",
        "integrity/sha256sums.txt",
    }
    record = json.loads(files["import.json"])
    assert record["importer"] == {"system": "toy", "version": 1}
    assert record["options"]["label"] == "x" and record["options"]["ruleset_ref"] == "ruleset-1.3"
    assert record["sources"][0]["path"] == "native/toy/ledger.txt"
    assert json.loads(files["manifest.json"])["contract_version"] == "1.2"
    ruling = _ruling(pack)
    assert ruling.admission.status == "ADMISSIBLE", ruling.admission
    assert ruling.topline == "NOT_EVALUATED"  # every clause's flag is false


def test_importing_twice_from_two_folders_gives_identical_bytes(tmp_path: Path) -> None:
    import_pack("toy", [_source(tmp_path, "a")], tmp_path / "p1")
    import_pack("toy", [_source(tmp_path, "b")], tmp_path / "p2")
    assert _files(tmp_path / "p1") == _files(tmp_path / "p2")


def _refused(pack: Path) -> list[str]:
    ruling = _ruling(pack)
    assert ruling.admission.status == "NOT_ADMISSIBLE"
    assert ruling.admission.reason_code == "ADM-GATE-CONTRACT-FAIL"
    return [d.code for g in ruling.admission.gates for d in g.details if not d.advisory]


@pytest.mark.parametrize(
    "path, edit",
    [
        ("trace/events.ndjson", lambda b: b.replace(b"second", b"SECOND")),
        ("import.json", lambda b: b.replace(b'"lines": 2', b'"lines": 5')),
        (
            "bundle.manifest.json",
            lambda b: b.replace(b'"privileged_action": false', b'"privileged_action": true'),
        ),
        ("native/toy/ledger.txt", lambda b: b + b"third\n"),
    ],
)
def test_an_edited_file_of_an_imported_pack_is_not_admissible(
    tmp_path: Path, path: str, edit: Any
) -> None:
    pack = tmp_path / "pack"
    import_pack("toy", [_source(tmp_path)], pack)
    target = pack / path
    before = target.read_bytes()
    target.write_bytes(edit(before))
    assert target.read_bytes() != before
    seal(pack)  # resealed: only reproduction can tell
    codes = _refused(pack)
    assert codes == ["CONTRACT-IMPORT-NOT-REPRODUCIBLE"]


def test_a_file_the_importer_does_not_make_is_not_admissible(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    import_pack("toy", [_source(tmp_path)], pack)
    (pack / "artifacts").mkdir()
    (pack / "artifacts" / "extra.json").write_bytes(b"{}\n")
    seal(pack)
    assert _refused(pack) == ["CONTRACT-IMPORT-NOT-REPRODUCIBLE"]
    (detail,) = [d for g in _ruling(pack).admission.gates for d in g.details]
    assert detail.artifact_path == "artifacts/extra.json"


def test_a_removed_import_record_and_an_unknown_importer(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    import_pack("toy", [_source(tmp_path)], pack)
    record = (pack / "import.json").read_bytes()
    (pack / "import.json").unlink()
    seal(pack)
    assert _refused(pack) == ["CONTRACT-FILE-MISSING"]
    (pack / "import.json").write_bytes(record.replace(b'"version": 1', b'"version": 99'))
    seal(pack)
    assert _refused(pack) == ["CONTRACT-IMPORTER-UNKNOWN"]


def test_usage_errors_and_refusals(tmp_path: Path) -> None:
    src = _source(tmp_path)
    with pytest.raises(UsageError, match="unknown system"):
        import_pack("nope", [src], tmp_path / "p")
    with pytest.raises(UsageError, match="no such file"):
        import_pack("toy", [tmp_path / "absent"], tmp_path / "p")
    with pytest.raises(UsageError, match="unknown option"):
        import_pack("toy", [src], tmp_path / "p", checks="x")
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"not a toy\n")
    with pytest.raises(ImportRefused, match=r"bad\.txt"):
        import_pack("toy", [bad], tmp_path / "p2")
    import_pack("toy", [src], tmp_path / "p3")
    with pytest.raises(UsageError, match="not empty"):
        import_pack("toy", [src], tmp_path / "p3")
    import_pack("toy", [src], tmp_path / "p3", force=True)  # a pack is replaced
    other = tmp_path / "other"
    other.mkdir()
    (other / "keep.txt").write_bytes(b"mine")
    with pytest.raises(UsageError, match="not a pack"):
        import_pack("toy", [src], other, force=True)
    assert (other / "keep.txt").read_bytes() == b"mine"


def test_helpers_keep_money_exact() -> None:
    doc = load_json(b'{"cost_usd": 0.35, "n": 3, "tiny": 1e-12}')
    assert money_text(doc["cost_usd"]) == "0.35"
    assert money_text(doc["n"]) == "3"
    assert money_text(doc["tiny"]) == "0.000000000001"
    assert money_text("0.1") == "0.1" and money_text(True) is True
    assert json_bytes({"a": doc["cost_usd"]}) == b'{\n  "a": "0.35"\n}\n'
    assert list(lines(b"a\r\nb\nc")) == [(1, b"a", True), (2, b"b", True), (3, b"c", False)]


AGENTPLANE = Path(__file__).resolve().parent.parent / "fixtures/native/agentplane"
RECEIPTS = AGENTPLANE / "tests/fixtures/receipts"
MADE = AGENTPLANE / "made"


def test_pointers_each_judges_every_receipt_of_a_pack(tmp_path: Path) -> None:
    """ruleset-1.3's CL-D1-02 says ``pointers: each``: an honest receipt beside a dishonest
    one does not carry the clause (under "any", the honest one would)."""
    honest = RECEIPTS / "budget-settlement-receipt.settled.valid.json"
    hiding = RECEIPTS / "budget-settlement-receipt.hidden-overrun.invalid.json"
    admit = str(MADE / "attempt-admission-receipt.alpha-001.admit.json")

    def d102(pack: Path) -> Any:
        return next(c for c in _ruling(pack).clauses if c.clause_id == "CL-D1-02")

    import_pack("agentplane", [honest], tmp_path / "alone", admission=admit)
    assert d102(tmp_path / "alone").status == "PASS"
    import_pack("agentplane", [honest, hiding], tmp_path / "both", admission=admit)
    clause = d102(tmp_path / "both")
    assert clause.status == "FAIL"
    assert "RCPT-OVERRUN-HIDDEN" in {d.code for d in clause.details}
    assert len(clause.evidence_refs) == 2  # both receipts were read


def test_the_command_line_exit_statuses(tmp_path: Path, vlab: Any) -> None:
    listed = vlab("import", "--list", text=True)
    assert listed.returncode == 0
    shipped = [s for s in registry.systems() if s != "toy"]  # the toy lives in this process
    assert [line.split()[0] for line in listed.stdout.splitlines()] == shipped
    wrong = tmp_path / "receipt.json"
    wrong.write_text('{"schemaVersion": "agentplane.budget-settlement-receipt.v9"}\n', "utf-8")
    refused = vlab("import", "agentplane", wrong, "--out", tmp_path / "p", text=True)
    assert refused.returncode == 65
    (line,) = refused.stderr.splitlines()  # one line, naming the file and what was expected
    assert line.startswith(f"vlab: error: {wrong}: ") and "schemaVersion" in line
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())
    missing = vlab("import", "hal0", tmp_path / "absent", "--out", tmp_path / "q", text=True)
    assert missing.returncode == 64 and "no such file" in missing.stderr
    foreign = vlab("import", "hal0", tmp_path, "--eval", wrong, "--out", tmp_path / "r", text=True)
    assert foreign.returncode == 64 and "unknown option" in foreign.stderr
    unknown = vlab("import", "nope", wrong, "--out", tmp_path / "s", text=True)
    assert unknown.returncode == 64 and "unknown system" in unknown.stderr


# -- what an independent hidden set of real outputs found (each fixed, each kept here) --------

HAL0_RUN = Path(__file__).resolve().parent.parent / "fixtures/native/hal0/runs/float-edge"
LEDGER_REL = "agents/hermes/personas/analyst/spend.jsonl"


def _hal0_copy(tmp_path: Path) -> Path:
    import shutil

    root = tmp_path / "state"
    shutil.copytree(HAL0_RUN, root)
    return root


def test_a_symlink_in_the_source_is_refused_never_followed(tmp_path: Path) -> None:
    root = _hal0_copy(tmp_path)
    secret = tmp_path / "secret.txt"
    secret.write_text("not hal0's\n", "utf-8")
    (root / LEDGER_REL).unlink()
    (root / LEDGER_REL).symlink_to(secret)
    with pytest.raises(ImportRefused, match="symbolic link"):
        import_pack("hal0", [root], tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_a_ledger_that_is_no_regular_file_is_refused_not_read_as_empty(tmp_path: Path) -> None:
    import os

    root = _hal0_copy(tmp_path)
    (root / LEDGER_REL).unlink()
    os.mkfifo(root / LEDGER_REL)
    with pytest.raises(ImportRefused, match="regular file"):
        import_pack("hal0", [root], tmp_path / "p")


def test_a_float_s_shortest_text_is_exact_money(tmp_path: Path) -> None:
    """15 tokens at $3 per million is 0.00012000000000000002 in hal0's float arithmetic:
    20 fraction digits, more than vlab's own format, still a charge (not UNPARSEABLE)."""
    root = _hal0_copy(tmp_path)
    ledger = root / LEDGER_REL
    first = json.loads(ledger.read_bytes().splitlines()[0])
    first["cost_usd"] = 0.00012000000000000002
    ledger.write_bytes(json.dumps(first).encode("utf-8") + b"\n")
    pack = tmp_path / "p"
    import_pack("hal0", [root], pack)
    clause = next(c for c in _ruling(pack).clauses if c.clause_id == "CL-D1-03")
    assert "LEDGER-UNPARSEABLE" not in {d.code for d in clause.details}
    derived = (pack / "artifacts/budget/spend.jsonl").read_bytes()
    assert b'"amount_usd":"0.00012000000000000002"' in derived


def test_an_agentplane_cost_beyond_exact_money_is_a_fault_not_unmeasured() -> None:
    from vlab.domains.registry import get
    from vlab.ruleset.catalog import Catalog

    ruleset = Catalog().get("ruleset-1.3")
    check = get("budget_settlement@2")
    assert ruleset is not None and check is not None
    schemas = ruleset.extra_schemas

    def codes(receipt: Any) -> set[str]:
        found = check(
            None,
            receipt=receipt,
            schema=schemas["budget_settlement_receipt"],
            agentplane_schema=schemas["agentplane_budget_settlement_receipt"],
            admission=None,
            run_id=None,
        )
        return {d.code for d in found}

    receipt = load_json((RECEIPTS / "budget-settlement-receipt.settled.valid.json").read_bytes())
    assert codes(receipt) == set()
    receipt["actuals"]["cost_usd"] = load_json(b"1e999999")  # "settled", over_budget false
    assert codes(receipt) == {"RCPT-SCHEMA-INVALID"}


def test_an_out_folder_that_cannot_be_made_and_a_ruleset_without_contract_1_2(
    tmp_path: Path,
) -> None:
    src = _source(tmp_path)
    blocker = tmp_path / "afile"
    blocker.write_bytes(b"x")
    with pytest.raises(UsageError, match="cannot make the folder"):
        import_pack("toy", [src], blocker / "sub")
    with pytest.raises(UsageError, match=r"contract 1\.2"):
        import_pack("toy", [src], tmp_path / "p", ruleset="ruleset-1.2")
    assert not (tmp_path / "p").exists()
