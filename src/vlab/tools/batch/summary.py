"""The batch's summary (``results.summary.json``) and its reports: one model, many
renderings (``--out FMT=PATH``: table, json, md, junit, sarif, html).

The model is the summary document plus one row a pack (``runner.Row``). ``json`` is the
summary document itself (the bytes of ``results.summary.json``); ``table`` the text the
command prints; ``md`` and ``junit`` a line / a testcase a pack; ``html`` the corpus page
(``render.html.render_batch_html``); ``sarif`` one run whose results are every pack's
SARIF results (``render.sarif.sarif_log`` of each ruling, re-read from the results file),
each located under its CORPUS argument's base id (decision 247).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlab.core.vocabulary import STATUSES

SUMMARY_VERSION = "1"
TOPLINES = ("PASS", "FAIL", "NOT_ADMISSIBLE", "NOT_EVALUATED")


@dataclass(frozen=True)
class Row:
    """What the summary and the reports keep of a pack."""

    corpus: int
    path: str
    topline: str | None
    clauses: tuple[tuple[str, str], ...]
    reason_codes: tuple[str, ...]
    error: str | None
    attestation: str | None


@dataclass(frozen=True)
class Batch:
    corpora: tuple[str, ...]
    results: Path
    rows: tuple[Row, ...]
    summary: dict[str, Any]

    @property
    def complete(self) -> bool:
        return all(r.error is None for r in self.rows)


def summarize(corpora: Sequence[str], results: Path, rows: Sequence[Row]) -> dict[str, Any]:
    """Counts by topline, by clause x status and by reason code; the packs that could not
    be judged, each with its one-line error."""
    toplines = dict.fromkeys(TOPLINES, 0)
    clauses: dict[str, dict[str, int]] = {}
    codes: dict[str, int] = {}
    failed = []
    for row in rows:
        if row.error is not None:
            failed.append({"corpus": row.corpus, "path": row.path, "error": row.error})
            continue
        assert row.topline is not None
        toplines[row.topline] = toplines.get(row.topline, 0) + 1
        for clause_id, status in row.clauses:
            cell = clauses.setdefault(clause_id, {})
            cell[status] = cell.get(status, 0) + 1
        for code in row.reason_codes:
            codes[code] = codes.get(code, 0) + 1
    return {
        "summary_version": SUMMARY_VERSION,
        "corpora": list(corpora),
        "results": results.name,
        "packs": len(rows),
        "judged": len(rows) - len(failed),
        "not_judged": len(failed),
        "toplines": toplines,
        "clauses": {k: clauses[k] for k in sorted(clauses)},
        "reason_codes": {k: codes[k] for k in sorted(codes)},
        "could_not_judge": failed,
    }


def _statuses(cells: dict[str, int]) -> list[str]:
    return [s for s in STATUSES if s in cells] + sorted(set(cells) - set(STATUSES))


# -- table ------------------------------------------------------------------------------


def print_table(summary: dict[str, Any], console: Any = None) -> None:
    """The summary as rich tables on ``console`` (stdout by default)."""
    from rich.console import Console
    from rich.table import Table

    from vlab.core.escape import human

    out = console or Console()
    head = (
        f"{summary['packs']} packs: {summary['judged']} judged, "
        f"{summary['not_judged']} could not be judged"
    )
    out.print(head, markup=False, highlight=False)
    tops = Table(title="toplines", title_justify="left")
    tops.add_column("topline")
    tops.add_column("packs", justify="right")
    for name, count in summary["toplines"].items():
        tops.add_row(name, str(count))
    out.print(tops)
    if summary["clauses"]:
        grid = Table(title="clauses", title_justify="left")
        grid.add_column("clause")
        for status in STATUSES:
            grid.add_column(status, justify="right")
        for clause_id, cells in summary["clauses"].items():
            grid.add_row(human(clause_id), *(str(cells.get(s, 0)) for s in STATUSES))
        out.print(grid)
    if summary["reason_codes"]:
        reasons = Table(title="reason codes", title_justify="left")
        reasons.add_column("code")
        reasons.add_column("packs", justify="right")
        for code, count in summary["reason_codes"].items():
            reasons.add_row(human(code), str(count))
        out.print(reasons)
    if summary["could_not_judge"]:
        bad = Table(title="could not be judged", title_justify="left")
        bad.add_column("corpus", justify="right")
        bad.add_column("pack")
        bad.add_column("error")
        for f in summary["could_not_judge"]:
            bad.add_row(str(f["corpus"]), human(f["path"]), human(f["error"]))
        out.print(bad)


def table_text(summary: dict[str, Any]) -> bytes:
    import io

    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=100, color_system=None, force_terminal=False)
    print_table(summary, console)
    return buffer.getvalue().encode("utf-8")


# -- md, junit -----------------------------------------------------------------------------


def markdown(summary: dict[str, Any], rows: Sequence[Row]) -> bytes:
    from vlab.core.escape import md_code, md_text

    out = [
        f"## vlab batch: {summary['judged']} of {summary['packs']} packs judged",
        "",
        "| topline | packs |",
        "|---|---:|",
        *(f"| {k} | {v} |" for k, v in summary["toplines"].items()),
    ]
    if summary["clauses"]:
        out += [
            "",
            "| clause | " + " | ".join(STATUSES) + " |",
            "|---" + "|---:" * len(STATUSES) + "|",
        ]
        for clause_id, cells in summary["clauses"].items():
            counts = " | ".join(str(cells.get(s, 0)) for s in STATUSES)
            out.append(f"| {md_code(clause_id, table=True)} | {counts} |")
    if summary["reason_codes"]:
        out += ["", "| reason code | packs |", "|---|---:|"]
        out += [f"| {md_code(k, table=True)} | {v} |" for k, v in summary["reason_codes"].items()]
    if summary["could_not_judge"]:
        out += ["", "Could not be judged:", ""]
        for f in summary["could_not_judge"]:
            out.append(f"- {f['corpus']} {md_code(f['path'])}: {md_text(f['error'])}")
    out += ["", "| corpus | pack | topline | reason codes |", "|---:|---|---|---|"]
    for r in rows:
        codes = ", ".join(md_code(c, table=True) for c in r.reason_codes) or "none"
        top = r.topline or "could not be judged"
        out.append(f"| {r.corpus} | {md_code(r.path, table=True)} | {top} | {codes} |")
    return ("\n".join(out) + "\n").encode("utf-8")


def junit(summary: dict[str, Any], rows: Sequence[Row]) -> bytes:
    """A testsuite a CORPUS argument, a testcase a pack: FAIL a failure, NOT_ADMISSIBLE
    and a pack that could not be judged an error, NOT_EVALUATED skipped."""
    from xml.sax.saxutils import quoteattr

    from vlab.core.escape import human

    def counts(group: Sequence[Row]) -> str:
        fails = sum(1 for r in group if r.topline == "FAIL")
        errors = sum(1 for r in group if r.topline in (None, "NOT_ADMISSIBLE"))
        skipped = sum(1 for r in group if r.topline == "NOT_EVALUATED")
        return f'tests="{len(group)}" failures="{fails}" errors="{errors}" skipped="{skipped}"'

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab batch" {counts(rows)}>',
    ]
    for index, corpus in enumerate(summary["corpora"]):
        group = [r for r in rows if r.corpus == index]
        name = quoteattr(f"corpus {index}: {human(corpus)}")
        lines.append(f"  <testsuite name={name} {counts(group)}>")
        for r in group:
            lines.append(
                f"    <testcase classname={quoteattr(f'vlab.batch.{index}')} "
                f"name={quoteattr(human(r.path))}>"
            )
            reasons = quoteattr(", ".join(human(c) for c in r.reason_codes) or "none")
            if r.topline is None:
                lines.append(f"      <error message={quoteattr(human(r.error or ''))}/>")
            elif r.topline == "FAIL":
                lines.append(f"      <failure message={reasons}/>")
            elif r.topline == "NOT_ADMISSIBLE":
                lines.append(f"      <error message={reasons}/>")
            elif r.topline == "NOT_EVALUATED":
                lines.append(f"      <skipped message={reasons}/>")
            lines.append("    </testcase>")
        lines.append("  </testsuite>")
    lines += ["</testsuites>", ""]
    return "\n".join(lines).encode("utf-8")


# -- sarif, html ---------------------------------------------------------------------------


def _rulings(results: Path) -> Any:
    """(corpus, path, Ruling) of every ruling line of the results file, in order."""
    from vlab.engine.ruling import Ruling

    with open(results, "rb") as fh:
        for raw in fh:
            doc = json.loads(raw)
            if isinstance(doc.get("ruling"), dict):
                yield doc["corpus"], doc["path"], Ruling.from_json(doc["ruling"])


def sarif(summary: dict[str, Any], results: Path) -> bytes:
    from vlab import __version__
    from vlab.core.canonical import canonical_bytes
    from vlab.render.sarif import (
        SARIF_SCHEMA,
        SARIF_VERSION,
        SRCROOT,
        sarif_log,
        uri_reference,
    )

    rules: dict[str, dict[str, Any]] = {}
    found: list[dict[str, Any]] = []
    for corpus, path, ruling in _rulings(results):
        run = sarif_log(ruling)["runs"][0]
        own = [r["id"] for r in run["tool"]["driver"]["rules"]]
        for rule in run["tool"]["driver"]["rules"]:
            rules.setdefault(rule["id"], rule)
        prefix = "" if path == "." else uri_reference(path) + "/"
        for result in run["results"]:
            result["ruleId"] = own[result["ruleIndex"]]
            for loc in result["locations"]:
                where = loc["physicalLocation"]["artifactLocation"]
                where["uri"] = prefix + where["uri"] if where["uri"] != "./" else prefix or "./"
                where["uriBaseId"] = f"CORPUS{corpus}"
            result["properties"] = {"corpus": corpus, "pack": path, **result["properties"]}
            found.append(result)
    order = sorted(rules)
    index = {rule_id: i for i, rule_id in enumerate(order)}
    for result in found:
        result["ruleIndex"] = index[result["ruleId"]]
    base_ids: dict[str, Any] = {}
    for i, given in enumerate(summary["corpora"]):
        entry: dict[str, Any] = {"description": {"text": f"CORPUS argument {i}"}}
        if not given.startswith("/"):
            norm = given.rstrip("/") or "."
            entry["uri"] = "./" if norm == "." else uri_reference(norm) + "/"
            entry["uriBaseId"] = SRCROOT
            base_ids[SRCROOT] = {"description": {"text": "the folder vlab was run in"}}
        base_ids[f"CORPUS{i}"] = entry
    log = {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "vlab",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "rules": [rules[r] for r in order],
                    }
                },
                "originalUriBaseIds": base_ids,
                "results": found,
                "properties": {
                    "packs": summary["packs"],
                    "toplines": summary["toplines"],
                    "not_judged": summary["not_judged"],
                },
            }
        ],
    }
    return canonical_bytes(log) + b"\n"


def html(summary: dict[str, Any], rows: Sequence[Row]) -> bytes:
    from vlab.render.html import render_batch_html

    shown = {k: v for k, v in summary.items() if not isinstance(v, (dict, list))}
    shown["corpora"] = ", ".join(summary["corpora"])
    for name, count in summary["toplines"].items():
        shown[f"toplines.{name}"] = count
    results = [
        {
            "pack": f"{r.corpus}:{r.path}",
            "topline": r.topline or "could not be judged",
            "reason_codes": list(r.reason_codes) if r.error is None else [r.error],
            "ruling": r.attestation,
        }
        for r in rows
    ]
    return render_batch_html(shown, results)


def _json(batch: Batch) -> bytes:
    from vlab.core.canonical import canonical_bytes

    return canonical_bytes(batch.summary) + b"\n"


# The batch's report formats (``--out FMT=PATH``): name -> the batch as bytes. A format is
# one function and one entry here.
BATCH_REPORTS: dict[str, Callable[[Batch], bytes]] = {
    "table": lambda b: table_text(b.summary),
    "json": _json,
    "md": lambda b: markdown(b.summary, b.rows),
    "junit": lambda b: junit(b.summary, b.rows),
    "sarif": lambda b: sarif(b.summary, b.results),
    "html": lambda b: html(b.summary, b.rows),
}
FORMATS = tuple(BATCH_REPORTS)


def report(batch: Batch, fmt: str) -> bytes:
    """The batch as ``fmt`` (one of ``FORMATS``)."""
    if fmt not in BATCH_REPORTS:
        raise ValueError(f"unknown format {fmt!r}")
    return BATCH_REPORTS[fmt](batch)
