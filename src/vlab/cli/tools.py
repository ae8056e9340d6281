"""``vlab regress``, ``vlab diff`` and ``vlab review``: the governance tools (vlab.tools)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vlab.cli import common as c
from vlab.core.errors import UsageError
from vlab.core.escape import human

REGRESS_HELP = "Run every golden vector under DIR against its expected.json."
DIFF_HELP = "Verdict transitions of a corpus of packs between two rulesets."
REVIEW_HELP = "A Markdown dossier of one ruling, its evidence quoted and checked against a pack."
REGRESS_OUT_FORMATS = ("json", "junit", "md")


def _regress_value(value: object) -> str:
    """An expected or actual value in a MISMATCH line: JSON's words for null, true and
    false (never Python's ``None``), ``repr`` for the rest (it escapes every character
    ``human`` would, so the values are not escaped twice)."""
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)


def regress(
    ctx: typer.Context,
    folder: Annotated[
        str,
        c.path_argument(
            "DIR", "A corpus: every folder under it holding pack/ and expected.json is a vector."
        ),
    ],
    ruleset: Annotated[
        str | None,
        typer.Option(
            "--ruleset",
            metavar="ID_OR_PATH",
            help="Run every vector under this ruleset (a shadow run) instead of its pinned one.",
            show_default=False,
        ),
    ] = None,
    jobs: c.Jobs = 1,
    fmt: Annotated[
        str,
        c.table_or_json("table: mismatches, counts and coverage; json: the summary document."),
    ] = "table",
    out: Annotated[
        list[str] | None,
        c.out_option(
            "FMT=PATH", "Also write the summary as FMT (json, junit, md) to PATH; repeatable."
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Run every golden vector under DIR against its expected.json."""
    from vlab.core.canonical import canonical_bytes
    from vlab.core.codes import registry
    from vlab.tools import regress as rg

    s = c.session(ctx, quiet, no_color)
    outs = c.parse_outs(out, REGRESS_OUT_FORMATS)
    catalog = s.catalog(rulesets_dir)
    dirs = c.rulesets_dirs(rulesets_dir)
    override = catalog.resolve(ruleset) if ruleset is not None else None

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = override if override is not None else catalog.get(ruleset_id)
        return None if rs is None else {cl.clause_id for cl in rs.clauses}

    vectors = rg.load_vectors(Path(folder), clause_ids_of, override.id if override else None, jobs)
    if override is not None:
        rulesets = [override]
    else:
        ids = sorted({v.expected["ruleset"] for v in vectors if v.expected["ruleset"]})
        rulesets = [rs for rs in (catalog.get(i) for i in ids) if rs is not None]
    with c.progress(s, "vectors", len(vectors)) as advance:
        outcomes = rg.run_vectors(vectors, ruleset, jobs, advance, dirs)
    summary = rg.summarize(outcomes, rulesets, set(registry()["detail_codes"]))
    for name, path in outs:
        if name == "json":
            data = canonical_bytes(summary) + b"\n"
        elif name == "md":
            data = rg.summary_markdown(summary).encode("utf-8")
        else:
            data = rg.junit_xml(outcomes, summary)
        c.write_out(path, data)
    c.step_summary(s, lambda: rg.summary_markdown(summary))
    if fmt == "json":
        s.stdout(canonical_bytes(summary) + b"\n")
    else:
        _print_regress(s, summary)
    return 0 if summary["failed"] == 0 else 1


def _print_regress(s: c.Session, summary: dict[str, Any]) -> None:
    for m in summary["mismatches"]:
        s.echo(
            f"MISMATCH {human(m['vector'])}: {human(m['field'])}: expected "
            f"{_regress_value(m['expected'])}, actual {_regress_value(m['actual'])}"
        )
    s.echo(f"{summary['total']} vectors: {summary['passed']} passed, {summary['failed']} failed")
    s.echo("coverage:")
    for rq, statuses in summary["coverage"].items():
        s.echo(f"  {human(rq)}: {', '.join(map(human, statuses))}")
    cells = ", ".join(
        f"{human(u['requirement_id'])}/{human(u['status'])}" for u in summary["uncovered"]
    )
    s.echo(f"uncovered: {cells or 'none'}")
    gates = ", ".join(f"{human(g)} {n}" for g, n in summary["gates"].items())
    s.echo(f"NOT_ADMISSIBLE by gate: {gates}")
    if summary["uncovered_detail_codes"]:
        codes = ", ".join(map(human, summary["uncovered_detail_codes"]))
        s.echo(f"detail codes no vector shows: {codes}")


def diff(
    ctx: typer.Context,
    corpus: Annotated[
        str,
        c.path_argument(
            "CORPUS", "A folder of packs (every folder under it holding bundle.manifest.json)."
        ),
    ],
    from_: Annotated[
        str,
        typer.Option(
            "--from",
            metavar="A",
            help="The ruleset judged first: an installed id or a ruleset folder/file.",
            show_default=False,
        ),
    ],
    to: Annotated[
        str,
        typer.Option(
            "--to",
            metavar="B",
            help="The ruleset judged second: an installed id or a ruleset folder/file.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str,
        c.table_or_json("table: transitions and changed packs; json: the diff document."),
    ] = "table",
    jobs: c.Jobs = 1,
    out: Annotated[
        list[str] | None,
        c.out_option(
            "html=PATH",
            "Also write the corpus dossier (the transition matrix, each changed pack on its "
            "own line) as one self-contained HTML page; needs the 'html' extra.",
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Verdict transitions of a corpus of packs between two rulesets."""
    from vlab.core.canonical import canonical_bytes
    from vlab.tools.diff import diff as run_diff

    s = c.session(ctx, quiet, no_color)
    outs = c.parse_outs(out, ("html",))
    if outs:
        _need_jinja2()
    catalog = s.catalog(rulesets_dir)
    a, b = catalog.resolve(from_), catalog.resolve(to)
    order = [cl.clause_id for cl in a.clauses]
    order += [cl.clause_id for cl in b.clauses if cl.clause_id not in order]
    dirs = c.rulesets_dirs(rulesets_dir)
    with c.progress(s, "packs x 2 rulesets", None) as advance:
        result = run_diff(Path(corpus), from_, to, order, jobs, advance, dirs)
    result["rulesets"] = {
        "from": {"id": a.id, "version": a.version, "sha256": a.sha256},
        "to": {"id": b.id, "version": b.version, "sha256": b.sha256},
    }
    if outs:
        from vlab.render.html import render_diff_html

        page = render_diff_html(result)
        for _, path in outs:
            c.write_out(path, page)
    if fmt == "json":
        s.stdout(canonical_bytes(result) + b"\n")
        return 0
    s.echo(f"{result['packs']} packs: {human(a.id)} -> {human(b.id)}")
    s.echo(f"{'clause':<10} {'from':<15} {'to':<15} {'count':>6}")
    for t in result["transitions"]:
        mark = "" if t["from"] == t["to"] else "  *"
        s.echo(
            f"{human(t['clause_id']):<10} {t['from'] or '-':<15} {t['to'] or '-':<15} "
            f"{t['count']:>6}{mark}"
        )
    for ch in result["changed"]:
        s.echo(
            f"changed {human(ch['pack'])}: {human(ch['clause_id'])} {ch['from'] or '-'} -> "
            f"{ch['to'] or '-'} ({human(ch['reason_code_before'] or 'none')} -> "
            f"{human(ch['reason_code_after'] or 'none')})"
        )
    return 0


def _need_jinja2() -> None:
    """The 'html' extra, checked before any work is done."""
    try:
        import jinja2  # noqa: F401
    except ImportError:
        from vlab.render.html import HTML_EXTRA

        raise UsageError(HTML_EXTRA) from None


def review(
    ctx: typer.Context,
    ruling_file: Annotated[
        str,
        c.path_argument(
            "RULING.json",
            "A ruling as `vlab adjudicate --format json` wrote it; its digest is checked.",
        ),
    ],
    pack: Annotated[
        str | None,
        typer.Option(
            "--pack",
            metavar="PACK",
            click_type=c.PATH,
            help="The pack the ruling is about: its evidence is quoted and re-hashed, and the "
            "pack digest compared (exit 1 when they do not match).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        list[str] | None,
        c.out_option(
            "md=PATH",
            "Write the dossier to PATH instead of stdout; repeatable. html=PATH writes the "
            "self-contained HTML dossier with charts drawn from the evidence (needs --pack "
            "and the 'html' extra).",
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """A Markdown dossier of one ruling, its evidence quoted and checked against a pack."""
    from vlab.tools.review import RulingEdited, load_ruling, review_ruling

    s = c.session(ctx, quiet, no_color)
    outs = c.parse_outs(out, ("md", "html"))
    if any(fmt == "html" for fmt, _ in outs):
        if pack is None:
            raise UsageError(
                "--out html= needs --pack PACK (the charts are drawn from the evidence)"
            )
        _need_jinja2()
    try:
        ruling = load_ruling(Path(ruling_file))
    except RulingEdited as exc:  # not intact: a verdict on the file, not a usage error
        s.error(human(str(exc)))
        return 1
    ruleset = s.catalog(rulesets_dir).get(ruling.ruleset.id) if ruling.ruleset.id else None
    if pack is not None:
        c.pack_hint(s, pack)
    result = review_ruling(
        ruling, Path(pack) if pack is not None else None, ruleset.codes if ruleset else None
    )
    text = result.text.encode("utf-8")
    if outs:
        for fmt, path in outs:
            if fmt == "html":
                from vlab.tools.review import review_html

                assert pack is not None
                page, _, _ = review_html(ruling, Path(pack), s.catalog(rulesets_dir))
                c.write_out(path, page)
            else:
                c.write_out(path, text)
    else:
        s.stdout(text)
    if result.matches is False:
        s.note(
            f"vlab: {human(ruling_file)} is not a ruling of the pack {human(pack)}: "
            + "; ".join(human(p) for p in result.problems)
        )
        return 1
    return 0
