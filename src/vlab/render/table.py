"""The human table (``--format table``): rich, colour only on a terminal without NO_COLOR."""

from __future__ import annotations

import io
import os
from typing import Any

from vlab.engine.ruling import Ruling
from vlab.render.text import STYLE, detail_line, safe, safe_or_none


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


def print_table(ruling: Ruling, file: Any = None) -> None:
    """The table on stdout (or ``file``)."""
    from rich.table import Table
    from rich.text import Text

    console = _console(file)
    top, rs, pk = ruling.topline, ruling.ruleset, ruling.pack
    console.print(Text.assemble("topline ", (top, f"bold {STYLE.get(top, '')}")))
    cell = Text  # every table cell is plain text: brackets in evidence are not markup
    console.print(
        f"ruleset {rs.id} {rs.version}{' (override)' if rs.override else ''}"
        f"  pack {safe_or_none(pk.pack_id)}  run {safe_or_none(pk.run_id)}"
    )
    gates = Table(title="admission", title_justify="left", show_lines=False)
    for col in ("gate", "status", "details"):
        gates.add_column(col, overflow="fold")
    for gate in ruling.admission.gates:
        gates.add_row(
            cell(gate.gate),
            Text(gate.status, style=STYLE.get(gate.status, "")),
            cell("\n".join(detail_line(d) for d in gate.details)),
        )
    console.print(gates)
    if ruling.clauses:
        table = Table(title="clauses", title_justify="left")
        for col in ("clause", "status", "reason code", "details / evidence"):
            table.add_column(col, overflow="fold")
        for c in ruling.clauses:
            lines = [detail_line(d) for d in c.details]
            lines += [
                safe(f"evidence {r.artifact_path} {r.locator}")
                + (f" line {r.line}" if r.line is not None else "")
                for r in c.evidence_refs
            ]
            lines += [
                f"{k}: {v if v is not None else 'null'}"
                for k, v in sorted((c.metrics or {}).items())
            ]
            table.add_row(
                cell(c.clause_id),
                Text(c.status, style=STYLE.get(c.status, "")),
                cell(c.reason_code or ""),
                cell("\n".join(lines)),
            )
        console.print(table)
    console.print(f"digest {ruling.digest}", style="dim")


def render_table(ruling: Ruling) -> bytes:
    buf = io.StringIO()
    print_table(ruling, buf)
    return buf.getvalue().encode("utf-8")
