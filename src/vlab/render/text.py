"""Shared pieces of the human renderings: safe evidence text, detail lines, the statement."""

from __future__ import annotations

import re
from typing import Any

from vlab.core.findings import Detail
from vlab.core.vocabulary import FAIL, NOT_ADMISSIBLE, NOT_EVALUATED, PASS, SKIPPED

NO_ENDORSEMENT = (
    "This ruling says whether the evidence satisfies the declared ruleset. It is not a "
    "badge, rank or certification of the system that produced the run."
)
STYLE = {
    PASS: "green",
    FAIL: "red",
    NOT_EVALUATED: "yellow",
    NOT_ADMISSIBLE: "magenta",
    SKIPPED: "dim",
}

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def safe(text: Any) -> str:
    """Evidence text for a terminal or a Markdown file: control characters (escape
    sequences included) are shown as \\xNN, never sent raw."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def detail_line(d: Detail) -> str:
    where = " ".join(
        str(x)
        for x in (d.artifact_path, d.locator, f"line {d.line}" if d.line is not None else None)
        if x
    )
    tag = " (advisory)" if d.advisory else ""
    return safe(f"{d.code}{tag}: {d.message}" + (f" [{where}]" if where else ""))


def md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def safe_or_none(value: str | None) -> str | None:
    return safe(value) if isinstance(value, str) else value
