"""The replay packs (ruleset-1.2): written, described and sealed in a child process
(``python -m benchmarks.run --generate KIND SIZE PACK SHA``) so the harness, whose peak RSS
floors every child's ``ru_maxrss``, never holds a generator's state."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.generators.common import (
    LOG,
    REPLAY_GENERATOR_VERSION,
    REPLAY_RULESET,
    REPLAY_RUN_ID,
    replay_name,
)
from benchmarks.generators.ledger import LEDGER_PATH, write_ledger_files
from benchmarks.generators.matrix import MATRIX_TARGETS, MATRIX_TESTS, write_matrix_log
from benchmarks.harness import MB, OUT, ROOT, BenchError, seal
from benchmarks.packs import ensure_pack


def generate_replay(kind: str, size: int, pack: Path, schema_sha: str) -> None:
    """The child's job: write, describe (out/NAME.stats.json) and seal one replay pack."""
    from vlab.producer.packwriter import PackWriter

    if kind == "ledger":
        stats = write_ledger_files(pack, size)
        scenario = {"spend_cap": True, "settlement_expected": False, "privileged_action": False}
        evidence = ("RQ-D1-03", LEDGER_PATH)
    else:
        stats = write_matrix_log(pack, size // (MATRIX_TARGETS * MATRIX_TESTS))
        scenario = {"eval_matrix": True, "settlement_expected": False, "privileged_action": False}
        evidence = ("RQ-D1-04", LOG)
    PackWriter(pack).control_files(
        pack_id=f"bench-{pack.name}",
        run_id=REPLAY_RUN_ID,
        ruleset_ref=REPLAY_RULESET,
        schema_bundle_sha256=schema_sha,
        scenario_meta=scenario,
        pointers=[
            {
                "requirement_id": "RQ-D1-01",
                "artifact_path": LOG,
                "locator": "event_id:evt-budget-001",
                "status": "PRESENT",
            },
            {
                "requirement_id": "RQ-D2-01",
                "artifact_path": LOG,
                "locator": "event_id:evt-end",
                "status": "PRESENT",
            },
            {
                "requirement_id": evidence[0],
                "artifact_path": evidence[1],
                "locator": "file:",
                "status": "PRESENT",
            },
        ],
    )
    seal(pack)
    stats["files_mb"] = {
        str(p.relative_to(pack)): p.stat().st_size / MB
        for p in sorted(pack.rglob("*"))
        if p.is_file() and p.stat().st_size > 100_000
    }
    (pack.parent / f"{pack.name}.stats.json").write_text(json.dumps(stats, indent=2) + "\n")


def ensure_replay_pack(kind: str, size: int, schema_sha: str, *, force: bool = False) -> Path:
    name = replay_name(kind, size)
    stats_file = OUT / f"{name}.stats.json"
    params = {
        "generator_version": REPLAY_GENERATOR_VERSION,
        "kind": kind,
        "size": size,
        "ruleset": REPLAY_RULESET,
        "schema_bundle_sha256": schema_sha,
    }

    def build(pack: Path) -> str:
        stats_file.unlink(missing_ok=True)
        argv = [sys.executable, "-m", "benchmarks.run"]
        argv += ["--generate", kind, str(size), str(pack), schema_sha]
        done = subprocess.run(argv, cwd=ROOT, capture_output=True, check=False)
        if done.returncode != 0:
            raise BenchError(f"generating {pack} failed: {done.stderr.decode(errors='replace')}")
        stats = json.loads(stats_file.read_text())
        files = ", ".join(f"{k} {v:.1f} MB" for k, v in stats["files_mb"].items())
        return files or "all files small"

    what = f"{size:,} charges" if kind == "ledger" else f"{size:,} planned trials"
    return ensure_pack(name, params, what, build, force=force or not stats_file.is_file())
