"""BudgetSettlementReceipt fixtures: build them, or check the validator against them.

    python -m scripts.receipt_fixtures build   # (re)write fixtures/receipts/
    python -m scripts.receipt_fixtures check   # `make receipts`: run `vlab receipt check`

Each fixture declares whether it is valid and, for a negative, the code that must be among
the codes the validator produces (every check runs on every receipt). `check` also runs
agentplane's six shipped receipts (its dialect) against its own validator's verdicts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.vectors.cases_12 import settled_receipt
from scripts.vectors.model import JSONObject, apply_changes

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "fixtures" / "receipts"
ADMISSION_SHA = "sha256:" + "3" * 64

SETTLED = settled_receipt(ADMISSION_SHA)


def variant(**changes: Any) -> JSONObject:
    """SETTLED with ``a__b``-path changes; the value ... deletes the field."""
    return apply_changes(SETTLED, changes)


@dataclass(frozen=True)
class Fixture:
    """A receipt; a negative names the code it must produce (a positive, none)."""

    name: str
    receipt: object
    must_include: str | None = None

    @property
    def valid(self) -> bool:
        return self.must_include is None


def positive(name: str, receipt: object) -> Fixture:
    return Fixture(name, receipt)


def negative(name: str, code: str, receipt: object) -> Fixture:
    return Fixture(name, receipt, code)


FIXTURES: list[Fixture] = [
    positive("positive-settled", SETTLED),
    positive(
        "positive-failed-closed-honest",
        variant(
            actual=None,
            settlement_provenance=...,
            status="FAILED_CLOSED",
            fail_closed_reason="provider usage API unavailable; no actuals observed",
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    positive(
        "positive-declared-overrun",
        variant(
            actual__cost_usd="0.7500",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2500"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    positive(
        "positive-partly-measured",
        variant(
            actual={"cost_usd": None, "tokens_in": 9000, "tokens_out": None},
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    positive(
        "positive-exact-decimal",
        variant(
            estimate__cost_usd="0.3",
            actual__cost_usd=0.3,
            overrun={"status": "NONE", "cost_usd_over": "0.0"},
        ),
    ),
    positive(
        "positive-exact-decimal-overrun",
        variant(
            estimate__cost_usd="0.1",
            actual__cost_usd="0.3",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    negative(
        "negative-missing-admission-ref",
        "RCPT-ADMISSION-REF-MISSING",
        variant(admission_receipt_ref=...),
    ),
    negative(
        "negative-missing-actuals",
        "RCPT-ACTUALS-MISSING",
        variant(actual=None, overrun={"status": "UNKNOWN", "cost_usd_over": None}),
    ),
    negative(
        "negative-negative-counts",
        "RCPT-NEGATIVE-COUNTER",
        variant(actual__cost_usd="-0.10", actual__tokens_in=-5),
    ),
    negative(
        "negative-overrun-hidden",
        "RCPT-OVERRUN-HIDDEN",
        variant(actual__cost_usd="0.7500", overrun={"status": "NONE", "cost_usd_over": "0.2500"}),
    ),
    negative(
        "negative-overrun-hidden-tokens", "RCPT-OVERRUN-HIDDEN", variant(actual__tokens_out=4000)
    ),
    negative(
        "negative-fail-closed-reason-missing",
        "RCPT-FAIL-CLOSED-REASON-MISSING",
        variant(
            actual=None,
            status="FAILED_CLOSED",
            overrun={"status": "UNKNOWN", "cost_usd_over": None},
        ),
    ),
    negative(
        "negative-overrun-phantom",
        "RCPT-OVERRUN-PHANTOM",
        variant(overrun={"status": "OVERRUN", "cost_usd_over": "0"}, status="SETTLED_WITH_OVERRUN"),
    ),
    negative(
        "negative-overrun-unknown-unjustified",
        "RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED",
        variant(overrun={"status": "UNKNOWN", "cost_usd_over": "0"}),
    ),
    negative(
        "negative-overrun-amount-wrong",
        "RCPT-OVERRUN-AMOUNT-WRONG",
        variant(
            actual__cost_usd="0.7500",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.2499"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    negative(
        "negative-overrun-amount-float-trap",
        "RCPT-OVERRUN-AMOUNT-WRONG",
        variant(
            estimate__cost_usd="0.1",
            actual__cost_usd="0.3",
            overrun={"status": "OVERRUN", "cost_usd_over": "0.19999999999999998"},
            status="SETTLED_WITH_OVERRUN",
        ),
    ),
    negative(
        "negative-schema-extra-field", "RCPT-SCHEMA-INVALID", variant(billing_account="acct-9")
    ),
    negative("negative-not-an-object", "RCPT-SCHEMA-INVALID", ["not", "a", "receipt"]),
]


def build() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    index = []
    for fixture in FIXTURES:
        text = json.dumps(fixture.receipt, indent=2) + "\n"
        (OUT / f"{fixture.name}.json").write_text(text, "utf-8")
        index.append(
            {
                "file": f"{fixture.name}.json",
                "valid": fixture.valid,
                "must_include": fixture.must_include,
            }
        )
    (OUT / "expectations.index").write_text(json.dumps(index, indent=2) + "\n", "utf-8")
    print(f"wrote {len(index)} receipt fixtures to {OUT}", file=sys.stderr)
    return 0


# agentplane's six shipped fixtures (fixtures/native/agentplane), checked in agentplane's
# dialect: its own validator's verdict (verdicts.txt), each invalid one with the code the
# seed names for it.
AGENTPLANE = ROOT / "fixtures" / "native" / "agentplane" / "tests" / "fixtures" / "receipts"
AGENTPLANE_INDEX: list[dict[str, Any]] = [
    {"file": f"budget-settlement-receipt.{kind}.json", "valid": code is None, "must_include": code}
    for kind, code in (
        ("settled.valid", None),
        ("overrun.valid", None),
        ("missing-admission-ref.invalid", "RCPT-ADMISSION-REF-MISSING"),
        ("missing-actuals.invalid", "RCPT-ACTUALS-MISSING"),
        ("negative-actual.invalid", "RCPT-NEGATIVE-COUNTER"),
        ("hidden-overrun.invalid", "RCPT-OVERRUN-HIDDEN"),
    )
]


def check() -> int:
    own = json.loads((OUT / "expectations.index").read_text("utf-8"))
    index = [*own, *AGENTPLANE_INDEX]
    files = [str(OUT / item["file"]) for item in own]
    files += [str(AGENTPLANE / item["file"]) for item in AGENTPLANE_INDEX]
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
