"""Shared pieces of the human renderings: detail lines and the statement.

Every string from the ruling's data is escaped by ``vlab.core.escape`` (``human`` for a
terminal or JUnit, ``md_text``/``md_code`` for Markdown); only the words and punctuation
written here are raw.
"""

from __future__ import annotations

from collections.abc import Callable

from vlab.core.escape import human
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


def detail_line(d: Detail, esc: Callable[[object], str] = human) -> str:
    """``CODE (advisory): message [path locator line N]`` with each piece of data escaped
    by ``esc``; the brackets are the renderer's own."""
    where = " ".join(
        esc(x)
        for x in (d.artifact_path, d.locator, f"line {d.line}" if d.line is not None else None)
        if x
    )
    tag = " (advisory)" if d.advisory else ""
    return f"{esc(d.code)}{tag}: {esc(d.message)}" + (f" [{where}]" if where else "")


def metric_value(value: object) -> str:
    """A metric as the human renderings show it (``null`` for None), not yet escaped."""
    return "null" if value is None else str(value)
