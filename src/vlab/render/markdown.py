"""The Markdown ruling (``--format md``, ``GITHUB_STEP_SUMMARY``)."""

from __future__ import annotations

from vlab.engine.ruling import AdmissionRuling, Ruling
from vlab.render.text import NO_ENDORSEMENT, detail_line, md_cell, safe, safe_or_none


def render_markdown(ruling: Ruling) -> bytes:
    rs, pk = ruling.ruleset, ruling.pack
    out = [
        f"# vlab ruling: {ruling.topline}",
        "",
        f"- ruleset: `{rs.id}` {rs.version} (`{rs.sha256}`)"
        + (" — shadow run (override)" if rs.override else ""),
        f"- pack: `{safe_or_none(pk.pack_id)}`, run `{safe_or_none(pk.run_id)}`, "
        f"digest `{safe_or_none(pk.digest)}`",
        f"- substrate: {safe_or_none(pk.substrate)}",
        f"- reason codes: {', '.join(ruling.reason_codes) or 'none'}",
        f"- ruling digest: `{ruling.digest}`",
    ]
    out += admission_markdown(ruling.admission)
    out += ["", "## Clauses", "", "| clause | status | reason code |", "|---|---|---|"]
    for c in ruling.clauses:
        out.append(f"| {c.clause_id} | {c.status} | {c.reason_code or ''} |")
    for c in ruling.clauses:
        out += ["", f"### {c.clause_id} — {c.title or ''}", ""]
        out.append(f"- status: **{c.status}**; reason code: {c.reason_code or 'none'}")
        for d in c.details:
            out.append(f"- detail {md_cell(detail_line(d))}")
        for ref in c.evidence_refs:
            line = f" line {ref.line}" if ref.line is not None else ""
            out.append(
                f"- evidence `{safe(ref.artifact_path)}` `{safe(ref.locator)}`{line} `{ref.sha256}`"
            )
        for key, value in sorted((c.metrics or {}).items()):
            out.append(f"- metric {key}: {value if value is not None else 'null'}")
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
        details = "<br>".join(md_cell(detail_line(d)) for d in gate.details)
        out.append(f"| {gate.gate} | {gate.status} | {details} |")
    return out
