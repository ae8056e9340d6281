"""Renderings of one ruling model: rich table, Markdown, canonical JSON."""

from __future__ import annotations

import io
import os
import re
from typing import Any

from vlab.engine.ruling import ruling_json

NO_ENDORSEMENT = (
    "This ruling says whether the evidence satisfies the declared ruleset. It is not a "
    "badge, rank or certification of the system that produced the run."
)
STYLE = {
    "PASS": "green",
    "FAIL": "red",
    "NOT_EVALUATED": "yellow",
    "NOT_ADMISSIBLE": "magenta",
    "SKIPPED": "dim",
}


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: Any) -> str:
    """Evidence text for a terminal or a Markdown file: control characters (escape
    sequences included) are shown as \\xNN, never sent raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def _detail_line(d: dict[str, Any]) -> str:
    where = " ".join(
        str(x)
        for x in (
            d.get("artifact_path"),
            d.get("locator"),
            f"line {d['line']}" if d.get("line") is not None else None,
        )
        if x
    )
    tag = " (advisory)" if d.get("advisory") else ""
    return safe(f"{d['code']}{tag}: {d['message']}" + (f" [{where}]" if where else ""))


def render_markdown(ruling: dict[str, Any]) -> str:
    rs = ruling["ruleset"]
    pack = {k: safe(v) if isinstance(v, str) else v for k, v in ruling["pack"].items()}
    out = [
        f"# vlab ruling: {ruling['topline']}",
        "",
        f"- ruleset: `{rs['id']}` {rs['version']} (`{rs['sha256']}`)"
        + (" — shadow run (override)" if rs["override"] else ""),
        f"- pack: `{pack['pack_id']}`, run `{pack['run_id']}`, digest `{pack['digest']}`",
        f"- substrate: {pack['substrate']}",
        f"- reason codes: {', '.join(ruling['reason_codes']) or 'none'}",
        f"- ruling digest: `{ruling['digest']}`",
    ]
    out += admission_markdown(ruling)
    out += ["", "## Clauses", "", "| clause | status | reason code |", "|---|---|---|"]
    for c in ruling["clauses"]:
        out.append(f"| {c['clause_id']} | {c['status']} | {c['reason_code'] or ''} |")
    for c in ruling["clauses"]:
        out += ["", f"### {c['clause_id']} — {c.get('title', '')}", ""]
        out.append(f"- status: **{c['status']}**; reason code: {c['reason_code'] or 'none'}")
        for d in c["details"]:
            out.append(f"- detail {md_cell(_detail_line(d))}")
        for ref in c["evidence_refs"]:
            line = f" line {ref['line']}" if ref["line"] is not None else ""
            out.append(
                f"- evidence `{safe(ref['artifact_path'])}` `{safe(ref['locator'])}`{line} "
                f"`{ref['sha256']}`"
            )
        for key, value in sorted((c.get("metrics") or {}).items()):
            out.append(f"- metric {key}: {value if value is not None else 'null'}")
    out += ["", NO_ENDORSEMENT, ""]
    return "\n".join(out)


def admission_markdown(ruling: dict[str, Any]) -> list[str]:
    """The admission section shared by the Markdown ruling and the review dossier."""
    out = [
        "",
        f"## Admission: {ruling['admission']['status']}",
        "",
        "| gate | status | details |",
        "|---|---|---|",
    ]
    for gate in ruling["admission"]["gates"]:
        details = "<br>".join(md_cell(_detail_line(d)) for d in gate["details"])
        out.append(f"| {gate['gate']} | {gate['status']} | {details} |")
    return out


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _console(file: Any) -> Any:
    from rich.console import Console

    return Console(
        file=file,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        markup=False,  # pack strings are data, never rich markup
        soft_wrap=False,
        width=None if file is None else 120,
    )


def render_table(ruling: dict[str, Any], file: Any = None) -> None:
    """Human table on stdout (or ``file``); colour only on a terminal without NO_COLOR."""
    from rich.table import Table
    from rich.text import Text

    console = _console(file)
    top = ruling["topline"]
    rs = ruling["ruleset"]
    pack = {k: safe(v) if isinstance(v, str) else v for k, v in ruling["pack"].items()}
    console.print(Text.assemble("topline ", (top, f"bold {STYLE.get(top, '')}")))
    cell = Text  # every table cell is plain text: brackets in evidence are not markup
    console.print(
        f"ruleset {rs['id']} {rs['version']}{' (override)' if rs['override'] else ''}"
        f"  pack {pack['pack_id']}  run {pack['run_id']}"
    )
    gates = Table(title="admission", title_justify="left", show_lines=False)
    for col in ("gate", "status", "details"):
        gates.add_column(col, overflow="fold")
    for gate in ruling["admission"]["gates"]:
        gates.add_row(
            cell(gate["gate"]),
            Text(gate["status"], style=STYLE.get(gate["status"], "")),
            cell("\n".join(_detail_line(d) for d in gate["details"])),
        )
    console.print(gates)
    if ruling["clauses"]:
        table = Table(title="clauses", title_justify="left")
        for col in ("clause", "status", "reason code", "details / evidence"):
            table.add_column(col, overflow="fold")
        for c in ruling["clauses"]:
            lines = [_detail_line(d) for d in c["details"]]
            lines += [
                safe(f"evidence {r['artifact_path']} {r['locator']}")
                + (f" line {r['line']}" if r["line"] is not None else "")
                for r in c["evidence_refs"]
            ]
            lines += [
                f"{k}: {v if v is not None else 'null'}"
                for k, v in sorted((c.get("metrics") or {}).items())
            ]
            table.add_row(
                cell(c["clause_id"]),
                Text(c["status"], style=STYLE.get(c["status"], "")),
                cell(c["reason_code"] or ""),
                cell("\n".join(lines)),
            )
        console.print(table)
    console.print(f"digest {ruling['digest']}", style="dim")


def render_junit(ruling: dict[str, Any]) -> bytes:
    """JUnit XML: one testcase per clause (FAIL a failure, NOT_EVALUATED skipped,
    NOT_ADMISSIBLE an error), so CI systems show a ruling like a test report."""
    from xml.sax.saxutils import escape, quoteattr

    clauses = ruling["clauses"]
    count = {s: sum(1 for c in clauses if c["status"] == s) for s in STYLE}
    pack = ruling["pack"]["pack_id"] or "pack"
    head = (
        f'tests="{len(clauses)}" failures="{count["FAIL"]}" '
        f'errors="{count["NOT_ADMISSIBLE"]}" skipped="{count["NOT_EVALUATED"]}"'
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab" {head}>',
        f"  <testsuite name={quoteattr('vlab ' + str(ruling['ruleset']['id']) + ' ' + pack)} "
        f"{head}>",
    ]
    if not clauses:
        lines.append(f'    <testcase classname="vlab.engine.admission" name={quoteattr(pack)}>')
        lines.append(f"      <error message={quoteattr(str(ruling['admission']['reason_code']))}/>")
        lines.append("    </testcase>")
    for c in clauses:
        lines.append(
            f"    <testcase classname={quoteattr('vlab.' + c['domain'])} "
            f"name={quoteattr(c['clause_id'] + ' ' + c.get('title', ''))}>"
        )
        body = escape("\n".join(_detail_line(d) for d in c["details"]))
        reason = quoteattr(str(c["reason_code"]))
        if c["status"] == "FAIL":
            lines.append(f"      <failure message={reason}>{body}</failure>")
        elif c["status"] == "NOT_EVALUATED":
            lines.append(f"      <skipped message={reason}/>")
        elif c["status"] == "NOT_ADMISSIBLE":
            lines.append(f"      <error message={reason}/>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")


def render(ruling: dict[str, Any], fmt: str) -> bytes:
    """Bytes of one rendering (used for ``--out`` files and non-table stdout)."""
    if fmt == "json":
        return ruling_json(ruling)
    if fmt == "md":
        return render_markdown(ruling).encode("utf-8")
    if fmt == "junit":
        return render_junit(ruling)
    if fmt == "table":
        buf = io.StringIO()
        render_table(ruling, buf)
        return buf.getvalue().encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}")
