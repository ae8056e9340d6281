"""``vlab receipt check``: standalone BudgetSettlementReceipt files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vlab.cli import common as c
from vlab.core.escape import human

HELP = "Receipt tools: check standalone BudgetSettlementReceipt files."
USAGE = "usage: vlab receipt check FILE..."

app = c.group_app("receipt", HELP, USAGE, "0 every receipt valid", "1 some receipt invalid")


@app.command("check", epilog=c.epilog("0 every receipt valid", "1 some receipt invalid"))
def check(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        c.path_argument("FILE...", "BudgetSettlementReceipt JSON files, each checked on its own."),
    ],
    fmt: Annotated[
        str,
        c.table_or_json("table: VALID or INVALID a file, and its findings; json: a list."),
    ] = "table",
    ruleset: Annotated[
        str,
        typer.Option(
            "--ruleset",
            metavar="ID_OR_PATH",
            help="The ruleset whose receipt schema and checks to use.",
        ),
    ] = "ruleset-1.2",
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Validate standalone BudgetSettlementReceipt files (schema and arithmetic)."""
    from vlab.core import strictjson
    from vlab.core.canonical import canonical_bytes
    from vlab.core.errors import UsageError
    from vlab.core.inputs import read_input
    from vlab.domains.settlement import receipt_findings

    s = c.session(ctx, quiet, no_color)
    rs = s.catalog(rulesets_dir).resolve(ruleset)
    schema = rs.extra_schemas.get("budget_settlement_receipt")
    if schema is None:
        raise UsageError(f"{rs.id} ships no BudgetSettlementReceipt schema")
    rows: list[dict[str, Any]] = []
    for name in files:
        path = Path(name)
        data = read_input(path, what="receipt")  # a regular file, bounded: never /dev/zero
        try:
            receipt = strictjson.loads(data)
        except strictjson.StrictJSONError as err:
            found = [{"code": "RCPT-SCHEMA-INVALID", "message": f"{err.code}: {err.message}"}]
        else:
            found = [d.to_finding() for d in receipt_findings(receipt, schema)]
        codes = list(dict.fromkeys(f["code"] for f in found))
        rows.append({"file": str(path), "valid": not found, "codes": codes, "findings": found})
    if fmt == "json":
        s.stdout(canonical_bytes([{k: r[k] for k in ("file", "valid", "codes")} for r in rows]))
        s.stdout(b"\n")
    else:
        for r in rows:
            s.echo(f"{'VALID' if r['valid'] else 'INVALID'} {human(r['file'])}")
            for f in r["findings"]:
                s.echo(f"  {human(f['code'])}: {human(f['message'])}")
    return 0 if all(r["valid"] for r in rows) else 1
