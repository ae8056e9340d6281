"""Governance review outputs: the dossier, the ruleset diff, lint, CI outputs (golden files).

Set UPDATE_GOLDEN=1 to rewrite tests/golden/ after an intended change.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Runner

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
FAIL_PACK = ROOT / "evidence_packs" / "r12-d1-03" / "fail-allow-should-have-been-deny" / "pack"


def golden(name: str, data: bytes) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_bytes(data)
    assert data == path.read_bytes(), f"{name} differs from its golden file"


@pytest.fixture(scope="module")
def fail_ruling(tmp_path_factory: pytest.TempPathFactory, vlab: Runner) -> Path:
    path = tmp_path_factory.mktemp("ruling") / "ruling.json"
    proc = vlab("adjudicate", str(FAIL_PACK), "--format", "json")
    assert proc.returncode == 1
    path.write_bytes(proc.stdout)
    return path


def test_dossier_of_a_failing_ruling_is_golden(fail_ruling: Path, vlab: Runner) -> None:
    proc = vlab("review", str(fail_ruling), "--pack", str(FAIL_PACK))
    assert proc.returncode == 0, proc.stderr
    text = proc.stdout.decode()
    # It quotes the failing event line and its sha256, verified against the pack.
    assert "LEDGER-DECISION-MISMATCH" in text and "quoted line 2" in text
    assert '"event_type":"budget.check"' in text and "pack digest check | matches" in text
    assert text.rstrip().endswith("system that produced the run.")
    golden("review-fail-allow-should-have-been-deny.md", proc.stdout)


def test_dossier_without_pack_and_out_file(fail_ruling: Path, tmp_path: Path, vlab: Runner) -> None:
    out = tmp_path / "dossier.md"
    proc = vlab("review", str(fail_ruling), "--out", f"md={out}")
    assert proc.returncode == 0 and proc.stdout == b""
    assert "quoted" not in out.read_text() and "REQ-FAIL-RQ-D1-03" in out.read_text()


def test_review_refuses_an_edited_ruling(fail_ruling: Path, tmp_path: Path, vlab: Runner) -> None:
    doc = json.loads(fail_ruling.read_text())
    doc["topline"] = "PASS"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    proc = vlab("review", str(edited))
    assert proc.returncode == 64 and b"does not match its content" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_review_of_a_tampered_pack_says_mismatch(
    fail_ruling: Path, tmp_path: Path, vlab: Runner
) -> None:
    pack = tmp_path / "pack"
    shutil.copytree(FAIL_PACK, pack)
    ledger = pack / "artifacts" / "budget" / "spend.jsonl"
    ledger.write_bytes(ledger.read_bytes() + b'{"entry_id":"c-late"}\n')
    text = vlab("review", str(fail_ruling), "--pack", str(pack)).stdout.decode()
    assert "MISMATCH: the pack's bytes hash to" in text


def test_diff_11_to_12_is_golden(vlab: Runner) -> None:
    corpus = ROOT / "evidence_packs" / "r12-stricter"
    proc = vlab(
        "diff",
        "--from",
        "ruleset-1.1",
        "--to",
        "ruleset-1.2",
        str(corpus),
        "--format",
        "json",
        "--jobs",
        "2",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    flipped = {
        (t["clause_id"], t["from"], t["to"]): t["count"]
        for t in result["transitions"]
        if t["from"] != t["to"] and t["from"] is not None
    }
    # Exactly the packs each stricter 1.2 condition was written to fail.
    assert flipped == {
        ("CL-D1-01", "PASS", "FAIL"): 4,
        ("CL-D2-01", "PASS", "FAIL"): 2,
        ("CL-D3-01", "PASS", "FAIL"): 3,
        ("CL-D4-01", "PASS", "FAIL"): 2,
    }
    assert sum(1 for c in result["changed"]) == 11
    golden("diff-ruleset-1.1-to-1.2-r12-stricter.json", proc.stdout)


def test_lint_reports_errors_with_lines(tmp_path: Path, vlab: Runner) -> None:
    bad = tmp_path / "ruleset.yaml"
    bad.write_text(
        "format: 1\nid: ruleset-x\nversion: 1.0.0\nstatus: draft\npurpose: p\n"
        "colour: red\nflavour: sour\n"
    )
    proc = vlab("rulesets", "lint", str(bad))
    assert proc.returncode == 1
    text = proc.stdout.decode()
    assert f"{bad}:6: unknown key 'colour'" in text and f"{bad}:7: unknown key 'flavour'" in text


def test_lint_warns_about_uncovered_clauses(tmp_path: Path, vlab: Runner) -> None:
    vectors = tmp_path / "vectors"
    shutil.copytree(ROOT / "evidence_packs" / "starter", vectors / "starter")
    proc = vlab("rulesets", "lint", "rulesets/ruleset-1.1", "--vectors", str(vectors))
    assert proc.returncode == 0
    text = proc.stdout.decode()
    assert "CL-D4-01: no golden vector expects PASS" in text
    assert "0 error(s)" in text


def test_several_outputs_and_step_summary(tmp_path: Path, vlab: Runner) -> None:
    summary = tmp_path / "summary.md"
    env = {"GITHUB_STEP_SUMMARY": str(summary)}  # on top of the cleaned environment
    outs = [
        f"--out=json={tmp_path / 'r.json'}",
        f"--out=md={tmp_path / 'r.md'}",
        f"--out=junit={tmp_path / 'r.xml'}",
    ]
    proc = vlab("adjudicate", str(FAIL_PACK), *outs, env=env)
    assert proc.returncode == 1  # unchanged by output flags
    assert json.loads((tmp_path / "r.json").read_text())["topline"] == "FAIL"
    import xml.etree.ElementTree as ET

    suite = ET.parse(tmp_path / "r.xml").getroot()
    assert len(suite.findall(".//testcase")) == 8 and len(suite.findall(".//failure")) == 1
    assert summary.read_text().startswith("# vlab ruling: FAIL")
    corpus = ROOT / "evidence_packs" / "starter"
    proc = vlab("regress", str(corpus), f"--out=md={tmp_path / 'g.md'}", env=env)
    assert proc.returncode == 0
    assert "vlab regress: 2 of 2 vectors match" in (tmp_path / "g.md").read_text()
    assert summary.read_text().count("vlab regress") == 1


def test_reason_code_reference_is_in_sync() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.reason_codes_doc", "--check"],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
