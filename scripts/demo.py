"""`make demo`: adjudicate a few bundled packs and a fresh `vlab pack init` skeleton, each
with one caption line saying what it shows, then run the golden vectors.

The output is the same on every run: the packs are committed bytes, and the skeleton is
written with a fixed ``created_at`` into a temporary folder the output never names.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# (vector under evidence_packs/, what its ruling shows)
SHOWN = [
    (
        "starter/arb-d1-budget-pass-fixture",
        "PASS with two clauses NOT_EVALUATED: CL-D3-01 and CL-D4-01 do not apply to this run "
        "(no privileged action, no termination), so they count neither way and the passing "
        "clauses carry the topline.",
    ),
    (
        "starter/arb-d1-budget-fail-fixture",
        "FAIL: the RQ-D1-01 pointer leads to a tool-call event, not a budget decision "
        "(FIELD-MISSING decision_kind); one failing clause makes the topline FAIL.",
    ),
    (
        "d2-01/not-evaluated-partial-no-pointer",
        "PASS although CL-D2-01 is NOT_EVALUATED: the run declares partial_execution and left "
        "no terminal state (EVAL-EVIDENCE-ABSENT); the topline is FAIL if any clause fails, "
        "else PASS if any passes, and NOT_EVALUATED only when none could be judged.",
    ),
    (
        "admission/integrity-hash-mismatch",
        "NOT_ADMISSIBLE: the event log changed after sealing (INTEGRITY-HASH-MISMATCH), so "
        "the INTEGRITY gate stops the pack and no clause is judged (exit 2).",
    ),
    (
        "i13-agentv/pass-suite-budget-stopped",
        "PASS: a real agentv 4.42.4 run (vlab import agentv) whose suite budget skipped a "
        "case; CL-D1-04 checks the cap per case and accounts for the skipped one, and says "
        "that agentv's index holds only case-level costs (RUNBUDGET-CASE-COSTS-ONLY).",
    ),
    (
        "i13-agentplane/settled-after-reject",
        "FAIL: agentplane's own settled receipt after an admission its runner rejected "
        "(RCPT-SETTLED-AFTER-DENY), which agentplane's validator cannot see.",
    ),
]
# A live import: hal0's real persona and ledger, with the check responses a client logged.
HAL0_RUN = "fixtures/native/hal0/runs/float-edge"
IMPORT_ARGS = ["import", "hal0", HAL0_RUN, "--checks", f"{HAL0_RUN}/checks.jsonl"]
IMPORT_CAPTION = (
    "vlab import: hal0's own files become a sealed contract-1.2 pack (native/ byte for byte, "
    "derived evidence, import.json)."
)
IMPORTED_CAPTION = (
    "PASS: recomputed in exact decimal, every recorded hal0 check agrees with the caps and the "
    "ledger but one: the DENY hal0's binary floats gave (0.3 - 0.1 < 0.2), reported as the "
    "advisory LEDGER-DECISION-STRICTER (it blocked work and spent nothing)."
)
SKELETON_CAPTION = (
    "FAIL: the skeleton `vlab pack init my-run --ruleset ruleset-1.1` writes, sealed with no "
    "evidence: admissible, and every clause that applies FAILs with BUNDLE-POINTER-MISSING; "
    "its NOTES.md says what to add."
)
REGRESS_CAPTION = "every golden vector against its expected.json (exit 0: all match)."


def _run(vlab: list[str], shown: str, args: list[str], caption: str, cwd: Path = ROOT) -> int:
    print(f"\n# {caption}", flush=True)
    print(f"$ vlab {shown}", flush=True)
    code = subprocess.run([*vlab, *args], check=False, cwd=cwd).returncode
    print(f"(exit {code})", flush=True)
    return code


def main() -> int:
    from vlab.tools.init import init_pack

    vlab = [sys.executable, "-m", "vlab"]
    for name, caption in SHOWN:
        pack = ROOT / "evidence_packs" / name / "pack"
        _run(vlab, f"adjudicate evidence_packs/{name}/pack", ["adjudicate", str(pack)], caption)
    with tempfile.TemporaryDirectory() as tmp:
        init_pack(Path(tmp) / "my-run", "ruleset-1.1", None, created_at="2026-05-29T10:00:00Z")
        sealed = subprocess.run(
            [*vlab, "pack", "seal", "my-run"], cwd=tmp, check=False, capture_output=True
        )
        if sealed.returncode != 0:
            sys.stderr.buffer.write(sealed.stderr)
            return sealed.returncode
        _run(vlab, "adjudicate my-run", ["adjudicate", "my-run"], SKELETON_CAPTION, Path(tmp))
        (Path(tmp) / "fixtures").symlink_to(ROOT / "fixtures")  # as typed from the repository
        args = [*IMPORT_ARGS, "--out", "hal0-run"]
        if _run(vlab, " ".join(args), args, IMPORT_CAPTION, Path(tmp)) != 0:
            return 1
        _run(vlab, "adjudicate hal0-run", ["adjudicate", "hal0-run"], IMPORTED_CAPTION, Path(tmp))
    print(f"\n# {REGRESS_CAPTION}", flush=True)
    print("$ vlab regress evidence_packs --jobs 2", flush=True)
    return subprocess.run(
        [*vlab, "regress", str(ROOT / "evidence_packs"), "--jobs", "2"], check=False
    ).returncode


if __name__ == "__main__":
    raise SystemExit(main())
