"""The golden-vector corpus: reproducible from its generator, and `vlab regress` behaves."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"


def tree(root: Path) -> dict[str, bytes]:
    out = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            out[rel] = b"symlink->" + str(path.readlink()).encode()
        elif path.is_file():
            out[rel] = path.read_bytes()
    return out


def test_generator_reproduces_the_committed_vectors(tmp_path: Path) -> None:
    out = tmp_path / "vectors"
    subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "make_vectors.py"), "--out", str(out)],
        check=True,
        capture_output=True,
    )
    committed = {k: v for k, v in tree(VECTORS).items() if k != "README.md"}
    built = tree(out)
    assert sorted(built) == sorted(committed)
    differing = [k for k in built if built[k] != committed[k]]
    assert differing == []


def vlab(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "vlab", *args], capture_output=True, text=True, check=False
    )


def corpus(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "corpus"
    for name in names:
        shutil.copytree(VECTORS / name, root / name, symlinks=True)
    return root


def test_regress_json_summary_adds_up(tmp_path: Path) -> None:
    root = corpus(tmp_path, "starter", "d2-01")
    proc = vlab(
        "regress",
        str(root),
        "--format",
        "json",
        "--jobs",
        "2",
        "--out",
        f"junit={tmp_path / 'j.xml'}",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["total"] == summary["passed"] + summary["failed"]
    assert summary["failed"] == 0 and summary["mismatches"] == []
    assert summary["coverage"]["RQ-D2-01"] == ["PASS", "FAIL", "NOT_EVALUATED"]
    assert {"requirement_id": "RQ-D2-01", "status": "NOT_ADMISSIBLE"} in summary["uncovered"]
    import xml.etree.ElementTree as ET

    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert len(suite.findall(".//testcase")) == summary["total"]


def test_changed_topline_is_a_mismatch_exit_1(tmp_path: Path) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-pass-fixture" / "expected.json"
    doc = json.loads(path.read_text())
    doc["topline"] = "FAIL"
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root), "--format", "json")
    assert proc.returncode == 1
    summary = json.loads(proc.stdout)
    assert summary["failed"] == 1 and summary["passed"] == 1
    assert summary["mismatches"] == [
        {
            "vector": "starter/arb-d1-budget-pass-fixture",
            "field": "topline",
            "expected": "FAIL",
            "actual": "PASS",
        }
    ]
    table = vlab("regress", str(root))
    assert table.returncode == 1 and "expected 'FAIL', actual 'PASS'" in table.stdout


def test_corrupt_expectation_is_usage_error_naming_the_file(tmp_path: Path) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-fail-fixture" / "expected.json"
    path.write_text('{"topline": "PASS",')
    proc = vlab("regress", str(root))
    assert proc.returncode == 64
    assert str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_expectation_with_bad_field_or_unknown_clause_is_usage_error(tmp_path: Path) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-fail-fixture" / "expected.json"
    doc = json.loads(path.read_text())
    doc["clauses"]["CL-D7-01"] = doc["clauses"]["CL-D1-01"]
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root))
    assert proc.returncode == 64 and "CL-D7-01" in proc.stderr and str(path) in proc.stderr
    doc["clauses"].pop("CL-D7-01")
    doc["topline"] = "GREEN"
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root))
    assert proc.returncode == 64 and str(path) in proc.stderr


def test_zero_vectors_is_an_error_not_a_pass(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = vlab("regress", str(tmp_path / "empty"))
    assert proc.returncode == 64 and "no golden vectors" in proc.stderr
