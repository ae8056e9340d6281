"""Mission policy: path-pattern semantics (table-driven), grade and verdict recomputation."""

import pytest

from vlab.builtins.functions import decimal_text
from vlab.core.paths import matches
from vlab.domains.mission import findings, load_policy, recompute_grade

PATTERNS = [
    # pattern, path, matches?
    ("package.json", "package.json", True),
    ("package.json", "packages/ui/package.json", False),
    ("tests/**", "tests/a.js", True),
    ("tests/**", "tests/x/y/z.js", True),
    ("tests/**", "tests", False),
    ("tests/**", "tests2/a.js", False),
    ("**/secrets.json", "secrets.json", True),
    ("**/secrets.json", "a/b/secrets.json", True),
    ("**/secrets.json", "a/b/secrets.json.bak", False),
    ("a/**/b", "a/b", True),
    ("a/**/b", "a/x/y/b", True),
    ("a/**/b", "a/xb", False),
    ("a/**/b", "a/x/b/c", False),
    ("**", "any/thing", True),
    ("src/", "src/a.js", True),
    ("src/", "src/x/y.js", True),
    ("src/", "src", False),
    ("build/", "build", False),
    ("src/*.js", "src/a.js", True),
    ("src/*.js", "src/x/a.js", False),
    ("src/*", "src/", False),
    ("?.md", "a.md", True),
    ("?.md", "ab.md", False),
    ("?.md", "/.md", False),
    ("src/checkout/**", "src/checkout/sum.mjs", True),
    ("src/checkout/**", "src/checkoutx/sum.mjs", False),
    ("a.b", "axb", False),  # '.' is literal
    ("a+(b)", "a+(b)", True),  # regex metacharacters are literal
    ("tests/**", "./tests/a.js", True),  # paths are normalised first
    ("tests/**", "src/../tests/a.js", True),
    ("src/**", "../src/a.js", False),  # outside the repository matches nothing
    ("src/**", "/src/a.js", False),
]


@pytest.mark.parametrize(("pattern", "path", "expected"), PATTERNS)
def test_pattern_semantics(pattern: str, path: str, expected: bool) -> None:
    assert matches(pattern, path) is expected


POLICY = b"""\
budget: {mission_hard_limit_usd: 10.10, max_llm_calls: 3}
verification: {command: make test, protect: ["tests/**"], allow: ["src/**"]}
"""


def receipt(**over: object) -> dict:
    base: dict = {
        "policy_sha256": "sha256:x",
        "spend": {"cost_usd": "10.10", "llm_calls": 3, "runtime_seconds": 1},
        "verification": {
            "baseline_failed": True,
            "passed": True,
            "clean_replay_passed": True,
            "changed_files": ["src/a.py"],
            "protected_files": [],
        },
        "integrity_grade": "VERIFIED_STRONG",
        "verdict": "PASS",
    }
    base.update(over)
    return base


def codes(found: list[dict]) -> list[str]:
    return [f.code for f in found]


def test_policy_money_is_exact_decimal() -> None:
    policy, problems = load_policy(POLICY)
    assert problems == [] and policy is not None
    assert str(policy["budget"]["mission_hard_limit_usd"]) == "10.10"


def test_cost_equal_to_a_float_looking_limit_is_within() -> None:
    assert codes(findings(receipt(), POLICY, "sha256:x", "p")) == []


@pytest.mark.parametrize(
    ("verification", "grade"),
    [
        ({"passed": True, "baseline_failed": True, "clean_replay_passed": True}, "VERIFIED_STRONG"),
        ({"passed": True, "baseline_failed": False, "clean_replay_passed": True}, "VERIFIED_WEAK"),
        ({"passed": "yes"}, "UNVERIFIED"),
        ({"passed": True, "changed_files": ["tests/t.py"]}, "VERIFIER_COMPROMISED"),
        (
            {
                "passed": False,
                "protected_files": [{"path": "t", "sha256_before": "a", "sha256_after": "b"}],
            },
            "VERIFIER_COMPROMISED",
        ),
    ],
)
def test_grade_first_match_wins(verification: dict, grade: str) -> None:
    assert recompute_grade({"verification": verification}, ["tests/**"])[0] == grade


def test_blocked_claims_and_inflation() -> None:
    found = findings(
        receipt(
            spend={"cost_usd": "10.11", "llm_calls": 4, "runtime_seconds": 1},
            verification={"passed": True, "changed_files": ["docs/x.md"]},
        ),
        POLICY,
        "sha256:y",
        "p",
    )
    assert codes(found) == [
        "MISSION-POLICY-HASH-MISMATCH",
        "MISSION-SCOPE-VIOLATION",
        "MISSION-OVER-BUDGET",
        "MISSION-TOO-MANY-CALLS",
        "MISSION-GRADE-INFLATED",
        "MISSION-VERDICT-UNSUPPORTED",
    ]


@pytest.mark.parametrize(
    "policy",
    [
        b"- a list\n",
        b"budget: {}\nverification: {command: x}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {}\n",
        b"a: [\n",
        b"a: 1\na: 2\n",
        b"budget: {mission_hard_limit_usd: .inf}\nverification: {command: x}\n",
    ],
)
def test_invalid_policies(policy: bytes) -> None:
    assert codes(findings(receipt(), policy, None, "p")) == ["MISSION-POLICY-INVALID"]


def test_decimal_text() -> None:
    assert decimal_text("0.000677") == "0.000677" and decimal_text(3) == "3"
    assert decimal_text(None) is None and decimal_text("1e3") is None
