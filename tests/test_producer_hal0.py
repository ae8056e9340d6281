"""The producer reads hal0's persona TOML (``[persona.budget]``, written by hal0's own
save_persona: fixtures/native/hal0) with every cap hal0 knows, refuses what hal0 would
silently ignore, and decides hal0's recorded checks the way hal0 did, except where exact
decimal and hal0's floats differ (each difference named here)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from vlab.producer.spendcap import (
    Budget,
    BudgetError,
    EventLog,
    SpendingCap,
    SpendLedger,
    StepClock,
)

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "native" / "hal0" / "runs"
PERSONA = "agents/hermes/personas/analyst.toml"
LEDGER = "agents/hermes/personas/analyst/spend.jsonl"
D = Decimal


def toml(run: str) -> Path:
    return RUNS / run / PERSONA


@pytest.mark.parametrize(
    ("run", "budget"),
    [
        ("day-boundary-percall", Budget(D("1.0"), D("0.5"), True)),
        ("warn-only", Budget(D("0.5"), None, False)),
        ("monthly-lifetime", Budget(None, None, True, D("1.0"), D("1.5"))),
        ("float-edge", Budget(D("0.3"))),
        ("no-cap", Budget()),
        ("race-over-cap", Budget(D("1.0"), D("0.6"), True, D("1.5"))),
        ("ignored-deny", Budget(D("0.5"))),
    ],
)
def test_hal0_persona_budget_is_read_with_every_cap(run: str, budget: Budget) -> None:
    loaded = Budget.load(toml(run))
    assert loaded == budget
    # TOML floats are the exact decimal of their literal, never a binary float.
    assert all(
        v is None or type(v) is Decimal
        for v in (loaded.daily_usd, loaded.per_call_usd, loaded.monthly_usd, loaded.lifetime_usd)
    )


def _edited(tmp_path: Path, run: str, old: str, new: str) -> Path:
    text = toml(run).read_text("utf-8")
    assert old in text
    path = tmp_path / "analyst.toml"
    path.write_text(text.replace(old, new, 1), "utf-8")
    return path


@pytest.mark.parametrize(
    ("new", "message"),
    [
        ("weekly_usd = 2.0\nhard_cap = true", "unknown key(s) 'weekly_usd'"),
        ("per_call_usd = 0.1\nhard_cap = true", "hal0 calls the per-call cap per_call_max_usd"),
        ("daily_usd = -1.0\nhard_cap = true", "daily_usd must be non-negative money"),
        ('daily_usd = "0.3"\nhard_cap = true', "daily_usd must be a number"),
        ("daily_usd = true\nhard_cap = true", "daily_usd must be a number"),
        ('hard_cap = "yes"', "hard_cap must be true or false"),
        ("lifetime_usd = nan\nhard_cap = true", "lifetime_usd must be non-negative money"),
    ],
)
def test_what_hal0_would_ignore_or_refuse_is_refused_clearly(
    tmp_path: Path, new: str, message: str
) -> None:
    path = _edited(tmp_path, "no-cap", "hard_cap = true", new)
    with pytest.raises(BudgetError, match=r"\[persona\.budget\]") as err:
        Budget.load(path)
    assert message in str(err.value)


def test_a_hal0_persona_without_a_budget_table_has_no_cap(tmp_path: Path) -> None:
    # hal0's parse_budget(None) is Budget(): no cap, hard_cap true.
    path = _edited(tmp_path, "no-cap", "[persona.budget]\nhard_cap = true\n", "")
    assert "budget" not in path.read_text("utf-8")
    assert Budget.load(path) == Budget()


def test_a_budget_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, "no-cap", "[persona.budget]\nhard_cap = true\n", "")
    path.write_text(path.read_text("utf-8").replace("[persona]\n", "[persona]\nbudget = 5\n"))
    with pytest.raises(BudgetError, match=r"\[persona.budget\] must be a table"):
        Budget.load(path)


def test_other_toml_and_json_budgets_refuse_unknown_keys(tmp_path: Path) -> None:
    (tmp_path / "b.toml").write_text('[budget]\ndaily_usd = "5.00"\nweekly_usd = "1"\n')
    with pytest.raises(BudgetError, match="unknown budget key"):
        Budget.load(tmp_path / "b.toml")
    (tmp_path / "c.toml").write_text("[budget]\ndaily_usd = 5.0\n")
    with pytest.raises(BudgetError, match="not a float"):  # as before: only hal0's floats
        Budget.load(tmp_path / "c.toml")
    (tmp_path / "b.json").write_text('{"agent_id": "a", "monthly_usd": "3", "lifetime_usd": 9}')
    assert Budget.load(tmp_path / "b.json") == Budget(None, None, True, D("3"), D("9"))
    (tmp_path / "d.toml").write_text("[persona]\nid = 'x'\n[other]\n")
    assert Budget.load(tmp_path / "d.toml") == Budget()


def test_to_json_keeps_its_1_2_shape_and_adds_set_windows() -> None:
    assert Budget(D("1"), None).to_json() == {
        "daily_usd": "1",
        "per_call_usd": None,
        "hard_cap": True,
    }
    assert Budget(None, None, False, D("2"), D("3")).to_json()["monthly_usd"] == "2"
    assert Budget.from_mapping(Budget(None, D("1"), True, None, D("3")).to_json()) == Budget(
        None, D("1"), True, None, D("3")
    )


def test_decide_windows() -> None:
    b = Budget(None, None, True, D("1.0"), D("1.5"))
    assert b.decide(D(0), D("0.2"), spent_month=D("0.9")) == "DENY"
    assert b.decide(D(0), D("0.1"), spent_month=D("0.9")) == "ALLOW"
    assert b.decide(D(0), D("0.2"), spent_month=D(0), spent_lifetime=D("1.4")) == "DENY"
    assert b.decide(D(0), D("0.1"), spent_month=D(0), spent_lifetime=D("1.4")) == "ALLOW"
    # After a cap is exceeded the producer keeps 1.2's rule (spent + e > cap): a zero
    # estimate is DENY, which ruleset-1.3 reports as LEDGER-DECISION-STRICTER (advisory).
    assert b.decide(D(0), D(0), spent_month=D("1.2")) == "DENY"


def _steps(run: str) -> list[tuple[str, str, dict[str, object]]]:
    """hal0's checks (from the client log) and charges (from hal0's ledger), in time order."""
    steps: list[tuple[str, str, dict[str, object]]] = []
    for line in (RUNS / run / "checks.jsonl").read_text("utf-8").splitlines():
        row = json.loads(line, parse_float=Decimal)
        steps.append((row["ts"], "check", row))
    for line in (RUNS / run / LEDGER).read_text("utf-8").splitlines():
        row = json.loads(line, parse_float=Decimal)
        steps.append((row["ts"], "charge", row))
    return [(kind, ts, row) for ts, kind, row in sorted(steps, key=lambda s: s[0])]


# Where the producer (exact decimal; 1.2's window rule) answers otherwise than hal0 did.
DIFFERENT = {
    # hal0: 0.3 - 0.1 = 0.19999999999999998 < 0.2 in binary floats, so DENY; exactly ALLOW
    ("float-edge", "req_float-edge_02"): "ALLOW",
    # hal0 allows a zero estimate once a cap is exceeded (max(0, cap - spent) = 0)
    ("race-over-cap", "req_race-over-cap_03"): "DENY",
    ("race-over-cap", "req_race-over-cap_06"): "DENY",
}


@pytest.mark.parametrize("run", sorted(p.name for p in RUNS.iterdir()))
def test_the_producer_decides_hal0s_checks_as_hal0_did(tmp_path: Path, run: str) -> None:
    clock = StepClock("2026-01-01T00:00:00Z")
    cap = SpendingCap(
        Budget.load(toml(run)),
        SpendLedger(tmp_path / "spend.jsonl"),
        EventLog(tmp_path / "events.ndjson"),
        agent_id="hermes",
        clock=clock,
    )
    for kind, ts, row in _steps(run):
        clock.set(ts)
        rid = str(row["request_id"])
        if kind == "charge":
            cap.charge(row["cost_usd"], call_id=rid)
            continue
        response = row["response"]
        assert isinstance(response, dict)
        hal0 = "DENY" if not response["allowed"] else "WARN" if response["reason"] else "ALLOW"
        decided = cap.check(row["estimated_cost_usd"], call_id=rid)
        assert decided == DIFFERENT.get((run, rid), hal0), (run, rid)
