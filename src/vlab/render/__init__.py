"""Renderers: one ruling model, many formats. A registry of name -> renderer.

Adding a format is one module with a ``render_<name>(ruling) -> bytes`` function and one
entry in ``RENDERERS``; every command that writes rulings (``--format``, ``--out``) takes
it from here. A renderer that also needs the pack path as the user gave it (``github``:
annotations name files the runner can open) declares ``takes_pack`` and its function is
called as ``render_<name>(ruling, pack=PACK)``; ``render(ruling, fmt, pack=...)`` passes
the path only to those, so a caller may pass it for every format.

The formats that annotate files (``sarif``, ``github``) share ``located_findings``: the
ruling's findings, in ruling order, each with the pack-relative file and line it is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import import_module
from typing import Any

from vlab.core.findings import Detail
from vlab.core.vocabulary import FAIL
from vlab.engine.ruling import ClauseRuling, GateRuling, Ruling


@dataclass(frozen=True)
class Renderer:
    name: str
    module: str  # imported when used: start-up stays lean
    function: str
    summary: str
    takes_pack: bool = False  # called with ``pack=`` (the pack path as given, or None)

    def __call__(self, ruling: Ruling, *, pack: str | None = None) -> bytes:
        fn: Callable[..., bytes] = getattr(import_module(self.module), self.function)
        if self.takes_pack:
            return fn(ruling, pack=pack)
        return fn(ruling)


RENDERERS: dict[str, Renderer] = {
    r.name: r
    for r in (
        Renderer("table", "vlab.render.table", "render_table", "a table for people"),
        Renderer("json", "vlab.engine.ruling", "ruling_json", "the canonical ruling (RFC 8785)"),
        Renderer("md", "vlab.render.markdown", "render_markdown", "Markdown"),
        Renderer("junit", "vlab.render.junit", "render_junit", "JUnit XML, a testcase a clause"),
        Renderer(
            "sarif",
            "vlab.render.sarif",
            "render_sarif",
            "SARIF 2.1.0 for code scanning, a result a failing detail",
            takes_pack=True,
        ),
        Renderer(
            "github",
            "vlab.render.github",
            "render_github",
            "GitHub Actions annotations (::error, ::warning)",
            takes_pack=True,
        ),
    )
}


def render(ruling: Ruling, fmt: str, *, pack: str | None = None) -> bytes:
    """Bytes of one rendering (``--out`` files and non-table stdout). ``pack`` is the pack
    path as given on the command line; only renderers that declare ``takes_pack`` see it."""
    renderer = RENDERERS.get(fmt)
    if renderer is None:
        raise ValueError(f"unknown format {fmt!r}")
    return renderer(ruling, pack=pack)


# -- findings located in the pack (sarif, github) ---------------------------------------

# Where a finding without a detail of its own points (the engine's names for these
# files: vlab.engine.admission.context; tests/test_render_sarif_github.py checks they
# agree). A clause that failed for want of evidence is about the pointers file, where
# its pointer belongs; a gate that failed without a detail is about the bundle manifest.
POINTERS_FILE = "evidence_pointers.json"
BUNDLE_FILE = "bundle.manifest.json"
UNREGISTERED = "not in vlab's reason-code registry"  # the meaning of a code it lacks


@dataclass(frozen=True)
class LocatedFinding:
    """One annotation: a failing detail (``advisory`` False), an advisory detail, or a
    failing clause or gate that has no non-advisory detail (``detail`` None: ``code`` is
    its reason code)."""

    code: str
    message: str  # raw (each format escapes it); a reason code's registered meaning
    artifact_path: str | None  # pack-relative; None: the pack as a whole
    line: int | None  # 1-based, None when unknown
    advisory: bool
    clause: ClauseRuling | None
    gate: GateRuling | None
    detail: Detail | None
    details_omitted: int  # of the clause or gate it belongs to

    @property
    def waived(self) -> bool:
        """A finding of a waived FAIL clause: shown, but not as a failure."""
        return self.clause is not None and self.clause.waiver is not None

    @property
    def owner(self) -> str:
        """The clause id or gate name the finding belongs to."""
        if self.clause is not None:
            return self.clause.clause_id
        assert self.gate is not None
        return self.gate.gate

    def properties(self) -> dict[str, Any]:
        """What a machine reader needs to place the finding in the ruling (raw values)."""
        out: dict[str, Any] = {}
        if self.clause is not None:
            out["clause_id"] = self.clause.clause_id
            out["requirement_id"] = self.clause.requirement_id
            out["clause_status"] = self.clause.status
            out["reason_code"] = self.clause.reason_code
            if self.clause.severity is not None:
                out["severity"] = self.clause.severity
            if self.clause.waiver is not None:
                out["waiver_id"] = self.clause.waiver.id
        if self.gate is not None:
            out["gate"] = self.gate.gate
            out["gate_status"] = self.gate.status
        if self.detail is not None and self.detail.locator is not None:
            out["locator"] = self.detail.locator
        if self.details_omitted:
            out["details_omitted"] = self.details_omitted
        return out


def _line(line: int | None) -> int | None:
    return line if line is not None and line >= 1 else None


def _from_detail(
    d: Detail, clause: ClauseRuling | None, gate: GateRuling | None, omitted: int
) -> LocatedFinding:
    return LocatedFinding(
        d.code, d.message, d.artifact_path, _line(d.line), d.advisory, clause, gate, d, omitted
    )


def _meaning(code: str) -> str:
    from vlab.core.codes import meaning

    return meaning(code) or UNREGISTERED


def located_findings(ruling: Ruling) -> Iterator[LocatedFinding]:
    """Every advisory detail, and every non-advisory detail of a failing gate or clause,
    in ruling order (gates in gate order, then clauses in clause order; details in their
    order). A failing gate or clause with no non-advisory detail gives one finding with its
    reason code instead, placed after its advisories. Passing, skipped, NOT_EVALUATED and
    NOT_ADMISSIBLE clauses give only their advisories: a NOT_ADMISSIBLE ruling's errors are
    its gate's details."""
    for g in ruling.admission.gates:
        failing = g.status == FAIL
        blocking = [d for d in g.details if not d.advisory]
        for d in g.details:
            if d.advisory or failing:
                yield _from_detail(d, None, g, g.details_omitted)
        if failing and not blocking:
            code = g.gate + "-FAIL"  # the admission reason code of this gate
            yield LocatedFinding(
                code, _meaning(code), BUNDLE_FILE, None, False, None, g, None, g.details_omitted
            )
    for c in ruling.clauses:
        failing = c.status == FAIL
        blocking = [d for d in c.details if not d.advisory]
        for d in c.details:
            if d.advisory or failing:
                yield _from_detail(d, c, None, c.details_omitted)
        if failing and not blocking:
            code = c.reason_code or "REQ-FAIL-" + c.requirement_id  # FAIL has a reason
            # the evidence it judged, when it judged any; else where its pointer belongs
            ref = c.evidence_refs[0] if c.evidence_refs else None
            path = ref.artifact_path if ref is not None else POINTERS_FILE
            line = _line(ref.line) if ref is not None else None
            yield LocatedFinding(
                code, _meaning(code), path, line, False, c, None, None, c.details_omitted
            )
