"""Ruleset loading: every load-time check names the file and line; digests are semantic."""

import shutil
from pathlib import Path

import pytest

from vlab.core.errors import RulesetError
from vlab.ruleset.catalog import Catalog, default_root

RULESET_11_SHA256 = "sha256:ced163feb457445956b2100632939909adfae9c599758fc9214efceab27ce985"
RULESET_11_BUNDLE = "a1dec33f54b5d28c438e0e2cecc48caf0133beb2d85332191a420f20db9c381c"
RULESET_12_SHA256 = "sha256:326683662c4c1b550c2a623fd82193b9de9cca19a980a71f72308182df340ff7"
RULESET_12_BUNDLE = "70193709c9d666ce26d166d27d3b7dcb2f45ed30f4231f57571fadf289b0ba67"


def test_released_ruleset_11_is_never_edited() -> None:
    # A released ruleset's identity is frozen: a change must be a new version.
    rs = Catalog().get("ruleset-1.1")
    assert rs is not None and rs.status == "released"
    assert rs.sha256 == RULESET_11_SHA256
    assert rs.schema_bundle_sha256 == RULESET_11_BUNDLE


def test_released_ruleset_12_is_never_edited() -> None:
    rs = Catalog().get("ruleset-1.2")
    assert rs is not None and rs.status == "released"
    assert rs.sha256 == RULESET_12_SHA256
    assert rs.schema_bundle_sha256 == RULESET_12_BUNDLE
    assert [c.clause_id for c in rs.clauses] == [
        "CL-D1-01",
        "CL-D2-01",
        "CL-D3-01",
        "CL-D4-01",
        "CL-D1-02",
        "CL-D1-03",
        "CL-D1-04",
        "CL-D5-01",
    ]


@pytest.fixture
def copy_11(tmp_path: Path) -> Path:
    root = tmp_path / "rulesets"
    shutil.copytree(default_root() / "ruleset-1.1", root / "ruleset-1.1")
    return root


def _edit(root: Path, old: str, new: str) -> Path:
    path = root / "ruleset-1.1" / "ruleset.yaml"
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    """The last line holding needle (a duplicate is reported where it repeats)."""
    hits = [n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line]
    assert hits, needle
    return hits[-1]


def test_formatting_only_edit_keeps_the_digest(copy_11: Path) -> None:
    path = _edit(copy_11, "# Token tables;", "\n\n# Reformatted comment.\n# Token tables;")
    _edit(copy_11, 'protocol_pins: ["1.0.0", "1.0"]', 'protocol_pins:\n    - "1.0.0"\n    - "1.0"')
    assert path.exists()
    assert Catalog(copy_11).get("ruleset-1.1").sha256 == RULESET_11_SHA256


def test_semantic_edit_changes_the_digest(copy_11: Path) -> None:
    _edit(copy_11, "throttle]", "throttle, pause]")
    assert Catalog(copy_11).get("ruleset-1.1").sha256 != RULESET_11_SHA256


def test_schema_edit_changes_both_digests(copy_11: Path) -> None:
    schema = copy_11 / "ruleset-1.1" / "schemas" / "bundle.manifest.schema.json"
    schema.write_text(schema.read_text("utf-8").replace('"minLength": 1', '"minLength": 2', 1))
    rs = Catalog(copy_11).get("ruleset-1.1")
    assert rs.sha256 != RULESET_11_SHA256 and rs.schema_bundle_sha256 != RULESET_11_BUNDLE


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    domain: D1\n",
            "    domain: D1\n    colour: red\n",
            "colour: red",
            "unknown key 'colour'",
        ),
        ("REQ-FAIL-RQ-D1-01", "REQ-FAIL-RQ-D1-99", "REQ-FAIL-RQ-D1-99", "not in the reason-code"),
        (
            '"present(record.decision_kind)"',
            '"present(record.decision_kind"',
            'present(record.decision_kind"',
            "does not compile",
        ),
        (
            '"present(record.decision_kind)"',
            '"exec_shell(record.decision_kind)"',
            "exec_shell",
            "unknown built-in 'exec_shell'",
        ),
        ("in_table('budget_kinds'", "in_table('budget_kindz'", "budget_kindz", "unknown table"),
        (
            "clause_id: CL-D2-01",
            "clause_id: CL-D1-01",
            "clause_id: CL-D1-01\n    requirement_id: RQ-D2",
            "duplicate clause CL-D1-01",
        ),
        (
            "- code: FIELD-MISSING",
            "- code: FIELD-MISSING\n        code: X",
            "code: X",
            "duplicate key",
        ),
    ],
)
def test_load_errors_name_file_and_line(
    copy_11: Path, old: str, new: str, needle: str, message: str
) -> None:
    path = _edit(copy_11, old, new)
    with pytest.raises(RulesetError) as err:
        Catalog(copy_11).get("ruleset-1.1")
    assert message in str(err.value)
    assert err.value.path == str(path)
    first = needle.split("\n")[0]
    assert err.value.line == _line_of(path, first)


def test_missing_schema_file_is_a_load_error(copy_11: Path) -> None:
    (copy_11 / "ruleset-1.1" / "schemas" / "evidence_pointers.schema.json").unlink()
    with pytest.raises(RulesetError, match="schema file"):
        Catalog(copy_11).get("ruleset-1.1")


def test_extends_resolves_and_digests_the_child(copy_11: Path) -> None:
    child = copy_11 / "ruleset-x"
    child.mkdir()
    (child / "ruleset.yaml").write_text(
        "format: 1\nid: ruleset-x\nversion: 9.0.0\nstatus: draft\npurpose: test child\n"
        "extends: ruleset-1.1\n"
        "clause_changes:\n"
        "  - clause_id: CL-D1-01\n"
        "    add_checks:\n"
        "      - code: VALUE-NOT-ALLOWED\n"
        "        holds: \"record.decision_outcome != 'DENY'\"\n"
        '        message: "outcome {record.decision_outcome}"\n',
        "utf-8",
    )
    catalog = Catalog(copy_11)
    rs = catalog.get("ruleset-x")
    parent = catalog.get("ruleset-1.1")
    assert [c.clause_id for c in rs.clauses] == [c.clause_id for c in parent.clauses]
    assert len(rs.clauses[0].checks) == len(parent.clauses[0].checks) + 1
    assert rs.schema_bundle_sha256 == parent.schema_bundle_sha256
    assert rs.sha256 != parent.sha256
    assert len(parent.clauses[0].checks) == 4  # the parent is untouched


def test_clause_change_for_unknown_clause_is_an_error(copy_11: Path) -> None:
    child = copy_11 / "ruleset-y"
    child.mkdir()
    (child / "ruleset.yaml").write_text(
        "format: 1\nid: ruleset-y\nversion: 1.0.0\nstatus: draft\npurpose: p\n"
        "extends: ruleset-1.1\nclause_changes:\n  - clause_id: CL-D9-01\n    title: x\n",
        "utf-8",
    )
    with pytest.raises(RulesetError, match="CL-D9-01") as err:
        Catalog(copy_11).get("ruleset-y")
    assert err.value.line == 8


def test_compiled_rulesets_are_fresh_and_equal_to_the_yaml() -> None:
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.compile_rulesets", "--check"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    catalog = Catalog()
    from vlab.ruleset.loader import RULESET_FILE, load_ruleset

    for ruleset_id in catalog.ids():
        compiled = catalog.get(ruleset_id)
        fresh = Catalog(use_compiled=False)
        from_yaml = load_ruleset(catalog.root / ruleset_id / RULESET_FILE, fresh.parent_document)
        assert compiled.sha256 == from_yaml.sha256
        assert compiled.schema_bundle_sha256 == from_yaml.schema_bundle_sha256


def test_a_stale_compiled_ruleset_is_ignored(copy_11: Path) -> None:
    # Edit the YAML without recompiling: the engine must judge by the YAML.
    _edit(copy_11, "throttle]", "throttle, pause]")
    rs = Catalog(copy_11).get("ruleset-1.1")
    assert rs.sha256 != RULESET_11_SHA256
    assert "pause" in rs.tables["budget_kinds"]
