"""``vlab receipt check``: standalone BudgetSettlementReceipt files (vlab's dialect or
agentplane's; the work is in ``vlab.tools.receipt``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from vlab.cli import common as c
from vlab.core.escape import human

HELP = "Receipt tools: check standalone BudgetSettlementReceipt files (vlab's or agentplane's)."
USAGE = "usage: vlab receipt check FILE..."

app = c.group_app("receipt", HELP, USAGE, "0 every receipt valid", "1 some receipt invalid")


@app.command("check", epilog=c.epilog("0 every receipt valid", "1 some receipt invalid"))
def check(
    ctx: typer.Context,
    files: Annotated[
        list[str],
        c.path_argument(
            "FILE...",
            "BudgetSettlementReceipt JSON files (vlab's or agentplane's dialect), each checked "
            "on its own.",
        ),
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
            help="The ruleset whose receipt schemas and settlement check to use "
            "(ruleset-1.3 knows agentplane's dialect; ruleset-1.2 only vlab's).",
        ),
    ] = "ruleset-1.3",
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Validate standalone settlement receipts (schema and arithmetic), in vlab's dialect
    or agentplane's (detected per file by ``schema`` vs ``schemaVersion``)."""
    from vlab.core.canonical import canonical_bytes
    from vlab.core.inputs import read_input
    from vlab.tools.receipt import check_receipt, settlement_check

    s = c.session(ctx, quiet, no_color)
    rs = s.catalog(rulesets_dir).resolve(ruleset)
    settlement_check(rs)  # a usage error when the ruleset has no receipt schema
    rows: list[dict[str, Any]] = []
    for name in files:
        path = Path(name)
        data = read_input(path, what="receipt")  # a regular file, bounded: never /dev/zero
        found = check_receipt(data, rs)
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
