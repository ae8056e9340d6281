"""Golden vectors made by `vlab import agentv` from its real output (fixtures/native/agentv).

Every run was made by agentv 4.42.4 itself, offline (fixtures/native/agentv/README.md):
3 tests x 2 targets x 2 trials without a budget, with a suite budget (execution.budget_usd
0.30) and with a run budget (--budget-usd 0.6); the issue's 3 targets x 4 tests x 5 trials
matrix without a budget, with a suite and with a run budget (matrix/); and a probe whose
trials cost differently (probe/), which shows that agentv's index records one trial's cost
per case while its budget adds them all.

Expectations follow rulesets-1.3.md §3 (CL-D1-04, run_budget@2) on the numbers in those
files. The importer writes dispatch_unit case, order per_target (agentv runs targets
concurrently and writes index.jsonl in plan order) and, with trials.count 2 or 5 and no
samples, cost_basis partial: the recorded spend is a lower bound, so every capped run
carries the RUNBUDGET-CASE-COSTS-ONLY advisory and a reported exhaustion the recorded
costs do not reach is not refuted. --workers 1, as the runs were given it, makes each
target's log its dispatch order.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.vectors.model import FILE, LOG, Case, Clause, Gate, Imported, PackEdit, imported_case
from vlab.pack.seal import seal

GROUP = "i13-agentv"
ROOT = "fixtures/native/agentv"
D14 = "CL-D1-04"
FAIL = "REQ-FAIL-RQ-D1-04"
COSTS = "RUNBUDGET-CASE-COSTS-ONLY"


def passed(*details: str) -> dict[str, Clause]:
    return {D14: Clause("PASS", None, list(details), [FILE])}


def failed(*details: str) -> dict[str, Clause]:
    return {D14: Clause("FAIL", FAIL, list(details), [FILE])}


def run(folder: str, eval_file: str, edit: PackEdit | None = None, **options: object) -> Imported:
    return Imported(
        "agentv", [f"{ROOT}/{folder}"], {"eval": f"{ROOT}/{eval_file}", **options}, edit
    )


def damaged(root: Path) -> None:
    """The index as a bad copy leaves it: a byte that is not UTF-8 inside row 1 (agentv
    reads it as U+FFFD) and the final row cut halfway, without its newline."""
    path = root / ROOT / "run-nobudget" / "index.jsonl"
    rows = path.read_bytes().split(b"\n")
    rows[0] = rows[0].replace(b'"Uncategorized"', b'"Unc\xffategorized"', 1)
    rows[5] = rows[5][: len(rows[5]) // 2]
    path.write_bytes(b"\n".join(rows[:6]))


def dispatched_anyway(root: Path) -> None:
    """agentv as if its suite cap had not held: pricey's t3 row, which agentv wrote as
    budget_exceeded, replaced by an ok row (pricey t2's, renamed t3)."""
    path = root / ROOT / "run-budget" / "index.jsonl"
    rows = path.read_bytes().split(b"\n")
    rows[5] = rows[4].replace(b'"test_id":"t2"', b'"test_id":"t3"', 1)
    path.write_bytes(b"\n".join(rows))


def _hide_the_stop(pack: Path) -> None:
    """Hand-edit the derived log as if the run had not been stopped (the skips dropped, the
    status completed) and reseal: the native rows still say budget_exceeded."""
    path = pack / LOG
    kept = []
    for line in path.read_text("utf-8").splitlines():
        event = json.loads(line)
        if event["event_type"] in ("case.skipped", "budget.decision"):
            continue
        if event["event_type"] == "run.completed":
            event["status"] = "completed"
        kept.append(json.dumps(event, separators=(",", ":")))
    path.write_text("\n".join(kept) + "\n", "utf-8")
    seal(pack)


def case(name: str, description: str, imported: Imported, clauses: dict[str, Clause]) -> Case:
    return imported_case(GROUP, name, description, imported, clauses)


CASES: list[Case] = [
    case(
        "pass-no-budget",
        "3 tests x 2 targets x 2 trials, no cap: every case ran, nothing was stopped",
        run("run-nobudget", "evals/nobudget.yaml"),
        passed(),
    ),
    case(
        "pass-suite-budget-stopped",
        "execution.budget_usd 0.30, a cap per target: pricey reaches 0.50 after t2 and its t3 "
        "is a budget_exceeded row (skipped, surfaced); cheap reaches 0.30 on its last case. "
        "Recorded costs are one trial's of two: lower bounds",
        run("run-budget", "evals/budget.yaml", workers=1),
        passed(COSTS),
    ),
    case(
        "pass-run-budget-stopped",
        "--budget-usd 0.6 shared by both targets, run concurrently: three cases are "
        "budget_exceeded rows, each accounted for; agentv's messages put the spend at 0.70 "
        "and 0.90, the recorded costs (one trial's of two) at 0.45, so the reported "
        "exhaustion cannot be refuted",
        run("run-runbudget", "evals/runbudget.yaml", budget_usd="0.6", workers=1, exit_code=1),
        passed(COSTS),
    ),
    case(
        "fail-run-budget-not-given",
        "the run-budget run imported without --budget-usd: its skip rows report a run-wide "
        "cap of 0.6000 that run.config does not have",
        run("run-runbudget", "evals/runbudget.yaml", workers=1),
        failed("RUNBUDGET-CONFIG-MISSING"),
    ),
    case(
        "pass-matrix-3x4x5-no-budget",
        "the issue's matrix, 3 targets x 4 tests x 5 trials, no cap: all 12 cases ran",
        run("matrix/run-matrix-nobudget", "matrix/evals/matrix-nobudget.yaml", workers=1),
        passed(),
    ),
    case(
        "pass-matrix-3x4x5-suite-budget",
        "the matrix with execution.budget_usd 0.30 per target: medium stops after 3 cases, "
        "large after 2, small never; 3 budget_exceeded rows, each accounted for",
        run("matrix/run-matrix-suitebudget", "matrix/evals/matrix-suitebudget.yaml", workers=1),
        passed(COSTS),
    ),
    case(
        "pass-matrix-3x4x5-run-budget",
        "the matrix with --budget-usd 1.00 across the three targets (agentv exit 1): each "
        "target's t4 is a budget_exceeded row; recorded costs are one trial's of five",
        run(
            "matrix/run-matrix-runbudget",
            "matrix/evals/matrix-runbudget.yaml",
            budget_usd="1.00",
            workers=1,
            exit_code=1,
        ),
        passed(COSTS),
    ),
    case(
        "pass-trial-costs-hidden",
        "trials that cost differently (probe-agent.mjs): pricey t1 ran 2 trials (0.26, "
        "0.27), its row records 0.27, agentv's budget added 0.53 and refused t2 under the "
        "0.30 suite cap; the recorded 0.27 cannot refute that",
        run("probe/run-probe-budget", "probe/evals/probe-budget.yaml", workers=1),
        passed(COSTS),
    ),
    case(
        "pass-one-trial-run-budget",
        "one trial a case (costs exact), --budget-usd 0.5 across two concurrent targets: the "
        "recorded 0.70 reaches the cap and both t3s are budget_exceeded rows; whether cheap's "
        "t1 and t2 started before pricey's spend reached the cap the index cannot say",
        run("onetrial/run-onetrial", "onetrial/evals/onetrial.yaml", budget_usd="0.5", workers=1),
        passed("RUNBUDGET-ORDER-PARTIAL"),
    ),
    case(
        "fail-dispatch-after-exhaustion",
        "the suite-budget run edited as if agentv had dispatched pricey's t3 after pricey's "
        "recorded spend (0.50) had reached its 0.30 cap",
        run("run-budget", "evals/budget.yaml", dispatched_anyway, workers=1),
        failed("RUNBUDGET-DISPATCH-AFTER-EXHAUSTION", COSTS),
    ),
    case(
        "fail-damaged-index",
        "the no-budget index damaged: a non-UTF-8 byte in row 1 (read as agentv reads it) "
        "and a torn final row, whose case then has no record: the unreadable record is "
        "damage (never silent), its case is not accounted for, and the rows' report (0 "
        "skipped) disagrees with the plan",
        run("run-nobudget", "evals/nobudget.yaml", damaged),
        failed(
            "RUNBUDGET-SPEND-MISREPORTED",
            "RUNBUDGET-SPEND-MISREPORTED",
            "RUNBUDGET-INCOMPLETE-MATRIX",
        ),
    ),
    imported_case(
        GROUP,
        "tampered-derived-log",
        "the run-budget pack with its skips and budget decision cut from the derived log and "
        "resealed: the importer cannot reproduce it from the native rows",
        run("run-runbudget", "evals/runbudget.yaml", budget_usd="0.6", workers=1),
        {},
        after_seal=_hide_the_stop,
        gate=Gate("ADM-GATE-CONTRACT", ["CONTRACT-IMPORT-NOT-REPRODUCIBLE"]),
    ),
]
