"""BudgetSettlementReceipt fixtures: build them, or check the validator against them.

    python scripts/receipt_fixtures.py build   # (re)write fixtures/receipts/
    python scripts/receipt_fixtures.py check   # `make receipts`: run `vlab receipt check`

Each fixture declares whether it is valid and, for a negative, the code that must be among
the codes the validator produces (every check runs on every receipt).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from vectors.model import apply_changes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "receipts"
ADMISSION_SHA = "sha256:" + "3" * 64

SETTLED: dict[str, Any] = {
    "schema": "BudgetSettlementReceipt/v0.1",
    "receipt_id": "bsr-0001",
    "run_id": "run-0001",
    "attempt_id": "att-0001",
    "admission_receipt_ref": {"receipt_id": "aar-0001", "sha256": ADMISSION_SHA},
    "estimate": {
        "cost_usd": "0.5000",
        "tokens_in": 12000,
        "tokens_out": 3000,
        "tool_calls": 8,
        "wall_seconds": 120,
    },
    "actual": {
        "cost_usd": "0.4213",
        "tokens_in": 11234,
        "tokens_out": 2877,
        "tool_calls": 7,
        "wall_seconds": 98.5,
    },
    "estimate_provenance": {"source": "governed_run_contract", "method": "price_table_v3"},
    "settlement_provenance": {"source": "provider_usage", "observed_at": "2026-05-29T10:05:00Z"},
    "overrun": {"status": "NONE", "cost_usd_over": "0"},
    "status": "SETTLED",
    "fail_closed_reason": None,
}


def variant(**changes: Any) -> dict[str, Any]:
    """SETTLED with ``a__b``-path changes; the value ... deletes the field."""
    return apply_changes(SETTLED, changes)


FIXTURES: list[tuple[str, bool, str | None, Any]] = [
    # name, valid, code that must be produced, receipt
    ("positive-settled", True, None, SETTLED),
    (
        "positive-failed-closed-honest",
        True,
        None,
        variant(
            actual=None,
            settlement_provenance=...,
            status="FAILED_CLOSED",
            fail_closed_reason="provider usage API unavailable; no actuals observed",
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    (
        "positive-declared-overrun",
        True,
        None,
        variant(
            actual__cost_usd="0.7500",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2500"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    (
        "positive-partly-measured",
        True,
        None,
        variant(
            actual={"cost_usd": None, "tokens_in": 9000, "tokens_out": None},
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    (
        "positive-exact-decimal",
        True,
        None,
        variant(
            estimate__cost_usd="0.3",
            actual__cost_usd=0.3,
            overrun={"status": "NONE", "cost_usd_over": "0.0"},
        ),
    ),
    (
        "positive-exact-decimal-overrun",
        True,
        None,
        variant(
            estimate__cost_usd="0.1",
            actual__cost_usd="0.3",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    (
        "negative-missing-admission-ref",
        False,
        "RCPT-ADMISSION-REF-MISSING",
        variant(admission_receipt_ref=...),
    ),
    (
        "negative-missing-actuals",
        False,
        "RCPT-ACTUALS-MISSING",
        variant(actual=None, overrun={"status": "UNKNOWN", "cost_usd_over": None}),
    ),
    (
        "negative-negative-counts",
        False,
        "RCPT-NEGATIVE-COUNTER",
        variant(actual__cost_usd="-0.10", actual__tokens_in=-5),
    ),
    (
        "negative-overrun-hidden",
        False,
        "RCPT-OVERRUN-HIDDEN",
        variant(actual__cost_usd="0.7500", overrun={"status": "NONE", "cost_usd_over": "0.2500"}),
    ),
    (
        "negative-overrun-hidden-tokens",
        False,
        "RCPT-OVERRUN-HIDDEN",
        variant(actual__tokens_out=4000),
    ),
    (
        "negative-fail-closed-reason-missing",
        False,
        "RCPT-FAIL-CLOSED-REASON-MISSING",
        variant(
            actual=None,
            status="FAILED_CLOSED",
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    (
        "negative-overrun-phantom",
        False,
        "RCPT-OVERRUN-PHANTOM",
        variant(overrun={"status": "OVERRUN", "cost_usd_over": "0"}, status="SETTLED_WITH_OVERRUN"),
    ),
    (
        "negative-overrun-unknown-unjustified",
        False,
        "RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED",
        variant(overrun={"status": "UNKNOWN", "cost_usd_over": "0"}),
    ),
    (
        "negative-overrun-amount-wrong",
        False,
        "RCPT-OVERRUN-AMOUNT-WRONG",
        variant(
            actual__cost_usd="0.7500",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2499"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    (
        "negative-overrun-amount-float-trap",
        False,
        "RCPT-OVERRUN-AMOUNT-WRONG",
        variant(
            estimate__cost_usd="0.1",
            actual__cost_usd="0.3",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.19999999999999998"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    (
        "negative-schema-extra-field",
        False,
        "RCPT-SCHEMA-INVALID",
        variant(billing_account="acct-9"),
    ),
    ("negative-not-an-object", False, "RCPT-SCHEMA-INVALID", ["not", "a", "receipt"]),
]


def build() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    index = []
    for name, valid, code, receipt in FIXTURES:
        (OUT / f"{name}.json").write_text(json.dumps(receipt, indent=2) + "\n", "utf-8")
        index.append({"file": f"{name}.json", "valid": valid, "must_include": code})
    (OUT / "expectations.index").write_text(json.dumps(index, indent=2) + "\n", "utf-8")
    print(f"wrote {len(index)} receipt fixtures to {OUT}", file=sys.stderr)
    return 0


def check() -> int:
    index = json.loads((OUT / "expectations.index").read_text("utf-8"))
    files = [str(OUT / item["file"]) for item in index]
    proc = subprocess.run(
        [sys.executable, "-m", "vlab", "receipt", "check", "--format", "json", *files],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        print(proc.stderr, file=sys.stderr)
        return 1
    results = {Path(r["file"]).name: r for r in json.loads(proc.stdout)}
    wrong = []
    for item in index:
        got = results[item["file"]]
        if got["valid"] != item["valid"]:
            wrong.append(f"{item['file']}: expected valid={item['valid']}, got {got['codes']}")
        elif item["must_include"] and item["must_include"] not in got["codes"]:
            wrong.append(f"{item['file']}: {item['must_include']} not among {got['codes']}")
    for line in wrong:
        print("RECEIPT FIXTURE MISMATCH", line)
    print(f"{len(index)} receipt fixtures: {len(index) - len(wrong)} passed, {len(wrong)} failed")
    return 1 if wrong else 0


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    raise SystemExit(build() if command == "build" else check())
