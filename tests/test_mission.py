"""Mission policy: path-pattern semantics (table-driven), grade and verdict recomputation."""

import copy
from decimal import Decimal
from typing import Any

import pytest

from vlab.builtins.functions import decimal_text
from vlab.core.paths import Work, matches
from vlab.domains import mission
from vlab.domains.mission import CHECKS, findings, load_policy, recompute_grade

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


# -- bad input never crashes: every malformed field is a finding, failing closed ------------

CODES = set(CHECKS[0].codes)
COMPROMISED = "MISSION-VERIFIER-COMPROMISED"


def judged(verification: object = None, policy: bytes = POLICY, **over: object) -> list[str]:
    """The codes for a receipt (its verification replaced when given); every one of them
    a code the check registers."""
    if verification is not None:
        over["verification"] = verification
    found = codes(findings(receipt(**over), policy, "sha256:x", "p"))
    assert set(found) <= CODES, found
    return found


def strong(**fields: object) -> dict:
    """A verification that earns VERIFIED_STRONG, with some fields replaced."""
    base: dict = {"baseline_failed": True, "passed": True, "clean_replay_passed": True}
    return {**base, "changed_files": ["src/a.py"], **fields}


HOSTILE_VALUES = [5, Decimal("1.5"), 10**300, True, False, 0, "", "tests/t.py", {}, {"a": 1}]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_protected_files_that_are_not_a_list_compromise(value: object) -> None:
    # the fuzzer's 27 crashes: a number or a boolean here was iterated
    assert COMPROMISED in judged(strong(protected_files=value))


@pytest.mark.parametrize("value", [*HOSTILE_VALUES, [1], [None], [["tests/t.py"]], [{"p": 1}]])
def test_changed_files_that_are_not_a_list_of_paths_compromise_and_leave_scope(
    value: object,
) -> None:
    # once turned into text ("['tests/t.py']"), such a list escaped every protect pattern
    found = judged(strong(changed_files=value))
    assert COMPROMISED in found and "MISSION-SCOPE-VIOLATION" in found


def test_absent_or_null_file_lists_are_empty_as_before() -> None:
    assert judged(strong(changed_files=None, protected_files=None)) == []
    assert judged({k: v for k, v in strong().items() if k != "changed_files"}) == []


@pytest.mark.parametrize("value", [5, "x", [], [1], True, 10**300])
def test_receipt_sections_of_the_wrong_type(value: object) -> None:
    assert "MISSION-UNVERIFIED" in judged(value)
    assert "MISSION-OVER-BUDGET" in judged(spend=value)
    assert judged(integrity_grade=value) == ["MISSION-GRADE-INFLATED"]
    assert judged(policy_sha256=value) == ["MISSION-POLICY-HASH-MISMATCH"]


def _field_paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key and index of a receipt, depth first."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    found = []
    for key, inner in items:
        found.append((*prefix, key))
        if isinstance(inner, (dict, list)):
            found += _field_paths(inner, (*prefix, key))
    return found


def test_every_receipt_field_of_every_type_is_a_finding_never_a_crash() -> None:
    base = receipt(verification=strong(protected_files=[{"path": "t", "sha256_before": "a"}]))
    for where in _field_paths(base):
        for value in [*HOSTILE_VALUES, None, [None], [[]], [{}], "../x", "a\\b", "\0"]:
            hostile = copy.deepcopy(base)
            inner = hostile
            for key in where[:-1]:
                inner = inner[key]
            inner[where[-1]] = value
            assert set(codes(findings(hostile, POLICY, "sha256:x", "p"))) <= CODES, where


@pytest.mark.parametrize(
    "policy",
    [
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, protect: tests/**}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, protect: 5}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, protect: [1]}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, allow: [[a]]}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, allow: {a: 1}}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: x, guard: [strict]}\n",
        b"budget: {mission_hard_limit_usd: 1, max_llm_calls: 1.5}\nverification: {command: x}\n",
        b"budget: {mission_hard_limit_usd: 1, max_llm_calls: '3'}\nverification: {command: x}\n",
        b"budget: [1]\nverification: {command: x}\n",
        b"budget: {mission_hard_limit_usd: 1}\nverification: {command: 5}\n",
        b"{1: 2, true: 3, null: 4, 1.5: 5, [a]: 6}\n",
        b"budget: {mission_hard_limit_usd: !!bool x}\n",  # KeyError inside the loader
        b"budget: {mission_hard_limit_usd: !!int }\n",  # IndexError inside the loader
        b"\xff\xfe\n",
    ],
)
def test_policies_of_the_wrong_shape_are_invalid(policy: bytes) -> None:
    assert judged(policy=policy) == ["MISSION-POLICY-INVALID"]


# -- bounds: what vlab cannot check within them fails closed ---------------------------------


def test_a_policy_past_the_size_bound_is_not_read() -> None:
    padded = POLICY + b"#" * (mission.MAX_POLICY_BYTES - len(POLICY))
    assert load_policy(padded)[1] == []
    policy, problems = load_policy(padded + b"#")
    size = mission.MAX_POLICY_BYTES + 1
    assert policy is None
    assert problems == [f"the policy is {size} bytes; at most {mission.MAX_POLICY_BYTES} are read"]


def _merge_bomb(levels: int) -> bytes:
    """Each level merges the one below twice: 2^levels mapping entries from ~30 bytes each."""
    lines = ["m0: &m0 {a: 1}"] + [
        f"m{i}: &m{i} {{<<: [*m{i - 1}, *m{i - 1}]}}" for i in range(1, levels)
    ]
    return POLICY + "\n".join(lines).encode() + b"\n"


class _Expanded(BaseException):
    """More merge flattening than the bound allows (a BaseException: nothing swallows it)."""


def test_a_merge_key_bomb_is_refused_within_its_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    constructor = mission._policy_yaml().Constructor
    flatten = constructor.flatten_mapping
    visited = [0]

    def counting(self: object, node: Any) -> Any:
        result = flatten(self, node)
        visited[0] += len(node.value)
        if visited[0] > 3 * mission.MAX_FLATTENED_ENTRIES:
            raise _Expanded(f"{visited[0]} mapping entries flattened")
        return result

    monkeypatch.setattr(constructor, "flatten_mapping", counting)
    policy, problems = load_policy(_merge_bomb(60))  # 2^60 entries unbounded
    assert policy is None and "merge keys expand the policy" in problems[0]
    assert load_policy(_merge_bomb(8))[1] == []  # a few merges are still YAML


def test_an_aliased_pattern_list_is_compiled_once_per_pattern(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 5000 aliases of one string: the list is long, its distinct patterns are one
    aliased = (
        b"p: &p 'tests/**'\nbudget: {mission_hard_limit_usd: 10.10, max_llm_calls: 3}\n"
        b"verification: {command: make test, allow: ['src/**'], protect: ["
        + b"*p, " * 5000
        + b"]}\n"
    )
    compile_pattern = mission.compile_pattern
    calls = []

    def counting(text: str, work: Any = None) -> Any:
        calls.append(text)
        return compile_pattern(text, work)

    monkeypatch.setattr(mission, "compile_pattern", counting)
    assert judged(strong(changed_files=["tests/t.py"]), policy=aliased) == [
        COMPROMISED,
        "MISSION-SCOPE-VIOLATION",
        "MISSION-GRADE-INFLATED",
        "MISSION-VERDICT-UNSUPPORTED",
    ]
    # validated, then matched: each distinct pattern of protect and allow once each time
    assert sorted(calls) == ["src/**", "src/**", "tests/**", "tests/**"]


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        ("a" * 256, "has a segment of 256 characters; at most 255 are checked"),
        ("**/" + "a/" * 33 + "**", "has 33 segments between two '**'; at most 32 are checked"),
    ],
)
def test_a_pattern_vlab_cannot_check_makes_the_policy_invalid(pattern: str, why: str) -> None:
    policy = POLICY.replace(b'"tests/**"', f'"tests/**", "{pattern}"'.encode())
    assert judged(policy=policy) == ["MISSION-POLICY-INVALID"]
    shown = repr(pattern) if len(pattern) < 100 else repr(pattern)[:117] + "..."
    assert load_policy(policy)[1] == [f"verification.protect: pattern {shown} {why}"]


def test_a_pattern_beyond_the_bounds_given_directly_compromises() -> None:
    grade, why = recompute_grade({"verification": strong()}, ["a" * 300])
    assert grade == "VERIFIER_COMPROMISED" and why[0].endswith(
        "no changed file can be shown unprotected"
    )


def test_matching_past_the_work_budget_fails_closed(monkeypatch: pytest.MonkeyPatch) -> None:
    changed = [f"src/m{i}/f.py" for i in range(100)]
    grade, why = recompute_grade({"verification": strong(changed_files=changed)}, ["tests/**"])
    assert grade == "VERIFIED_STRONG"
    work = Work(budget=50)
    grade, why = recompute_grade({"verification": strong(changed_files=changed)}, ["x/**"], work)
    assert grade == "VERIFIER_COMPROMISED"
    assert why == [
        "the changed files could not all be matched against protect within 50 steps:"
        " they cannot be shown unprotected"
    ]
    monkeypatch.setattr(mission, "MATCH_BUDGET", 50)
    found = findings(receipt(verification=strong(changed_files=changed)), POLICY, "sha256:x", "p")
    assert codes(found)[:2] == [COMPROMISED, "MISSION-SCOPE-VIOLATION"]
    assert "within 50 steps" in found[1].message


def test_messages_stay_bounded_however_many_files_match() -> None:
    changed = [f"tests/t{i}.py" for i in range(1000)] + ["tests/" + "x" * 100_000]
    grade, why = recompute_grade({"verification": strong(changed_files=changed)}, ["tests/**"])
    assert grade == "VERIFIER_COMPROMISED" and len(why) == 11 and why[-1] == "and 991 more"
    found = findings(
        # reading paths is charged to the work budget too: 50 x 20,000 characters fit in it
        receipt(verification=strong(changed_files=["docs/" + "y" * 20_000] * 50)),
        POLICY,
        "sha256:x",
        "p",
    )
    assert found[0].code == "MISSION-SCOPE-VIOLATION" and found[0].message.endswith("and 40 more")
    assert max(len(f.message) for f in found) < 2000


def test_reading_a_million_changed_paths_is_charged_to_the_work_budget() -> None:
    """Path normalisation counts as work: a huge receipt exhausts the budget (fail closed)
    after a bounded number of paths, instead of costing time the budget never sees."""

    work = Work(mission.MATCH_BUDGET)
    changed = ["src/a/b/c/d/e/f/g/h/file.py"] * 1_000_000
    receipt_ = {"verification": strong(changed_files=changed)}
    grade, why = recompute_grade(receipt_, ["tests/**"], work)
    assert grade == "VERIFIER_COMPROMISED"
    assert any("could not all be matched" in w for w in why)
    assert work.steps <= mission.MATCH_BUDGET + 100


def test_a_deeply_nested_policy_is_refused_before_the_loader_recurses() -> None:
    policy, problems = load_policy(b"a: " + b"[" * 30_000 + b"]" * 30_000 + b"\n")
    assert policy is None and problems == ["the policy nests deeper than 64 levels"]
    ok, _ = load_policy(b"a: " + b"[" * 10 + b"]" * 10 + b"\n")
    assert ok is None  # not a valid policy, but refused for what it lacks, not its depth
    assert _ != ["the policy nests deeper than 64 levels"]


def test_a_policy_reads_the_same_whatever_was_read_before() -> None:
    """A loader that raised keeps half-built state: reused, it made the next policy's error
    depend on the one read before (`make fuzz`, seed 2, index 5954). Every policy gets a
    fresh loader, so each result is the same in any order."""
    policies = [
        b"base: &b {mission_hard_limit_usd: 1}\nbudget:\n  protect: 1"
        + b"0" * 5000
        + b"\nbudget:\n",
        b"budget:\n  protect: 1" + b"0" * 5000 + b"\n",
        b"a: !!int\n",
        b"a: [b: {c: 1}, *x]\n",
        b"a: {b: 1}\na: 2\n",
    ]
    forward = [load_policy(p)[1] for p in policies]
    again = [load_policy(p)[1] for p in policies for _ in (1, 2)][1::2]  # each read twice
    backward = [load_policy(p)[1] for p in reversed(policies)][::-1]
    assert forward == again == backward
    assert all(problems for problems in forward)
    assert forward[0] == ["the policy is not valid YAML: while constructing a mapping"]
