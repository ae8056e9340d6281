"""mission_policy@2 (ruleset-1.3, rulesets-1.3.md §3): runcap 0.6.0's documented behaviour.
Grade order (UNVERIFIED before VERIFIER_COMPROMISED), what VERIFIER_COMPROMISED means, a
scope violation capping the grade at WEAK, runcap's policy validator, runcap's default
protected set and the README's patterns, the receipt's own claims beside the evidence, and
both cost metrics. @1 keeps 1.2's meaning."""

from __future__ import annotations

import copy
import hashlib
from decimal import Decimal
from typing import Any

import jmespath
import pytest

from vlab.builtins.functions import BuiltinFunctions
from vlab.domains import mission
from vlab.domains.registry import get
from vlab.ruleset.catalog import Catalog

POLICY = b"""\
version: v1
identity: {project: checkout, team: payments}
mission: {name: Fix the failing checkout test, task_class: bugfix}
budget: {mission_hard_limit_usd: 10, max_llm_calls: 3, max_runtime_minutes: 0.5}
verification:
  command: "node tests/sum.test.mjs && node app/verify.mjs"
  guard: strict
  protect: ["config/**", "secrets"]
  allow: ["src/checkout/**", "docs"]
"""
SHA = "sha256:" + hashlib.sha256(POLICY).hexdigest()
SAME = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64
RECEIPT: dict[str, Any] = {
    "policy_sha256": SHA,
    "spend": {
        "cost_usd": "0.000305",
        "llm_calls": 1,
        "unpriced_calls": 0,
        "runtime_seconds": "12.5",
        "budget_guard_tripped": False,
    },
    "claimed": {"cost_usd": "0", "llm_calls": 1, "budget_guard_tripped": False},
    "verification": {
        "passed": True,
        "baseline_failed": True,
        "clean_replay_passed": True,
        "guarded": True,
        "protected_observed": True,
        "protected_files": [
            {"path": "tests/sum.test.mjs", "sha256_before": SAME, "sha256_after": SAME}
        ],
        "changed_files": ["src/checkout/sum.mjs"],
    },
    "integrity_grade": "VERIFIED_STRONG",
    "verdict": "PASS",
}


def judge(receipt: dict[str, Any], policy: bytes = POLICY, fmt: str = "yaml") -> list[str]:
    receipt = {**receipt, "policy_format": fmt}
    sha = "sha256:" + hashlib.sha256(policy).hexdigest()
    if receipt.get("policy_sha256") == SHA:
        receipt["policy_sha256"] = sha
    return [f.code for f in mission.findings_v2(receipt, policy, sha, "p.yaml")]


def grade(receipt: dict[str, Any], policy: bytes = POLICY) -> str:
    doc, problems = mission.load_policy_v2(policy)
    assert doc is not None, problems
    return mission.recompute_v2(receipt, doc)[0]


def changed(**fields: Any) -> dict[str, Any]:
    """RECEIPT with verification fields replaced (``spend__cost_usd`` style for others)."""
    out = copy.deepcopy(RECEIPT)
    for key, value in fields.items():
        target = out
        *parents, last = key.split("__")
        for parent in parents or ["verification"]:
            target = target[parent]
        target[last] = value
    return out


def test_a_clean_receipt_passes_strong() -> None:
    assert judge(RECEIPT) == []
    assert grade(RECEIPT) == "VERIFIED_STRONG"


# -- the grade, first match wins ---------------------------------------------------------------


def test_unverified_comes_before_compromised_and_tampering_is_still_reported() -> None:
    tampered = [{"path": "tests/sum.test.mjs", "sha256_before": SAME, "sha256_after": OTHER}]
    receipt = changed(passed=False, protected_files=tampered)
    receipt["integrity_grade"] = "UNVERIFIED"
    receipt["verdict"] = "BLOCKED"
    assert grade(receipt) == "UNVERIFIED"
    assert judge(receipt) == ["MISSION-UNVERIFIED", "MISSION-VERIFIER-TAMPERED"]


def test_verifier_compromised_means_passed_but_protected_evidence_changed() -> None:
    tampered = [{"path": "tests/sum.test.mjs", "sha256_before": SAME, "sha256_after": OTHER}]
    receipt = changed(protected_files=tampered)
    assert grade(receipt) == "VERIFIER_COMPROMISED"
    assert judge(receipt) == [
        "MISSION-VERIFIER-COMPROMISED",
        "MISSION-GRADE-INFLATED",
        "MISSION-VERDICT-UNSUPPORTED",
    ]
    # a protected file created or deleted during the mission changed too
    created = [{"path": "tests/new.test.mjs", "sha256_before": None, "sha256_after": SAME}]
    assert grade(changed(protected_files=created)) == "VERIFIER_COMPROMISED"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("tests/other.mjs", "runcap's defaults"),  # a tests/ folder
        ("src/checkout/sum.spec.ts", "runcap's defaults"),  # *.spec.*, though inside allow
        ("src/checkout/package.json", "runcap's defaults"),  # every package.json
        ("tsconfig.build.json", "runcap's defaults"),
        ("jest.config.mjs", "runcap's defaults"),
        ("config/expected.json", "protect pattern 'config/**'"),  # a README glob
        ("secrets/key.txt", "protect pattern 'secrets'"),  # a plain path: the folder
        ("secrets", "protect pattern 'secrets'"),
        ("app/verify.mjs", "the verify command names"),
    ],
)
def test_protected_evidence_is_the_policy_the_verify_command_and_runcaps_defaults(
    path: str, why: str
) -> None:
    receipt = changed(changed_files=[path], protected_files=[])
    assert grade(receipt) == "VERIFIER_COMPROMISED"
    found = mission.findings_v2(
        {**receipt, "integrity_grade": None, "verdict": None}, POLICY, SHA, "p"
    )
    compromised = next(f for f in found if f.code == "MISSION-VERIFIER-COMPROMISED")
    assert why in compromised.message


@pytest.mark.parametrize(
    ("path", "protected"),
    [
        ("test/a.js", True),
        ("a/__tests__/b.js", True),
        ("a.test.mjs", True),
        ("x/a.spec.cjsx", True),
        ("a.test.py", False),  # runcap's *.test.* is scripts only ([mc]?[jt]sx?)
        ("package.json.bak", False),
        ("tsconfig.json", True),
        ("tsconfigjson", False),
        ("vitest.config.ts", True),
        ("src/testing/a.js", False),
        ("tests", False),  # a file named tests, not a folder
    ],
)
def test_runcaps_default_protected_set(path: str, protected: bool) -> None:
    assert mission.runcap_default_protected(path) is protected


def test_a_change_outside_allow_caps_the_grade_at_weak_and_blocks() -> None:
    receipt = changed(changed_files=["src/checkout/sum.mjs", "src/other/util.mjs"])
    assert grade(receipt) == "VERIFIED_WEAK"
    assert judge(receipt) == [
        "MISSION-SCOPE-VIOLATION",
        "MISSION-GRADE-INFLATED",
        "MISSION-VERDICT-UNSUPPORTED",
    ]
    # runcap's own receipt for such a run says WEAK and BLOCKED: nothing to add
    receipt.update(integrity_grade="VERIFIED_WEAK", verdict="BLOCKED")
    assert judge(receipt) == ["MISSION-SCOPE-VIOLATION"]


def test_globs_are_the_readmes_and_plain_paths_name_a_file_or_a_folder() -> None:
    # runcap 0.6.0 matches `src/checkout/**` as a literal prefix (nothing matches it);
    # its README means the folder: an honest fix there is in scope.
    assert judge(changed(changed_files=["src/checkout/deep/sum.mjs"])) == []
    assert judge(changed(changed_files=["docs/a.md"])) == []  # `docs`: the folder
    assert judge(changed(changed_files=["docs"])) == []  # and the file of that name
    assert "MISSION-SCOPE-VIOLATION" in judge(changed(changed_files=["docsx/a.md"]))
    assert "MISSION-SCOPE-VIOLATION" in judge(changed(changed_files=["src/checkoutx/a.mjs"]))


def test_weak_when_a_strong_condition_is_missing() -> None:
    assert grade(changed(baseline_failed=False)) == "VERIFIED_WEAK"
    assert grade(changed(clean_replay_passed=None)) == "VERIFIED_WEAK"
    weak = changed(baseline_failed=False)
    weak["integrity_grade"] = "VERIFIED_WEAK"
    assert judge(weak) == []  # WEAK passes, as in runcap


def test_a_receipt_that_claims_less_than_the_evidence_is_an_advisory() -> None:
    receipt = changed()
    receipt.update(integrity_grade="VERIFIED_WEAK", verdict="BLOCKED")
    found = mission.findings_v2(receipt, POLICY, SHA, "p")
    assert [(f.code, f.advisory) for f in found] == [("MISSION-RECEIPT-STRICTER", True)]


# -- never trust the receipt --------------------------------------------------------------------


def test_a_run_without_the_guard_never_passes() -> None:
    receipt = changed(guarded=False)
    receipt.update(integrity_grade=None, verdict=None)
    assert judge(receipt) == ["MISSION-UNGUARDED"]
    # not saying, a receipt is guarded only if it carries the guard's evidence (D5-01's
    # format: a protected_files list)
    del receipt["verification"]["guarded"]
    assert judge(receipt) == ["MISSION-GRADE-INFLATED"]  # guarded, it claims no grade
    assert judge({**receipt, "integrity_grade": "VERIFIED_STRONG"}) == []
    del receipt["verification"]["protected_files"]
    assert judge(receipt) == ["MISSION-UNGUARDED"]


def test_protected_files_that_could_not_be_observed_are_not_shown_unchanged() -> None:
    receipt = changed(protected_observed=False)
    del receipt["verification"]["protected_files"]
    assert grade(receipt) == "VERIFIER_COMPROMISED"


def test_a_policy_edited_after_the_run_is_a_hash_mismatch() -> None:
    edited = POLICY.replace(b"max_llm_calls: 3", b"max_llm_calls: 5")
    receipt = copy.deepcopy(RECEIPT)  # its policy_sha256 is the original policy's
    found = [
        f.code
        for f in mission.findings_v2(
            receipt, edited, "sha256:" + hashlib.sha256(edited).hexdigest(), "p"
        )
    ]
    assert found == ["MISSION-POLICY-HASH-MISMATCH"]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"spend__cost_usd": "10.01"}, "MISSION-OVER-BUDGET"),
        ({"spend__cost_usd": None}, "MISSION-OVER-BUDGET"),
        ({"claimed__cost_usd": "11"}, "MISSION-OVER-BUDGET"),  # the receipt's own figure
        ({"spend__unpriced_calls": 1}, "MISSION-OVER-BUDGET"),  # unknown price, unknown spend
        ({"spend__budget_guard_tripped": True}, "MISSION-OVER-BUDGET"),  # the ledger's 429
        ({"claimed__budget_guard_tripped": True}, "MISSION-OVER-BUDGET"),
        ({"spend__llm_calls": 4}, "MISSION-TOO-MANY-CALLS"),
        ({"claimed__llm_calls": 4}, "MISSION-TOO-MANY-CALLS"),
        ({"spend__llm_calls": None}, "MISSION-TOO-MANY-CALLS"),
        ({"spend__runtime_seconds": "30.001"}, "MISSION-OVER-TIME"),  # 0.5 minutes
    ],
)
def test_limits_hold_against_the_evidence_and_the_receipts_own_claims(
    fields: dict[str, Any], code: str
) -> None:
    receipt = changed(**fields)
    assert judge(receipt) == [code, "MISSION-VERDICT-UNSUPPORTED"]


def test_limits_at_the_bound_pass() -> None:
    assert (
        judge(changed(spend__cost_usd="10", spend__llm_calls=3, spend__runtime_seconds="30")) == []
    )


# -- runcap's policy validator ------------------------------------------------------------------

VALID = {
    "version": "v1",
    "mission": {"name": "x"},
    "budget": {"mission_hard_limit_usd": 1},
    "verification": {"command": "npm test"},
}


def problems(**changes: Any) -> list[str]:
    import json

    doc = copy.deepcopy(VALID)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for key in parents:
            target = target[key]
        if value is ...:
            target.pop(last, None)
        else:
            target[last] = value
    data = json.dumps(doc, default=str).encode()
    return mission.load_policy_v2(data, "json")[1]


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"budget__mission_hard_limit_usd": 2.5},
        {"budget__max_llm_calls": 2.5},  # positive numbers, not necessarily integers
        {"budget__max_runtime_minutes": 0.001},
        {"verification__guard": "off"},
        {"verification__guard": False},  # falsy: runcap does not check it
        {"verification__command": 5},  # String(5) is not blank
        {"mission__name": 7},
        {"verification__protect": "tests/"},  # not a list: runcap reads no patterns
    ],
)
def test_what_runcaps_validator_accepts(changes: dict[str, Any]) -> None:
    assert problems(**changes) == []


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"version": ...}, "version must be"),
        ({"version": "v2"}, "version must be"),
        ({"version": 1}, "version must be"),
        ({"mission": ...}, "mission.name"),
        ({"mission__name": "   "}, "mission.name"),
        ({"mission__name": "\ufeff"}, "mission.name"),  # JavaScript's trim takes it
        ({"mission": "name"}, "mission.name"),
        ({"verification__command": ""}, "verification.command"),
        ({"verification": ...}, "verification.command"),
        ({"verification__guard": "loose"}, "verification.guard"),
        ({"budget": ...}, "mission_hard_limit_usd"),
        ({"budget__mission_hard_limit_usd": 0}, "mission_hard_limit_usd"),
        ({"budget__mission_hard_limit_usd": -1}, "mission_hard_limit_usd"),
        ({"budget__mission_hard_limit_usd": "10"}, "mission_hard_limit_usd"),
        ({"budget__mission_hard_limit_usd": True}, "mission_hard_limit_usd"),
        ({"budget__max_llm_calls": None}, "max_llm_calls"),  # present but null
        ({"budget__max_llm_calls": 0}, "max_llm_calls"),
        ({"budget__max_runtime_minutes": "30"}, "max_runtime_minutes"),
    ],
)
def test_what_runcaps_validator_refuses(changes: dict[str, Any], says: str) -> None:
    found = problems(**changes)
    assert found and any(says in p for p in found), found


def test_a_refused_policy_is_policy_invalid_and_nothing_is_recomputed() -> None:
    policy = POLICY.replace(b"version: v1\n", b"")
    assert judge(RECEIPT, policy) == ["MISSION-POLICY-INVALID"]


def test_yaml_and_json_policies_read_exactly() -> None:
    doc, _ = mission.load_policy_v2(POLICY)
    assert doc is not None and doc["budget"]["max_runtime_minutes"] == Decimal("0.5")
    data = b'{"version":"v1","mission":{"name":"a"},"budget":{"mission_hard_limit_usd":0.1,'
    data += b'"mission_hard_limit_usd":2.5},"verification":{"command":"t"}}'
    doc, _ = mission.load_policy_v2(data, "json")
    assert doc is not None and doc["budget"]["mission_hard_limit_usd"] == Decimal("2.5")
    assert mission.load_policy_v2(b'{"version": NaN}', "json")[0] is None
    assert mission.load_policy_v2(b"[1, 2]", "json")[1] == ["the policy is not a JSON object"]


def test_mission_policy_at_1_keeps_1_2s_meaning() -> None:
    # 1.2 refuses a non-integer max_runtime_minutes that runcap (and @2) accepts
    assert mission.load_policy(POLICY)[0] is None
    assert mission.load_policy_v2(POLICY)[0] is not None
    assert get("mission_policy@1") is not None and get("mission_policy@2") is not None
    ruleset_12 = Catalog().get("ruleset-1.2")
    ruleset_13 = Catalog().get("ruleset-1.3")
    assert ruleset_12 is not None and ruleset_13 is not None
    (d5_12,) = (c for c in ruleset_12.clauses if c.clause_id == "CL-D5-01")
    (d5_13,) = (c for c in ruleset_13.clauses if c.clause_id == "CL-D5-01")
    assert d5_12.checks[0].calls == ("mission_policy@1",)
    assert d5_13.checks[0].domain is not None
    assert d5_13.checks[0].domain.check_id == "mission_policy@2"


# -- the two cost metrics -----------------------------------------------------------------------

OUTCOME_COST = "record.verification.passed == `true` && decimal_text(record.spend.cost_usd) || null"


def test_outcome_cost_is_the_cost_whenever_verification_passed() -> None:
    # runcap's Verified Outcome Cost: the cost when the verify command passed, whatever else
    # happened (a tampered verifier, a scope violation) - but the ledger's cost, not runcap's $0
    compromised = changed(
        protected_files=[{"path": "t", "sha256_before": SAME, "sha256_after": OTHER}]
    )
    assert mission.outcome_cost_usd(compromised) == "0.000305"
    assert mission.outcome_cost_usd(changed(passed=False)) is None
    assert mission.outcome_cost_usd(changed(spend__cost_usd=None)) is None
    assert mission.outcome_cost_usd("not a receipt") is None
    # the metric expression the ruleset will declare says the same
    functions = BuiltinFunctions({})
    options = jmespath.Options(custom_functions=functions)
    for receipt in (RECEIPT, compromised, changed(passed=False), changed(spend__cost_usd=None)):
        searched = jmespath.search(OUTCOME_COST, {"record": receipt}, options=options)
        assert searched == mission.outcome_cost_usd(receipt)


def test_verified_outcome_cost_is_measured_only_when_the_clause_passes() -> None:
    ruleset = Catalog().get("ruleset-1.3")
    assert ruleset is not None
    (d5,) = (c for c in ruleset.clauses if c.clause_id == "CL-D5-01")
    assert [name for name, _ in d5.metrics] == ["outcome_cost_usd", "verified_outcome_cost_usd"]
    # verified_outcome_cost_usd on PASS only (null_metrics otherwise); outcome_cost_usd
    # (runcap's figure) whenever the clause is judged, when the verify command passed.
    assert d5.metrics_evaluated == frozenset({"outcome_cost_usd"})
    functions = BuiltinFunctions({})
    options = jmespath.Options(custom_functions=functions)
    outcome, verified = (expression for _, expression in d5.metrics)
    assert verified.search({"record": RECEIPT}, options=options) == "0.000305"
    assert outcome.search({"record": RECEIPT}, options=options) == "0.000305"
    unverified = {**RECEIPT, "verification": {**RECEIPT["verification"], "passed": False}}
    assert outcome.search({"record": unverified}, options=options) is None
