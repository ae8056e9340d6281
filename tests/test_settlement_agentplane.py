"""budget_settlement@2 (ruleset-1.3, CL-D1-02): both receipt dialects, exact decimals, the
in-pack checks; vlab's dialect judged exactly as ruleset-1.2 judges it."""

from __future__ import annotations

import copy
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vlab.core import strictjson
from vlab.core.schemas import validator
from vlab.domains.registry import get
from vlab.domains.settlement import dialect, receipt_findings, settlement_findings
from vlab.engine.pipeline import adjudicate
from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
AGENTPLANE = ROOT / "fixtures" / "native" / "agentplane"
RECEIPTS = AGENTPLANE / "tests" / "fixtures" / "receipts"
MADE = AGENTPLANE / "made"
VLAB_FIXTURES = ROOT / "fixtures" / "receipts"
D102_VECTORS = ROOT / "evidence_packs" / "r12-d1-02"

# agentplane's own validator's verdicts (verdicts.txt) and the code the seed names.
SIX = {
    "settled.valid": [],
    "overrun.valid": [],
    "missing-admission-ref.invalid": ["RCPT-ADMISSION-REF-MISSING"],
    "missing-actuals.invalid": ["RCPT-SCHEMA-INVALID", "RCPT-ACTUALS-MISSING"],
    "negative-actual.invalid": ["RCPT-SCHEMA-INVALID", "RCPT-NEGATIVE-COUNTER"],
    "hidden-overrun.invalid": ["RCPT-OVERRUN-HIDDEN"],
}
NOT_IN_PACK = {"found": False, "sha256": None, "value": None}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog()


@pytest.fixture(scope="module")
def schemas(catalog: Catalog) -> tuple[dict[str, Any], dict[str, Any]]:
    rs = catalog.get("ruleset-1.3")
    assert rs is not None
    extra = rs.extra_schemas
    return extra["budget_settlement_receipt"], extra["agentplane_budget_settlement_receipt"]


def load(path: Path) -> Any:
    return strictjson.loads(path.read_bytes())


def receipt(kind: str) -> dict[str, Any]:
    value = load(RECEIPTS / f"budget-settlement-receipt.{kind}.json")
    assert isinstance(value, dict)
    return value


def admission(decision: str = "admit") -> dict[str, Any]:
    value = load(MADE / f"attempt-admission-receipt.alpha-001.{decision}.json")
    assert isinstance(value, dict)
    return value


def codes(found: list[Any]) -> list[str]:
    return [d.code for d in found]


def check(
    schemas: tuple[dict[str, Any], dict[str, Any]],
    doc: Any,
    adm: Any = None,
    run_id: Any = None,
) -> list[str]:
    vlab_schema, agentplane_schema = schemas
    return codes(settlement_findings(doc, vlab_schema, agentplane_schema, adm, run_id))


def in_pack(value: Any) -> dict[str, Any]:
    """What pack_json gives for an admission receipt in the pack (agentplane's reference
    binds no hash, so the file's digest does not matter here)."""
    return {"found": True, "sha256": "sha256:" + hashlib.sha256(b"x").hexdigest(), "value": value}


# -- agentplane's dialect, standalone ------------------------------------------------------


def test_the_registered_check_is_the_real_one(catalog: Catalog) -> None:
    check_ = get("budget_settlement@2")
    assert check_ is not None and check_.summary != "placeholder"
    rs = catalog.get("ruleset-1.3")
    assert rs is not None and "budget_settlement@2" in rs.domain_checks()


def test_the_shipped_schema_is_agentplanes_byte_for_byte() -> None:
    shipped = (
        ROOT / "rulesets/ruleset-1.3/schemas/agentplane-budget-settlement-receipt-0.1.schema.json"
    )
    upstream = AGENTPLANE / "schemas/receipts/budget-settlement-receipt.v0.1.schema.json"
    assert shipped.read_bytes() == upstream.read_bytes()


@pytest.mark.parametrize("kind", ["settled.valid", "overrun.valid"])
def test_agentplanes_schema_accepts_its_valid_fixtures(
    kind: str, schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    assert list(validator(schemas[1]).iter_errors(receipt(kind))) == []


@pytest.mark.parametrize(("kind", "expected"), list(SIX.items()))
def test_the_six_fixtures_standalone(
    kind: str, expected: list[str], schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = receipt(kind)
    assert dialect(doc) == "agentplane"
    assert check(schemas, doc) == expected


def test_the_verdicts_agree_with_agentplanes_validator(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # verdicts.txt: agentplane's own validator, run on each fixture (rc 0 = OK).
    rows = (AGENTPLANE / "verdicts.txt").read_text("utf-8").splitlines()
    verdicts = {r.split("\t")[0]: r.split("\t")[1] == "rc=0" for r in rows if r.strip()}
    assert len(verdicts) == 6
    for name, valid in verdicts.items():
        kind = name.removeprefix("budget-settlement-receipt.").removesuffix(".json")
        assert (check(schemas, receipt(kind)) == []) is valid, name


@pytest.mark.parametrize(("kind", "expected"), list(SIX.items()))
def test_the_six_fixtures_in_a_pack_without_admission(
    kind: str, expected: list[str], schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = receipt(kind)
    unresolved = (
        [] if kind.startswith("missing-admission-ref") else ["RCPT-ADMISSION-REF-UNRESOLVED"]
    )
    assert check(schemas, doc, NOT_IN_PACK, doc["run_id"]) == expected + unresolved


def test_an_agentplane_receipt_under_rcpt_findings_at_1_is_schema_invalid(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    # ruleset-1.2 (budget_settlement@1) knows only vlab's dialect.
    assert "RCPT-SCHEMA-INVALID" in codes(receipt_findings(receipt("settled.valid"), schemas[0]))


def test_dialect_is_schema_version_without_schema() -> None:
    assert dialect({"schemaVersion": "x"}) == "agentplane"
    assert dialect({"schemaVersion": "x", "schema": "BudgetSettlementReceipt/v0.1"}) == "vlab"
    assert dialect({"schema": "BudgetSettlementReceipt/v0.1"}) == "vlab"
    assert dialect(["schemaVersion"]) == "vlab"


def test_validator_rules_beyond_the_schema(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc = receipt("settled.valid")
    assert check(schemas, {**doc, "settlement_id": ""}) == ["RCPT-SCHEMA-INVALID"]
    unprefixed = {**doc, "admission_receipt_ref": "admission:alpha"}
    assert check(schemas, unprefixed) == ["RCPT-ADMISSION-REF-MISSING"]
    missing = {**doc, "settlement_status": "missing_actuals", "fail_closed_reason": "no meter"}
    assert check(schemas, missing) == ["RCPT-SCHEMA-INVALID"]  # provenance must be missing
    assert check(schemas, {**missing, "settlement_provenance": "missing"}) == []


@pytest.mark.parametrize("status", ["missing_actuals", "invalid_actuals", "fail-closed"])
def test_fail_closed_statuses_need_a_reason(
    status: str, schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = {
        **receipt("settled.valid"),
        "settlement_status": status,
        "settlement_provenance": "missing",
    }
    assert check(schemas, doc) == ["RCPT-FAIL-CLOSED-REASON-MISSING"]
    assert check(schemas, {**doc, "fail_closed_reason": "meter offline"}) == []


def test_an_overrun_declared_without_one_is_phantom(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = receipt("settled.valid")
    assert check(schemas, {**doc, "settlement_status": "overrun"}) == ["RCPT-OVERRUN-PHANTOM"]
    flagged = copy.deepcopy(doc)
    flagged["overrun"]["over_budget"] = True
    assert check(schemas, flagged) == ["RCPT-OVERRUN-PHANTOM"]


def test_an_overrun_with_any_flag_unset_is_hidden(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = receipt("overrun.valid")
    for field, value in (("over_budget", False), ("status", "within_budget")):
        edited = copy.deepcopy(doc)
        edited["overrun"][field] = value
        assert check(schemas, edited) == ["RCPT-OVERRUN-HIDDEN"], field
    assert check(schemas, {**doc, "settlement_status": "settled"}) == ["RCPT-OVERRUN-HIDDEN"]


# -- exact decimals, where agentplane compares binary floats within 1e-9 ------------------


def _with_costs(estimate: Any, actual: Any, stated: Any = None, over: bool = False) -> Any:
    doc = receipt("settled.valid")
    doc["estimate"]["projected_cost_usd"] = estimate
    doc["actuals"]["cost_usd"] = actual
    doc["overrun"].update(
        estimated_cost_usd=estimate,
        actual_cost_usd=actual if stated is None else stated,
        over_budget=over,
        status="overrun" if over else "within_budget",
    )
    if over:
        doc["settlement_status"] = "overrun"
    return doc


def test_0_1_plus_0_2_is_not_0_3(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    # What a float sum 0.1 + 0.2 writes (0.30000000000000004) against an estimate of 0.3:
    # agentplane's float compare sees an overrun too, and its 1e-9 tolerance lets the
    # overrun amount say 0.3; exactly, it must say what the actuals say.
    float_sum = Decimal(repr(0.1 + 0.2))
    assert float_sum == Decimal("0.30000000000000004")
    assert check(schemas, _with_costs(Decimal("0.3"), float_sum, over=True)) == []
    wrong = _with_costs(Decimal("0.3"), float_sum, stated=Decimal("0.3"), over=True)
    assert abs(float(wrong["overrun"]["actual_cost_usd"]) - float(float_sum)) <= 1e-9
    assert check(schemas, wrong) == ["RCPT-OVERRUN-AMOUNT-WRONG"]
    # Exact decimal 0.1 + 0.2 is 0.3: no overrun, whatever the text ("0.30" is 0.3).
    exact = Decimal("0.1") + Decimal("0.2")
    assert check(schemas, _with_costs(Decimal("0.3"), exact, stated=Decimal("0.30"))) == []


def test_an_overrun_floats_cannot_see_is_hidden(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    tiny = Decimal("0.25000000000000001")
    assert float(tiny) == 0.25  # agentplane: not over, 'settled' is fine
    assert check(schemas, _with_costs(Decimal("0.25"), tiny)) == ["RCPT-OVERRUN-HIDDEN"]
    assert check(schemas, _with_costs(Decimal("0.25"), tiny, over=True)) == []


def test_an_amount_within_agentplanes_tolerance_is_still_wrong(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = _with_costs(Decimal("0.25"), Decimal("0.18"), stated=Decimal("0.1800000001"))
    assert check(schemas, doc) == ["RCPT-OVERRUN-AMOUNT-WRONG"]
    doc["overrun"]["estimated_cost_usd"] = Decimal("0.2500000000")  # equal as a decimal
    assert check(schemas, doc) == ["RCPT-OVERRUN-AMOUNT-WRONG"]


def test_hostile_values_never_crash(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc = receipt("settled.valid")
    hostile: list[Any] = [None, [], {}, True, "0.1", "x", Decimal("1E+999999999"), -1, 10**40]
    for value in hostile:
        for block, field in (
            ("actuals", "cost_usd"),
            ("estimate", "projected_cost_usd"),
            ("overrun", "actual_cost_usd"),
        ):
            edited = copy.deepcopy(doc)
            edited[block][field] = value
            found = settlement_findings(
                edited, schemas[0], schemas[1], in_pack(admission()), doc["run_id"]
            )
            assert all(d.message for d in found)
        for field in ("actuals", "estimate", "overrun", "admission_receipt_ref", "run_id"):
            edited = {**doc, field: value}
            settlement_findings(edited, schemas[0], schemas[1], in_pack(value), value)


# -- in a pack: the admission receipt it refers to -----------------------------------------


def test_settled_after_its_own_admit_passes(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc = receipt("settled.valid")
    assert check(schemas, doc, in_pack(admission("admit")), doc["run_id"]) == []


@pytest.mark.parametrize("decision", ["reject", "require-review", "fail-closed"])
def test_nothing_settles_after_a_non_admit(
    decision: str, schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = receipt("settled.valid")
    adm = {**admission("admit"), "admission_decision": decision, "admitted": False}
    assert check(schemas, doc, in_pack(adm), doc["run_id"]) == ["RCPT-SETTLED-AFTER-DENY"]


@pytest.mark.parametrize("decision", ["reject", "require-review"])
def test_agentplanes_own_non_admits(
    decision: str, schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = receipt("settled.valid")
    adm = admission(decision)
    assert adm["admission_decision"] == decision and adm["admitted"] is False
    assert check(schemas, doc, in_pack(adm), doc["run_id"]) == ["RCPT-SETTLED-AFTER-DENY"]


def test_an_honest_fail_closed_settlement_after_a_reject_passes(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = _with_costs(Decimal("0.25"), 0)
    doc["actuals"].update(tokens_in=0, tokens_out=0, tool_calls=0, wall_clock_ms=0)
    doc.update(settlement_status="fail-closed", fail_closed_reason="attempt was rejected")
    reject = in_pack(admission("reject"))
    assert check(schemas, doc, reject, doc["run_id"]) == []
    doc["actuals"]["tool_calls"] = 1  # but it ran
    assert check(schemas, doc, reject, doc["run_id"]) == ["RCPT-SETTLED-AFTER-DENY"]


def test_admitted_false_is_not_an_admit(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc = receipt("settled.valid")
    adm = {**admission("admit"), "admitted": False}
    assert check(schemas, doc, in_pack(adm), doc["run_id"]) == ["RCPT-SETTLED-AFTER-DENY"]


def test_the_reference_resolves_by_id_and_dialect(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = receipt("settled.valid")
    run = doc["run_id"]
    other = {**admission("admit"), "receipt_id": "attempt-admission-receipt:other:001"}
    assert check(schemas, doc, in_pack(other), run) == ["RCPT-ADMISSION-REF-UNRESOLVED"]
    vlab_kind = {**admission("admit"), "schema": "AttemptAdmissionReceipt/v0.1"}
    del vlab_kind["schemaVersion"]
    assert "RCPT-ADMISSION-REF-UNRESOLVED" in check(schemas, doc, in_pack(vlab_kind), run)
    unreadable = {"found": True, "sha256": "sha256:" + "0" * 64, "value": None}
    assert check(schemas, doc, unreadable, run) == ["RCPT-ADMISSION-REF-UNRESOLVED"]


def test_identity_and_estimate_drift(schemas: tuple[dict[str, Any], dict[str, Any]]) -> None:
    doc = receipt("settled.valid")
    adm = in_pack(admission("admit"))
    assert check(schemas, doc, adm, "another-run") == ["RCPT-IDENTITY-MISMATCH"]
    attempt = {**doc, "attempt_id": "attempt:governed-run-alpha-001:002"}
    assert check(schemas, attempt, adm, doc["run_id"]) == ["RCPT-IDENTITY-MISMATCH"]
    drifted = copy.deepcopy(doc)
    drifted["estimate"]["remaining_tokens"] = 9999
    assert check(schemas, drifted, adm, doc["run_id"]) == ["RCPT-ESTIMATE-DRIFT"]
    same = copy.deepcopy(doc)
    same["estimate"]["projected_cost_usd"] = Decimal("0.250")  # the same decimal
    del same["estimate"]["remaining_iterations"]  # optional: not restated is no drift
    assert check(schemas, same, adm, doc["run_id"]) == []


def test_agentplanes_two_fixtures_do_not_name_each_other(
    schemas: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    doc = receipt("settled.valid")
    upstream = load(RECEIPTS / "attempt-admission-receipt.valid.json")
    assert check(schemas, doc, in_pack(upstream), doc["run_id"]) == [
        "RCPT-ADMISSION-REF-UNRESOLVED",
        "RCPT-IDENTITY-MISMATCH",
        "RCPT-ESTIMATE-DRIFT",
    ]


# -- vlab's dialect: exactly ruleset-1.2 ---------------------------------------------------


@pytest.mark.parametrize("path", sorted(VLAB_FIXTURES.glob("*.json")), ids=lambda p: p.stem)
def test_vlab_receipts_standalone_are_at_1(
    path: Path, schemas: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    doc = load(path)
    assert settlement_findings(doc, schemas[0], schemas[1]) == receipt_findings(doc, schemas[0])


@pytest.mark.parametrize(
    "vector", sorted(p for p in D102_VECTORS.iterdir() if p.is_dir()), ids=lambda p: p.name
)
def test_vlab_packs_judged_by_1_3_as_by_1_2(vector: Path, catalog: Catalog) -> None:
    # Every ruleset-1.2 settlement vector, shadow-run under ruleset-1.3 (budget_settlement@2
    # in place of @1 and 1.2's four expressions): the same CL-D1-02 result.
    r13 = catalog.get("ruleset-1.3")
    assert r13 is not None
    expected = json.loads((vector / "expected.json").read_text("utf-8"))["clauses"]["CL-D1-02"]
    ruling = adjudicate(vector / "pack", catalog, override=r13).to_json()
    clause = next(c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-02")
    assert clause["status"] == expected["status"]
    assert clause["reason_code"] == expected["reason_code"]
    assert [d["code"] for d in clause["details"]] == expected["detail_codes"]
