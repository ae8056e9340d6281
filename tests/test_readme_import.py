"""The README's "Judge what a real system wrote" block runs as written, and its packs are
judged as its comments say."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from conftest import Runner

ROOT = Path(__file__).resolve().parent.parent
SECTION = "## Judge what a real system wrote"


def _block() -> str:
    readme = (ROOT / "README.md").read_text("utf-8")
    start = readme.index(SECTION + "\n")
    end = readme.find("\n## ", start + len(SECTION))
    (text,) = re.findall(r"(?ms)^```sh\n(.*?)^```$", readme[start:end])
    return text


def _topline_and(vlab: Runner, pack: Path, clause_id: str) -> tuple[str, set[str]]:
    proc = vlab("adjudicate", pack, "--format", "json", text=True)
    ruling = json.loads(proc.stdout)
    clause = next(c for c in ruling["clauses"] if c["clause_id"] == clause_id)
    return ruling["topline"], {d["code"] for d in clause["details"]}


def test_the_readme_import_block_runs_and_judges_as_it_says(tmp_path: Path, vlab: Runner) -> None:
    from conftest import clean_env

    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures")
    bin_dir = str(Path(sys.executable).parent)
    env = clean_env({"PATH": bin_dir + ":" + clean_env().get("PATH", "")})
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _block()],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    assert _topline_and(vlab, tmp_path / "hal0-run", "CL-D1-03") == (
        "PASS",
        {"LEDGER-DECISION-STRICTER"},
    )
    topline, codes = _topline_and(vlab, tmp_path / "hal0-ledger", "CL-D1-03")
    assert topline == "FAIL" and "LEDGER-CAP-EXCEEDED" in codes
    assert _topline_and(vlab, tmp_path / "agentplane-run", "CL-D1-02") == (
        "FAIL",
        {"RCPT-SETTLED-AFTER-DENY"},
    )
    assert "INVALID" in proc.stdout and "VALID" in proc.stdout  # receipt check ran
    topline, codes = _topline_and(vlab, tmp_path / "mplp-run", "CL-MPLPD1-02")
    assert topline == "FAIL" and codes == {"X-MPLP-D1-OUTCOME-INVALID"}
    assert _topline_and(vlab, tmp_path / "agentv-run", "CL-D1-04") == (
        "PASS",
        {"RUNBUDGET-CASE-COSTS-ONLY"},
    )
