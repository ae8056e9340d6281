"""The fuzz harness (``fuzz/``, ``make fuzz``) runs, counts exactly and sees what it must.

Not a fuzz campaign (that is ``make fuzz``, outside ``make test``): a tiny deterministic run
(60 executions, a fixed seed, one worker) must report exactly 60 executions and nothing
found; a run with faults planted on purpose must report each of them, since a harness
that cannot see a crash would always report 0. No wall-clock assertion: the timeout is a
liveness bound only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
LIVENESS_TIMEOUT_S = 300


def _campaign(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Any]:
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FUZZ_", "VLAB_"))}
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "fuzz",
            "--jobs",
            "1",
            "--quiet",
            "--big-rate",
            "0",  # no multi-MB packs here: the test stays small on a busy machine
            "--out",
            str(tmp_path / "out"),
            "--report-json",
            str(report),
            *args,
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=LIVENESS_TIMEOUT_S,
        check=False,
    )
    assert report.is_file(), proc.stdout + proc.stderr
    return proc, json.loads(report.read_text("utf-8"))


def test_tiny_campaign_counts_exactly_and_finds_nothing(tmp_path: Path) -> None:
    proc, report = _campaign(tmp_path, "--execs", "60", "--seed", "20260529")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert report["executions"] == 60
    assert sum(report["status"].values()) == 60
    assert sum(report["families"].values()) == 60
    assert report["stages"]["judge"] == 60
    assert (report["crashes"], report["hangs"], report["invariant_failures"]) == (0, 0, 0)
    assert report["harness_errors"] == {}
    assert report["signatures"] == {}
    assert "RESULT: clean" in proc.stdout
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_planted_faults_are_each_counted_and_saved(tmp_path: Path) -> None:
    proc, report = _campaign(
        tmp_path,
        "--execs",
        "24",
        "--seed",
        "20260529",
        "--no-minimise",
        "--budget-s",
        "2",
        "--plant",
        "5:crash,11:hang,17:die",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert report["executions"] == 24  # the dead worker's chunk was re-run, not lost
    assert (report["crashes"], report["hangs"], report["invariant_failures"]) == (2, 1, 0)
    signatures = report["signatures"]
    assert {s: e["first_index"] for s, e in signatures.items()} == {
        "crash:judge:PlantedFault@campaign.py:_planted": 5,
        "hang:judge@campaign.py:_on_alarm": 11,
        "crash:worker-died": 17,
    }
    for entry in signatures.values():
        (saved,) = entry["saved"]
        finding = json.loads((Path(saved) / "finding.json").read_text("utf-8"))
        assert finding["signature"] in signatures
        assert (Path(saved) / "pack").is_dir()
        assert (Path(saved) / "traceback.txt").is_file()
        assert (
            finding["replay"] == f"python -m fuzz replay --seed 20260529 --index {finding['index']}"
        )


def test_executions_are_a_function_of_seed_and_index() -> None:
    """Reproducing a finding needs only (seed, index): generation does not depend on the
    worker count, on the order of executions or on what ran before."""
    sys.path.insert(0, str(REPO))
    try:
        from fuzz.campaign import Config, build, make_plan
        from fuzz.hostile import load_corpus
    finally:
        sys.path.remove(str(REPO))
    corpus = load_corpus()
    cfg = Config(seed=3)

    def packs(indices: list[int]) -> dict[int, Any]:
        out = {}
        for i in indices:
            built = build(make_plan(cfg, i, corpus), corpus)
            spec = built.spec
            out[i] = (sorted(spec.files.items()), spec.specials, built.opts, built.archive)
        return out

    forward = packs(list(range(40)))
    backward = packs(list(reversed(range(40))))
    assert forward == backward
    assert len({repr(v) for v in forward.values()}) == 40
