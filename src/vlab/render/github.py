"""GitHub Actions workflow commands (``--format github``): annotations on the evidence.

One line per finding of ``vlab.render.located_findings``, in ruling order:
``::error file=F,line=N,title=CODE::OWNER: message`` for each non-advisory detail of a
failing gate or clause (a failing clause without one gives one ``::error`` with its reason
code and its meaning), ``::warning …`` for each advisory detail wherever it sits, then one
``::notice title=vlab TOPLINE::…`` summary, so a passing run still says what was judged.
``OWNER`` is the clause id or gate name: an annotation has no other place to say it.

``file=`` is the pack path as given (``posixpath.normpath``: ``./pack/`` and ``pack`` name
the same folder) plus ``/`` and the artifact path, the artifact path alone when no pack
path is given (or it is ``.``), the pack path alone for a finding about the whole pack
(no ``file=`` without a pack path); ``line=`` only when the line is known.

Escaping: data is human text (``human`` from ``vlab.core.escape``: one line, no control,
bidi or invisible character, backslash doubled) except the file, which only has unsafe
characters escaped (``scrub``: a Windows pack path keeps its backslashes); then GitHub's
own rules (``@actions/core``'s ``escapeData`` / ``escapeProperty``): ``%`` -> ``%25``,
CR -> ``%0D``, LF -> ``%0A`` everywhere, and in properties ``:`` -> ``%3A`` and ``,`` ->
``%2C``, so no value can end a command, add a property or smuggle in ``%0A`` that the
runner would decode. Every line is scrubbed last: no raw control character leaves here.
"""

from __future__ import annotations

import posixpath

from vlab.core.escape import human, scrub
from vlab.core.vocabulary import STATUSES
from vlab.engine.ruling import Ruling
from vlab.render import LocatedFinding, located_findings

ABSENT = "—"  # how output shows a value the ruling does not have


def escape_data(text: str) -> str:
    """A workflow command's message (``@actions/core`` ``escapeData``)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (``@actions/core`` ``escapeProperty``)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, properties: list[tuple[str, str]], message: str) -> str:
    """``::name k=v,k=v::message`` with every value and the message escaped (values are
    already text for people, or a scrubbed file path)."""
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return scrub(f"::{name}{' ' + props if props else ''}::{escape_data(message)}")


def _file(pack: str | None, artifact_path: str | None) -> str | None:
    """The pack path (normalised) and the artifact path (as the ruling has it: never
    normalised, so a detail about an odd name still names that name)."""
    folder = posixpath.normpath(pack) if pack else "."
    if artifact_path is None:
        return None if folder == "." and not pack else folder
    if folder == ".":
        return artifact_path
    return folder.rstrip("/") + "/" + artifact_path


def _annotation(f: LocatedFinding, pack: str | None) -> str:
    props: list[tuple[str, str]] = []
    file = _file(pack, f.artifact_path)
    if file is not None:
        props.append(("file", scrub(file)))
    if f.line is not None:
        props.append(("line", str(f.line)))
    props.append(("title", human(f.code)))
    message = f"{human(f.owner)}: {human(f.message)}"
    if f.waived and not f.advisory and f.clause is not None and f.clause.waiver is not None:
        # a waived failure is a notice: still on the evidence, never a red error
        return command("notice", props, f"{message} (waived by {human(f.clause.waiver.id)})")
    return command("warning" if f.advisory else "error", props, message)


def _show(value: object) -> str:
    return ABSENT if value is None else human(value)


def summary(ruling: Ruling, errors: int, warnings: int) -> str:
    """The ``::notice`` line: what was judged, the clause counts, the annotation counts."""
    rs, pk = ruling.ruleset, ruling.pack
    counts = ", ".join(f"{ruling.count(s)} {s}" for s in STATUSES if ruling.count(s))
    parts = [
        f"ruleset {_show(rs.id)} {_show(rs.version)}" + (" (shadow run)" if rs.override else ""),
        f"pack {_show(pk.pack_id)}",
        f"run {_show(pk.run_id)}",
        f"clauses: {counts or 'none'}",
    ]
    if not ruling.admission.admissible:
        parts.append(f"not admissible: {_show(ruling.admission.reason_code)}")
    omitted = sum(g.details_omitted for g in ruling.admission.gates) + sum(
        c.details_omitted for c in ruling.clauses
    )
    if ruling.waivers is not None:
        parts.append(f"{ruling.waivers.waived} waived failure(s) as of {_show(ruling.as_of)}")
    parts.append(f"{errors} error(s), {warnings} warning(s)")
    if omitted:
        parts.append(f"{omitted} more detail(s) beyond the ruling's cap not listed")
    return command("notice", [("title", f"vlab {human(ruling.topline)}")], "; ".join(parts))


def render_github(ruling: Ruling, *, pack: str | None = None) -> bytes:
    """The ``--format github`` bytes: one workflow command a line."""
    findings = list(located_findings(ruling))
    lines = [_annotation(f, pack) for f in findings]
    warnings = sum(1 for f in findings if f.advisory)
    waived = sum(1 for f in findings if f.waived and not f.advisory)
    lines.append(summary(ruling, len(findings) - warnings - waived, warnings))
    return ("\n".join(lines) + "\n").encode("utf-8")
