"""Compile a resolved ruleset document into clauses, checking every name and code.

Problems are collected, not raised one at a time: ``vlab rulesets lint`` reports every
problem of a file in one run, and loading raises the first. Errors in inherited parts
point at the child's clause list (they were checked when the parent loaded).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from vlab.builtins.functions import LEGACY_CHECKS
from vlab.core.codes import is_registered
from vlab.core.errors import RulesetError
from vlab.core.tokens import normalize_token
from vlab.domains.registry import get as domain_check
from vlab.pack.locators import LOCATOR_KINDS
from vlab.ruleset.expressions import Expressions, called
from vlab.ruleset.model import Check, Clause, Codes, DomainCall
from vlab.ruleset.source import Path_, Source

T = TypeVar("T")
ORG_CODE = re.compile(r"X-[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")
# ``null`` is accepted as a root name: format-1 rulesets write a bare ``null``, which
# JMESPath reads as a field no context has (always null); no let may take that name.
BASE_NAMES = frozenset(("scenario", "pack", "null"))
RESERVED_LETS = frozenset(("null", "true", "false"))
POINTER_NAMES = frozenset(("record", "pointer"))


class Problems:
    """Where load-time errors go: raised at once, or collected for lint."""

    def __init__(self, collect: bool) -> None:
        self.collect = collect
        self.errors: list[RulesetError] = []

    def attempt(self, make: Callable[[], T], default: T) -> T:
        try:
            return make()
        except RulesetError as err:
            if not self.collect:
                raise
            self.errors.append(err)
            return default

    def add(self, err: RulesetError) -> None:
        if not self.collect:
            raise err
        self.errors.append(err)


def pattern_codes(requirement_ids: set[str]) -> dict[str, str]:
    """The pattern codes of a ruleset's requirements, with generated meanings."""
    meanings = {
        "REQ-FAIL-": "the pointed evidence does not satisfy {rq}",
        "BUNDLE-POINTER-MISSING-": "no PRESENT pointer for {rq}",
        "EVAL-NOT-APPLICABLE-": "{rq} does not apply to this run",
        "EVAL-EVIDENCE-ABSENT-": "no evidence for {rq}, and the ruleset allows that",
    }
    return {p + rq: meanings[p].format(rq=rq) for rq in sorted(requirement_ids) for p in meanings}


class Compiler:
    def __init__(self, src: Source, doc: dict[str, Any], problems: Problems) -> None:
        self.src = src
        self.doc = doc
        self.problems = problems
        self.format = int(doc.get("format", 1))
        self.tables = {
            name: frozenset(normalize_token(v) for v in values)
            for name, values in doc["tables"].items()
        }
        self.expr = Expressions(
            src, self.tables, doc["schemas"]["extra"], check_roots=self.format >= 2
        )
        requirements = {c["requirement_id"] for c in doc["clauses"]}
        self.declared: dict[str, str] = {**pattern_codes(requirements)}
        self.declared.update(self._declared_codes(requirements))

    # -- codes ----------------------------------------------------------------------------

    def _declared_codes(self, requirements: set[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for code, meaning in (self.doc.get("codes") or {}).items():
            at = ("codes", code)
            if is_registered(code) and code not in self.declared:
                self.problems.add(self.src.error(at, f"{code} is an engine code: do not redeclare"))
            elif not (
                ORG_CODE.fullmatch(code) or any(code.endswith("-" + r) for r in requirements)
            ):
                self.problems.add(
                    self.src.error(
                        at,
                        f"declared code {code} must be X-<ORG>-... or end with one of this "
                        "ruleset's requirement ids",
                    )
                )
            else:
                out[code] = meaning
        return out

    def code(self, at: Path_, code: str) -> str:
        if self.src.data is not None and not (is_registered(code) or code in self.declared):
            raise self.src.error(at, f"code {code!r} is not in the reason-code registry")
        return code

    # -- clauses --------------------------------------------------------------------------

    def clauses(self) -> list[Clause]:
        out: list[Clause] = []
        data = self.src.data if isinstance(self.src.data, dict) else {}
        # Where each clause's text is in this file: its own clause, or the clause_changes
        # entry that changed an inherited one (inherited parts were checked in the parent).
        origin: dict[str, Path_] = {}
        for i, change in enumerate(data.get("clause_changes", [])):
            origin[change["clause_id"]] = ("clause_changes", i)
        for i, clause in enumerate(data.get("clauses", [])):
            origin[clause["clause_id"]] = ("clauses", i)
        for c in self.doc["clauses"]:
            at: Path_ = origin.get(c["clause_id"], ("clause_changes",))
            before = len(self.problems.errors)
            clause = self._clause(c, at)
            if len(self.problems.errors) == before:  # a clause with errors is not built
                out.append(clause)
        seen_rq: dict[str, str] = {}
        for cl in out:
            if cl.requirement_id in seen_rq:
                self.problems.add(
                    self.src.error(
                        ("clauses",),
                        f"{cl.clause_id} and {seen_rq[cl.requirement_id]} share a requirement",
                    )
                )
            seen_rq[cl.requirement_id] = cl.clause_id
        return out

    def _clause(self, c: dict[str, Any], at: Path_) -> Clause:
        attempt, expr, src = self.problems.attempt, self.expr, self.src
        names = BASE_NAMES
        lets: list[tuple[str, Any]] = []
        # Lets are evaluated in name order, whatever order the YAML writes: the digest is
        # of the canonical (key-sorted) document, so the order it sees is the meaning, and
        # the compiled cache agrees with the YAML (decision 172). A let sees only the lets
        # before it in that order.
        for name, text in sorted((c.get("let") or {}).items()):
            where = (*at, "let", name)
            if name in BASE_NAMES | POINTER_NAMES | RESERVED_LETS:
                self.problems.add(src.error(where, f"let {name!r} shadows a context name"))
                continue
            lets.append((name, self._expression(where, text, names)))
            names = names | {name}
        in_pointer = names | POINTER_NAMES
        checks = tuple(
            self._check_or_none((*at, "checks", k), ck, in_pointer)
            for k, ck in enumerate(c["checks"])
        )
        codes = c["codes"]
        if "applies_when" in c and "not_applicable" not in codes:
            self.problems.add(src.error((*at, "codes"), "applies_when needs codes.not_applicable"))
        if "not_evaluated_when" in c and "evidence_absent" not in codes:
            self.problems.add(
                src.error((*at, "codes"), "not_evaluated_when needs codes.evidence_absent")
            )

        def optional(key: str) -> Any:
            if key not in c:
                return None
            return attempt(lambda: expr.compile((*at, key), c[key], BASE_NAMES), None)

        def code(key: str) -> Any:
            if key not in codes:
                return None
            return attempt(lambda: self.code((*at, "codes", key), codes[key]), None)

        for i, kind in enumerate(c["evidence"]["locators"]):
            if kind not in LOCATOR_KINDS:
                known = ", ".join(LOCATOR_KINDS)
                self.problems.add(
                    src.error(
                        (*at, "evidence", "locators", i), f"unknown locator kind {kind!r} ({known})"
                    )
                )

        def metric(name: str, text: str) -> Any:
            return attempt(lambda: expr.compile((*at, "metrics", name), text, in_pointer), None)

        return Clause(
            clause_id=c["clause_id"],
            requirement_id=c["requirement_id"],
            domain=c["domain"],
            title=c["title"],
            severity=c.get("severity"),
            applies_when=optional("applies_when"),
            not_evaluated_when=optional("not_evaluated_when"),
            locators=frozenset(c["evidence"]["locators"]),
            stream=bool(c["evidence"].get("stream", False)),
            report=c.get("report", "first"),
            each_pointer=c.get("pointers", "any") == "each",
            first_pointer=c.get("pointers", "any") == "first",
            checks=checks,
            metrics=tuple(
                (name, metric(name, spec if isinstance(spec, str) else spec["expr"]))
                # by name: a compiled cache keeps keys sorted, so YAML order cannot be relied on
                for name, spec in sorted(c.get("metrics", {}).items())
            ),
            metrics_evaluated=frozenset(
                name
                for name, spec in c.get("metrics", {}).items()
                if isinstance(spec, dict) and spec.get("measured") == "evaluated"
            ),
            lets=tuple(lets),
            codes=Codes(
                fail=code("fail"),
                pointer_missing=code("pointer_missing"),
                not_applicable=code("not_applicable"),
                evidence_absent=code("evidence_absent"),
            ),
        )

    # -- checks ---------------------------------------------------------------------------

    def _expression(self, at: Path_, text: str, names: frozenset[str]) -> Any:
        return self.problems.attempt(lambda: self.expr.compile(at, text, names), None)

    def _check_or_none(self, at: Path_, ck: dict[str, Any], names: frozenset[str]) -> Any:
        return self.problems.attempt(lambda: self._check(at, ck, names), None)

    def _check(self, at: Path_, ck: dict[str, Any], names: frozenset[str]) -> Check:
        expr = self.expr
        emits = tuple(self.code((*at, "emits", i), e) for i, e in enumerate(ck.get("emits", [])))
        domain = self._domain_call(at, ck, names, emits) if "domain_check" in ck else None
        findings = (
            expr.compile((*at, "findings"), ck["findings"], names) if "findings" in ck else None
        )
        calls: tuple[str, ...] = (domain.check_id,) if domain is not None else ()
        if findings is not None:
            calls = self._legacy_emits(at, findings, emits)
        return Check(
            code=self.code((*at, "code"), ck["code"]) if "code" in ck else None,
            holds=expr.compile((*at, "holds"), ck["holds"], names) if "holds" in ck else None,
            when=expr.compile((*at, "when"), ck["when"], names) if "when" in ck else None,
            findings=findings,
            message=expr.template((*at, "message"), ck["message"], names)
            if "message" in ck
            else None,
            advisory=bool(ck.get("advisory", False)),
            violation=bool(ck.get("violation", False)),
            emits=emits,
            domain=domain,
            calls=calls,
        )

    def _domain_call(
        self, at: Path_, ck: dict[str, Any], names: frozenset[str], emits: tuple[str, ...]
    ) -> DomainCall:
        src, check_id = self.src, ck["domain_check"]
        if self.format < 2:
            raise src.error((*at, "domain_check"), "domain_check needs format: 2")
        check = domain_check(check_id)
        if check is None:
            from vlab.domains.registry import checks

            ids = ", ".join(sorted(checks()))
            raise src.error((*at, "domain_check"), f"unknown domain check {check_id!r} ({ids})")
        given = dict(ck.get("args") or {})
        wanted = [a.name for a in check.arguments]
        missing = [n for n in wanted if n not in given]
        extra = sorted(set(given) - set(wanted))
        if missing or extra:
            raise src.error(
                (*at, "args"),
                f"{check_id} takes {', '.join(wanted)}"
                + (f"; missing {', '.join(missing)}" if missing else "")
                + (f"; unknown {', '.join(extra)}" if extra else ""),
            )
        self._same_codes(at, check_id, set(check.codes), emits)
        arguments: list[tuple[str, str, Any]] = []
        for arg in check.arguments:
            where = (*at, "args", arg.name)
            text = given[arg.name]
            if arg.kind == "value":
                arguments.append((arg.name, arg.kind, self.expr.compile(where, text, names)))
                continue
            known = set(self.tables if arg.kind == "table" else self.doc["schemas"]["extra"])
            if text not in known:
                raise src.error(
                    where, f"{check_id} argument {arg.name}: unknown {arg.kind} {text!r}"
                )
            arguments.append((arg.name, arg.kind, text))
        return DomainCall(check_id, tuple(arguments))

    def _legacy_emits(self, at: Path_, findings: Any, emits: tuple[str, ...]) -> tuple[str, ...]:
        """A format-1 findings expression that calls domain checks by their frozen names
        must declare exactly the codes those checks register; returns the checks' ids."""
        used = sorted({LEGACY_CHECKS[n] for n in called(findings) if n in LEGACY_CHECKS})
        codes: set[str] = set()
        for check_id in used:
            check = domain_check(check_id)
            assert check is not None
            codes |= set(check.codes)
        if used:
            self._same_codes(at, " + ".join(used), codes, emits)
        return tuple(used)

    def _same_codes(self, at: Path_, what: str, codes: set[str], emits: tuple[str, ...]) -> None:
        if set(emits) == codes:
            return
        missing, extra = sorted(codes - set(emits)), sorted(set(emits) - codes)
        raise self.src.error(
            (*at, "emits"),
            f"emits differs from the codes {what} registers"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; not emitted by it {', '.join(extra)}" if extra else ""),
        )
