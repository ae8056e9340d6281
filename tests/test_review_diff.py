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
from typing import TYPE_CHECKING, Any

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
    assert proc.returncode == 1 and b"does not match its content" in proc.stderr
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


# -- the dossier streams its evidence (issue 11) --------------------------------------------


def _ruling_relying_on(refs: list[tuple[str, str, int | None, str]]) -> Any:
    """A ruling whose one clause relied on ``refs`` (artifact, locator, line, sha256)."""
    from vlab.engine.ruling import (
        AdmissionRuling,
        ClauseRuling,
        EvidenceRef,
        PackRef,
        RulesetRef,
        Ruling,
    )

    clause = ClauseRuling(
        "CL-X-01",
        "RQ-X-01",
        "DX",
        "big evidence",
        "PASS",
        None,
        evidence_refs=tuple(EvidenceRef(*ref) for ref in refs),
    )
    return Ruling(
        RulesetRef("ruleset-x", "1.0.0", None, False),
        PackRef("pack-x", "run-x", None, None),
        AdmissionRuling("ADMISSIBLE", None, ()),
        (clause,),
        "PASS",
        (),
        digest="sha256:" + "0" * 64,
    )


def test_review_streams_file_evidence_in_bounded_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ``file:`` reference to a 40 MiB event log and a line reference to a 12 MiB line:
    the dossier verifies both while holding no more than a few of the reader's chunks
    (traced allocations), never reads either file whole, and quotes a bounded excerpt."""
    import hashlib
    import tracemalloc

    from vlab.pack.reader import PackReader
    from vlab.tools import review

    pack = tmp_path / "pack"
    (pack / "trace").mkdir(parents=True)
    block = b'{"event_id":"evt","event_type":"tick","n":1}\n' * 24_000  # ~1 MiB
    log_sha = hashlib.sha256()
    with (pack / "trace" / "events.ndjson").open("wb") as fh:
        for _ in range(40):
            fh.write(block)
            log_sha.update(block)
    log_size = 40 * len(block)
    long_line = b"x" * (12 * 1024 * 1024)
    (pack / "trace" / "long.ndjson").write_bytes(b"{}\n" + long_line + b"\r\n{}\n")
    line_sha = "sha256:" + hashlib.sha256(long_line).hexdigest()
    del block, long_line

    largest = 0
    whole: list[str] = []
    chunks, read_bytes = PackReader.chunks, PackReader.read_bytes

    def counting_chunks(self: PackReader, path: str, *args: Any, **kwargs: Any) -> Any:
        nonlocal largest
        for piece in chunks(self, path, *args, **kwargs):
            largest = max(largest, len(piece))
            yield piece

    def recording_read_bytes(self: PackReader, path: str, *args: Any, **kwargs: Any) -> bytes:
        whole.append(path)
        return read_bytes(self, path, *args, **kwargs)

    monkeypatch.setattr(PackReader, "chunks", counting_chunks)
    monkeypatch.setattr(PackReader, "read_bytes", recording_read_bytes)
    ruling = _ruling_relying_on(
        [
            ("trace/events.ndjson", "file:", None, "sha256:" + log_sha.hexdigest()),
            ("trace/long.ndjson", "line:2", 2, line_sha),
        ]
    )
    review.dossier(ruling, pack)  # imports and registry loads happen outside the trace
    tracemalloc.start()
    try:
        text = review.dossier(ruling, pack)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert text.count("verified; quoted:") == 2, text
    assert f"… ({log_size} bytes in all; quote shortened)" in text
    assert f"… ({12 * 1024 * 1024} bytes in all; quote shortened)" in text
    assert whole == []  # nothing read whole
    assert 0 < largest < 12 * 1024 * 1024  # the reader streamed: chunks smaller than a file
    assert peak <= 3 * largest + 2 * 1024 * 1024, (peak, largest)
    quoted = [line for line in text.splitlines() if line.startswith("  ") and "x" * 100 in line]
    assert quoted and all(len(line) <= review.MAX_QUOTE_BYTES + 2 for line in quoted)


@pytest.mark.parametrize(
    "data",
    [b"a\r\nb\n\nc\r\r\n\r", b"\n\n", b"one", b"", b"x\r", b"a\rb\r\n\r\r\n"],
    ids=["mixed", "blank", "no-newline", "empty", "final-cr", "inner-cr"],
)
def test_review_finds_lines_as_the_engine_reads_them(tmp_path: Path, data: bytes) -> None:
    """Streaming line lookup agrees with the pack's own line reader, whatever the chunks
    (here one to three bytes, so every boundary falls between a \\r and its \\n)."""
    import hashlib

    from vlab.pack.ndjson import physical_lines
    from vlab.pack.reader import PackReader
    from vlab.tools.review import _Quoter

    pack = tmp_path / "pack"
    (pack / "trace").mkdir(parents=True)
    (pack / "trace" / "e.ndjson").write_bytes(data)
    reader = PackReader(pack)
    reader.inventory()
    expected = {n: raw for n, raw in physical_lines(reader, "trace/e.ndjson")}
    for size in (1, 2, 3):
        quoter = _Quoter(PackReader(pack))

        def tiny(path: str, start: int = 0, end: int | None = None, size: int = size) -> Any:
            return (data[i : i + size] for i in range(0, len(data), size))

        quoter.reader.chunks = tiny  # type: ignore[method-assign]
        for number in range(1, len(expected) + 3):
            found = quoter.line("trace/e.ndjson", number)
            if number not in expected:
                assert found is None, (size, number)
                continue
            assert found is not None, (size, number)
            assert found.sha256 == "sha256:" + hashlib.sha256(expected[number]).hexdigest()
            assert (found.size, found.head) == (len(expected[number]), expected[number])
