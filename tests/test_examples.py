"""The organisation-ruleset example (examples/acme-rulesets): its golden vectors pass
``vlab regress``, its ruleset lints clean, and its generator rebuilds the committed
vectors byte for byte."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import run_vlab
from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "acme-rulesets"
RULESET = EXAMPLE / "acme-budget-1.0"
VECTORS = EXAMPLE / "vectors"
RULESET_ID = "acme-budget-1.0"


def vlab(*args: Any) -> subprocess.CompletedProcess[str]:
    """``python -m vlab ARGS`` from the repository root (the shared runner, conftest.py)."""
    return run_vlab(*args, text=True)


def expectations() -> dict[str, dict[str, Any]]:
    return {
        p.parent.name: json.loads(p.read_text("utf-8"))
        for p in sorted(VECTORS.glob("*/expected.json"))
    }


def acme() -> Any:
    ruleset = Catalog(extra_dirs=[EXAMPLE]).get(RULESET_ID)
    assert ruleset is not None
    return ruleset


def test_the_example_ruleset_is_an_extending_format_2_ruleset() -> None:
    rs = acme()
    assert (rs.id, rs.version, rs.status, rs.format) == (RULESET_ID, "1.0.0", "released", 2)
    parent = Catalog().get("ruleset-1.2")
    assert parent is not None
    ids = [c.clause_id for c in rs.clauses]
    assert ids == [c.clause_id for c in parent.clauses] + ["CL-ACME-01", "CL-ACME-02"]
    by_id = {c.clause_id: c for c in rs.clauses}
    own = by_id["CL-ACME-01"]
    assert (own.requirement_id, own.domain) == ("RQ-ACME-01", "ACME")
    assert [name for name, _ in own.lets] == ["booked_centre"]
    assert "X-ACME-COST-CENTRE-MISSING" in {ck.code for ck in own.checks}
    calls = [ck.domain.check_id for ck in by_id["CL-ACME-02"].checks if ck.domain]
    assert calls == ["spending_cap@1"]
    declared = rs.document["codes"]
    assert set(declared) == {
        "X-ACME-COST-CENTRE-MISSING",
        "X-ACME-COST-CENTRE-UNKNOWN",
        "X-ACME-COST-CENTRE-MISMATCH",
    }
    assert all(meaning.strip() for meaning in declared.values())


def test_rulesets_show_gives_the_digest_the_packs_pin() -> None:
    proc = vlab("rulesets", "show", RULESET_ID, "--rulesets-dir", EXAMPLE, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["schema_bundle_sha256"] == acme().schema_bundle_sha256
    assert shown["declared_codes"]["X-ACME-COST-CENTRE-MISSING"]
    assert "spending_cap@1" in shown["domain_checks"]
    for name, exp in expectations().items():
        bundle = json.loads((VECTORS / name / "pack" / "bundle.manifest.json").read_text())
        assert bundle["ruleset_ref"] == RULESET_ID, name
        pinned_right = bundle["schema_bundle_sha256"] == shown["schema_bundle_sha256"]
        assert pinned_right == (exp["topline"] != "NOT_ADMISSIBLE"), name


def test_the_vectors_regress_clean_and_cover_rq_acme_01() -> None:
    proc = vlab("regress", VECTORS, "--rulesets-dir", EXAMPLE, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["failed"] == 0 and summary["mismatches"] == []
    assert summary["total"] == len(expectations()) >= 4
    assert {"PASS", "FAIL", "NOT_ADMISSIBLE"} <= set(summary["coverage"]["RQ-ACME-01"])
    assert {"PASS", "FAIL"} <= set(summary["coverage"]["RQ-ACME-02"])


def test_the_vectors_show_the_cases_the_example_is_about() -> None:
    exps = expectations()
    toplines = {e["topline"] for e in exps.values()}
    assert {"PASS", "FAIL", "NOT_ADMISSIBLE"} <= toplines
    assert all(e["ruleset"] == RULESET_ID for e in exps.values())
    acme_01 = [e["clauses"]["CL-ACME-01"] for e in exps.values()]
    shown = {code for c in acme_01 for code in c["detail_codes"]}
    assert {
        "X-ACME-COST-CENTRE-MISSING",
        "X-ACME-COST-CENTRE-UNKNOWN",
        "X-ACME-COST-CENTRE-MISMATCH",
    } <= shown
    missing = [c for c in acme_01 if c["detail_codes"] == ["X-ACME-COST-CENTRE-MISSING"]]
    assert missing and all(c["reason_code"] == "REQ-FAIL-RQ-ACME-01" for c in missing)
    # The wrong pin is refused at the PIN gate.
    refused = [e for e in exps.values() if e["topline"] == "NOT_ADMISSIBLE"]
    assert any(e["admission"]["detail_codes"] == ["PIN-SCHEMA-BUNDLE-MISMATCH"] for e in refused)
    # The domain-check clause both passes and fails on a code spending_cap@1 registers.
    from vlab.domains.registry import get

    check = get("spending_cap@1")
    assert check is not None
    acme_02 = [e["clauses"]["CL-ACME-02"] for e in exps.values()]
    assert any(c["status"] == "PASS" for c in acme_02)
    assert any(
        c["status"] == "FAIL" and c["detail_codes"] and set(c["detail_codes"]) <= set(check.codes)
        for c in acme_02
    )


def test_the_example_ruleset_lints_clean() -> None:
    proc = vlab("rulesets", "lint", RULESET, "--rulesets-dir", EXAMPLE, "--vectors", VECTORS)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("0 error(s)"), proc.stdout
    assert not [line for line in lines if line.startswith("error:")]
    # ACME's own clauses are covered: PASS and FAIL each, and every code CL-ACME-01 emits.
    acme_warnings = [
        line
        for line in lines
        if "CL-ACME-01" in line or ("CL-ACME-02" in line and "expects" in line)
    ]
    assert acme_warnings == []


def _tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_the_generator_reproduces_the_committed_vectors(tmp_path: Path) -> None:
    out = tmp_path / "vectors"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLE / "make_vectors.py"), "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # wherever it is run from
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    built, committed = _tree(out), _tree(VECTORS)
    assert sorted(built) == sorted(committed)
    differ = [rel for rel in built if built[rel] != committed[rel]]
    assert differ == []


def test_review_shows_the_meaning_of_ruleset_declared_codes(tmp_path: Path) -> None:
    pack = VECTORS / "fail-cost-centre-missing" / "pack"
    ruling = tmp_path / "ruling.json"
    proc = vlab("adjudicate", pack, "--rulesets-dir", EXAMPLE, "--out", f"json={ruling}")
    assert proc.returncode == 1, proc.stderr
    review = vlab("review", ruling, "--pack", pack, "--rulesets-dir", EXAMPLE)
    assert review.returncode == 0, review.stderr
    lines = [line for line in review.stdout.splitlines() if "ACME" in line and "`" in line]
    assert any("X-ACME-COST-CENTRE-MISSING" in line for line in lines)
    assert not [line for line in lines if "unregistered" in line]
    assert "the budget decision names no cost centre" in review.stdout
