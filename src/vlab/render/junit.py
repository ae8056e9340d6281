"""JUnit XML: one testcase per clause (FAIL a failure, NOT_EVALUATED skipped,
NOT_ADMISSIBLE an error), so CI systems show a ruling like a test report."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from vlab.core.vocabulary import FAIL, NOT_ADMISSIBLE, NOT_EVALUATED
from vlab.engine.ruling import Ruling
from vlab.render.text import detail_line


def render_junit(ruling: Ruling) -> bytes:
    clauses = ruling.clauses
    pack = ruling.pack.pack_id or "pack"
    head = (
        f'tests="{len(clauses)}" failures="{ruling.count(FAIL)}" '
        f'errors="{ruling.count(NOT_ADMISSIBLE)}" skipped="{ruling.count(NOT_EVALUATED)}"'
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab" {head}>',
        f"  <testsuite name={quoteattr('vlab ' + str(ruling.ruleset.id) + ' ' + pack)} {head}>",
    ]
    if not clauses:
        lines.append(f'    <testcase classname="vlab.admission" name={quoteattr(pack)}>')
        lines.append(f"      <error message={quoteattr(str(ruling.admission.reason_code))}/>")
        lines.append("    </testcase>")
    for c in clauses:
        lines.append(
            f"    <testcase classname={quoteattr('vlab.' + c.domain)} "
            f"name={quoteattr(c.clause_id + ' ' + (c.title or ''))}>"
        )
        body = escape("\n".join(detail_line(d) for d in c.details))
        reason = quoteattr(str(c.reason_code))
        if c.status == FAIL:
            lines.append(f"      <failure message={reason}>{body}</failure>")
        elif c.status == NOT_EVALUATED:
            lines.append(f"      <skipped message={reason}/>")
        elif c.status == NOT_ADMISSIBLE:
            lines.append(f"      <error message={reason}/>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")
