"""Regressions found by mutation fuzzing of evidence packs (adjudicate, receipt check).

The engine's promise: bad input never crashes. Each test builds one small hostile pack,
adjudicates it in-process and requires a ruling (never an exception escaping
``adjudicate()``, which the CLI turns into exit 70). Every crash the fuzzer found is fixed;
these keep it that way.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from packs import good_pack, read_json, write, write_json
from vlab.adjudicator import adjudicate
from vlab.ruleset.catalog import Catalog
from vlab.seal import seal

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence_packs"
VLAB = (sys.executable, "-m", "vlab")
TOPLINES = {"PASS", "FAIL", "NOT_EVALUATED", "NOT_ADMISSIBLE"}
LEDGER_SEED = "r12-d1-03/pass-overspend-tolerated"
MATRIX_SEED = "r12-d1-04/pass-cap-reached-surfaced"
SETTLED_SEED = "r12-d1-02/pass-settled"
MISSION_SEED = "r12-d5-01/pass-verified-strong"
EVENTS = "trace/events.ndjson"
LEDGER = "artifacts/budget/spend.jsonl"
SETTLEMENT = "artifacts/budget/settlement_receipt.json"
POLICY = "artifacts/mission/policy.yaml"


class _Timeout(Exception):
    pass


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _Timeout inside the block after ``seconds`` (SIGALRM, main thread)."""

    def fire(signum: int, frame: Any) -> None:
        raise _Timeout(f"adjudication took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _ruling(pack: Path, seconds: float = 10.0) -> dict[str, Any]:
    with _deadline(seconds):
        ruling = adjudicate(pack, Catalog())
    assert ruling["topline"] in TOPLINES
    return ruling


def _seed(tmp_path: Path, seed: str) -> Path:
    """A sealed copy of one evidence_packs/<group>/<case>/pack."""
    pack = tmp_path / "pack"
    shutil.copytree(EVIDENCE / seed / "pack", pack)
    return pack


def _edit(pack: Path, rel: str, old: str, new: str, *, count: int = 1) -> None:
    """Replace ``old`` by ``new`` (raw text, so JSON escapes stay escapes) and reseal."""
    text = (pack / rel).read_text(encoding="utf-8")
    assert old in text, old
    write(pack, rel, text.replace(old, new, count), reseal=True)


def _messages(ruling: dict[str, Any]) -> list[str]:
    return [d["message"] for c in ruling["clauses"] for d in c["details"]]


# -- lone surrogates: strictjson accepts "\ud800"; canonical output cannot encode it --------


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("bundle.manifest.json", '"run_id": "run-001"', '"run_id": "\\ud800"'),
        ("manifest.json", '"pack_id"', '"substrate": {"type": "\\ud800"}, "pack_id"'),
        ("evidence_pointers.json", "event_id:evt-budget-001", "event_id:\\ud800"),
        (EVENTS, '"decision_kind":"budget"', '"decision_kind":"\\ud800"'),
    ],
    ids=["bundle-run_id", "manifest-substrate-type", "pointer-locator", "event-decision_kind"],
)
def test_lone_surrogate_escape_gives_a_ruling(tmp_path: Path, rel: str, old: str, new: str) -> None:
    pack = good_pack(tmp_path, contract_version="1.1")
    _edit(pack, rel, old, new)
    _ruling(pack)


def test_lone_surrogate_in_settlement_receipt(tmp_path: Path) -> None:
    pack = _seed(tmp_path, SETTLED_SEED)
    _edit(pack, SETTLEMENT, '"cost_usd_over": "0"', '"cost_usd_over": "\\ud800"')
    _ruling(pack)


def test_receipt_check_table_with_lone_surrogate(tmp_path: Path) -> None:
    receipt = EVIDENCE / SETTLED_SEED / "pack" / SETTLEMENT
    text = receipt.read_text(encoding="utf-8")
    target = tmp_path / "receipt.json"
    target.write_text(text.replace('"cost_usd_over": "0"', '"cost_usd_over": "\\ud800"'))
    proc = subprocess.run(
        [*VLAB, "receipt", "check", str(target), "--ruleset", "ruleset-1.2", "--format", "table"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr


# -- a control file that is JSON null -------------------------------------------------------


def test_manifest_json_null_is_not_admissible(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    write(pack, "manifest.json", "null\n", reseal=True)
    assert _ruling(pack)["topline"] == "NOT_ADMISSIBLE"


def test_evidence_pointers_json_null_is_not_admissible(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    write(pack, "evidence_pointers.json", "null\n", reseal=True)
    assert _ruling(pack)["topline"] == "NOT_ADMISSIBLE"


# -- unhashable JSON values where the replays expect ids -------------------------------------


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        (LEDGER, '"call_id":"c1"', '"call_id":[1]'),
        (EVENTS, '"call_id":"c3"', '"call_id":{"a":1}'),  # the DENY check
    ],
    ids=["ledger-charge", "denied-check"],
)
def test_ledger_unhashable_call_id(tmp_path: Path, rel: str, old: str, new: str) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    _edit(pack, rel, old, new)
    _ruling(pack)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"trial_id":"model-a/t1/1","target"', '"trial_id":["x"],"target"'),
        ('"trial_id":"model-a/t1/1","cost_usd"', '"trial_id":{"a":1},"cost_usd"'),
        ('"test":"t1","trial":1}', '"test":"t1","trial":[1]}'),
        ('"test":"t1","trial":1,"reason"', '"test":"t1","trial":[1],"reason"'),
    ],
    ids=["dispatched-trial_id", "completed-trial_id", "dispatched-trial", "skipped-trial"],
)
def test_runbudget_unhashable_trial(tmp_path: Path, old: str, new: str) -> None:
    pack = _seed(tmp_path, MATRIX_SEED)
    _edit(pack, EVENTS, old, new)
    _ruling(pack)


# -- money beyond the decimal context: Overflow, huge text -----------------------------------


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new", "count"),
    [
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":9e999999', 2),
        (LEDGER_SEED, EVENTS, '"estimate_usd":"0.45"', '"estimate_usd":-1e9999999', 1),
        (MATRIX_SEED, EVENTS, '"cost_usd":"0.30"', '"cost_usd":1e9999999', 1),
        (SETTLED_SEED, SETTLEMENT, '"cost_usd": "0.4213"', '"cost_usd": 1e9999999', 1),
    ],
    ids=["ledger-charges", "ledger-check-estimate", "runbudget-cost", "settlement-actual"],
)
def test_money_exponent_overflow(
    tmp_path: Path, seed: str, rel: str, old: str, new: str, count: int
) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new, count=count)
    _ruling(pack)


def test_receipt_findings_money_exponent_overflow() -> None:
    from vlab import strictjson
    from vlab.settlement import receipt_findings

    text = (EVIDENCE / SETTLED_SEED / "pack" / SETTLEMENT).read_text(encoding="utf-8")
    receipt = strictjson.loads(
        text.replace('"cost_usd": "0.4213"', '"cost_usd": 1e9999999').encode()
    )
    schema = Catalog().get("ruleset-1.2").extra_schemas["budget_settlement_receipt"]
    receipt_findings(receipt, schema)


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new"),
    [
        (
            MISSION_SEED,
            POLICY,
            "mission_hard_limit_usd: 10 ",
            "mission_hard_limit_usd: -1e9999999 ",
        ),
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":-9e999999'),
    ],
    ids=["mission-policy-limit", "ledger-negative-charge"],
)
def test_huge_exponent_money_message_is_bounded(
    tmp_path: Path, seed: str, rel: str, old: str, new: str
) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new)
    ruling = _ruling(pack)
    assert max(map(len, _messages(ruling))) < 10_000


@pytest.mark.parametrize(
    ("stamp", "offset"),
    [("0001-01-01T00:00:0", "+00:01"), ("9999-12-31T23:59:5", "-23:59")],
    ids=["before-year-1", "after-year-9999"],
)
def test_ledger_day_out_of_calendar(tmp_path: Path, stamp: str, offset: str) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    ledger = (pack / LEDGER).read_text(encoding="utf-8")
    ledger = ledger.replace("2026-05-29T10:00:0", stamp).replace('Z"', f'{offset}"')
    write(pack, LEDGER, ledger)
    _edit(pack, EVENTS, '"decision_outcome":"DENY"', '"decision_outcome":"ALLOW"')
    _ruling(pack)


# -- mission policy YAML ---------------------------------------------------------------------


def test_deeply_nested_policy_yaml(tmp_path: Path) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    write(pack, POLICY, "budget: " + "[" * 1000 + "]" * 1000 + "\n", reseal=True)
    _ruling(pack)


# -- a tiny pack that plans an unbounded matrix ----------------------------------------------


def test_runbudget_huge_trial_count_is_bounded(tmp_path: Path) -> None:
    pack = _seed(tmp_path, MATRIX_SEED)
    _edit(pack, EVENTS, '"trials":2', '"trials":1000000000')
    _ruling(pack, seconds=3.0)


# -- hostile inputs that already work (keep them working) ------------------------------------


BILLION_LAUGHS = "\n".join(
    [
        "a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']",
        *(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "budget: {mission_hard_limit_usd: 10}",
        "verification: {command: x, protect: *i, allow: *i}",
        "",
    ]
)


@pytest.mark.parametrize(
    "policy",
    [
        BILLION_LAUGHS,
        "!!python/object/apply:os.system ['echo pwned']\n",
        "budget: !!python/object:builtins.dict {mission_hard_limit_usd: 10}\n",
    ],
    ids=["billion-laughs", "python-object-apply", "python-object-tag"],
)
def test_hostile_policy_yaml_is_a_ruling(tmp_path: Path, policy: str) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    write(pack, POLICY, policy, reseal=True)
    ruling = _ruling(pack, seconds=5.0)
    assert ruling["topline"] == "FAIL"


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new"),
    [
        (SETTLED_SEED, SETTLEMENT, '"cost_usd": "0.4213"', '"cost_usd": 1e400'),
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":1e400'),
        (MATRIX_SEED, EVENTS, '"trials":2', '"trials":2.0'),
    ],
    ids=["settlement-1e400", "ledger-1e400", "matrix-trials-float"],
)
def test_odd_numbers_are_a_ruling(tmp_path: Path, seed: str, rel: str, old: str, new: str) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new)
    _ruling(pack)


def test_integer_beyond_digit_limit_is_contract_invalid(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    pointers = read_json(pack, "evidence_pointers.json")
    write_json(pack, "evidence_pointers.json", pointers)
    text = (pack / "evidence_pointers.json").read_text(encoding="utf-8")
    write(pack, "evidence_pointers.json", text.replace("{", '{"n": 1' + "0" * 5000 + ",", 1))
    seal(pack)
    ruling = _ruling(pack)
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    assert json.dumps(ruling["admission"]).count("CONTRACT-JSON-INVALID") >= 1
