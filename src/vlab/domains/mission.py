"""Mission policy evidence (RQ-D5-01): recompute the integrity grade and the policy verdict
from the policy and the outcome receipt, never trusting the receipt's own claims.

Pure functions; vlab never executes anything from a pack (the policy's verification
command is read as text and never run).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from vlab.core.findings import Detail, finding
from vlab.core.memo import parse_once
from vlab.core.money import exact, fmt, money
from vlab.core.paths import (
    Pattern,
    PatternError,
    Work,
    WorkExhausted,
    compile_pattern,
    first_match,
    normalize_path,
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
    """The policy mapping (money as exact Decimal), or None with what is wrong with it
    (parsed once per process for the same bytes: core/memo.py)."""
    return parse_once("mission_policy@1", data, _load_policy)


def _load_policy(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
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


# The codes version 1 declares (checks.lock.json); version 2 declares these and more.
V1_CODES = (
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
)


CHECKS: tuple[DomainCheck, ...] = (
    DomainCheck(
        name="mission_policy",
        version=1,
        summary="recompute the mission's integrity grade and verdict under its policy",
        arguments=(
            Argument("receipt", summary="the outcome receipt the pointer resolves to"),
            Argument("policy_path", summary="the mission policy YAML at its conventional path"),
        ),
        codes=V1_CODES,
        run=_mission_policy_v1,
    ),
)


# == mission_policy@2 (ruleset-1.3): runcap 0.6.0's documented behaviour =====================
#
# rulesets-1.3.md §3. What changes from @1, and why (runcap's README and its own tests):
# - policy validity is runcap's validator's (src/policy.mjs validatePolicy): `version: v1`
#   and `mission.name` required, limits positive numbers (not necessarily integers);
# - grade, first match wins: UNVERIFIED when verification did not pass (a tampered verifier
#   is still reported, MISSION-VERIFIER-TAMPERED, and blocks), VERIFIER_COMPROMISED when it
#   passed but protected evidence changed, then STRONG / WEAK; a change outside `allow`
#   caps the grade at WEAK (runcap: a scope violation is a failed check, not tampering);
# - protected evidence is the policy's `protect`, the files the verify command names and
#   runcap's default protected set (tests, *.test.*, *.spec.*, package.json, tsconfig,
#   jest/vitest config: src/mission-control.mjs DEFAULT_PROTECTED_GLOBS);
# - a pattern without `*` or `?` names a file or everything below that folder (runcap's
#   `--protect <path>` / `--allow <path>`); a pattern with them is a glob as README writes
#   it (runcap 0.6.0 matches every pattern as a literal prefix, so `src/checkout/**`
#   allows nothing there: a runcap bug, its README is followed);
# - a receipt without runcap's guard never passes (MISSION-UNGUARDED); the receipt's own
#   cost, calls and budget-guard claims are checked beside what the evidence shows;
# - a receipt that claims less than the evidence supports is advisory
#   MISSION-RECEIPT-STRICTER (e.g. runcap's prefix matching blocking an honest fix).

# The number bound of a JavaScript number: runcap's `Number.isFinite` refuses beyond it.
JS_MAX = Decimal("1.7976931348623157e308")
# JavaScript's String.prototype.trim whitespace (not Python's str.strip set).
_JS_SPACE = frozenset(
    "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
BLOCKING_V2 = frozenset(
    (
        "MISSION-UNGUARDED",
        "MISSION-VERIFIER-COMPROMISED",
        "MISSION-VERIFIER-TAMPERED",
        "MISSION-UNVERIFIED",
        "MISSION-SCOPE-VIOLATION",
        "MISSION-OVER-BUDGET",
        "MISSION-TOO-MANY-CALLS",
        "MISSION-OVER-TIME",
    )
)
# runcap's `[mc]?[jt]sx?` script endings of *.test.* and *.spec.* files
_SCRIPT_ENDINGS = tuple(
    f"{m}{lang}s{x}" for m in ("", "m", "c") for lang in ("j", "t") for x in ("", "x")
)
MAX_COMMAND_TOKENS = 4096  # tokens of a verify command read for the files it names


def runcap_default_protected(path: str, work: Work | None = None) -> bool:
    """Whether runcap 0.6.0 protects the path by default (its DEFAULT_PROTECTED_GLOBS, read
    segment by segment: a test/tests/__tests__ folder, a *.test.* or *.spec.* script, any
    package.json, tsconfig*.json, jest.config.* or vitest.config.*)."""
    names = path_segments(path, work)
    if names is None:
        return False
    *folders, name = names
    if any(folder in ("test", "tests", "__tests__") for folder in folders):
        return True
    if any(n.startswith(("jest.config.", "vitest.config.")) for n in names):
        return True
    if name == "package.json" or (
        name.startswith("tsconfig") and name.endswith(".json") and len(name) >= 13
    ):
        return True
    return any(
        name.endswith(f"{mark}{end}") for mark in (".test.", ".spec.") for end in _SCRIPT_ENDINGS
    )


def verifier_paths(command: Any) -> list[str]:
    """The repository paths a verify command names, read as runcap reads them
    (verifierFilesFrom: whitespace tokens, one surrounding quote stripped, a token with a
    `.` or `/`), normalised; tokens outside the repository are left out."""
    if not isinstance(command, str):
        return []
    found: list[str] = []
    for raw in command.split()[:MAX_COMMAND_TOKENS]:
        token = raw[1:] if raw[:1] in ("'", '"') else raw
        token = token[:-1] if token[-1:] in ("'", '"') else token
        if "." not in token and "/" not in token:
            continue
        norm = normalize_path(token)
        if norm is not None and norm not in found:
            found.append(norm)
    return found


def _js_truthy(value: Any) -> bool:
    if value is None or value is False:
        return False
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return value != 0
    if isinstance(value, str):
        return value != ""
    return True  # objects and arrays, even empty ones


def _js_string(value: Any, depth: int = 0) -> str:
    """JavaScript's String(value) for what a policy can hold (enough to tell empty)."""
    if isinstance(value, str):
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, list):
        if depth > MAX_POLICY_NESTING:
            return "..."
        return ",".join("" if v is None else _js_string(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return "[object Object]"
    return str(value)


def _js_blank(value: Any) -> bool:
    """runcap's `!value || !String(value).trim()`."""
    if not _js_truthy(value):
        return True
    return not _js_string(value).strip("".join(_JS_SPACE))


def _js_number(value: Any) -> bool:
    """A finite JavaScript number (`typeof x === "number" && Number.isFinite(x)`)."""
    return (
        isinstance(value, (int, Decimal))
        and not isinstance(value, bool)
        and Decimal(value).is_finite()
        and abs(Decimal(value)) <= JS_MAX
    )


def _js_positive(value: Any) -> bool:
    """runcap's positive limit: a finite JavaScript number above zero."""
    return _js_number(value) and Decimal(value) > 0


def load_policy_v2(data: bytes, fmt: str = "yaml") -> tuple[dict[str, Any] | None, list[str]]:
    """The policy (money exact) and runcap's validator's errors (src/policy.mjs
    validatePolicy), plus a limit vlab cannot hold as exact money. ``fmt`` is ``json`` for
    a .runcap/mission.json policy (runcap parses it with JSON.parse), else ``yaml``."""
    policy, problems = parse_policy(data, fmt)
    if policy is None:
        return None, problems
    problems = list(_runcap_problems(policy))
    return (None, problems) if problems else (policy, [])


def parse_policy(data: bytes, fmt: str = "yaml") -> tuple[dict[str, Any] | None, list[str]]:
    """The policy document, or None with why it cannot be read (no validation)."""
    if len(data) > MAX_POLICY_BYTES:
        return None, [f"the policy is {len(data)} bytes; at most {MAX_POLICY_BYTES} are read"]
    if _flow_depth(data) > MAX_POLICY_NESTING:
        return None, [f"the policy nests deeper than {MAX_POLICY_NESTING} levels"]
    if fmt == "json":
        return _parse_json_policy(data)
    policy, problems = _parse_yaml_policy(data)
    return policy, problems


def _parse_yaml_policy(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    return parse_once("mission_policy@2 yaml", data, _parse_yaml_text)


def _parse_yaml_text(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    try:
        policy = _policy_yaml().load(data.decode("utf-8"))
    except RecursionError:
        return None, ["the policy nests too deeply to read"]
    except Exception as exc:  # not only YAMLError (see load_policy)
        first = (str(exc).splitlines() or [type(exc).__name__])[0]
        return None, [f"the policy is not valid YAML: {first[:SHOWN_CHARS]}"]
    if not isinstance(policy, dict):
        return None, ["the policy is not a mapping"]
    return policy, []


def _refuse_constant(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


def _parse_json_policy(data: bytes) -> tuple[dict[str, Any] | None, list[str]]:
    """JSON.parse's reading: duplicate keys keep the last, numbers exact."""
    import json

    try:
        policy = json.loads(
            data.decode("utf-8"),
            parse_float=Decimal,
            parse_constant=_refuse_constant,
        )
    except RecursionError:
        return None, ["the policy nests too deeply to read"]
    except ValueError as exc:
        return None, [f"the policy is not valid JSON: {str(exc)[:SHOWN_CHARS]}"]
    if not isinstance(policy, dict):
        return None, ["the policy is not a JSON object"]
    return policy, []


def _runcap_problems(policy: dict[str, Any]) -> Iterator[str]:
    """runcap 0.6.0's validatePolicy errors, in its order (its words)."""
    if policy.get("version") != "v1":
        yield f'version must be "v1" (got {_shown(policy.get("version"))})'
    mission = policy.get("mission")
    name = mission.get("name") if isinstance(mission, dict) else None
    if _js_blank(name):
        yield "mission.name is required"
    verification = policy.get("verification")
    v = verification if isinstance(verification, dict) else {}
    if _js_blank(v.get("command")):
        yield "verification.command is required"
    guard = v.get("guard")
    if _js_truthy(guard) and guard not in ("strict", "off"):
        yield f'verification.guard must be "strict" or "off" (got {_shown(guard)})'
    budget = policy.get("budget")
    b = budget if isinstance(budget, dict) else {}
    limit = b.get("mission_hard_limit_usd")
    if not _js_positive(limit):
        yield "budget.mission_hard_limit_usd is required and must be a positive number"
    elif money(limit) is None:
        yield (
            f"budget.mission_hard_limit_usd {_shown(limit)} is beyond the exact money vlab "
            "compares (18 integer and 18 decimal digits)"
        )
    for key in ("max_llm_calls", "max_runtime_minutes"):
        if key in b and not _js_positive(b[key]):
            yield f"budget.{key}, when set, must be a positive number"


def pattern_texts(value: Any) -> tuple[list[str], list[Any]]:
    """A protect/allow value as runcap reads it (not a list: no patterns): the string
    entries, and the entries that are not strings (no path can be shown against them)."""
    if not isinstance(value, list):
        return [], []
    return [p for p in value if isinstance(p, str)], [p for p in value if not isinstance(p, str)]


def pattern_forms(patterns: list[str]) -> tuple[list[str], dict[str, str]]:
    """Each pattern as vlab matches it, and the written pattern of each: one without `*`
    or `?` also matches everything below that folder (`config` is `config` and `config/`)."""
    out: list[str] = []
    written: dict[str, str] = {}
    for text in dict.fromkeys(patterns):
        for form in (
            (text,)
            if ("*" in text or "?" in text or text.endswith("/"))
            else (
                text,
                text + "/",
            )
        ):
            if form not in written:
                written[form] = text
                out.append(form)
    return out, written


def _protected_evidence_changed(
    v: dict[str, Any],
    protect: Any,
    command: Any,
    guarded: bool,
    work: Work,
) -> _Listing:
    """Why protected evidence cannot be shown unchanged (empty: it is shown unchanged)."""
    why = _Listing()
    _protected_files_changed(v.get("protected_files"), why)
    if guarded and v.get("protected_observed") is False:
        why.add("the protected files could not be observed: they cannot be shown unchanged")
    texts, strays = pattern_texts(protect)
    for stray in strays:
        why.add(
            f"protect entry {_shown(stray)} is not a path pattern: "
            "changes cannot be shown unprotected"
        )
    changed = _changed(v)
    if changed is None:
        why.add(f"{NOT_PATHS}: no changed file can be shown unprotected")
        return why
    named = set(verifier_paths(command))
    patterns, written = pattern_forms(texts)
    try:
        matched = dict(_first_matches(changed, patterns, work)) if patterns else {}
        for path in changed:
            hit = matched.get(path)
            norm = normalize_path(path)
            if hit is not None:
                reason = f"matches protect pattern {_shown(written.get(hit.text, hit.text))}"
            elif norm is not None and norm in named:
                reason = "is a file the verify command names"
            elif runcap_default_protected(path, work):
                reason = "is protected by runcap's defaults (tests, config, package.json)"
            else:
                continue
            if why.full:
                why.more += 1
            else:
                why.add(f"changed file {_shown(path)} {reason}")
    except PatternError as exc:
        why.add(f"protect {exc}: no changed file can be shown unprotected")
    except WorkExhausted:
        why.add(f"{_over_budget(work, 'protect')}: they cannot be shown unprotected")
    return why


def _outside_allow_v2(v: dict[str, Any], allow: Any, work: Work) -> Detail | None:
    texts, strays = pattern_texts(allow)
    if strays:
        return _scope(
            f"allow entry {_shown(strays[0])} is not a path pattern: "
            "the changes cannot be shown within allow"
        )
    patterns, _ = pattern_forms(texts)
    return _outside_allow(v, patterns, work)


def _number(value: Any) -> Decimal | None:
    """A count or duration as an exact decimal (None: not a number)."""
    return money(value)


def _spend_findings(receipt: dict[str, Any], budget: dict[str, Any]) -> Iterator[Detail]:
    """The hard limit, the call and time limits: against what the evidence shows and
    against what the receipt itself claims (``claimed``), whichever is worse."""
    spend = _mapping(receipt.get("spend"))
    claimed = _mapping(receipt.get("claimed"))
    limit = money(budget.get("mission_hard_limit_usd"))
    assert limit is not None  # validated
    cost = money(spend.get("cost_usd"))
    claimed_cost = money(claimed.get("cost_usd"))
    unpriced = spend.get("unpriced_calls")
    if cost is None:
        yield finding(
            "MISSION-OVER-BUDGET",
            "spend.cost_usd is missing or not money: "
            "the spend cannot be shown within the hard limit",
        )
    elif cost > limit:
        yield finding(
            "MISSION-OVER-BUDGET", f"cost {fmt(cost)} exceeds mission_hard_limit_usd {fmt(limit)}"
        )
    elif claimed_cost is not None and claimed_cost > limit:
        yield finding(
            "MISSION-OVER-BUDGET",
            f"the receipt's own cost {fmt(claimed_cost)} exceeds "
            f"mission_hard_limit_usd {fmt(limit)}",
        )
    elif isinstance(unpriced, int) and not isinstance(unpriced, bool) and unpriced > 0:
        yield finding(
            "MISSION-OVER-BUDGET",
            f"{unpriced} LLM call(s) have no price: "
            "the spend cannot be shown within the hard limit",
        )
    elif spend.get("budget_guard_tripped") is True or claimed.get("budget_guard_tripped") is True:
        yield finding("MISSION-OVER-BUDGET", "the budget guard tripped")
    for key, field, scale, code in (
        ("max_llm_calls", "llm_calls", 1, "MISSION-TOO-MANY-CALLS"),
        ("max_runtime_minutes", "runtime_seconds", 60, "MISSION-OVER-TIME"),
    ):
        if key not in budget:
            continue
        bound = Decimal(budget[key]) * scale
        value = _number(spend.get(field))
        if value is None:
            yield finding(code, f"spend.{field} is missing: cannot show it within {key}")
            continue
        worst, said = value, "spend"
        other = _number(claimed.get(field))
        if other is not None and other > worst:
            worst, said = other, "the receipt's own"
        if worst > bound:
            yield finding(
                code, f"{said} {field} {fmt(worst)} exceeds {key} {fmt(Decimal(budget[key]))}"
            )


def _guarded(v: dict[str, Any]) -> bool:
    """Whether the receipt shows the run under a verification guard: it says so
    (``guarded: true``, as the runcap importer always writes), or, saying nothing, it
    carries the guard's evidence (a protected_files list: D5-01's receipt format)."""
    if "guarded" in v:
        return v["guarded"] is True
    return isinstance(v.get("protected_files"), list)


def findings_v2(
    receipt: Any, policy_bytes: bytes | None, policy_sha256: str | None, policy_path: str
) -> list[Detail]:
    """Every check of mission_policy@2 (exact decimal arithmetic)."""
    with exact():
        return _findings_v2(receipt, policy_bytes, policy_sha256, policy_path)


def recompute_v2(
    receipt: dict[str, Any], policy: dict[str, Any], work: Work | None = None
) -> tuple[str, list[Detail]]:
    """The @2 grade and the grade/scope/spend findings of a receipt under a valid policy."""
    work = Work(MATCH_BUDGET) if work is None else work
    v = _mapping(receipt.get("verification"))
    verification = _mapping(policy.get("verification"))
    guarded = _guarded(v)
    why = _protected_evidence_changed(
        v, verification.get("protect"), verification.get("command"), guarded, work
    )
    found: list[Detail] = []
    if v.get("passed") is not True:
        grade = "UNVERIFIED"
        found.append(finding("MISSION-UNVERIFIED", "verification.passed is not true"))
        if why:
            found.append(
                finding(
                    "MISSION-VERIFIER-TAMPERED",
                    "verification did not pass, and protected evidence changed: "
                    + "; ".join(why.lines()),
                )
            )
    elif why:
        grade = "VERIFIER_COMPROMISED"
        found.append(finding("MISSION-VERIFIER-COMPROMISED", "; ".join(why.lines())))
    elif v.get("baseline_failed") is True and v.get("clean_replay_passed") is True:
        grade = "VERIFIED_STRONG"
    else:
        grade = "VERIFIED_WEAK"
    scope = _outside_allow_v2(v, verification.get("allow"), work)
    if scope is not None:
        found.append(scope)
        if grade == "VERIFIED_STRONG":
            grade = "VERIFIED_WEAK"  # a change outside allow caps the grade
    found += _spend_findings(receipt, _mapping(policy.get("budget")))
    return grade, found


def _findings_v2(
    receipt: Any, policy_bytes: bytes | None, policy_sha256: str | None, policy_path: str
) -> list[Detail]:
    if not isinstance(receipt, dict):
        return [finding("MISSION-POLICY-INVALID", "the outcome receipt is not a JSON object")]
    fmt_ = "json" if receipt.get("policy_format") == "json" else "yaml"
    policy, problems = (
        (None, ["the policy file is missing"])
        if policy_bytes is None
        else load_policy_v2(policy_bytes, fmt_)
    )
    found = [finding("MISSION-POLICY-INVALID", p, artifact_path=policy_path) for p in problems]
    claimed = receipt.get("policy_sha256")
    if policy_sha256 is not None and claimed != policy_sha256:
        found.append(
            finding(
                "MISSION-POLICY-HASH-MISMATCH",
                f"receipt policy_sha256 {_shown(claimed)} is not {policy_sha256}",
            )
        )
    v = _mapping(receipt.get("verification"))
    guarded = _guarded(v)
    if not guarded:
        found.append(
            finding(
                "MISSION-UNGUARDED",
                "the receipt shows no verification guard (no integrity record): "
                "its success cannot be shown untampered",
            )
        )
    if policy is None:
        return found
    grade, recomputed = recompute_v2(receipt, policy)
    found += recomputed
    verdict = "BLOCKED" if any(f.code in BLOCKING_V2 for f in found) else "PASS"
    claimed_grade = receipt.get("integrity_grade")
    unknown = len(GRADES)
    if claimed_grade is not None or guarded:
        claimed_rank = (
            RANK.get(claimed_grade, unknown) if isinstance(claimed_grade, str) else unknown
        )
        if claimed_rank > RANK[grade]:
            found.append(
                finding(
                    "MISSION-GRADE-INFLATED",
                    f"receipt claims {_shown(claimed_grade)}, the evidence supports {grade}",
                )
            )
    claimed_verdict = receipt.get("verdict")
    if claimed_verdict == "PASS" and verdict == "BLOCKED":
        found.append(
            finding(
                "MISSION-VERDICT-UNSUPPORTED",
                "the receipt says PASS but the recomputed verdict is BLOCKED",
            )
        )
    stricter = []
    if isinstance(claimed_grade, str) and RANK.get(claimed_grade, unknown) < RANK[grade]:
        stricter.append(f"grade {_shown(claimed_grade)} where the evidence supports {grade}")
    if claimed_verdict == "BLOCKED" and verdict == "PASS":
        stricter.append("verdict 'BLOCKED' where the recomputed verdict is PASS")
    if stricter:
        found.append(
            finding(
                "MISSION-RECEIPT-STRICTER",
                "the receipt claims less than the evidence supports: " + "; ".join(stricter),
                advisory=True,
            )
        )
    return found


def outcome_cost_usd(receipt: Any) -> str | None:
    """runcap's Verified Outcome Cost as runcap decides it: the cost whenever the verify
    command passed, whatever else happened (the metric ``outcome_cost_usd``)."""
    if not isinstance(receipt, dict):
        return None
    if _mapping(receipt.get("verification")).get("passed") is not True:
        return None
    cost = money(_mapping(receipt.get("spend")).get("cost_usd"))
    return None if cost is None else fmt(cost)


def _mission_policy_v2(
    view: EvidenceView | None, *, receipt: Any, policy_path: Any
) -> list[Detail]:
    assert view is not None
    policy = view.artifact_bytes(policy_path)
    data, sha = policy if policy is not None else (None, None)
    return findings_v2(receipt, data, sha, policy_path)


CHECKS = (
    *CHECKS,
    DomainCheck(
        name="mission_policy",
        version=2,
        summary="recompute the mission's grade and verdict as runcap 0.6.0 documents them",
        arguments=(
            Argument("receipt", summary="the outcome receipt the pointer resolves to"),
            Argument("policy_path", summary="the mission policy at its conventional path"),
        ),
        codes=(
            *V1_CODES,
            "MISSION-UNGUARDED",
            "MISSION-VERIFIER-TAMPERED",
            "MISSION-RECEIPT-STRICTER",
        ),
        run=_mission_policy_v2,
    ),
)


# -- series for the review dossier (vlab.engine.series) ----------------------------------------


@dataclass(frozen=True, slots=True)
class GradeSeries:
    """The CL-D5-01 chart: the grade the receipt earns (``recompute_grade``) and the one it
    claims, and each measured spend against the policy's limit (None: not stated)."""

    recomputed: str
    claimed: Any
    why: tuple[str, ...]
    limits: tuple[tuple[str, Decimal | None, Decimal | None], ...]  # (what, used, limit)


def grade_series(view: EvidenceView | None, *, receipt: Any, policy_path: Any) -> Any:
    """@1's policy and grade: None when the receipt or the policy cannot be read."""
    assert view is not None
    found = view.artifact_bytes(policy_path)
    if not isinstance(receipt, dict) or found is None:
        return None
    policy, problems = load_policy(found[0])
    if policy is None or problems:
        return None
    budget = policy["budget"]
    grade, why = recompute_grade(receipt, list(policy["verification"].get("protect") or []))
    spend = _mapping(receipt.get("spend"))
    calls, minutes = budget.get("max_llm_calls"), budget.get("max_runtime_minutes")
    return GradeSeries(
        grade,
        receipt.get("integrity_grade"),
        tuple(why[:SHOWN]),
        (
            ("cost_usd", money(spend.get("cost_usd")), money(budget.get("mission_hard_limit_usd"))),
            ("llm_calls", money(spend.get("llm_calls")), None if calls is None else money(calls)),
            (
                "runtime_seconds",
                money(spend.get("runtime_seconds")),
                None if minutes is None else (money(minutes) or Decimal(0)) * 60,
            ),
        ),
    )


CHECKS = (replace(CHECKS[0], series=grade_series), *CHECKS[1:])
