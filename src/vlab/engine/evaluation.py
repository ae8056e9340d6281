"""Clause evaluation: applicability -> pointers -> resolution -> checks -> status.

Reads evidence only through ``Evidence`` (which uses the pack reader and the admission
index); never opens files, never prints.
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from vlab.builtins.functions import BuiltinFunctions
from vlab.core.findings import Detail, quote
from vlab.core.vocabulary import FAIL, NOT_EVALUATED, PASS
from vlab.domains.registry import get as domain_check
from vlab.engine.admission import Admission, Pointer
from vlab.engine.evidence import Evidence, Resolved
from vlab.engine.ruling import ClauseRuling, EvidenceRef, capped
from vlab.pack.reader import PackReader
from vlab.ruleset.model import Check, Clause, DomainCall, Ruleset, Template

Judgement = tuple[EvidenceRef | None, list[Detail], dict[str, Any] | None]


class EvaluationError(RuntimeError):
    """A ruleset expression failed at run time: an engine error (exit 70), never a verdict."""


def clause_ruling(
    clause: Clause,
    status: str,
    reason_code: str | None,
    details: list[Detail] | None = None,
    evidence_refs: list[EvidenceRef] | None = None,
    metrics: dict[str, Any] | None = None,
) -> ClauseRuling:
    kept, omitted = capped(details or ())
    return ClauseRuling(
        clause_id=clause.clause_id,
        requirement_id=clause.requirement_id,
        domain=clause.domain,
        title=clause.title,
        status=status,
        reason_code=reason_code,
        details=kept,
        evidence_refs=tuple(evidence_refs or ()),
        metrics=metrics,
        details_omitted=omitted,
        severity=clause.severity,
    )


class Evaluator:
    def __init__(self, ruleset: Ruleset, admission: Admission, evidence: Evidence) -> None:
        self.ruleset = ruleset
        self.admission = admission
        self.evidence = evidence
        functions = BuiltinFunctions(ruleset.tables, ruleset.extra_schemas, evidence)
        self.options = jmespath.Options(custom_functions=functions)
        self.base: dict[str, Any] = {
            "scenario": admission.scenario,
            "pack": {
                "run_id": admission.run_id,
                "pack_id": admission.pack_id,
                "contract_version": admission.contract_version,
            },
        }

    def _search(self, compiled: Any, context: dict[str, Any], clause: Clause) -> Any:
        try:
            return compiled.search(context, options=self.options)
        except JMESPathError as exc:
            raise EvaluationError(
                f"{self.ruleset.id} {clause.clause_id}: expression "
                f"{compiled.expression!r} failed: {exc}"
            ) from None

    def _truthy(self, compiled: Any, context: dict[str, Any], clause: Clause) -> bool:
        value = self._search(compiled, context, clause)
        # JMESPath truthiness: false, null, "", [] and {} are false.
        return value not in (None, False, "", [], {})

    def _render(self, template: Template, context: dict[str, Any], clause: Clause) -> str:
        out = []
        for i, part in enumerate(template.parts):
            if i % 2 == 0:
                out.append(part)
            else:
                out.append(quote(self._search(template.compiled[i // 2], context, clause)))
        return "".join(out)

    def _run_checks(
        self, clause: Clause, pointer: Pointer, resolved: Resolved, context: dict[str, Any]
    ) -> list[Detail]:
        details: list[Detail] = []
        where = {
            "artifact_path": pointer.artifact_path,
            "locator": pointer.locator.text,
            "line": resolved.line,
        }
        for check in clause.checks:
            if check.when is not None and not self._truthy(check.when, context, clause):
                continue
            found = self._check(clause, check, context, where)
            details += found
            if clause.report == "first" and any(not d.advisory for d in found):
                break
        return details

    def _check(
        self, clause: Clause, check: Check, context: dict[str, Any], where: dict[str, Any]
    ) -> list[Detail]:
        if check.holds is not None:
            if self._truthy(check.holds, context, clause):
                return []
            assert check.code is not None and check.message is not None
            return [
                Detail(
                    check.code,
                    self._render(check.message, context, clause),
                    where["artifact_path"],
                    where["locator"],
                    where["line"],
                    check.advisory,
                    check.violation,
                )
            ]
        if check.domain is not None:
            found = self._domain(check.domain, context, clause)
        else:
            items = self._search(check.findings, context, clause) or []
            found = [_as_detail(item) for item in items]
        details = []
        for d in found:
            if d.code not in check.emits:
                raise EvaluationError(
                    f"{clause.clause_id}: built-in finding code {d.code!r} is not declared in emits"
                )
            details.append(
                Detail(
                    d.code,
                    d.message,
                    d.artifact_path if d.artifact_path is not None else where["artifact_path"],
                    d.locator if d.locator is not None else where["locator"],
                    d.line if d.line is not None else where["line"],
                    d.advisory or check.advisory,
                )
            )
        return details

    def _domain(self, call: DomainCall, context: dict[str, Any], clause: Clause) -> list[Detail]:
        check = domain_check(call.check_id)
        assert check is not None  # the loader refuses unknown checks
        arguments: dict[str, Any] = {}
        for name, kind, value in call.arguments:
            if kind == "table":
                arguments[name] = self.ruleset.tables[value]
            elif kind == "schema":
                arguments[name] = self.ruleset.extra_schemas[value]
            else:
                arguments[name] = self._search(value, context, clause)
        return check(self.evidence, **arguments)

    def _missing(self, clause: Clause) -> Detail:
        """What a pointer-missing FAIL lacks, in words every output format carries (not only
        the table's hint): which requirement, which clause, and which locators it takes."""
        rq = clause.requirement_id
        states = sorted({p.status for p in self.admission.pointers if p.requirement_id == rq})
        found = (
            f"the pointers for {rq} are {'/'.join(states)}, none PRESENT"
            if states
            else f"evidence_pointers.json has no pointer for {rq}"
        )
        takes = ", ".join(f"{name}:" for name in sorted(clause.locators))
        return Detail(
            "POINTER-MISSING",
            f"{found}; {clause.clause_id} needs a PRESENT pointer for {rq} (locator {takes})",
            "evidence_pointers.json",
        )

    def evaluate(self, clause: Clause) -> ClauseRuling:
        codes = clause.codes
        base = self.base
        if clause.applies_when is not None and not self._truthy(clause.applies_when, base, clause):
            assert codes.not_applicable is not None
            return clause_ruling(
                clause, NOT_EVALUATED, codes.not_applicable, metrics=null_metrics(clause)
            )
        absent_allowed = clause.not_evaluated_when is not None and self._truthy(
            clause.not_evaluated_when, base, clause
        )
        if clause.lets:  # once per clause, in order; checks, messages and metrics see them
            base = dict(base)
            for name, expr in clause.lets:
                base[name] = self._search(expr, base, clause)
        pointers = [
            p
            for p in self.admission.pointers
            if p.requirement_id == clause.requirement_id and p.status == "PRESENT"
        ]
        if not pointers:
            if absent_allowed:
                assert codes.evidence_absent is not None
                return clause_ruling(
                    clause, NOT_EVALUATED, codes.evidence_absent, metrics=null_metrics(clause)
                )
            return clause_ruling(
                clause,
                FAIL,
                codes.pointer_missing,
                [self._missing(clause)],
                metrics=null_metrics(clause),
            )

        details: list[Detail] = []
        refs: list[EvidenceRef] = []
        passing: list[tuple[EvidenceRef, list[Detail]]] = []
        first_context: dict[str, Any] | None = None
        resolved_context: dict[str, Any] | None = None  # the first resolved evidence's
        # Identical pointers (same artifact, locator and hash) get the same answer: each is
        # judged once, however many times a pack repeats it.
        judged: dict[tuple[str, str, str | None], Judgement] = {}
        if clause.first_pointer:
            pointers = self._first_resolved(clause, pointers, base, judged)
        for pointer in pointers:
            same = (pointer.artifact_path, pointer.locator.text, pointer.content_hash)
            if same not in judged:
                judged[same] = self._judge(clause, pointer, base)
            ref, found, context = judged[same]
            if ref is not None:
                refs.append(ref)
                resolved_context = resolved_context or context
            if ref is None or any(not d.advisory for d in found):
                details += found
            else:
                passing.append((ref, found))
                first_context = first_context or context
        # ``pointers: each`` (format 2): one pointer that fails fails the clause, so an
        # honest receipt beside a dishonest one cannot carry it.
        if passing and not (clause.each_pointer and details):
            assert first_context is not None
            return clause_ruling(
                clause,
                PASS,
                None,
                [d for _, found in passing for d in found],
                [ref for ref, _ in passing],
                self._metrics(clause, first_context),
            )
        # NOT_EVALUATED is for evidence that is absent, never for evidence that was found
        # and breaks the rule (e.g. execution after the terminal transition).
        if absent_allowed and not any(d.violation for d in details):
            assert codes.evidence_absent is not None
            return clause_ruling(
                clause, NOT_EVALUATED, codes.evidence_absent, details, refs, null_metrics(clause)
            )
        return clause_ruling(
            clause, FAIL, codes.fail, details, refs, self._failed_metrics(clause, resolved_context)
        )

    def _first_resolved(
        self,
        clause: Clause,
        pointers: list[Pointer],
        base: dict[str, Any],
        judged: dict[tuple[str, str, str | None], Judgement],
    ) -> list[Pointer]:
        """``pointers: first`` (format 2): the first pointer whose evidence resolves, alone;
        every pointer when none resolves (the clause fails with each one's reason)."""
        for pointer in pointers:
            same = (pointer.artifact_path, pointer.locator.text, pointer.content_hash)
            if same not in judged:
                judged[same] = self._judge(clause, pointer, base)
            if judged[same][0] is not None:
                return [pointer]
        return pointers

    def _failed_metrics(
        self, clause: Clause, context: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """A FAIL clause's metrics: null, except those measured whenever the clause is judged
        (format 2 ``measured: evaluated``), from the first evidence that resolved."""
        metrics = null_metrics(clause)
        if metrics is None or context is None:
            return metrics
        for name, expr in clause.metrics:
            if name in clause.metrics_evaluated:
                metrics[name] = self._search(expr, context, clause)
        return metrics

    def _judge(self, clause: Clause, pointer: Pointer, base: dict[str, Any]) -> Judgement:
        """One pointer: (its evidence ref, or None if nothing resolved; its findings; the
        context its checks ran in)."""
        if pointer.locator.kind not in clause.locators:
            return (
                None,
                [
                    Detail(
                        "POINTER-LOCATOR-NOT-ALLOWED",
                        f"{clause.clause_id} takes {', '.join(sorted(clause.locators))} "
                        f"locators, not {pointer.locator.kind}:",
                        pointer.artifact_path,
                        pointer.locator.text,
                    )
                ],
                None,
            )
        resolved = self.evidence.resolve(pointer, materialize=not clause.stream)
        if isinstance(resolved, str):
            return (
                None,
                [
                    Detail(
                        "POINTER-UNRESOLVABLE",
                        resolved,
                        pointer.artifact_path,
                        pointer.locator.text,
                    )
                ],
                None,
            )
        ref = resolved.ref(pointer)
        if pointer.content_hash is not None and pointer.content_hash != resolved.sha256:
            return (
                ref,
                [
                    Detail(
                        "POINTER-HASH-MISMATCH",
                        f"content_hash {pointer.content_hash} differs from {resolved.sha256}",
                        pointer.artifact_path,
                        pointer.locator.text,
                        resolved.line,
                    )
                ],
                None,
            )
        context = {
            **base,
            "record": resolved.value,
            "pointer": {
                "artifact_path": pointer.artifact_path,
                "locator": pointer.locator.text,
                "line": resolved.line,
            },
        }
        return ref, self._run_checks(clause, pointer, resolved, context), context

    def _metrics(self, clause: Clause, context: dict[str, Any]) -> dict[str, Any] | None:
        """A PASS clause's metrics, computed from its (first) satisfying evidence."""
        if not clause.metrics:
            return None
        return {name: self._search(expr, context, clause) for name, expr in clause.metrics}


def _as_detail(item: Any) -> Detail:
    """A finding object an expression returned (a format-1 domain-check call)."""
    if not isinstance(item, dict):
        kind = type(item).__name__
        raise EvaluationError(f"a findings expression returned {kind}, not an object")
    line = item.get("line")
    return Detail(
        str(item.get("code")),
        str(item.get("message", "")),
        item.get("artifact_path"),
        item.get("locator"),
        line if isinstance(line, int) else None,
        bool(item.get("advisory", False)),
    )


def null_metrics(clause: Clause) -> dict[str, Any] | None:
    """Metrics are only measured on PASS; every other status carries them as null."""
    return {name: None for name, _ in clause.metrics} if clause.metrics else None


def evaluate(ruleset: Ruleset, admission: Admission, reader: PackReader) -> list[ClauseRuling]:
    evaluator = Evaluator(ruleset, admission, Evidence(reader, admission))
    return [evaluator.evaluate(clause) for clause in ruleset.clauses]
