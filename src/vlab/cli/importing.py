"""``vlab import SYSTEM SOURCE... --out PACK``: a real system's output as a sealed
contract-1.2 pack (importers.md §1). The work is ``vlab.importers.import_pack``."""

from __future__ import annotations

from typing import Annotated

import typer

from vlab.cli import common as c

EXIT_NOT_THAT_SYSTEM = 65
HELP = (
    "Import a real system's output (agentplane, hal0, agentv, runcap) as a sealed evidence "
    "pack; "
    "then vlab adjudicate PACK judges it."
)
EPILOG = c.epilog("0 imported", "65 SOURCE is not that system's output")


def _opt(flag: str, metavar: str, help_text: str) -> object:
    return typer.Option(flag, metavar=metavar, help=help_text, show_default=False)


def import_(
    ctx: typer.Context,
    system: Annotated[
        str | None,
        typer.Argument(
            metavar="SYSTEM",
            help="The system that wrote SOURCE (vlab import --list names them).",
            show_default=False,
        ),
    ] = None,
    sources: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SOURCE...",
            click_type=c.PATH,
            help="The system's files or folder, as it wrote them.",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        str | None,
        _opt(
            "--out",
            "PACK",
            "The pack folder to write (must be empty), or an archive pack file ending in "
            ".tar, .tar.gz, .tgz or .zip.",
        ),
    ] = None,
    list_: Annotated[
        bool, typer.Option("--list", help="Name every system vlab imports, and exit.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Replace PACK when it is already a pack.")
    ] = False,
    ruleset: Annotated[
        str | None,
        _opt("--ruleset", "ID", "The ruleset the pack pins (default: ruleset-1.3)."),
    ] = None,
    run_id: Annotated[
        str | None, _opt("--run-id", "ID", "The run id (default: the one the evidence names).")
    ] = None,
    admission: Annotated[
        str | None, _opt("--admission", "FILE", "agentplane: the AttemptAdmissionReceipt.")
    ] = None,
    contract: Annotated[
        str | None, _opt("--contract", "FILE", "agentplane: the GovernedRunContract.")
    ] = None,
    agent: Annotated[
        str | None, _opt("--agent", "ID", "hal0: the agent (default: the only one).")
    ] = None,
    persona: Annotated[
        str | None, _opt("--persona", "ID", "hal0: the persona (default: the only one).")
    ] = None,
    checks: Annotated[
        str | None,
        _opt("--checks", "FILE", "hal0: a log of budget-check calls and their responses."),
    ] = None,
    eval_: Annotated[
        str | None, _opt("--eval", "FILE", "agentv: the eval YAML the run used.")
    ] = None,
    budget_usd: Annotated[
        str | None,
        _opt(
            "--budget-usd",
            "X",
            "agentv: the --budget-usd the run was given (not recorded by agentv).",
        ),
    ] = None,
    workers: Annotated[
        int | None,
        _opt("--workers", "N", "agentv: the --workers the run was given (agentv records none)."),
    ] = None,
    exit_code: Annotated[
        int | None,
        _opt(
            "--exit-code",
            "N",
            "agentv: the run's exit status, kept as a claim (agentv writes it nowhere).",
        ),
    ] = None,
    repo: Annotated[
        str | None,
        _opt("--repo", "ROOT", "mplp: the upstream checkout a pack_root may point into."),
    ] = None,
    outcome: Annotated[
        str | None,
        _opt(
            "--outcome",
            "ID",
            "runcap: the outcome id (default: the one .runcap/outcomes/latest names).",
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Import SOURCE, as SYSTEM wrote it, into a sealed evidence pack at PACK."""
    from vlab.core.errors import UsageError
    from vlab.core.escape import human
    from vlab.importers import registry
    from vlab.importers.api import import_pack, importer_for
    from vlab.importers.base import ImportRefused

    s = c.session(ctx, quiet, no_color)
    if list_:
        for name in registry.systems():
            found = registry.get(name)
            assert found is not None
            s.echo(f"{name:<12} {found.summary}")
        return 0
    if system is None:
        raise UsageError("vlab import needs SYSTEM (vlab import --list names them)")
    importer_for(system)  # an unknown system is a usage error before anything is read
    if not sources:
        raise UsageError(f"vlab import {system} needs SOURCE")
    if out is None:
        raise UsageError("vlab import needs --out PACK")
    given = {
        "admission": admission,
        "contract": contract,
        "agent": agent,
        "persona": persona,
        "checks": checks,
        "eval": eval_,
        "budget_usd": budget_usd,
        "workers": workers,
        "exit_code": exit_code,
        "repo": repo,
    }
    options = {k: v for k, v in given.items() if v is not None}
    try:
        result = import_pack(
            system,
            sources,
            out,
            ruleset=ruleset,
            run_id=run_id,
            force=force,
            catalog=s.catalog(rulesets_dir),
            **options,
        )
    except ImportRefused as exc:
        s.error(human(str(exc)))
        return EXIT_NOT_THAT_SYSTEM
    s.echo(
        f"imported {system}: {result.files_read} native file(s) read, "
        f"{result.records_derived} record(s) derived, sealed at {human(str(result.pack))}"
    )
    for line in result.notes:
        s.echo(f"  {human(line)}")
    s.echo(f"next: vlab adjudicate {human(str(result.pack))}")
    return 0
