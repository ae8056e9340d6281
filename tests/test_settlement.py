"""BudgetSettlementReceipt checks: exact decimals, every check on every receipt."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from vlab.builtins.functions import is_bookkeeping
from vlab.core.timestamps import is_rfc3339
from vlab.domains.settlement import (
    INVALID,
    counters_equal,
    exceeding,
    has_measured,
    parse_number,
    receipt_findings,
)
from vlab.ruleset.catalog import Catalog

if TYPE_CHECKING:
    from conftest import Runner

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "receipts"


@pytest.fixture(scope="module")
def schema() -> dict:
    rs = Catalog().get("ruleset-1.2")
    return rs.extra_schemas["budget_settlement_receipt"]


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("0.0125", Decimal("0.0125")),
        (3, Decimal(3)),
        (Decimal("0.1"), Decimal("0.1")),
        ("-2", Decimal(-2)),
        (None, None),
    ],
)
def test_parse_number_is_exact(raw: object, value: object) -> None:
    assert parse_number(raw) == value


@pytest.mark.parametrize("raw", [True, "1e3", "abc", "01.5", "", [], float("nan")])
def test_parse_number_rejects_non_numbers(raw: object) -> None:
    assert parse_number(raw) is INVALID


def test_float_trap_is_exact() -> None:
    # 0.1 + 0.2 against 0.3: not over as decimals (binary floats would say it is).
    assert exceeding({"cost_usd": "0.3"}, {"cost_usd": Decimal("0.1") + Decimal("0.2")}) == []
    assert exceeding({"cost_usd": "0.3"}, {"cost_usd": "0.30000000000000001"}) == ["cost_usd"]


def test_counters_equal_and_measured() -> None:
    assert counters_equal({"cost_usd": "0.50", "tokens_in": 3}, {"cost_usd": "0.5", "tokens_in": 3})
    assert not counters_equal({"cost_usd": "0.5"}, {"cost_usd": "0.5", "tokens_in": 1})
    assert counters_equal({"cost_usd": None}, {})
    assert has_measured({"tool_calls": 0}) and not has_measured({"cost_usd": None})
    assert not has_measured(None)


def test_every_check_runs_schema_never_hides_a_code(schema: dict) -> None:
    receipt = json.loads((FIXTURES / "positive-settled.json").read_text())
    receipt["extra"] = 1
    receipt.pop("admission_receipt_ref")
    receipt["actual"]["tokens_in"] = -1
    codes = [f.code for f in receipt_findings(receipt, schema)]
    assert codes == ["RCPT-SCHEMA-INVALID", "RCPT-ADMISSION-REF-MISSING", "RCPT-NEGATIVE-COUNTER"]


def test_not_an_object(schema: dict) -> None:
    assert [f.code for f in receipt_findings([1], schema)] == ["RCPT-SCHEMA-INVALID"]


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("2026-05-29T10:00:01Z", True),
        ("2026-05-29t10:00:01.5+05:30", True),
        ("2026-12-31T23:59:60Z", True),
        ("2026-02-30T10:00:00Z", False),
        ("2026-05-29T10:00:00", False),
        ("2026-05-29 10:00:00Z", False),
        ("2026-05-29T24:00:00Z", False),
        ("2026-05-29T10:00:00+24:00", False),
        (20260529, False),
    ],
)
def test_rfc3339(value: object, ok: bool) -> None:
    assert is_rfc3339(value) is ok


def test_bookkeeping_types_and_prefixes() -> None:
    types = frozenset({"run_state_transition", "agent.end", "run.completed"})
    prefixes = frozenset({"lifecycle.", "budget.", "audit."})
    assert is_bookkeeping("Run-State-Transition", types, prefixes)
    assert is_bookkeeping("budget.check", types, prefixes)
    assert not is_bookkeeping("tool.call", types, prefixes)
    assert not is_bookkeeping(None, types, prefixes)  # no event_type: counted as execution


def test_receipt_check_exit_statuses_and_json(vlab: Runner) -> None:
    good = str(FIXTURES / "positive-settled.json")
    bad = str(FIXTURES / "negative-overrun-hidden.json")
    assert vlab("receipt", "check", good, text=True).returncode == 0
    proc = vlab("receipt", "check", good, bad, "--format", "json", text=True)
    assert proc.returncode == 1
    rows = json.loads(proc.stdout)
    assert rows == [
        {"file": good, "valid": True, "codes": []},
        {"file": bad, "valid": False, "codes": ["RCPT-OVERRUN-HIDDEN"]},
    ]
    missing = vlab("receipt", "check", good, str(FIXTURES / "nope.json"), text=True)
    assert missing.returncode == 64 and "Traceback" not in missing.stderr
    assert vlab("receipt", "check", good, "--format", "yaml", text=True).returncode == 64


def test_receipt_check_not_json_is_invalid(tmp_path: Path, vlab: Runner) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"a": NaN}')
    proc = vlab("receipt", "check", str(path), "--format", "json", text=True)
    assert proc.returncode == 1
    assert json.loads(proc.stdout)[0]["codes"] == ["RCPT-SCHEMA-INVALID"]


def test_receipt_fixtures_hold() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "scripts.receipt_fixtures", "check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout
