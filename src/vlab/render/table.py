"""The human table (``--format table``): rich, colour only on a terminal without NO_COLOR.

Pack strings are data, never rich markup or emoji codes: the console parses neither, every
piece of data is a ``Text`` built from ``human`` (``vlab.core.escape``), so no control or
bidi character reaches the terminal and a newline in data cannot add a row.

Readable at 80 columns as at 200: the tables hold only short tokens (gate, clause, status,
code), each column that holds one never wraps, so a code is never split; what a clause
found (details, evidence, metrics, what it needs) follows the tables as indented lines that
wrap between words; a sha256 is shown by its first digits (the JSON ruling has it whole).
Every code the ruling shows is listed once, with its one-line meaning, under "codes".
"""

from __future__ import annotations

import io
import os
import sys
from typing import Any

from vlab.core.escape import human
from vlab.engine.ruling import ClauseRuling, Ruling
from vlab.render.text import (
    ABSENT,
    ELLIPSIS,
    STYLE,
    FindRuleset,
    Glossary,
    clause_notes,
    codes_of,
    detail_line,
    metric_value,
    ruling_notes,
    short_hashes,
    shown,
    status_label,
)

FILE_WIDTH = 120  # the width of a table written to a file (``--out table=PATH``)


def _console(file: Any, width: int | None) -> Any:
    from rich.console import Console

    if file is None:
        # A terminal whose locale cannot spell a character of the evidence (Latin-1,
        # EUC-JP) shows it as a \u escape instead of failing the whole command.
        stream = sys.stdout
        encoding = (getattr(stream, "encoding", None) or "").lower().replace("-", "")
        if hasattr(stream, "reconfigure") and encoding != "utf8":
            stream.reconfigure(errors="backslashreplace")
    return Console(
        file=file,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        markup=False,  # pack strings are data, never rich markup
        emoji=False,  # nor emoji codes: ":white_check_mark:" in a run_id stays text
        soft_wrap=False,
        width=width if width is not None else (None if file is None else FILE_WIDTH),
    )


def print_table(
    ruling: Ruling,
    file: Any = None,
    *,
    width: int | None = None,
    find_ruleset: FindRuleset | None = None,
) -> None:
    """The table on stdout (or ``file``), ``width`` columns wide (default: the terminal's;
    ``FILE_WIDTH`` for a file). ``find_ruleset`` may be the caller's loaded catalog."""
    from rich.console import Group
    from rich.padding import Padding
    from rich.table import Table
    from rich.text import Text

    console = _console(file, width)
    utf = console.encoding.lower().startswith("utf")
    absent, ellipsis = (ABSENT, ELLIPSIS) if utf else ("-", "...")

    def esc(value: object) -> str:
        return shown(value, human, absent)

    def line(text: str) -> str:
        return short_hashes(text, ellipsis)

    glossary = Glossary(ruling, find_ruleset)
    top, rs, pk = ruling.topline, ruling.ruleset, ruling.pack
    console.print(Text.assemble("topline ", (top, f"bold {STYLE.get(top, '')}")))
    cell = Text  # every table cell is plain text: brackets in evidence are not markup
    console.print(
        Text(
            f"ruleset {esc(rs.id)}{'' if rs.version is None else ' ' + human(rs.version)}"
            f"{' (override)' if rs.override else ''}"
            f"  pack {esc(pk.pack_id)}  run {esc(pk.run_id)}"
        )
    )
    gates = Table(title="admission", title_justify="left", show_lines=False)
    gates.add_column("gate", no_wrap=True)
    gates.add_column("status", no_wrap=True)
    gates.add_column("details", overflow="fold")  # folds only a word wider than the column
    for gate in ruling.admission.gates:
        gates.add_row(
            cell(human(gate.gate)),
            Text(gate.status, style=STYLE.get(gate.status, "")),
            cell("\n".join(line(detail_line(d)) for d in gate.details) or absent),
        )
    console.print(gates)
    if ruling.clauses:
        table = Table(title="clauses", title_justify="left")
        for col in ("clause", "status", "reason code"):
            table.add_column(col, no_wrap=True)
        for c in ruling.clauses:
            table.add_row(
                cell(human(c.clause_id)),
                Text(status_label(c), style=STYLE.get(c.status, "")),
                cell(esc(c.reason_code)),
            )
        console.print(table)
        blocks: list[Any] = []
        for c in ruling.clauses:
            lines = _clause_lines(c, glossary, esc, absent)
            if lines:
                blocks.append(Text(f"{human(c.clause_id)} {esc(c.title)}", style="bold"))
                body = Text("\n".join(line(text) for text in lines), overflow="fold")
                blocks.append(Padding(body, (0, 0, 0, 2), expand=False))
        if blocks:
            console.print(Group(*blocks))
    codes = codes_of(ruling)
    if codes:
        legend = Table(title="codes", title_justify="left")
        legend.add_column("code", no_wrap=True)
        legend.add_column("meaning", overflow="fold")
        for code in codes:
            legend.add_row(cell(human(code)), cell(esc(glossary.meaning(code))))
        console.print(legend)
    for note in ruling_notes(ruling):
        console.print(Text(line(note)))
    console.print(Text(f"digest {line(esc(ruling.digest))}"), style="dim")


def _clause_lines(c: ClauseRuling, glossary: Glossary, esc: Any, absent: str) -> list[str]:
    """One escaped line per item a clause reports; the renderer indents and wraps them."""
    lines = clause_notes(c) + [detail_line(d) for d in c.details]
    if c.details_omitted:
        lines.append(f"(and {c.details_omitted} more details: see the JSON ruling)")
    lines += [
        f"evidence {human(r.artifact_path)} {human(r.locator)}"
        + (f" line {r.line}" if r.line is not None else "")
        + f" {human(r.sha256)}"
        for r in c.evidence_refs
    ]
    lines += [
        f"metric {human(k)}: {absent if v is None else human(metric_value(v))}"
        for k, v in sorted((c.metrics or {}).items())
    ]
    needs = glossary.needs(c)
    if needs is not None:
        lines.append(f"needs: {esc(needs)}")
    return lines


def render_table(
    ruling: Ruling, *, width: int = FILE_WIDTH, find_ruleset: FindRuleset | None = None
) -> bytes:
    buf = io.StringIO()
    print_table(ruling, buf, width=width, find_ruleset=find_ruleset)
    return buf.getvalue().encode("utf-8")
