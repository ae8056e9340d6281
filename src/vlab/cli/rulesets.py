"""``vlab rulesets list|show|lint``: the installed rulesets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vlab.cli import common as c
from vlab.core.escape import human

HELP = "The installed rulesets: list them, show one, lint a ruleset file."
USAGE = "usage: vlab rulesets list|show|lint"

app = c.group_app("rulesets", HELP, USAGE, "0 done", "1 lint found errors")


@app.command("list", epilog=c.epilog("0 listed"))
def list_(
    ctx: typer.Context,
    fmt: Annotated[
        str, c.table_or_json("table: id, version, status, digest; json: also the purpose.")
    ] = "table",
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """List the installed rulesets (shipped, VLAB_RULESETS_PATH, --rulesets-dir)."""
    from vlab.core.canonical import canonical_bytes

    s = c.session(ctx, quiet, no_color)
    catalog = s.catalog(rulesets_dir)
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
        s.stdout(canonical_bytes(rows) + b"\n")
    else:
        for row in rows:
            s.echo(
                f"{c.shown(row['id']):<14} {c.shown(row['version']):<8} "
                f"{c.shown(row['status']):<9} {c.shown(row['sha256'])}"
            )
    return 0


@app.command("show", epilog=c.epilog("0 shown"))
def show(
    ctx: typer.Context,
    ruleset_id: Annotated[
        str,
        typer.Argument(
            metavar="ID",
            help="An installed ruleset id (see `vlab rulesets list`) or a ruleset folder/file.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        str,
        c.table_or_json(
            "table: one line a field and a clause; json: the summary a pack pins against "
            "(id, version, status, sha256, schema_bundle_sha256, clauses...)."
        ),
    ] = "table",
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Show one ruleset: its digests, pins, codes and clauses."""
    from vlab.core.canonical import canonical_bytes

    s = c.session(ctx, quiet, no_color)
    summary = s.catalog(rulesets_dir).resolve(ruleset_id).summary()
    if fmt == "json":
        s.stdout(canonical_bytes(summary) + b"\n")
        return 0
    for key in ("id", "version", "status", "purpose", "sha256", "schema_bundle_sha256"):
        s.echo(f"{key}: {c.shown(summary[key])}")
    s.echo(f"protocol_pins: {', '.join(map(human, summary['protocol_pins']))}")
    s.echo(f"contract_versions: {', '.join(map(human, summary['contract_versions']))}")
    s.echo(f"domain_checks: {', '.join(map(human, summary['domain_checks'])) or 'none'}")
    for code, meaning in summary["declared_codes"].items():
        s.echo(f"code {human(code)}: {c.shown(meaning)}")
    s.echo("clauses:")
    for cl in summary["clauses"]:
        s.echo(
            f"  {human(cl['clause_id'])} ({human(cl['requirement_id'])}, {human(cl['domain'])}): "
            f"{c.shown(cl['title'])}"
        )
    return 0


@app.command("lint", epilog=c.epilog("0 no errors (warnings allowed)", "1 errors found"))
def lint(
    ctx: typer.Context,
    path: Annotated[
        str,
        c.path_argument("PATH", "A ruleset file (ruleset.yaml) or the folder holding it."),
    ],
    vectors: Annotated[
        Path | None,
        typer.Option(
            "--vectors",
            metavar="DIR",
            click_type=c.AS_PATH,
            help="Golden vectors to check coverage against: a warning for each clause and "
            "status no vector shows.",
            show_default=False,
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Check a ruleset file: errors with file and line; warnings for uncovered clauses."""
    from vlab.core.errors import UsageError
    from vlab.ruleset.lint import lint as run_lint

    s = c.session(ctx, quiet, no_color)
    target = Path(path)
    if not target.exists():
        raise UsageError(f"not found: {target}")
    errors, warnings = run_lint(target, s.catalog(rulesets_dir), vectors)
    for line in errors:
        s.echo(f"error: {human(line)}")
    for line in warnings:
        s.echo(f"warning: {human(line)}")
    s.echo(f"{len(errors)} error(s), {len(warnings)} warning(s)")
    return 1 if errors else 0
