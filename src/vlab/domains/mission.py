"""Mission policy evidence (RQ-D5-01): recompute the integrity grade and the policy verdict
from the policy and the outcome receipt, never trusting the receipt's own claims.

Pure functions; vlab never executes anything from a pack (the policy's verification
command is read as text and never run).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.money import exact, fmt, money
from vlab.core.paths import (
    Pattern,
    PatternError,
    Work,
    WorkExhausted,
    compile_pattern,
    first_match,
    path_segments,
)
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

GRADES = ("VERIFIER_COMPROMISED", "UNVERIFIED", "VERIFIED_WEAK", "VERIFIED_STRONG")  # low->high
RANK = {grade: rank for rank, grade in enumerate(GRADES)}

# Safety bounds, far beyond real missions (a policy is ~1-2 KB; a receipt lists tens of
# changed files): past them vlab cannot show the evidence clean, so the check fails closed.
MAX_POLICY_BYTES = 64 * 1024  # the pure YAML loader reads ~100 KB/s
MAX_FLATTENED_ENTRIES = 64 * 1024  # no policy of MAX_POLICY_BYTES has more of its own
MATCH_BUDGET = 10_000_000  # path-matching steps of one check (paths.Work), a few seconds
SHOWN = 10  # items a message lists before "and N more"
SHOWN_CHARS = 120  # characters of one quoted value in a message

NOT_PATHS = "verification.changed_files is not a list of paths"


# -- the policy -------------------------------------------------------------------------------


def _policy_yaml() -> Any:
    """A fresh safe YAML loader whose floats are exact Decimals. Fresh for every policy:
    a ruamel loader that raised keeps half-built state, and reusing it made the next
    policy's error depend on the one read before (found by `make fuzz`)."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _exact_constructor()
    return yaml


@lru_cache(maxsize=1)
def _exact_constructor() -> Any:
    """The constructor class (a subclass: the shared safe constructor, used for rulesets,
    is left alone), built once."""
    from ruamel.yaml.constructor import ConstructorError, SafeConstructor

    class ExactConstructor(SafeConstructor):
        flattened = 0  # mapping entries merge-key flattening visited in this document

        def construct_document(self, node: Any) -> Any:
            self.flattened = 0
            return super().construct_document(node)

        def flatten_mapping(self, node: Any) -> Any:
            # Merge keys copy entries, and each level of `<<: [*a, *a]` doubles them: a
            # 1 KB policy would expand for hours. Counted after the merged mappings were
            # (each counted before its entries are copied), so no copy exceeds the bound.
            super().flatten_mapping(node)
            self.flattened += len(node.value)
            if self.flattened > MAX_FLATTENED_ENTRIES:
                raise ConstructorError(
                    problem=f"merge keys expand the policy past {MAX_FLATTENED_ENTRIES} "
                    "mapping entries",
                    problem_mark=node.start_mark,
                )

    def exact_float(loader: Any, node: Any) -> Any:
        text = str(node.value).replace("_", "")
        try:
            value = Decimal(text)
        except ArithmeticError:
            return text  # .inf / .nan: left as text, refused as money below
        return value if value.is_finite() else text

    ExactConstructor.add_constructor("tag:yaml.org,2002:float", exact_float)
    return ExactConstructor


MAX_POLICY_NESTING = 64


def _flow_depth(data: bytes) -> int:
    """Flow-collection nesting (``[`` / ``{``), counted naively (brackets inside quoted
    scalars count too: a real policy is nowhere near the bound either way)."""
    if data.count(b"[") + data.count(b"{") <= MAX_POLICY_NESTING:
        return 0
    depth = best = 0
    for byte in data:
        if byte in (91, 123):
            depth += 1
            best = max(best, depth)
        elif byte in (93, 125):
            depth = max(0, depth - 1)
    return best


def load_policy(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """The policy mapping (money as exact Decimal), or None with what is wrong with it."""
    if len(data) > MAX_POLICY_BYTES:
        return None, [f"the policy is {len(data)} bytes; at most {MAX_POLICY_BYTES} are read"]
    if _flow_depth(data) > MAX_POLICY_NESTING:
        # the pure loader recurses per level: 30,000 `[` cost seconds before it gave up
        return None, [f"the policy nests deeper than {MAX_POLICY_NESTING} levels"]
    try:
        policy = _policy_yaml().load(data.decode("utf-8"))
    except RecursionError:
        return None, ["the policy nests too deeply to read"]
    except Exception as exc:  # not only YAMLError: `!!bool x` raises KeyError, `!!int` IndexError
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return None, [f"the policy is not valid YAML: {first[:SHOWN_CHARS]}"]
    if not isinstance(policy, dict):
        return None, ["the policy is not a mapping"]
    problems = [
        *_budget_problems(policy.get("budget")),
        *_verification_problems(policy.get("verification")),
    ]
    return (None, problems) if problems else (policy, [])


def _budget_problems(budget: Any) -> Iterator[str]:
    if not isinstance(budget, dict) or money(budget.get("mission_hard_limit_usd")) is None:
        yield "budget.mission_hard_limit_usd is missing or not money"
        return
    for key in ("max_llm_calls", "max_runtime_minutes"):
        value = budget.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            yield f"budget.{key} is not an integer"


def _verification_problems(verification: Any) -> Iterator[str]:
    if not isinstance(verification, dict) or not isinstance(verification.get("command"), str):
        yield "verification.command is missing or not a string"
        return
    for key in ("protect", "allow"):
        value = verification.get(key, [])
        if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
            yield f"verification.{key} is not a list of path patterns"
        else:
            yield from (f"verification.{key}: {why}" for why in _pattern_problems(value))
    if verification.get("guard", "strict") not in ("strict", "off"):
        yield "verification.guard is not strict or off"


def _pattern_problems(patterns: list[str]) -> Iterator[str]:
    """Why each pattern vlab cannot check is refused (each distinct text compiled once: an
    aliased YAML list repeats one string many times)."""
    for text in dict.fromkeys(patterns):
        try:
            compile_pattern(text)
        except PatternError as exc:
            yield f"pattern {_shown(text)} {exc}"


# -- messages ---------------------------------------------------------------------------------


class _Listing:
    """The first SHOWN items of a message and how many more (a message stays bounded
    however many files a receipt lists)."""

    def __init__(self) -> None:
        self.shown: list[str] = []
        self.more = 0

    def add(self, item: str) -> None:
        if len(self.shown) < SHOWN:
            self.shown.append(item)
        else:
            self.more += 1

    @property
    def full(self) -> bool:
        """Whether a further item would only be counted (so it need not be built)."""
        return len(self.shown) >= SHOWN

    def lines(self) -> list[str]:
        return self.shown + ([f"and {self.more} more"] if self.more else [])

    def __bool__(self) -> bool:
        return bool(self.shown)


def _shown(value: Any) -> str:
    """A value quoted in a message, at most SHOWN_CHARS characters of it."""
    text = repr(value[: SHOWN_CHARS + 1] if isinstance(value, str) else value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


# -- recomputation ----------------------------------------------------------------------------


def recompute_grade(
    receipt: dict[str, Any], protect: list[str], work: Work | None = None
) -> tuple[str, list[str]]:
    """The integrity grade (first match wins) and, when compromised, why. ``work`` counts
    the path matching (by default within MATCH_BUDGET steps)."""
    v = _mapping(receipt.get("verification"))
    why = _Listing()
    _protected_files_changed(v.get("protected_files"), why)
    if protect:
        _changed_files_protected(v, protect, Work(MATCH_BUDGET) if work is None else work, why)
    if why:
        return "VERIFIER_COMPROMISED", why.lines()
    if v.get("passed") is not True:
        return "UNVERIFIED", []
    if v.get("baseline_failed") is True and v.get("clean_replay_passed") is True:
        return "VERIFIED_STRONG", []
    return "VERIFIED_WEAK", []


def _protected_files_changed(files: Any, why: _Listing) -> None:
    """Each protected file the receipt does not show unchanged."""
    if files is None:
        return
    if not isinstance(files, list):
        why.add(
            f"verification.protected_files is not a list ({_shown(files)}): "
            "no protected file can be shown unchanged"
        )
        return
    for entry in files:
        if not isinstance(entry, dict) or entry.get("sha256_after") != entry.get("sha256_before"):
            name = entry.get("path") if isinstance(entry, dict) else entry
            why.add(f"protected file {_shown(name)} changed during the mission")


def _changed_files_protected(
    v: dict[str, Any], protect: list[str], work: Work, why: _Listing
) -> None:
    """Each changed file that matches a protect pattern, or why none can be shown not to."""
    changed = _changed(v)
    if changed is None:
        why.add(f"{NOT_PATHS}: no changed file can be shown unprotected")
        return
    try:
        for path, hit in _first_matches(changed, protect, work):
            if hit is not None:
                if why.full:
                    why.more += 1
                else:
                    why.add(
                        f"changed file {_shown(path)} matches protect pattern {_shown(hit.text)}"
                    )
    except PatternError as exc:
        why.add(f"protect {exc}: no changed file can be shown unprotected")
    except WorkExhausted:
        why.add(f"{_over_budget(work, 'protect')}: they cannot be shown unprotected")


def _changed(v: dict[str, Any]) -> list[str] | None:
    """The changed files (none when absent); None when they are not a list of paths, so
    nothing about them can be shown."""
    changed = v.get("changed_files")
    if changed is None:
        return []
    if isinstance(changed, list) and all(isinstance(p, str) for p in changed):
        return changed
    return None


def _first_matches(
    changed: list[str], patterns: list[str], work: Work
) -> Iterator[tuple[str, Pattern | None]]:
    """Each changed file with the first pattern it matches (None: none, or it points outside
    the repository). Raises PatternError for a pattern beyond the matcher's bounds and
    WorkExhausted past the work budget."""
    compiled = []
    for text in dict.fromkeys(patterns):  # each distinct pattern once
        try:
            pattern = compile_pattern(text, work)
        except PatternError as exc:
            raise PatternError(f"pattern {_shown(text)} {exc}") from exc
        if pattern is not None:
            compiled.append(pattern)
    for path in changed:
        # reading a path is charged too: a receipt of a million paths runs out of budget
        # (and fails closed) instead of costing time the budget never sees
        names = path_segments(path, work)
        yield path, None if names is None else first_match(compiled, names, work)


def _over_budget(work: Work, key: str) -> str:
    return f"the changed files could not all be matched against {key} within {work.budget} steps"


def _outside_allow(v: dict[str, Any], allow: list[str], work: Work) -> Detail | None:
    """The scope finding: changed files that match no allow pattern (or cannot be shown to
    match one)."""
    if not allow:
        return None
    changed = _changed(v)
    if changed is None:
        return _scope(f"{NOT_PATHS}: the changes cannot be shown within allow")
    outside = _Listing()
    try:
        for path, hit in _first_matches(changed, allow, work):
            if hit is None:
                if outside.full:
                    outside.more += 1
                else:
                    outside.add(_shown(path))
    except PatternError as exc:
        return _scope(f"allow {exc}: the changes cannot be shown within allow")
    except WorkExhausted:
        listed = f"changed outside allow: {', '.join(outside.lines())}; " if outside else ""
        return _scope(f"{listed}{_over_budget(work, 'allow')}: they cannot be shown within allow")
    return _scope(f"changed outside allow: {', '.join(outside.lines())}") if outside else None


def _scope(message: str) -> Detail:
    return finding("MISSION-SCOPE-VIOLATION", message)


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
                f"receipt policy_sha256 {_shown(claimed)} is not {policy_sha256}",
            )
        )
    if policy is None:
        return found  # nothing to recompute against
    verification = policy["verification"]
    budget = policy["budget"]
    work = Work(MATCH_BUDGET)  # one budget for all the check's path matching
    grade, why = recompute_grade(receipt, list(verification.get("protect") or []), work)
    if grade == "VERIFIER_COMPROMISED":
        found.append(finding("MISSION-VERIFIER-COMPROMISED", "; ".join(why)))
    elif grade == "UNVERIFIED":
        found.append(finding("MISSION-UNVERIFIED", "verification.passed is not true"))
    allow = list(verification.get("allow") or [])
    scope = _outside_allow(_mapping(receipt.get("verification")), allow, work)
    if scope is not None:
        found.append(scope)
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
    # a claim that names no grade is ranked above every grade: it is never supported
    unknown = len(GRADES)
    claimed_rank = RANK.get(claimed_grade, unknown) if isinstance(claimed_grade, str) else unknown
    if claimed_rank > RANK[grade]:
        found.append(
            finding(
                "MISSION-GRADE-INFLATED",
                f"receipt claims {_shown(claimed_grade)}, the evidence supports {grade}",
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
