"""Severity (rulesets-1.3 §5): declared per clause in format 2, shown in the ruling only
when declared, and ``--fail-on`` deciding exit 1 by unwaived FAILs of at least it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from vlab.core.errors import RulesetError
from vlab.ruleset.catalog import Catalog
from vlab.ruleset.loader import RULESET_FILE

REPO = Path(__file__).resolve().parent.parent
FAILING = REPO / "evidence_packs/d1-01/fail-kind-missing/pack"  # ruleset-1.1: D1 FAIL
REFUSED = REPO / "evidence_packs/admission/contract-bom/pack"


def _child(tmp_path: Path, severity: str = "high", fmt: int = 2) -> Path:
    folder = tmp_path / "org-child"
    folder.mkdir(exist_ok=True)
    (folder / RULESET_FILE).write_text(
        f"format: {fmt}\nid: org-child\nversion: 1.0.0\nstatus: draft\npurpose: p\n"
        "extends: ruleset-1.1\nclause_changes:\n  - clause_id: CL-D1-01\n"
        f"    severity: {severity}\n",
        "utf-8",
    )
    return folder


def test_declared_severity_is_in_the_ruling(vlab_in_process: Any, tmp_path: Path) -> None:
    code, out, _ = vlab_in_process(
        "adjudicate", FAILING, "--ruleset", _child(tmp_path), "--format", "json"
    )
    clauses = {c["clause_id"]: c for c in json.loads(out)["clauses"]}
    assert code == 1 and clauses["CL-D1-01"]["severity"] == "high"
    assert "severity" not in clauses["CL-D2-01"]  # undeclared: omitted (counts as medium)


def test_severity_needs_format_2(tmp_path: Path) -> None:
    _child(tmp_path, fmt=1)
    with pytest.raises(RulesetError) as err:
        Catalog(extra_dirs=[tmp_path]).get("org-child")
    assert "severity needs format: 2" in err.value.message


def test_unknown_severity_is_refused(tmp_path: Path) -> None:
    _child(tmp_path, severity="urgent")
    with pytest.raises(RulesetError):
        Catalog(extra_dirs=[tmp_path]).get("org-child")


@pytest.mark.parametrize(
    ("fail_on", "declared", "undeclared"),
    [
        (None, 1, 1),
        ("critical", 0, 0),
        ("high", 1, 0),
        ("medium", 1, 1),
        ("low", 1, 1),
    ],
)
def test_fail_on_matrix(
    vlab_in_process: Any, tmp_path: Path, fail_on: str | None, declared: int, undeclared: int
) -> None:
    extra = ("--fail-on", fail_on) if fail_on else ()
    code, out, _ = vlab_in_process(
        "adjudicate", FAILING, "--ruleset", _child(tmp_path), "--format", "json", *extra
    )
    assert code == declared and json.loads(out)["topline"] == "FAIL"  # topline unchanged
    code, _, _ = vlab_in_process("adjudicate", FAILING, "--format", "json", *extra)
    assert code == undeclared


@pytest.mark.parametrize("fail_on", ["critical", "low"])
def test_fail_on_leaves_exit_2_alone(vlab_in_process: Any, fail_on: str) -> None:
    code, _, _ = vlab_in_process("adjudicate", REFUSED, "--format", "json", "--fail-on", fail_on)
    assert code == 2


def test_fail_on_rejects_an_unknown_severity(vlab_in_process: Any) -> None:
    code, _, _ = vlab_in_process("adjudicate", FAILING, "--fail-on", "urgent")
    assert code == 64


def test_a_waived_fail_never_trips_fail_on(vlab_in_process: Any, tmp_path: Path) -> None:
    waivers = tmp_path / "w.yaml"
    waivers.write_text(
        "waivers:\n  - clause_id: CL-D1-01\n    rulesets: [org-child]\n    pack_id: '*'\n"
        "    reason: r\n    approved_by: a\n    expires: 2030-01-01T00:00:00Z\n"
    )
    code, out, _ = vlab_in_process(
        "adjudicate", FAILING, "--ruleset", _child(tmp_path), "--format", "json",
        "--fail-on", "low", "--waivers", waivers, "--as-of", "2026-01-01T00:00:00+02:00",
    )  # fmt: skip
    doc = json.loads(out)
    assert code == 0 and doc["topline"] == "PASS" and doc["as_of"] == "2025-12-31T22:00:00Z"


def test_severity_in_every_format(vlab_in_process: Any, tmp_path: Path) -> None:
    child = _child(tmp_path, severity="low")
    out = {}
    for fmt in ("table", "md", "junit", "sarif", "github"):
        _, out[fmt], _ = vlab_in_process("adjudicate", FAILING, "--ruleset", child, "--format", fmt)
    assert b"severity: low" in out["table"] and b"severity: low" in out["md"]
    assert b'name="vlab.severity" value="low"' in out["junit"]
    results = json.loads(out["sarif"])["runs"][0]["results"]
    assert results and all(r["level"] == "warning" for r in results)
    assert all(r["properties"]["severity"] == "low" for r in results)
    assert b"::error" in out["github"]  # an unwaived FAIL is an error whatever its severity
