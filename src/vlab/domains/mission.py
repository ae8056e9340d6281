"""Mission policy evidence (RQ-D5-01): recompute the integrity grade and the policy verdict
from the policy and the outcome receipt, never trusting the receipt's own claims.

Pure functions; vlab never executes anything from a pack (the policy's verification
command is read as text and never run).
"""

from __future__ import annotations

from decimal import Decimal
from functools import lru_cache
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.money import exact, fmt, money
from vlab.core.paths import matches
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

GRADES = ("VERIFIER_COMPROMISED", "UNVERIFIED", "VERIFIED_WEAK", "VERIFIED_STRONG")  # low->high
RANK = {grade: rank for rank, grade in enumerate(GRADES)}


# -- the policy -------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _policy_yaml() -> Any:
    """A safe YAML loader whose floats are exact Decimals (a subclass: the shared safe
    constructor, used for rulesets, is left alone)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import SafeConstructor

    class ExactConstructor(SafeConstructor):
        pass

    def exact_float(loader: Any, node: Any) -> Any:
        text = str(node.value).replace("_", "")
        try:
            value = Decimal(text)
        except ArithmeticError:
            return text  # .inf / .nan: left as text, refused as money below
        return value if value.is_finite() else text

    ExactConstructor.add_constructor("tag:yaml.org,2002:float", exact_float)
    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = ExactConstructor
    return yaml


def load_policy(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The policy mapping (money as exact Decimal), or None with what is wrong with it."""
    from ruamel.yaml.error import YAMLError

    yaml = _policy_yaml()
    try:
        policy = yaml.load(data.decode("utf-8"))
    except (YAMLError, UnicodeDecodeError, ValueError) as exc:
        return None, [f"the policy is not valid YAML: {str(exc).splitlines()[0]}"]
    except RecursionError:
        return None, ["the policy nests too deeply to read"]
    if not isinstance(policy, dict):
        return None, ["the policy is not a mapping"]
    problems = []
    budget = policy.get("budget")
    verification = policy.get("verification")
    if not isinstance(budget, dict) or money(budget.get("mission_hard_limit_usd")) is None:
        problems.append("budget.mission_hard_limit_usd is missing or not money")
    else:
        for key in ("max_llm_calls", "max_runtime_minutes"):
            value = budget.get(key)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                problems.append(f"budget.{key} is not an integer")
    if not isinstance(verification, dict) or not isinstance(verification.get("command"), str):
        problems.append("verification.command is missing or not a string")
    else:
        for key in ("protect", "allow"):
            value = verification.get(key, [])
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                problems.append(f"verification.{key} is not a list of path patterns")
        if verification.get("guard", "strict") not in ("strict", "off"):
            problems.append("verification.guard is not strict or off")
    return (None, problems) if problems else (policy, [])


# -- recomputation ----------------------------------------------------------------------------


def recompute_grade(receipt: dict[str, Any], protect: list[str]) -> tuple[str, list[str]]:
    """The integrity grade (first match wins) and, when compromised, why."""
    verification = receipt.get("verification")
    v = verification if isinstance(verification, dict) else {}
    why = []
    for entry in v.get("protected_files") or []:
        if not isinstance(entry, dict) or entry.get("sha256_after") != entry.get("sha256_before"):
            name = entry.get("path") if isinstance(entry, dict) else entry
            why.append(f"protected file {name!r} changed during the mission")
    for path in _changed(v):
        hit = next((p for p in protect if matches(p, path)), None)
        if hit is not None:
            why.append(f"changed file {path!r} matches protect pattern {hit!r}")
    if why:
        return "VERIFIER_COMPROMISED", why
    if v.get("passed") is not True:
        return "UNVERIFIED", []
    if v.get("baseline_failed") is True and v.get("clean_replay_passed") is True:
        return "VERIFIED_STRONG", []
    return "VERIFIED_WEAK", []


def _changed(v: dict[str, Any]) -> list[str]:
    changed = v.get("changed_files") or []
    return [str(p) for p in changed] if isinstance(changed, list) else [str(changed)]


def findings(
    receipt: Any, policy_bytes: bytes | None, policy_sha256: str | None, policy_path: str
) -> list[Detail]:
    """Every check of the mission-policy clause (exact decimal arithmetic)."""
    with exact():
        return _findings(receipt, policy_bytes, policy_sha256, policy_path)


def _findings(
    receipt: Any, policy_bytes: bytes | None, policy_sha256: str | None, policy_path: str
) -> list[Detail]:
    """Every check of the mission-policy clause, each finding its own detail."""
    found: list[Detail] = []
    if not isinstance(receipt, dict):
        return [finding("MISSION-POLICY-INVALID", "the outcome receipt is not a JSON object")]
    policy, problems = (
        (None, ["the policy file is missing"])
        if policy_bytes is None
        else (load_policy(policy_bytes))
    )
    for problem in problems:
        found.append(finding("MISSION-POLICY-INVALID", problem, artifact_path=policy_path))
    claimed = receipt.get("policy_sha256")
    if policy_sha256 is not None and claimed != policy_sha256:
        found.append(
            finding(
                "MISSION-POLICY-HASH-MISMATCH",
                f"receipt policy_sha256 {claimed!r} is not {policy_sha256}",
            )
        )
    if policy is None:
        return found  # nothing to recompute against
    verification = policy["verification"]
    budget = policy["budget"]
    grade, why = recompute_grade(receipt, list(verification.get("protect") or []))
    if grade == "VERIFIER_COMPROMISED":
        found.append(finding("MISSION-VERIFIER-COMPROMISED", "; ".join(why)))
    elif grade == "UNVERIFIED":
        found.append(finding("MISSION-UNVERIFIED", "verification.passed is not true"))
    allow = list(verification.get("allow") or [])
    v: dict[str, Any] = _mapping(receipt.get("verification"))
    outside = [p for p in _changed(v) if not any(matches(a, p) for a in allow)] if allow else []
    if outside:
        found.append(
            finding(
                "MISSION-SCOPE-VIOLATION",
                f"changed outside allow: {', '.join(repr(p) for p in outside)}",
            )
        )
    spend: dict[str, Any] = _mapping(receipt.get("spend"))
    limit = money(budget.get("mission_hard_limit_usd"))
    cost = money(spend.get("cost_usd"))
    assert limit is not None
    if cost is None:
        found.append(
            finding(
                "MISSION-OVER-BUDGET",
                "spend.cost_usd is missing or not money: "
                "the spend cannot be shown within the hard limit",
            )
        )
    elif cost > limit:
        found.append(
            finding(
                "MISSION-OVER-BUDGET",
                f"cost {fmt(cost)} exceeds mission_hard_limit_usd {fmt(limit)}",
            )
        )
    elif spend.get("budget_guard_tripped") is True:
        found.append(finding("MISSION-OVER-BUDGET", "the budget guard tripped"))
    for key, field, scale, code in (
        ("max_llm_calls", "llm_calls", 1, "MISSION-TOO-MANY-CALLS"),
        ("max_runtime_minutes", "runtime_seconds", 60, "MISSION-OVER-TIME"),
    ):
        bound = budget.get(key)
        if bound is None:
            continue
        value = spend.get(field)
        number = money(value)
        if number is None:
            found.append(finding(code, f"spend.{field} is missing: cannot show it within {key}"))
        elif number > bound * scale:
            found.append(finding(code, f"spend.{field} {value} exceeds {key} {bound}"))
    blocking = {
        "MISSION-VERIFIER-COMPROMISED",
        "MISSION-UNVERIFIED",
        "MISSION-SCOPE-VIOLATION",
        "MISSION-OVER-BUDGET",
        "MISSION-TOO-MANY-CALLS",
        "MISSION-OVER-TIME",
    }
    verdict = "BLOCKED" if any(f.code in blocking for f in found) else "PASS"
    claimed_grade = receipt.get("integrity_grade")
    if RANK.get(str(claimed_grade), len(GRADES)) > RANK[grade]:
        found.append(
            finding(
                "MISSION-GRADE-INFLATED",
                f"receipt claims {claimed_grade!r}, the evidence supports {grade}",
            )
        )
    if receipt.get("verdict") == "PASS" and verdict == "BLOCKED":
        found.append(
            finding(
                "MISSION-VERDICT-UNSUPPORTED",
                "the receipt says PASS but the recomputed verdict is BLOCKED",
            )
        )
    return found


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _mission_policy_v1(
    view: EvidenceView | None, *, receipt: Any, policy_path: Any
) -> list[Detail]:
    assert view is not None
    policy = view.artifact_bytes(policy_path)
    data, sha = policy if policy is not None else (None, None)
    return findings(receipt, data, sha, policy_path)


CHECKS = (
    DomainCheck(
        name="mission_policy",
        version=1,
        summary="recompute the mission's integrity grade and verdict under its policy",
        arguments=(
            Argument("receipt", summary="the outcome receipt the pointer resolves to"),
            Argument("policy_path", summary="the mission policy YAML at its conventional path"),
        ),
        codes=(
            "MISSION-POLICY-INVALID",
            "MISSION-POLICY-HASH-MISMATCH",
            "MISSION-VERIFIER-COMPROMISED",
            "MISSION-UNVERIFIED",
            "MISSION-SCOPE-VIOLATION",
            "MISSION-OVER-BUDGET",
            "MISSION-TOO-MANY-CALLS",
            "MISSION-OVER-TIME",
            "MISSION-GRADE-INFLATED",
            "MISSION-VERDICT-UNSUPPORTED",
        ),
        run=_mission_policy_v1,
    ),
)
