"""CL-D5-01 vectors: every grade and blocking reason, the policy hash, grade inflation, an
unsupported verdict, and the path-pattern edge cases."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from scripts.vectors.model import (
    NO_FLAGS,
    PASSED,
    Artifact,
    Case,
    FileClause,
    JSONObject,
    Outcome,
    Pointer,
    apply_changes,
    unprivileged_pointers,
)

POLICY_PATH = "artifacts/mission/policy.yaml"
RECEIPT_PATH = "artifacts/mission/outcome_receipt.json"
D5 = "CL-D5-01"
METRIC = "verified_outcome_cost_usd"

POLICY = """\
version: v1
identity: {project: checkout, team: payments}
mission: {name: Fix the failing checkout test, task_class: bugfix}
budget:
  mission_hard_limit_usd: 10      # required
  max_llm_calls: 12               # optional
  max_runtime_minutes: 30         # optional
verification:
  command: "pnpm test && pnpm build"   # recorded, never run by vlab
  guard: strict
  protect: ["tests/**", "package.json"]
  allow: ["src/checkout/**"]
"""

RECEIPT: JSONObject = {
    "policy_sha256": None,  # filled from the exact policy bytes
    "spend": {
        "cost_usd": "0.000677",
        "llm_calls": 2,
        "runtime_seconds": 140,
        "budget_guard_tripped": False,
    },
    "verification": {
        "baseline_failed": True,
        "passed": True,
        "clean_replay_passed": True,
        "protected_files": [
            {"path": "tests/sum.test.mjs", "sha256_before": "aa" * 32, "sha256_after": "aa" * 32}
        ],
        "changed_files": ["src/checkout/sum.mjs"],
    },
    "integrity_grade": "VERIFIED_STRONG",
    "verdict": "PASS",
    "blocked_reasons": [],
}


def sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def receipt(policy: str = POLICY, **changes: Any) -> JSONObject:
    return apply_changes({**RECEIPT, "policy_sha256": sha(policy)}, changes)


def artifacts(doc: JSONObject | None = None, policy: str | None = POLICY) -> dict[str, Artifact]:
    out: dict[str, Artifact] = {
        RECEIPT_PATH: (json.dumps(doc or receipt(), indent=2) + "\n").encode("utf-8")
    }
    if policy is not None:
        out[POLICY_PATH] = policy.encode("utf-8")
    return out


def graded_under(policy: str, **changes: Any) -> dict[str, Artifact]:
    """The policy in the pack, and a receipt graded under it (with ``a__b``-path changes)."""
    return artifacts(receipt(policy, **changes), policy)


MISSION = FileClause(D5, "mission_policy", RECEIPT_PATH)


def mcase(
    name: str,
    description: str,
    outcome: Outcome,
    *,
    cost: str | None = None,
    files: dict[str, Artifact] | None = None,
    scenario: JSONObject | None = None,
    pointers: list[Pointer] | None = None,
) -> Case:
    """A CL-D5-01 case; ``cost`` is the verified outcome cost the clause reports."""
    return MISSION.case(
        name,
        description,
        outcome,
        files=files if files is not None else artifacts(),
        scenario=scenario,
        pointers=pointers,
        metrics={METRIC: cost},
    )


def fail(*codes: str) -> Outcome:
    return Outcome("FAIL", "REQ-FAIL-RQ-D5-01", codes)


COMMAND = '  command: "pnpm test && pnpm build"   # recorded, never run by vlab\n'
PROTECT = 'protect: ["tests/**", "package.json"]'
ALLOW = 'allow: ["src/checkout/**"]'


def with_policy(old: str, new: str) -> str:
    assert old in POLICY
    return POLICY.replace(old, new)


WEAK: JSONObject = {"verification__clean_replay_passed": False, "integrity_grade": "VERIFIED_WEAK"}
EDITED_TEST: JSONObject = {
    "verification__changed_files": ["src/checkout/sum.mjs", "tests/sum.test.mjs"],
    "verification__protected_files": [
        {"path": "tests/sum.test.mjs", "sha256_before": "aa" * 32, "sha256_after": "bb" * 32}
    ],
}

CASES: list[Case] = [
    mcase(
        "pass-verified-strong",
        "unchanged verifier, clean replay: VERIFIED_STRONG; the "
        "verified outcome cost is the run's cost",
        PASSED,
        cost="0.000677",
    ),
    mcase(
        "pass-verified-weak",
        "passed without a clean replay: VERIFIED_WEAK, honestly claimed",
        PASSED,
        cost="0.000677",
        files=artifacts(receipt(**WEAK)),
    ),
    mcase(
        "fail-test-file-edited",
        "the agent edited the test that proves its success and still claims PASS",
        fail(
            "MISSION-VERIFIER-COMPROMISED",
            "MISSION-SCOPE-VIOLATION",
            "MISSION-GRADE-INFLATED",
            "MISSION-VERDICT-UNSUPPORTED",
        ),
        files=artifacts(receipt(**EDITED_TEST)),
    ),
    mcase(
        "fail-protected-hash-changed-honest",
        "a protected file's hash changed; the receipt says VERIFIER_COMPROMISED and BLOCKED",
        fail("MISSION-VERIFIER-COMPROMISED"),
        files=artifacts(
            receipt(
                verification__protected_files=EDITED_TEST["verification__protected_files"],
                integrity_grade="VERIFIER_COMPROMISED",
                verdict="BLOCKED",
                blocked_reasons=["verifier_compromised"],
            )
        ),
    ),
    mcase(
        "fail-unverified",
        "verification did not pass (honest receipt)",
        fail("MISSION-UNVERIFIED"),
        files=artifacts(
            receipt(verification__passed=False, integrity_grade="UNVERIFIED", verdict="BLOCKED")
        ),
    ),
    mcase(
        "fail-scope-violation",
        "a change outside allow (honest receipt)",
        fail("MISSION-SCOPE-VIOLATION"),
        files=artifacts(
            receipt(verification__changed_files=["src/payments/refund.mjs"], verdict="BLOCKED")
        ),
    ),
    mcase(
        "fail-over-hard-limit",
        "cost 12.50 above the 10 hard limit, claimed PASS",
        fail("MISSION-OVER-BUDGET", "MISSION-VERDICT-UNSUPPORTED"),
        files=artifacts(receipt(spend__cost_usd="12.50")),
    ),
    mcase(
        "fail-budget-guard-tripped",
        "the budget guard tripped",
        fail("MISSION-OVER-BUDGET"),
        files=artifacts(receipt(spend__budget_guard_tripped=True, verdict="BLOCKED")),
    ),
    mcase(
        "fail-too-many-calls",
        "13 LLM calls against a maximum of 12",
        fail("MISSION-TOO-MANY-CALLS"),
        files=artifacts(receipt(spend__llm_calls=13, verdict="BLOCKED")),
    ),
    mcase(
        "fail-over-time",
        "1801 s against 30 minutes",
        fail("MISSION-OVER-TIME"),
        files=artifacts(receipt(spend__runtime_seconds=1801, verdict="BLOCKED")),
    ),
    mcase(
        "pass-exactly-at-limits",
        "cost, calls and runtime exactly at their limits",
        PASSED,
        cost="10",
        files=artifacts(
            receipt(spend__cost_usd=10, spend__llm_calls=12, spend__runtime_seconds=1800)
        ),
    ),
    mcase(
        "fail-policy-hash-mismatch",
        "the receipt was graded under another policy",
        fail("MISSION-POLICY-HASH-MISMATCH"),
        files=artifacts(receipt(policy=POLICY + "# edited\n")),
    ),
    mcase(
        "fail-grade-inflated",
        "WEAK evidence claimed as STRONG",
        fail("MISSION-GRADE-INFLATED"),
        files=artifacts(receipt(verification__clean_replay_passed=False)),
    ),
    mcase(
        "fail-policy-invalid",
        "the policy lacks verification.command",
        fail("MISSION-POLICY-INVALID"),
        files=graded_under(with_policy(COMMAND, "")),
    ),
    mcase(
        "fail-policy-missing",
        "no policy file in the pack",
        fail("MISSION-POLICY-INVALID"),
        files=artifacts(policy=None),
    ),
    mcase(
        "fail-policy-not-yaml",
        "the policy file is not YAML",
        fail("MISSION-POLICY-INVALID"),
        files=graded_under("budget: [unclosed\n"),
    ),
    # -- path-pattern edge cases ----------------------------------------------------------------
    mcase(
        "pattern-doublestar-at-start",
        "protect **/secrets.json catches a nested file",
        fail("MISSION-VERIFIER-COMPROMISED"),
        files=graded_under(
            with_policy(PROTECT, 'protect: ["**/secrets.json"]'),
            verification__changed_files=["src/checkout/deep/secrets.json"],
            integrity_grade="VERIFIER_COMPROMISED",
            verdict="BLOCKED",
        ),
    ),
    mcase(
        "pattern-doublestar-in-middle-zero-segments",
        "protect tests/**/fixtures/* catches tests/fixtures/a.json (** matches zero segments)",
        fail("MISSION-VERIFIER-COMPROMISED", "MISSION-SCOPE-VIOLATION"),
        files=graded_under(
            with_policy(PROTECT, 'protect: ["tests/**/fixtures/*"]'),
            verification__changed_files=["tests/fixtures/a.json"],
            integrity_grade="VERIFIER_COMPROMISED",
            verdict="BLOCKED",
        ),
    ),
    mcase(
        "pattern-doublestar-at-end",
        "allow src/** admits a deep change",
        PASSED,
        cost="0.000677",
        files=graded_under(
            with_policy(ALLOW, 'allow: ["src/**"]'),
            verification__changed_files=["src/a/b/c.ts"],
        ),
    ),
    mcase(
        "pattern-trailing-slash",
        "allow src/checkout/ admits everything below the folder",
        PASSED,
        cost="0.000677",
        files=graded_under(
            with_policy(ALLOW, 'allow: ["src/checkout/"]'),
            verification__changed_files=["src/checkout/a/b.mjs"],
        ),
    ),
    mcase(
        "pattern-file-named-like-a-folder",
        "allow build/ does not admit a file named build",
        fail("MISSION-SCOPE-VIOLATION"),
        files=graded_under(
            with_policy(ALLOW, 'allow: ["build/"]'),
            verification__changed_files=["build"],
            verdict="BLOCKED",
        ),
    ),
    mcase(
        "pattern-root-file-only",
        "protect package.json covers only the root file",
        PASSED,
        cost="0.000677",
        files=graded_under(
            with_policy(ALLOW, 'allow: ["packages/**"]'),
            verification__changed_files=["packages/ui/package.json"],
        ),
    ),
    mcase(
        "pattern-dot-segments-do-not-escape",
        "./tests/../tests/x still matches tests/**",
        fail("MISSION-VERIFIER-COMPROMISED", "MISSION-SCOPE-VIOLATION"),
        files=artifacts(
            receipt(
                verification__changed_files=["./tests/../tests/sum.test.mjs"],
                integrity_grade="VERIFIER_COMPROMISED",
                verdict="BLOCKED",
            )
        ),
    ),
    mcase(
        "not-evaluated-no-mission-policy",
        "mission_policy absent: not applicable",
        Outcome("NOT_EVALUATED", "EVAL-NOT-APPLICABLE-RQ-D5-01"),
        scenario=NO_FLAGS,
    ),
    mcase(
        "fail-pointer-missing",
        "mission_policy true but no RQ-D5-01 pointer",
        Outcome("FAIL", "BUNDLE-POINTER-MISSING-RQ-D5-01", ["POINTER-MISSING"]),
        pointers=unprivileged_pointers(),
    ),
]
