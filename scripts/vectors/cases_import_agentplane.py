"""Golden vectors made by `vlab import agentplane` from agentplane's real output
(fixtures/native/agentplane).

Every source is agentplane's own file: its six shipped settlement fixtures, its admission
fixture, and the admission receipts its own ``sp_run admit`` made for the run
``settled.valid`` settles (``made/``, README). Expectations follow from the spec
(D1-02, rulesets-1.3.md §3 CL-D1-02, importers.md §3), never from running the engine:

- imported alone, a receipt's ``admission_receipt_ref`` (a non-empty id) resolves to
  nothing in the pack: ``RCPT-ADMISSION-REF-UNRESOLVED`` beside the receipt's own codes
  (an empty ref is ``RCPT-ADMISSION-REF-MISSING`` and is not looked up);
- the identity checks compare with the bundle's run id, which the importer takes from the
  receipt, so they only fail against an admission receipt that names another run.
"""

from __future__ import annotations

import json
from pathlib import Path

from scripts.vectors.model import (
    FILE,
    Case,
    Clause,
    Gate,
    Imported,
    PackEdit,
    Status,
    imported_case,
)
from vlab.pack.seal import seal

GROUP = "i13-agentplane"
ROOT = "fixtures/native/agentplane"
RECEIPTS = f"{ROOT}/tests/fixtures/receipts"
MADE = f"{ROOT}/made"
SETTLED = f"{RECEIPTS}/budget-settlement-receipt.settled.valid.json"
UPSTREAM_ADMISSION = f"{RECEIPTS}/attempt-admission-receipt.valid.json"
CONTRACT = f"{MADE}/governed-run-contract.alpha-001.json"
SETTLEMENT = "artifacts/budget/settlement_receipt.json"


def fixture(kind: str) -> str:
    return f"{RECEIPTS}/budget-settlement-receipt.{kind}.json"


def made_admission(decision: str) -> str:
    return f"{MADE}/attempt-admission-receipt.alpha-001.{decision}.json"


def d102(status: Status, *codes: str) -> dict[str, Clause]:
    reason = None if status == "PASS" else "REQ-FAIL-RQ-D1-02"
    return {"CL-D1-02": Clause(status, reason, list(codes), [FILE])}


def case(
    name: str,
    description: str,
    sources: list[str],
    clauses: dict[str, Clause],
    *,
    options: dict[str, str] | None = None,
    edit: PackEdit | None = None,
) -> Case:
    return imported_case(
        GROUP,
        name,
        description,
        Imported("agentplane", sources, options or {}, edit),
        clauses,
    )


def _edit_settled(root: Path, changes: dict[str, str]) -> None:
    """Rewrite literal JSON text of the scratch copy of settled.valid (exact number text)."""
    path = root / SETTLED
    text = path.read_text("utf-8")
    for old, new in changes.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path.write_text(text, "utf-8")


def _float_blind_overrun(root: Path) -> None:
    # 0.25000000000000001 is the float 0.25: agentplane sees no overrun; exactly it is one.
    _edit_settled(
        root,
        {
            '"cost_usd": 0.18': '"cost_usd": 0.25000000000000001',
            '"actual_cost_usd": 0.18': '"actual_cost_usd": 0.25000000000000001',
        },
    )


def _float_blind_amount(root: Path) -> None:
    # agentplane accepts any overrun amount within 1e-9 of the actuals; vlab, none.
    _edit_settled(root, {'"actual_cost_usd": 0.18': '"actual_cost_usd": 0.1800000001'})


def _launder(pack: Path) -> None:
    """Hand-'fix' the derived copy of a hidden overrun and reseal: the native bytes still
    say settled, so the importer cannot reproduce the edited copy."""
    path = pack / SETTLEMENT
    doc = json.loads(path.read_text("utf-8"))
    doc["settlement_status"] = "overrun"
    doc["overrun"]["over_budget"] = True
    doc["overrun"]["status"] = "overrun"
    path.write_text(json.dumps(doc, indent=2) + "\n", "utf-8")
    seal(pack)


CASES: list[Case] = [
    # -- agentplane's six shipped fixtures, each imported alone --------------------------
    case(
        "settled-valid-alone",
        "agentplane's settled.valid fixture (its validator: OK) imported without its "
        "admission receipt: the reference cannot resolve in the pack",
        [fixture("settled.valid")],
        d102("FAIL", "RCPT-ADMISSION-REF-UNRESOLVED"),
    ),
    case(
        "overrun-valid-alone",
        "agentplane's overrun.valid fixture (an overrun declared honestly) imported alone: "
        "only the unresolvable admission reference fails",
        [fixture("overrun.valid")],
        d102("FAIL", "RCPT-ADMISSION-REF-UNRESOLVED"),
    ),
    case(
        "missing-admission-ref",
        "agentplane's missing-admission-ref fixture: an empty admission_receipt_ref is "
        "missing (and, naming nothing, is not looked up)",
        [fixture("missing-admission-ref.invalid")],
        d102("FAIL", "RCPT-ADMISSION-REF-MISSING"),
    ),
    case(
        "missing-actuals",
        "agentplane's missing-actuals fixture: actuals {} fails agentplane's schema and "
        "lacks all five actuals; its admission reference does not resolve",
        [fixture("missing-actuals.invalid")],
        d102(
            "FAIL",
            "RCPT-SCHEMA-INVALID",
            "RCPT-ACTUALS-MISSING",
            "RCPT-ADMISSION-REF-UNRESOLVED",
        ),
    ),
    case(
        "negative-actual",
        "agentplane's negative-actual fixture: tokens_in -1 fails agentplane's schema "
        "(minimum 0) and is a negative counter; its admission reference does not resolve",
        [fixture("negative-actual.invalid")],
        d102(
            "FAIL",
            "RCPT-SCHEMA-INVALID",
            "RCPT-NEGATIVE-COUNTER",
            "RCPT-ADMISSION-REF-UNRESOLVED",
        ),
    ),
    case(
        "hidden-overrun",
        "agentplane's hidden-overrun fixture: cost 0.42 over a 0.25 estimate reported as "
        "settled, over_budget false, within_budget; its admission reference does not resolve",
        [fixture("hidden-overrun.invalid")],
        d102("FAIL", "RCPT-OVERRUN-HIDDEN", "RCPT-ADMISSION-REF-UNRESOLVED"),
    ),
    # -- with an admission receipt ---------------------------------------------------------
    case(
        "settled-with-upstream-admission",
        "settled.valid with agentplane's own attempt-admission-receipt.valid fixture: the "
        "two fixtures name different receipts (…:001 vs …:attempt-001), runs "
        "(governed-run-alpha-001 vs governed-run:alpha-001) and budgets (remaining 1.0 / "
        "10000 tokens vs 2.75 / 18000)",
        [SETTLED],
        d102(
            "FAIL",
            "RCPT-ADMISSION-REF-UNRESOLVED",
            "RCPT-IDENTITY-MISMATCH",
            "RCPT-ESTIMATE-DRIFT",
        ),
        options={"admission": UPSTREAM_ADMISSION},
    ),
    case(
        "settled-after-admit",
        "settled.valid with the admission receipt agentplane's sp_run admit made for its "
        "run (admit) and the run's contract: every check holds",
        [SETTLED],
        d102("PASS"),
        options={"admission": made_admission("admit"), "contract": CONTRACT},
    ),
    case(
        "settled-after-reject",
        "settled.valid after the admission receipt sp_run admit made with suspended "
        "authority (admission_decision reject): settled after a rejection",
        [SETTLED],
        d102("FAIL", "RCPT-SETTLED-AFTER-DENY"),
        options={"admission": made_admission("reject")},
    ),
    case(
        "settled-after-require-review",
        "settled.valid after an admission that required review (agentplane: not an "
        "autonomous admission): settled without an admit",
        [SETTLED],
        d102("FAIL", "RCPT-SETTLED-AFTER-DENY"),
        options={"admission": made_admission("require-review")},
    ),
    # -- exact decimals where agentplane compares floats -----------------------------------
    case(
        "float-blind-hidden-overrun",
        "settled.valid costing 0.25000000000000001 against a 0.25 estimate, still "
        "'settled': as floats the two are equal (agentplane: OK); exactly it is an overrun "
        "reported as a plain settlement",
        [SETTLED],
        d102("FAIL", "RCPT-OVERRUN-HIDDEN"),
        options={"admission": made_admission("admit")},
        edit=_float_blind_overrun,
    ),
    case(
        "float-blind-overrun-amount",
        "settled.valid whose overrun.actual_cost_usd says 0.1800000001 for actuals of 0.18: "
        "within agentplane's 1e-9 tolerance, not equal in exact decimal",
        [SETTLED],
        d102("FAIL", "RCPT-OVERRUN-AMOUNT-WRONG"),
        options={"admission": made_admission("admit")},
        edit=_float_blind_amount,
    ),
]

# A derived copy edited after import (and resealed) is not what the native bytes give.
CASES.append(
    imported_case(
        GROUP,
        "laundered-derived-receipt",
        "hidden-overrun imported, then its derived settlement receipt hand-edited to "
        "declare the overrun and the pack resealed: the importer, re-run on native/, "
        "does not make that file",
        Imported("agentplane", [fixture("hidden-overrun.invalid")]),
        {},
        after_seal=_launder,
        gate=Gate("ADM-GATE-CONTRACT", ["CONTRACT-IMPORT-NOT-REPRODUCIBLE"]),
    )
)
