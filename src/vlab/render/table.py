"""The human table (``--format table``): rich, colour only on a terminal without NO_COLOR.

Pack strings are data, never rich markup or emoji codes: the console parses neither, every
piece of data is a ``Text`` built from ``human`` (``vlab.core.escape``), so no control or
bidi character reaches the terminal and a newline in data cannot add a row.
"""

from __future__ import annotations

import io
import os
from typing import Any

from vlab.core.escape import human
from vlab.engine.ruling import Ruling
from vlab.render.text import STYLE, detail_line, metric_value


def _console(file: Any) -> Any:
    from rich.console import Console

    return Console(
        file=file,
        no_color="NO_COLOR" in os.environ,
        highlight=False,
        markup=False,  # pack strings are data, never rich markup
        emoji=False,  # nor emoji codes: ":white_check_mark:" in a run_id stays text
        soft_wrap=False,
        width=None if file is None else 120,
    )


def print_table(ruling: Ruling, file: Any = None) -> None:
    """The table on stdout (or ``file``)."""
    from rich.table import Table
    from rich.text import Text

    console = _console(file)
    top, rs, pk = ruling.topline, ruling.ruleset, ruling.pack
    console.print(Text.assemble("topline ", (top, f"bold {STYLE.get(top, '')}")))
    cell = Text  # every table cell is plain text: brackets in evidence are not markup
    console.print(
        Text(
            f"ruleset {human(rs.id)} {human(rs.version)}{' (override)' if rs.override else ''}"
            f"  pack {human(pk.pack_id)}  run {human(pk.run_id)}"
        )
    )
    gates = Table(title="admission", title_justify="left", show_lines=False)
    for col in ("gate", "status", "details"):
        gates.add_column(col, overflow="fold")
    for gate in ruling.admission.gates:
        gates.add_row(
            cell(human(gate.gate)),
            Text(gate.status, style=STYLE.get(gate.status, "")),
            cell("\n".join(detail_line(d) for d in gate.details)),
        )
    console.print(gates)
    if ruling.clauses:
        table = Table(title="clauses", title_justify="left")
        for col in ("clause", "status", "reason code", "details / evidence"):
            table.add_column(col, overflow="fold")
        for c in ruling.clauses:
            # One escaped line per item; the newlines joining them are the table's own.
            lines = [detail_line(d) for d in c.details]
            lines += [
                f"evidence {human(r.artifact_path)} {human(r.locator)}"
                + (f" line {r.line}" if r.line is not None else "")
                for r in c.evidence_refs
            ]
            lines += [
                f"{human(k)}: {human(metric_value(v))}"
                for k, v in sorted((c.metrics or {}).items())
            ]
            table.add_row(
                cell(human(c.clause_id)),
                Text(c.status, style=STYLE.get(c.status, "")),
                cell(human(c.reason_code or "")),
                cell("\n".join(lines)),
            )
        console.print(table)
    console.print(Text(f"digest {human(ruling.digest)}"), style="dim")


def render_table(ruling: Ruling) -> bytes:
    buf = io.StringIO()
    print_table(ruling, buf)
    return buf.getvalue().encode("utf-8")
