"""The Markdown ruling (``--format md``, ``GITHUB_STEP_SUMMARY``).

Pack, ruleset and evidence strings are data: each goes through ``md_text`` or ``md_code``
(``vlab.core.escape``), so none can end a line, open a heading, split a table cell or
start a link, and a reader sees the same escapes as on a terminal.
"""

from __future__ import annotations

from vlab.core.escape import md_code, md_text
from vlab.engine.ruling import AdmissionRuling, Ruling
from vlab.render.text import NO_ENDORSEMENT, detail_line, metric_value


def render_markdown(ruling: Ruling) -> bytes:
    rs, pk = ruling.ruleset, ruling.pack
    out = [
        f"# vlab ruling: {ruling.topline}",
        "",
        f"- ruleset: {md_code(rs.id)} {md_text(rs.version)} ({md_code(rs.sha256)})"
        + (" — shadow run (override)" if rs.override else ""),
        f"- pack: {md_code(pk.pack_id)}, run {md_code(pk.run_id)}, digest {md_code(pk.digest)}",
        f"- substrate: {md_text(pk.substrate)}",
        f"- reason codes: {', '.join(md_text(c) for c in ruling.reason_codes) or 'none'}",
        f"- ruling digest: {md_code(ruling.digest)}",
    ]
    out += admission_markdown(ruling.admission)
    out += ["", "## Clauses", "", "| clause | status | reason code |", "|---|---|---|"]
    for c in ruling.clauses:
        out.append(f"| {md_text(c.clause_id)} | {c.status} | {md_text(c.reason_code or '')} |")
    for c in ruling.clauses:
        out += ["", f"### {md_text(c.clause_id)} — {md_text(c.title or '')}", ""]
        out.append(f"- status: **{c.status}**; reason code: {md_text(c.reason_code or 'none')}")
        for d in c.details:
            out.append(f"- detail {detail_line(d, md_text)}")
        for ref in c.evidence_refs:
            line = f" line {ref.line}" if ref.line is not None else ""
            out.append(
                f"- evidence {md_code(ref.artifact_path)} {md_code(ref.locator)}{line} "
                f"{md_code(ref.sha256)}"
            )
        for key, value in sorted((c.metrics or {}).items()):
            out.append(f"- metric {md_text(key)}: {md_text(metric_value(value))}")
    out += ["", NO_ENDORSEMENT, ""]
    return "\n".join(out).encode("utf-8")


def admission_markdown(admission: AdmissionRuling) -> list[str]:
    """The admission section shared by the Markdown ruling and the review dossier."""
    out = [
        "",
        f"## Admission: {admission.status}",
        "",
        "| gate | status | details |",
        "|---|---|---|",
    ]
    for gate in admission.gates:
        details = "<br>".join(detail_line(d, md_text) for d in gate.details)
        out.append(f"| {md_text(gate.gate)} | {gate.status} | {details} |")
    return out
