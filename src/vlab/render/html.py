"""The HTML review dossier (``vlab review --out html=``): one self-contained page.

The page is a Jinja2 template with autoescape on: every string from a ruling or a pack
reaches the page through escaping, and through ``human`` first, so a control or bidi
character shows as its escape, as on a terminal. No network, no fonts, no script: the
style is inline and the page reads the same printed and on a phone. The output depends
only on its inputs (no time, no random ids), so the same ruling and pack give the same
bytes. The model is built by ``vlab.tools.review`` (which reads the pack); this module
only lays it out.
"""

from __future__ import annotations

from typing import Any

from vlab.core.errors import UsageError
from vlab.core.escape import human
from vlab.render.text import NO_ENDORSEMENT

HTML_EXTRA = "the HTML dossier needs the 'html' extra: pip install 'vlab[html]'"

STYLE = """
:root{--pass:#1b6e20;--fail:#b00020;--warn:#8a5a00;--grey:#555;--line:#ccc}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;
max-width:60rem;padding:1rem;line-height:1.45;color:#111;background:#fff}
h1{font-size:1.6rem;margin:.2rem 0 1rem}
h2{font-size:1.3rem;border-bottom:1px solid var(--line);margin-top:2rem}
h3{font-size:1.05rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}
th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top;
overflow-wrap:anywhere}
li,p{overflow-wrap:anywhere}
th{background:#f3f3f3}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,monospace;font-size:.88em;
overflow-wrap:anywhere}
pre{background:#f7f7f7;border:1px solid var(--line);padding:.5rem;white-space:pre-wrap}
.badge{display:inline-block;font-size:2rem;font-weight:700;padding:.4rem 1rem;
border-radius:.4rem;color:#fff;border:3px solid #000}
.badge.PASS{background:var(--pass)}.badge.FAIL{background:var(--fail)}
.badge.NOT_ADMISSIBLE{background:var(--fail);border-style:dashed}
.badge.NOT_EVALUATED,.badge.INCOMPLETE{background:var(--grey);border-style:dotted}
.st{font-weight:700}.st.PASS{color:var(--pass)}.st.FAIL{color:var(--fail)}
.st.NOT_EVALUATED,.st.SKIPPED{color:var(--grey)}
.bad{color:var(--fail);font-weight:700}
.note{border-left:4px solid var(--grey);padding:.3rem .8rem;background:#f7f7f7}
figure{margin:1rem 0}svg{max-width:100%;height:auto}
@media print{body{max-width:none}.badge{color:#000;background:#fff!important}
pre{white-space:pre-wrap}}
"""

TEMPLATE = "dossier.html.j2"  # in vlab/data


def _environment() -> Any:
    try:
        import jinja2
    except ImportError:
        raise UsageError(HTML_EXTRA) from None
    # Autoescape: every string printed is HTML-escaped; only the charts this package drew
    # are Markup. The model builder has already passed data strings through ``human``.
    return jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def shown(value: object) -> str:
    """A data value as the page shows it: escaped as a terminal shows it (``human``)."""
    return "—" if value is None else human(value)


def svg(markup: str) -> Any:
    """Markup this package drew (a chart): printed as it is, not escaped."""
    from markupsafe import Markup

    return Markup(markup)


def render_html(model: dict[str, Any]) -> bytes:
    """The page for a dossier model (see ``vlab.tools.review.html_model``)."""
    env = _environment()
    from vlab.data import DATA

    source = (DATA / TEMPLATE).read_text("utf-8")
    page = env.from_string(source).render(m=model, style=STYLE.strip())
    return str(page).encode("utf-8")


CORPUS_TEMPLATE = "corpus.html.j2"  # in vlab/data


def _cell(text: object, href: str | None = None, mark: str | None = None) -> dict[str, Any]:
    return {"text": shown(text), "href": href, "mark": mark}


def pack_anchor(index: int) -> str:
    """A row id for the n-th pack (never the pack's own name: ids stay plain ASCII)."""
    return f"pack-{index + 1}"


def render_corpus_html(model: dict[str, Any]) -> bytes:
    """A corpus page: ``title``, ``badge`` (a topline class) and ``badge_label``,
    ``identity`` rows and ``tables`` (``title``, ``head``, ``rows`` of ``{id, cells}``);
    the same style as the single dossier."""
    from vlab.data import DATA

    env = _environment()
    source = (DATA / CORPUS_TEMPLATE).read_text("utf-8")
    page = env.from_string(source).render(
        m={**model, "no_endorsement": NO_ENDORSEMENT}, style=STYLE.strip()
    )
    return str(page).encode("utf-8")


def render_diff_html(result: dict[str, Any]) -> bytes:
    """``vlab diff --out html=``: the transition matrix (each transition linking the first
    of its packs) and every changed pack on its own line."""
    rs = result.get("rulesets") or {}
    a, b = rs.get("from") or {}, rs.get("to") or {}
    changed = result.get("changed") or []
    first: dict[tuple[Any, Any, Any], int] = {}
    for i, ch in enumerate(changed):
        first.setdefault((ch["clause_id"], ch["from"], ch["to"]), i)
    matrix = []
    for t in result.get("transitions") or []:
        moved = t["from"] != t["to"]
        index = first.get((t["clause_id"], t["from"], t["to"]))
        matrix.append(
            {
                "id": None,
                "cells": [
                    _cell(t["clause_id"]),
                    _cell(t["from"] or "-"),
                    _cell(t["to"] or "-", mark="changed" if moved else None),
                    _cell(t["count"], href=pack_anchor(index) if index is not None else None),
                ],
            }
        )
    rows = [
        {
            "id": pack_anchor(i),
            "cells": [
                _cell(ch["pack"]),
                _cell(ch["clause_id"]),
                _cell(ch["from"] or "-"),
                _cell(ch["to"] or "-", mark="changed"),
                _cell(ch.get("reason_code_before") or "none"),
                _cell(ch.get("reason_code_after") or "none"),
            ],
        }
        for i, ch in enumerate(changed)
    ]
    model = {
        "title": f"{shown(a.get('id'))} -> {shown(b.get('id'))}",
        "badge": "FAIL" if changed else "PASS",
        "badge_label": f"{len(changed)} clause verdicts changed"
        if changed
        else "no clause verdict changed",
        "identity": [
            ("packs", shown(result.get("packs"))),
            ("from", f"{shown(a.get('id'))} {shown(a.get('version'))} ({shown(a.get('sha256'))})"),
            ("to", f"{shown(b.get('id'))} {shown(b.get('version'))} ({shown(b.get('sha256'))})"),
        ],
        "tables": [
            {
                "title": "Transition matrix",
                "head": ["clause", "from", "to", "packs"],
                "rows": matrix,
            },
            {
                "title": "Changed packs",
                "head": ["pack", "clause", "from", "to", "reason before", "reason after"],
                "rows": rows,
            },
        ],
    }
    return render_corpus_html(model)


def render_batch_html(summary: dict[str, Any], results: list[dict[str, Any]]) -> bytes:
    """The hook for ``vlab batch --out html=``: ``summary`` as identity rows (its items in
    key order) and one line per result (``pack``, ``topline``, ``reason_codes``, and
    ``ruling`` when a ruling file was written), in the order given."""
    toplines = [str(r.get("topline")) for r in results]
    worst = next(
        (t for t in ("NOT_ADMISSIBLE", "FAIL", "INCOMPLETE", "NOT_EVALUATED") if t in toplines),
        "PASS",
    )
    rows = [
        {
            "id": pack_anchor(i),
            "cells": [
                _cell(r.get("pack")),
                _cell(r.get("topline"), mark=None if r.get("topline") == "PASS" else "not PASS"),
                _cell(", ".join(str(c) for c in r.get("reason_codes") or []) or "none"),
                _cell(r.get("ruling") or "-"),
            ],
        }
        for i, r in enumerate(results)
    ]
    model = {
        "title": f"batch of {len(results)} packs",
        "badge": worst,
        "badge_label": f"worst topline: {worst}",
        "identity": [(shown(k), shown(v)) for k, v in sorted(summary.items())],
        "tables": [
            {"title": "Packs", "head": ["pack", "topline", "reason codes", "ruling"], "rows": rows}
        ],
    }
    return render_corpus_html(model)
