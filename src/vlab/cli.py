"""The ``vlab`` command line.

Built on the standard library's argparse: start-up time is a product target (a small
adjudication within 12x of ``python -c pass``), and a CLI framework cost more than the
rest of the start-up together (governance/dependencies.md). Heavy modules are imported
inside the command that needs them.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from vlab import __version__
from vlab.core.errors import UsageError
from vlab.core.escape import human, scrub
from vlab.core.vocabulary import EXIT_BY_TOPLINE, EXIT_INTERNAL, EXIT_USAGE

if TYPE_CHECKING:
    from vlab.pack.limits import Limits
    from vlab.ruleset.catalog import Catalog

FORMATS = ("table", "json", "md")  # what stdout takes
# The safety limits a flag overrides (``--max-files`` ...): evidence-pack.md's four, and
# the bounds of decisions 65-66.
LIMIT_NAMES = (
    "max_files",
    "max_file_bytes",
    "max_pack_bytes",
    "max_line_bytes",
    "max_folders",
    "max_folder_depth",
    "max_document_bytes",
    "max_document_values",
    "max_pointers",
)
OUT_FORMATS = ("json", "md", "table", "junit")  # every registered renderer (vlab.render)
REGRESS_OUT_FORMATS = ("json", "junit", "md")
EPILOG = "exit: 0 PASS, 1 FAIL, 2 NOT_ADMISSIBLE, 3 NOT_EVALUATED, 64 usage error, 70 internal"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error as one line and exit 64 (not 2: that is a verdict)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _dirs(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(str(d) for d in getattr(args, "rulesets_dir", None) or ())


def _catalog(args: argparse.Namespace) -> Catalog:
    """Shipped rulesets plus ``VLAB_RULESETS_PATH`` and every ``--rulesets-dir``."""
    from vlab.tools.pool import catalog_for

    return catalog_for(_dirs(args))


def _limits(args: argparse.Namespace) -> Limits:
    from dataclasses import replace

    from vlab.pack.limits import Limits

    limits = Limits()
    for name in LIMIT_NAMES:
        value = getattr(args, name)
        if value is not None:
            limits = replace(limits, **{name: value})
    return limits


def _parse_outs(outs: list[str] | None, allowed: tuple[str, ...]) -> list[tuple[str, Path]]:
    parsed = []
    for item in outs or []:
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in allowed:
            raise UsageError(f"--out takes FMT=PATH with FMT in {', '.join(allowed)}: {item!r}")
        parsed.append((fmt, Path(path)))
    return parsed


def _write_out(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def _step_summary(markdown: str) -> None:
    """Append a Markdown summary for GitHub Actions when it asks for one."""
    import os

    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    # The renderers escape their data (vlab.core.escape); scrub is the last guard, so no
    # producer of a summary can put a raw control or bidi character into a CI page.
    text = scrub(markdown, keep_newlines=True)
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        print(
            f"vlab: warning: cannot append to GITHUB_STEP_SUMMARY: {human(exc.strerror)}",
            file=sys.stderr,
        )


def _stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


def _echo(text: str = "") -> None:
    """One line on stdout. Its data pieces are escaped by the caller (``human``); scrub is
    the guard that keeps a forgotten one from sending a raw control character or a line
    break, and backslashreplace the one for a file name that is not valid UTF-8."""
    _stdout((scrub(text) + "\n").encode("utf-8", "backslashreplace"))


# -- commands -------------------------------------------------------------------------------


def cmd_adjudicate(args: argparse.Namespace) -> int:
    from vlab.engine.pipeline import adjudicate
    from vlab.render import render
    from vlab.render.table import print_table

    outs = _parse_outs(args.out, OUT_FORMATS)
    catalog = _catalog(args)
    override = catalog.resolve(args.ruleset) if args.ruleset is not None else None
    ruling = adjudicate(args.pack, catalog, override=override, limits=_limits(args))
    for fmt, path in outs:
        _write_out(path, render(ruling, fmt))
    _step_summary(render(ruling, "md").decode("utf-8"))
    if args.format == "table":
        print_table(ruling)
    else:
        _stdout(render(ruling, args.format))
    return EXIT_BY_TOPLINE[ruling.topline]


def cmd_validate(args: argparse.Namespace) -> int:
    from vlab.core.canonical import canonical_bytes
    from vlab.engine.pipeline import admit_pack

    admission = admit_pack(args.pack, _catalog(args), _limits(args))
    doc = admission.to_json()
    if args.format == "json":
        _stdout(canonical_bytes(doc) + b"\n")
    else:
        _echo(f"admission {doc['status']}")
        for gate in doc["gates"]:
            _echo(f"  {human(gate['gate']):<20} {gate['status']}")
            for d in gate["details"]:
                where = human(d["artifact_path"] or "")
                line = f":{d['line']}" if d["line"] is not None else ""
                _echo(f"    {human(d['code'])} {where}{line} {human(d['message'])}")
    return 0 if admission.admissible else 2


def cmd_regress(args: argparse.Namespace) -> int:
    from vlab.core.canonical import canonical_bytes
    from vlab.core.codes import registry
    from vlab.tools import regress as rg

    outs = _parse_outs(args.out, REGRESS_OUT_FORMATS)
    catalog = _catalog(args)
    override = catalog.resolve(args.ruleset) if args.ruleset is not None else None

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = override if override is not None else catalog.get(ruleset_id)
        return None if rs is None else {c.clause_id for c in rs.clauses}

    vectors = rg.load_vectors(args.dir, clause_ids_of, override.id if override else None, args.jobs)
    if override is not None:
        rulesets = [override]
    else:
        ids = sorted({v.expected["ruleset"] for v in vectors if v.expected["ruleset"]})
        rulesets = [rs for rs in (catalog.get(i) for i in ids) if rs is not None]
    outcomes = _run_with_progress(rg, vectors, args.ruleset, args.jobs, _dirs(args))
    summary = rg.summarize(outcomes, rulesets, set(registry()["detail_codes"]))
    for fmt, path in outs:
        if fmt == "json":
            data = canonical_bytes(summary) + b"\n"
        elif fmt == "md":
            data = rg.summary_markdown(summary).encode("utf-8")
        else:
            data = rg.junit_xml(outcomes, summary)
        _write_out(path, data)
    _step_summary(rg.summary_markdown(summary))
    if args.format == "json":
        _stdout(canonical_bytes(summary) + b"\n")
    else:
        _print_regress(summary)
    return 0 if summary["failed"] == 0 else 1


def _run_with_progress(
    rg: Any, vectors: list[Any], shadow: str | None, jobs: int, dirs: tuple[str, ...]
) -> Any:
    if not sys.stderr.isatty():
        return rg.run_vectors(vectors, shadow, jobs, None, dirs)
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("vectors", total=len(vectors))
        return rg.run_vectors(vectors, shadow, jobs, lambda n: bar.advance(task, n), dirs)


def _print_regress(summary: dict[str, Any]) -> None:
    for m in summary["mismatches"]:
        # repr already escapes every character human() would (str.isprintable is false
        # for them), so the values are not escaped twice.
        _echo(
            f"MISMATCH {human(m['vector'])}: {human(m['field'])}: expected {m['expected']!r}, "
            f"actual {m['actual']!r}"
        )
    _echo(f"{summary['total']} vectors: {summary['passed']} passed, {summary['failed']} failed")
    _echo("coverage:")
    for rq, statuses in summary["coverage"].items():
        _echo(f"  {human(rq)}: {', '.join(map(human, statuses))}")
    cells = ", ".join(
        f"{human(u['requirement_id'])}/{human(u['status'])}" for u in summary["uncovered"]
    )
    _echo(f"uncovered: {cells or 'none'}")
    gates = ", ".join(f"{human(g)} {n}" for g, n in summary["gates"].items())
    _echo(f"NOT_ADMISSIBLE by gate: {gates}")
    if summary["uncovered_detail_codes"]:
        codes = ", ".join(map(human, summary["uncovered_detail_codes"]))
        _echo(f"detail codes no vector shows: {codes}")


def cmd_rulesets_list(args: argparse.Namespace) -> int:
    from vlab.core.canonical import canonical_bytes

    catalog = _catalog(args)
    rows = []
    for ruleset_id in catalog.ids():
        rs = catalog.get(ruleset_id)
        assert rs is not None
        rows.append(
            {
                "id": rs.id,
                "version": rs.version,
                "status": rs.status,
                "sha256": rs.sha256,
                "purpose": rs.purpose,
            }
        )
    if args.format == "json":
        _stdout(canonical_bytes(rows) + b"\n")
    else:
        for row in rows:
            _echo(
                f"{human(row['id']):<14} {human(row['version']):<8} {human(row['status']):<9} "
                f"{human(row['sha256'])}"
            )
    return 0


def cmd_rulesets_show(args: argparse.Namespace) -> int:
    from vlab.core.canonical import canonical_bytes

    summary = _catalog(args).resolve(args.id).summary()
    if args.format == "json":
        _stdout(canonical_bytes(summary) + b"\n")
        return 0
    for key in ("id", "version", "status", "purpose", "sha256", "schema_bundle_sha256"):
        _echo(f"{key}: {human(summary[key])}")
    _echo(f"protocol_pins: {', '.join(map(human, summary['protocol_pins']))}")
    _echo(f"contract_versions: {', '.join(map(human, summary['contract_versions']))}")
    _echo(f"domain_checks: {', '.join(map(human, summary['domain_checks'])) or 'none'}")
    for code, meaning in summary["declared_codes"].items():
        _echo(f"code {human(code)}: {human(meaning)}")
    _echo("clauses:")
    for c in summary["clauses"]:
        _echo(
            f"  {human(c['clause_id'])} ({human(c['requirement_id'])}, {human(c['domain'])}): "
            f"{human(c['title'])}"
        )
    return 0


def cmd_pack_seal(args: argparse.Namespace) -> int:
    from vlab.pack.seal import seal

    if not args.dir.exists():
        raise UsageError(f"pack not found: {args.dir}")
    count = seal(args.dir)
    print(f"sealed {count} files", file=sys.stderr)
    return 0


def cmd_review(args: argparse.Namespace) -> int:
    from vlab.tools.review import dossier, load_ruling

    outs = _parse_outs(args.out, ("md",))
    ruling = load_ruling(args.ruling)
    ruleset = _catalog(args).get(ruling.ruleset.id) if ruling.ruleset.id else None
    text = dossier(ruling, args.pack, ruleset.codes if ruleset else None).encode("utf-8")
    if outs:
        for _, path in outs:
            _write_out(path, text)
    else:
        _stdout(text)
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from vlab.core.canonical import canonical_bytes
    from vlab.tools.diff import diff

    catalog = _catalog(args)
    a, b = catalog.resolve(args.from_), catalog.resolve(args.to)
    order = [c.clause_id for c in a.clauses]
    order += [c.clause_id for c in b.clauses if c.clause_id not in order]

    def run(progress: Callable[[int], None] | None) -> dict[str, Any]:
        return diff(args.corpus, args.from_, args.to, order, args.jobs, progress, _dirs(args))

    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress

        with Progress(console=Console(stderr=True), transient=True) as bar:
            task = bar.add_task("packs x 2 rulesets", total=None)
            result = run(lambda n: bar.advance(task, n))
    else:
        result = run(None)
    result["rulesets"] = {
        "from": {"id": a.id, "version": a.version, "sha256": a.sha256},
        "to": {"id": b.id, "version": b.version, "sha256": b.sha256},
    }
    if args.format == "json":
        _stdout(canonical_bytes(result) + b"\n")
        return 0
    _echo(f"{result['packs']} packs: {human(a.id)} -> {human(b.id)}")
    _echo(f"{'clause':<10} {'from':<15} {'to':<15} {'count':>6}")
    for t in result["transitions"]:
        mark = "" if t["from"] == t["to"] else "  *"
        _echo(
            f"{human(t['clause_id']):<10} {t['from'] or '-':<15} {t['to'] or '-':<15} "
            f"{t['count']:>6}{mark}"
        )
    for c in result["changed"]:
        _echo(
            f"changed {human(c['pack'])}: {human(c['clause_id'])} {c['from'] or '-'} -> "
            f"{c['to'] or '-'} ({human(c['reason_code_before'] or 'none')} -> "
            f"{human(c['reason_code_after'] or 'none')})"
        )
    return 0


def cmd_rulesets_lint(args: argparse.Namespace) -> int:
    from vlab.ruleset.lint import lint

    if not args.path.exists():
        raise UsageError(f"not found: {args.path}")
    errors, warnings = lint(args.path, _catalog(args), args.vectors)
    for line in errors:
        _echo(f"error: {human(line)}")
    for line in warnings:
        _echo(f"warning: {human(line)}")
    _echo(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0


def cmd_receipt_check(args: argparse.Namespace) -> int:
    from vlab.core import strictjson
    from vlab.core.canonical import canonical_bytes
    from vlab.domains.settlement import receipt_findings

    ruleset = _catalog(args).resolve(args.ruleset)
    schema = ruleset.extra_schemas.get("budget_settlement_receipt")
    if schema is None:
        raise UsageError(f"{ruleset.id} ships no BudgetSettlementReceipt schema")
    rows: list[dict[str, Any]] = []
    for path in args.files:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}") from None
        try:
            receipt = strictjson.loads(data)
        except strictjson.StrictJSONError as err:
            found = [{"code": "RCPT-SCHEMA-INVALID", "message": f"{err.code}: {err.message}"}]
        else:
            found = [d.to_finding() for d in receipt_findings(receipt, schema)]
        codes = list(dict.fromkeys(f["code"] for f in found))
        rows.append({"file": str(path), "valid": not found, "codes": codes, "findings": found})
    if args.format == "json":
        _stdout(canonical_bytes([{k: r[k] for k in ("file", "valid", "codes")} for r in rows]))
        _stdout(b"\n")
    else:
        for r in rows:
            _echo(f"{'VALID' if r['valid'] else 'INVALID'} {human(r['file'])}")
            for f in r["findings"]:
                _echo(f"  {human(f['code'])}: {human(f['message'])}")
    return 0 if all(r["valid"] for r in rows) else 1


# -- the parser -----------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text}")
    return value


def _add_out(p: argparse.ArgumentParser, formats: tuple[str, ...], help_text: str) -> None:
    p.add_argument(
        "--out",
        action="append",
        metavar="FMT=PATH",
        help=f"{help_text} ({', '.join(formats)}); repeatable",
    )


def _add_rulesets_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--rulesets-dir",
        action="append",
        type=Path,
        metavar="DIR",
        help="also load the rulesets in DIR (<id>/ruleset.yaml); repeatable",
    )


def _add_limits(p: argparse.ArgumentParser) -> None:
    for name in LIMIT_NAMES:
        flag = "--" + name.replace("_", "-")
        p.add_argument(flag, type=_positive, metavar="N", help="safety limit override")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="vlab",
        description="Validation lab for AI-agent runs: admit an evidence pack, apply a "
        "declarative ruleset, emit a deterministic ruling.",
        epilog=EPILOG,
    )
    parser.add_argument("--version", action="version", version=f"vlab {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, run: Callable[[argparse.Namespace], int], text: str) -> Any:
        p = sub.add_parser(name, help=text, description=text, epilog=EPILOG)
        p.set_defaults(run=run)
        return p

    p = command("adjudicate", cmd_adjudicate, "Admit and judge one pack.")
    p.add_argument("pack", type=Path, metavar="PACK", help="evidence pack directory")
    p.add_argument("--ruleset", metavar="ID_OR_PATH", help="shadow run under this ruleset")
    p.add_argument("--format", choices=FORMATS, default="table")
    _add_out(p, OUT_FORMATS, "also write FMT to PATH")
    _add_limits(p)
    _add_rulesets_dir(p)

    p = command("validate", cmd_validate, "Run the admission gates only (exit 0 or 2).")
    p.add_argument("pack", type=Path, metavar="PACK")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _add_limits(p)
    _add_rulesets_dir(p)

    p = command("regress", cmd_regress, "Run every golden vector under DIR (exit 0 or 1).")
    _add_rulesets_dir(p)
    p.add_argument("dir", type=Path, metavar="DIR")
    p.add_argument("--ruleset", metavar="ID_OR_PATH", help="run every vector under this ruleset")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N")
    p.add_argument("--format", choices=("table", "json"), default="table")
    _add_out(p, REGRESS_OUT_FORMATS, "also write FMT to PATH")

    p = command("review", cmd_review, "A Markdown dossier of one ruling (exit 0, or 64).")
    p.add_argument("ruling", type=Path, metavar="RULING.json")
    p.add_argument("--pack", type=Path, metavar="PACK", help="quote and verify its evidence")
    p.add_argument("--out", action="append", metavar="md=PATH", help="write instead of stdout")
    _add_rulesets_dir(p)

    p = command("diff", cmd_diff, "Verdict transitions of a corpus between two rulesets.")
    _add_rulesets_dir(p)
    p.add_argument("corpus", type=Path, metavar="CORPUS")
    p.add_argument("--from", dest="from_", required=True, metavar="A", help="ruleset id or path")
    p.add_argument("--to", required=True, metavar="B", help="ruleset id or path")
    p.add_argument("--format", choices=("table", "json"), default="table")
    p.add_argument("--jobs", type=_positive, default=1, metavar="N")

    p = command("rulesets", lambda a: _missing(a, "rulesets list|show|lint"), "Installed rulesets.")
    rs = p.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)
    q = rs.add_parser("list", help="list installed rulesets")
    q.add_argument("--format", choices=("table", "json"), default="table")
    _add_rulesets_dir(q)
    q.set_defaults(run=cmd_rulesets_list)
    q = rs.add_parser("lint", help="check a ruleset file; warn about uncovered clauses")
    q.add_argument("path", type=Path, metavar="PATH")
    q.add_argument("--vectors", type=Path, metavar="DIR", help="golden vectors to check against")
    _add_rulesets_dir(q)
    q.set_defaults(run=cmd_rulesets_lint)
    q = rs.add_parser("show", help="show one ruleset (id or path)")
    q.add_argument("id", metavar="ID")
    q.add_argument("--format", choices=("table", "json"), default="table")
    _add_rulesets_dir(q)
    q.set_defaults(run=cmd_rulesets_show)

    p = command("receipt", lambda a: _missing(a, "receipt check FILE..."), "Receipt tools.")
    rc = p.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)
    q = rc.add_parser("check", help="validate standalone BudgetSettlementReceipt files")
    q.add_argument("files", type=Path, nargs="+", metavar="FILE")
    q.add_argument("--format", choices=("table", "json"), default="table")
    q.add_argument(
        "--ruleset",
        default="ruleset-1.2",
        metavar="ID_OR_PATH",
        help="ruleset whose receipt schema to use (default ruleset-1.2)",
    )
    _add_rulesets_dir(q)
    q.set_defaults(run=cmd_receipt_check)

    p = command("pack", lambda a: _missing(a, "pack seal DIR"), "Producer-side pack tools.")
    pk = p.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", parser_class=_Parser)
    q = pk.add_parser("seal", help="write integrity/sha256sums.txt for a pack folder")
    q.add_argument("dir", type=Path, metavar="DIR")
    q.set_defaults(run=cmd_pack_seal)
    return parser


def _missing(args: argparse.Namespace, usage: str) -> int:
    raise UsageError(f"usage: vlab {usage}")


def _one_line(exc: BaseException) -> str:
    """An error as one escaped line. vlab's own messages (UsageError) are one line by
    construction, so a line break in one came from data: all of it is shown, escaped,
    never cut at the break. Other exceptions may carry long multi-line texts (a schema
    error quotes its schema): their first line is shown, escaped too."""
    text = str(exc).strip()
    if not isinstance(exc, UsageError):
        text = text.splitlines()[0] if text else ""
    return human(text) if text else type(exc).__name__


def main(argv: list[str] | None = None) -> None:
    """Console entry point: every outcome maps to its exit status, one line per error."""
    import signal

    if hasattr(signal, "SIGPIPE"):  # `vlab ... | head` ends quietly, like other Unix tools
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if debug:  # accepted anywhere on the line, not only before the command
        args_list = ["--debug", *(a for a in args_list if a != "--debug")]
    try:
        args = build_parser().parse_args(args_list)
        if getattr(args, "run", None) is None:
            raise UsageError("a command is required (see vlab --help)")
        code = args.run(args)
    except UsageError as exc:
        _report(f"vlab: error: {_one_line(exc)}", debug)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        _report(f"vlab: internal error: {type(exc).__name__}: {_one_line(exc)}", debug)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code)


def _report(line: str, debug: bool) -> None:
    if debug:
        import traceback

        traceback.print_exc()
    print(scrub(line), file=sys.stderr)  # the guard: _one_line already escaped the message
