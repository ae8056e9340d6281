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
from vlab.render.text import clause_notes, detail_line, ruling_notes, shown


def render_junit(ruling: Ruling) -> bytes:
    clauses = ruling.clauses
    pack = human(ruling.pack.pack_id or "pack")
    # A waived FAIL is a skipped testcase whose message names the waiver (decision 276):
    # CI shows it, and it no more fails the report than it fails the exit status.
    waived = ruling.count_waived()
    head = (
        f'tests="{len(clauses)}" failures="{ruling.count(FAIL) - waived}" '
        f'errors="{ruling.count(NOT_ADMISSIBLE)}" '
        f'skipped="{ruling.count(NOT_EVALUATED) + waived}"'
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab" {head}>',
        f"  <testsuite name={quoteattr('vlab ' + shown(ruling.ruleset.id) + ' ' + pack)} {head}>",
    ]
    props: list[tuple[str, str]] = []
    if ruling.as_of is not None:
        props.append(("vlab.as_of", human(ruling.as_of)))
    if ruling.waivers is not None:
        props.append(("vlab.waivers", ruling_notes(ruling)[-1]))
    if props:
        lines.append("    <properties>")
        lines += [f"      <property name={quoteattr(k)} value={quoteattr(v)}/>" for k, v in props]
        lines.append("    </properties>")
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
        if c.severity is not None:
            lines.append("      <properties>")
            lines.append(f'        <property name="vlab.severity" value={quoteattr(c.severity)}/>')
            lines.append("      </properties>")
        if c.waiver is not None:
            note = quoteattr(shown(c.reason_code) + "; " + clause_notes(c)[-1])
            lines.append(f"      <skipped message={note}>{body}</skipped>")
        elif c.status == FAIL:
            lines.append(f"      <failure message={reason}>{body}</failure>")
        elif c.status == NOT_EVALUATED:
            lines.append(f"      <skipped message={reason}/>")
        elif c.status == NOT_ADMISSIBLE:
            lines.append(f"      <error message={reason}/>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")
