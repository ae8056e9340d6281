"""The golden-vector corpus: every vector holds (one pytest case each, its ruling valid
against ruling.schema.json), the corpus covers what it must, it is reproducible from its
generator, and `vlab regress` behaves."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.tools.corpus import find_vectors

if TYPE_CHECKING:
    from conftest import Runner
    from vlab.ruleset.catalog import Catalog
    from vlab.tools.regress import Outcome, Vector

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"
VECTOR_IDS = [vector_id for vector_id, _ in find_vectors(VECTORS)]
MIN_VECTORS = 216

# Registered detail codes no committed vector can show, each with why and what covers it.
UNCOVERABLE_DETAIL_CODES = {
    # only with --waivers and --as-of, which a golden vector never runs; test_waivers.py
    "WAIVER-EXPIRED",
    # git keeps no hard links; tests/test_sealed_reads.py test_a_hard_link_is_refused
    "SECURITY-HARDLINK",
    # a race cannot be committed; tests/test_sealed_reads.py (hooks and a racing writer)
    "INTEGRITY-CHANGED-DURING-READ",
    # a file that fails to read mid-way cannot be committed; test_admission_gates.py
    # test_gate_failure[unreadable-event-log-during-contract], [...-artifact-during-contract]
    "CONTRACT-FILE-UNREADABLE",
    # FIFOs, sockets and devices cannot live in git; test_admission_gates.py
    # test_gate_failure[fifo], [socket], and tests/test_cli.py seal refusal [fifo]
    "SECURITY-SPECIAL-FILE",
    # permissions are not committed (git keeps only the executable bit); test_admission_gates.py
    # test_gate_failure[unreadable-file]
    "SECURITY-UNREADABLE",
}


# -- every vector: its ruling matches its expectation and the ruling schema ---------------


@dataclass
class Judged:
    ruling: dict[str, Any]
    outcome: Outcome


@dataclass
class Corpus:
    """The committed vectors, each adjudicated in-process at most once per session."""

    vectors: dict[str, Vector]
    catalog: Catalog
    judged: dict[str, Judged] = field(default_factory=dict)

    def get(self, vector_id: str) -> Judged:
        from vlab.tools.regress import compare, judge_vector

        if vector_id not in self.judged:
            vector = self.vectors[vector_id]
            # exactly as `vlab regress` judges it (shadow runs, limits), digest included
            ruling = judge_vector(vector, self.catalog, digest=True)
            self.judged[vector_id] = Judged(ruling.to_json(), compare(vector, ruling))
        return self.judged[vector_id]

    def all(self) -> list[Outcome]:
        return [self.get(vector_id).outcome for vector_id in self.vectors]


@pytest.fixture(scope="session")
def corpus_runs(catalog: Catalog) -> Corpus:
    from vlab.tools.regress import load_vectors

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = catalog.get(ruleset_id)
        return None if rs is None else {c.clause_id for c in rs.clauses}

    vectors = load_vectors(VECTORS, clause_ids_of, None)
    return Corpus({v.id: v for v in vectors}, catalog)


@pytest.fixture(scope="session")
def ruling_validator() -> Any:
    from vlab.core.schemas import validator
    from vlab.data import DATA

    return validator(json.loads((DATA / "ruling.schema.json").read_text("utf-8")))


def test_vector_ids_are_the_loaded_vectors(corpus_runs: Corpus) -> None:
    assert sorted(corpus_runs.vectors) == sorted(VECTOR_IDS)


def test_every_expectation_field_is_handled_here() -> None:
    """Corpus.get runs a vector as `vlab regress` does; a new expectation field (one that
    changes how a vector runs) must be taught to it, so this pins the field list."""
    from vlab.data import DATA

    schema = json.loads((DATA / "expected.schema.json").read_text("utf-8"))
    run_with = {"ruleset", "shadow", "limits", "trust"}  # used by Corpus.get (judge_vector)
    compared = {"topline", "exit_code", "admission", "clauses"}  # by tools.regress.compare
    assert set(schema["properties"]) == run_with | compared | {"description"}


@pytest.mark.parametrize("vector_id", VECTOR_IDS)
def test_vector(vector_id: str, corpus_runs: Corpus, ruling_validator: Any) -> None:
    judged = corpus_runs.get(vector_id)
    errors = sorted(
        ruling_validator.iter_errors(judged.ruling), key=lambda e: list(map(str, e.absolute_path))
    )
    problems = [
        f"ruling.schema.json at /{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    ] + [
        f"{m['field']}: expected {m['expected']!r}, actual {m['actual']!r}"
        for m in judged.outcome.mismatches
    ]
    assert problems == [], f"{vector_id}: " + "\n  ".join(["", *problems])


def test_corpus_covers_every_cell_gate_and_detail_code(
    corpus_runs: Corpus, catalog: Catalog
) -> None:
    from vlab.core.codes import registry
    from vlab.engine.admission import GATE_NAMES
    from vlab.tools.regress import summarize

    outcomes = corpus_runs.all()
    assert len(outcomes) >= MIN_VECTORS
    # the rulesets the expectations name, as `vlab regress` summarizes them
    ids = sorted(
        {v.expected["ruleset"] for v in corpus_runs.vectors.values() if v.expected["ruleset"]}
    )
    rulesets = [catalog.get(i) for i in ids]
    assert None not in rulesets
    summary = summarize(outcomes, rulesets, set(registry()["detail_codes"]))
    assert summary["total"] == len(outcomes)
    assert summary["uncovered"] == []  # every requirement x status a clause can take
    assert summary["uncovered_gates"] == []
    assert set(summary["gates"]) == set(GATE_NAMES)
    assert all(n > 0 for n in summary["gates"].values()), summary["gates"]  # NOT_ADMISSIBLE
    assert set(summary["uncovered_detail_codes"]) == UNCOVERABLE_DETAIL_CODES


# -- the generator and `vlab regress` -------------------------------------------------------


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
        [sys.executable, "-m", "scripts.make_vectors", "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    committed = {k: v for k, v in tree(VECTORS).items() if k != "README.md"}
    built = tree(out)
    assert sorted(built) == sorted(committed)
    differing = [k for k in built if built[k] != committed[k]]
    assert differing == []


def corpus(tmp_path: Path, *names: str) -> Path:
    root = tmp_path / "corpus"
    for name in names:
        shutil.copytree(VECTORS / name, root / name, symlinks=True)
    return root


def test_regress_json_summary_adds_up(tmp_path: Path, vlab: Runner) -> None:
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
        text=True,
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


def test_changed_topline_is_a_mismatch_exit_1(tmp_path: Path, vlab: Runner) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-pass-fixture" / "expected.json"
    doc = json.loads(path.read_text())
    doc["topline"] = "FAIL"
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root), "--format", "json", text=True)
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
    table = vlab("regress", str(root), text=True)
    assert table.returncode == 1 and "expected 'FAIL', actual 'PASS'" in table.stdout


def test_corrupt_expectation_is_usage_error_naming_the_file(tmp_path: Path, vlab: Runner) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-fail-fixture" / "expected.json"
    path.write_text('{"topline": "PASS",')
    proc = vlab("regress", str(root), text=True)
    assert proc.returncode == 64
    assert str(path) in proc.stderr and "Traceback" not in proc.stderr


def test_expectation_with_bad_field_or_unknown_clause_is_usage_error(
    tmp_path: Path, vlab: Runner
) -> None:
    root = corpus(tmp_path, "starter")
    path = root / "starter" / "arb-d1-budget-fail-fixture" / "expected.json"
    doc = json.loads(path.read_text())
    doc["clauses"]["CL-D7-01"] = doc["clauses"]["CL-D1-01"]
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root), text=True)
    assert proc.returncode == 64 and "CL-D7-01" in proc.stderr and str(path) in proc.stderr
    doc["clauses"].pop("CL-D7-01")
    doc["topline"] = "GREEN"
    path.write_text(json.dumps(doc))
    proc = vlab("regress", str(root), text=True)
    assert proc.returncode == 64 and str(path) in proc.stderr


def test_zero_vectors_is_an_error_not_a_pass(tmp_path: Path, vlab: Runner) -> None:
    (tmp_path / "empty").mkdir()
    proc = vlab("regress", str(tmp_path / "empty"), text=True)
    assert proc.returncode == 64 and "no golden vectors" in proc.stderr
