"""The Markdown ruling (``--format md``, ``GITHUB_STEP_SUMMARY``).

Pack, ruleset and evidence strings are data: each goes through ``md_text`` or ``md_code``
(``vlab.core.escape``), so none can end a line, open a heading, split a table cell or
start a link, and a reader sees the same escapes as on a terminal. So do the registry's
meanings and a ruleset's evidence notes. An absent value is ``—``; every code shown is
listed once with its one-line meaning under "Codes", and a failing clause says what
evidence would satisfy it.
"""

from __future__ import annotations

from vlab.core.escape import md_code, md_text
from vlab.engine.ruling import AdmissionRuling, Ruling
from vlab.render.text import (
    ABSENT,
    NO_ENDORSEMENT,
    FindRuleset,
    Glossary,
    clause_notes,
    codes_of,
    detail_line,
    metric_value,
    ruling_notes,
    shown,
    status_label,
)


def _code(value: object) -> str:
    return shown(value, md_code)


def render_markdown(ruling: Ruling, *, find_ruleset: FindRuleset | None = None) -> bytes:
    rs, pk = ruling.ruleset, ruling.pack
    glossary = Glossary(ruling, find_ruleset)
    ruleset = (
        ABSENT
        if rs.id is None
        else f"{md_code(rs.id)} {shown(rs.version, md_text)} ({_code(rs.sha256)})"
    )
    out = [
        f"# vlab ruling: {ruling.topline}",
        "",
        f"- ruleset: {ruleset}" + (" — shadow run (override)" if rs.override else ""),
        f"- pack: {_code(pk.pack_id)}, run {_code(pk.run_id)}, digest {_code(pk.digest)}",
        f"- substrate: {shown(pk.substrate, md_text)}",
        f"- reason codes: {', '.join(md_text(c) for c in ruling.reason_codes) or 'none'}",
        f"- ruling digest: {_code(ruling.digest)}",
    ]
    out += [f"- {md_text(note)}" for note in ruling_notes(ruling)]
    out += admission_markdown(ruling.admission, absent=ABSENT)
    out += ["", "## Clauses", "", "| clause | status | reason code |", "|---|---|---|"]
    for c in ruling.clauses:
        out.append(
            f"| {md_text(c.clause_id)} | {status_label(c)} | {shown(c.reason_code, md_text)} |"
        )
    for c in ruling.clauses:
        out += ["", f"### {md_text(c.clause_id)} — {shown(c.title, md_text)}", ""]
        out.append(f"- status: **{c.status}**; reason code: {md_text(c.reason_code or 'none')}")
        out += [f"- {md_text(note)}" for note in clause_notes(c)]
        for d in c.details:
            out.append(f"- detail {detail_line(d, md_text)}")
        if c.details_omitted:
            out.append(f"- and {c.details_omitted} more details (see the JSON ruling)")
        for ref in c.evidence_refs:
            line = f" line {ref.line}" if ref.line is not None else ""
            out.append(
                f"- evidence {md_code(ref.artifact_path)} {md_code(ref.locator)}{line} "
                f"{md_code(ref.sha256)}"
            )
        for key, value in sorted((c.metrics or {}).items()):
            out.append(f"- metric {md_text(key)}: {md_text(metric_value(value))}")
        needs = glossary.needs(c)
        if needs is not None:
            out.append(f"- needs: {md_text(needs)}")
    codes = codes_of(ruling)
    if codes:
        out += ["", "## Codes", "", "| code | meaning |", "|---|---|"]
        for code in codes:
            meaning = glossary.meaning(code)
            out.append(f"| {md_code(code, table=True)} | {shown(meaning, md_text)} |")
    out += ["", NO_ENDORSEMENT, ""]
    return "\n".join(out).encode("utf-8")


def admission_markdown(admission: AdmissionRuling, *, absent: str = "") -> list[str]:
    """The admission section shared by the Markdown ruling and the review dossier (a gate
    without details shows ``absent``)."""
    out = [
        "",
        f"## Admission: {admission.status}",
        "",
        "| gate | status | details |",
        "|---|---|---|",
    ]
    for gate in admission.gates:
        details = "<br>".join(detail_line(d, md_text) for d in gate.details) or absent
        out.append(f"| {md_text(gate.gate)} | {gate.status} | {details} |")
    return out
