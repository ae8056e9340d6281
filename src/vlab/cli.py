"""The ``vlab`` command line. Heavy modules are imported inside commands (lean start-up)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vlab.errors import EXIT_BY_TOPLINE, EXIT_INTERNAL, EXIT_USAGE, UsageError

if TYPE_CHECKING:
    from vlab.pack.limits import Limits
    from vlab.ruleset.catalog import Catalog

app = typer.Typer(
    name="vlab",
    help="Validation lab for AI-agent runs: admit an evidence pack, apply a ruleset, rule.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
rulesets_app = typer.Typer(help="Installed rulesets.", no_args_is_help=True)
pack_app = typer.Typer(help="Producer-side pack tools.", no_args_is_help=True)
app.add_typer(rulesets_app, name="rulesets")
app.add_typer(pack_app, name="pack")

FORMATS = ("table", "json", "md")

PackArg = Annotated[Path, typer.Argument(help="Evidence pack directory.", show_default=False)]
FormatOpt = Annotated[str, typer.Option("--format", help="table, json or md.")]
OutOpt = Annotated[
    list[str] | None,
    typer.Option("--out", help="Also write FMT=PATH (json, md, table); repeatable."),
]
MaxFiles = Annotated[int | None, typer.Option("--max-files", min=1)]
MaxFileBytes = Annotated[int | None, typer.Option("--max-file-bytes", min=1)]
MaxPackBytes = Annotated[int | None, typer.Option("--max-pack-bytes", min=1)]
MaxLineBytes = Annotated[int | None, typer.Option("--max-line-bytes", min=1)]


def _catalog() -> Catalog:
    from vlab.ruleset.catalog import Catalog

    return Catalog()


def _limits(
    max_files: int | None,
    max_file_bytes: int | None,
    max_pack_bytes: int | None,
    max_line_bytes: int | None,
) -> Limits:
    from dataclasses import replace

    from vlab.pack.limits import Limits

    limits = Limits()
    for name, value in (
        ("max_files", max_files),
        ("max_file_bytes", max_file_bytes),
        ("max_pack_bytes", max_pack_bytes),
        ("max_line_bytes", max_line_bytes),
    ):
        if value is not None:
            limits = replace(limits, **{name: value})
    return limits


def _check_format(fmt: str, allowed: tuple[str, ...] = FORMATS) -> None:
    if fmt not in allowed:
        raise UsageError(f"--format must be one of {', '.join(allowed)}, not {fmt!r}")


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


def _stdout(data: bytes) -> None:
    sys.stdout.buffer.write(data)
    sys.stdout.flush()


@app.command()
def adjudicate(
    pack: PackArg,
    ruleset: Annotated[
        str | None,
        typer.Option("--ruleset", help="Shadow run under this ruleset id or path."),
    ] = None,
    fmt: FormatOpt = "table",
    out: OutOpt = None,
    max_files: MaxFiles = None,
    max_file_bytes: MaxFileBytes = None,
    max_pack_bytes: MaxPackBytes = None,
    max_line_bytes: MaxLineBytes = None,
) -> int:
    """Admit and judge one pack. Exit 0 PASS, 1 FAIL, 2 NOT_ADMISSIBLE, 3 NOT_EVALUATED."""
    from vlab.adjudicator import adjudicate as run
    from vlab.render import render, render_table

    _check_format(fmt)
    outs = _parse_outs(out, FORMATS)
    catalog = _catalog()
    override = catalog.resolve(ruleset) if ruleset is not None else None
    limits = _limits(max_files, max_file_bytes, max_pack_bytes, max_line_bytes)
    ruling = run(pack, catalog, override=override, limits=limits)
    for out_fmt, path in outs:
        _write_out(path, render(ruling, out_fmt))
    if fmt == "table":
        render_table(ruling)
    else:
        _stdout(render(ruling, fmt))
    return EXIT_BY_TOPLINE[ruling["topline"]]


@app.command()
def validate(
    pack: PackArg,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    max_files: MaxFiles = None,
    max_file_bytes: MaxFileBytes = None,
    max_pack_bytes: MaxPackBytes = None,
    max_line_bytes: MaxLineBytes = None,
) -> int:
    """Run the admission gates only. Exit 0 admissible, 2 not."""
    from vlab.adjudicator import admit_pack
    from vlab.canonical import canonical_bytes

    _check_format(fmt, ("table", "json"))
    limits = _limits(max_files, max_file_bytes, max_pack_bytes, max_line_bytes)
    admission = admit_pack(pack, _catalog(), limits)
    doc = admission.to_json()
    if fmt == "json":
        _stdout(canonical_bytes(doc) + b"\n")
    else:
        from rich.console import Console

        console = Console(highlight=False)
        console.print(f"admission {doc['status']}")
        for gate in doc["gates"]:
            console.print(f"  {gate['gate']:<20} {gate['status']}")
            for d in gate["details"]:
                where = d["artifact_path"] or ""
                line = f":{d['line']}" if d["line"] is not None else ""
                console.print(f"    {d['code']} {where}{line} {d['message']}", markup=False)
    return 0 if admission.admissible else 2


@app.command()
def regress(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Folder of golden vectors.")],
    ruleset: Annotated[
        str | None,
        typer.Option("--ruleset", help="Run every vector under this ruleset id or path."),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="Worker processes.")] = 1,
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
    out: OutOpt = None,
) -> int:
    """Run every golden vector under DIR against its expected.json. Exit 0 all match, 1 not."""
    from vlab import regress as rg
    from vlab.canonical import canonical_bytes
    from vlab.registry import registry

    _check_format(fmt, ("table", "json"))
    outs = _parse_outs(out, ("json", "junit"))
    catalog = _catalog()
    override = catalog.resolve(ruleset) if ruleset is not None else None

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = override if override is not None else catalog.get(ruleset_id)
        return None if rs is None else {c.clause_id for c in rs.clauses}

    vectors = rg.load_vectors(directory, clause_ids_of, override.id if override else None)
    used = sorted(
        {
            override.id if override else v.expected["ruleset"]
            for v in vectors
            if override or v.expected["ruleset"]
        }
    )
    rulesets = [override] if override else [catalog.get(i) for i in used]
    shadow = ruleset if ruleset is not None else None
    outcomes = _run_with_progress(rg, vectors, shadow, jobs)
    summary = rg.summarize(
        outcomes, [r for r in rulesets if r is not None], set(registry()["detail_codes"])
    )
    for out_fmt, path in outs:
        data = (
            canonical_bytes(summary) + b"\n"
            if out_fmt == "json"
            else rg.junit_xml(outcomes, summary)
        )
        _write_out(path, data)
    if fmt == "json":
        _stdout(canonical_bytes(summary) + b"\n")
    else:
        _print_regress(summary)
    return 0 if summary["failed"] == 0 else 1


def _run_with_progress(rg: Any, vectors: list[Any], shadow: str | None, jobs: int) -> Any:
    if not sys.stderr.isatty():
        return rg.run_vectors(vectors, shadow, jobs)
    from rich.progress import Progress

    with Progress(transient=True) as bar:
        task = bar.add_task("vectors", total=len(vectors))
        return rg.run_vectors(vectors, shadow, jobs, lambda n: bar.advance(task, n))


def _print_regress(summary: dict[str, Any]) -> None:
    for m in summary["mismatches"]:
        typer.echo(
            f"MISMATCH {m['vector']}: {m['field']}: expected {m['expected']!r}, "
            f"actual {m['actual']!r}"
        )
    typer.echo(
        f"{summary['total']} vectors: {summary['passed']} passed, {summary['failed']} failed"
    )
    typer.echo("coverage:")
    for rq, statuses in summary["coverage"].items():
        typer.echo(f"  {rq}: {', '.join(statuses)}")
    if summary["uncovered"]:
        cells = ", ".join(f"{u['requirement_id']}/{u['status']}" for u in summary["uncovered"])
        typer.echo(f"uncovered: {cells}")
    else:
        typer.echo("uncovered: none")
    gates = ", ".join(f"{g} {n}" for g, n in summary["gates"].items())
    typer.echo(f"NOT_ADMISSIBLE by gate: {gates}")
    if summary["uncovered_detail_codes"]:
        typer.echo(f"detail codes no vector shows: {', '.join(summary['uncovered_detail_codes'])}")


@rulesets_app.command("list")
def rulesets_list(
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> int:
    """List installed rulesets."""
    from vlab.canonical import canonical_bytes

    _check_format(fmt, ("table", "json"))
    catalog = _catalog()
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
    if fmt == "json":
        _stdout(canonical_bytes(rows) + b"\n")
    else:
        for row in rows:
            typer.echo(f"{row['id']:<14} {row['version']:<8} {row['status']:<9} {row['sha256']}")
    return 0


@rulesets_app.command("show")
def rulesets_show(
    ruleset_id: Annotated[str, typer.Argument(metavar="ID", help="Ruleset id or path.")],
    fmt: Annotated[str, typer.Option("--format", help="table or json.")] = "table",
) -> int:
    """Show one ruleset: identity, digests, pins it accepts, clauses."""
    from vlab.canonical import canonical_bytes

    _check_format(fmt, ("table", "json"))
    summary = _catalog().resolve(ruleset_id).summary()
    if fmt == "json":
        _stdout(canonical_bytes(summary) + b"\n")
        return 0
    for key in ("id", "version", "status", "purpose", "sha256", "schema_bundle_sha256"):
        typer.echo(f"{key}: {summary[key]}")
    typer.echo(f"protocol_pins: {', '.join(summary['protocol_pins'])}")
    typer.echo(f"contract_versions: {', '.join(summary['contract_versions'])}")
    typer.echo("clauses:")
    for c in summary["clauses"]:
        typer.echo(f"  {c['clause_id']} ({c['requirement_id']}, {c['domain']}): {c['title']}")
    return 0


@pack_app.command("seal")
def pack_seal(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Pack folder to seal.")],
) -> int:
    """Write integrity/sha256sums.txt for every other file of a pack folder."""
    from vlab.seal import seal

    if not directory.exists():
        raise UsageError(f"pack not found: {directory}")
    count = seal(directory)
    typer.echo(f"sealed {count} files", err=True)
    return 0


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def main(argv: list[str] | None = None) -> None:
    """Console entry point: maps every outcome to its exit status, one line per error."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args = [a for a in args if a != "--debug"]
    command = typer.main.get_command(app)
    try:
        code: Any = command.main(args=args, prog_name="vlab", standalone_mode=False)
    except UsageError as exc:
        if debug:
            raise
        print(f"vlab: error: {_one_line(exc)}", file=sys.stderr)
        sys.exit(EXIT_USAGE)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        # click's own usage errors (vendored or not) carry exit_code and format_message.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            if debug:
                raise
            print(f"vlab: error: {_one_line(Exception(exc.format_message()))}", file=sys.stderr)
            sys.exit(EXIT_USAGE)
        if debug:
            raise
        print(f"vlab: internal error: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        sys.exit(EXIT_INTERNAL)
    sys.exit(code if isinstance(code, int) else 0)
