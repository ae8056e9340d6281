"""JUnit XML: one testcase per clause (FAIL a failure, NOT_EVALUATED skipped,
NOT_ADMISSIBLE an error), so CI systems show a ruling like a test report.

Every string from the ruling goes through ``human`` (``vlab.core.escape``) before the
XML escaping: XML escapes ``<&"`` but cannot carry most control characters at all (XML
1.0 forbids C0 controls other than tab, newline and carriage return, lone surrogates and
U+FFFE/U+FFFF), and a CI page shows the names and messages to people.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from vlab.core.escape import human
from vlab.core.vocabulary import FAIL, NOT_ADMISSIBLE, NOT_EVALUATED
from vlab.engine.ruling import Ruling
from vlab.render.text import detail_line, shown


def render_junit(ruling: Ruling) -> bytes:
    clauses = ruling.clauses
    pack = human(ruling.pack.pack_id or "pack")
    head = (
        f'tests="{len(clauses)}" failures="{ruling.count(FAIL)}" '
        f'errors="{ruling.count(NOT_ADMISSIBLE)}" skipped="{ruling.count(NOT_EVALUATED)}"'
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab" {head}>',
        f"  <testsuite name={quoteattr('vlab ' + shown(ruling.ruleset.id) + ' ' + pack)} {head}>",
    ]
    if not clauses:
        reason = quoteattr(shown(ruling.admission.reason_code))
        lines.append(f'    <testcase classname="vlab.admission" name={quoteattr(pack)}>')
        lines.append(f"      <error message={reason}/>")
        lines.append("    </testcase>")
    for c in clauses:
        name = quoteattr(human(c.clause_id) + " " + human(c.title or ""))
        lines.append(f"    <testcase classname={quoteattr('vlab.' + human(c.domain))} name={name}>")
        body = escape("\n".join(detail_line(d) for d in c.details))
        reason = quoteattr(shown(c.reason_code))
        if c.status == FAIL:
            lines.append(f"      <failure message={reason}>{body}</failure>")
        elif c.status == NOT_EVALUATED:
            lines.append(f"      <skipped message={reason}/>")
        elif c.status == NOT_ADMISSIBLE:
            lines.append(f"      <error message={reason}/>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")
