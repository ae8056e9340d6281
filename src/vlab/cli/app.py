"""The typer app: the root options, every command and group, and one in-process run.

typer builds the click command tree from the functions' typed signatures; help, shell
completion (``--install-completion`` / ``--show-completion``) and "did you mean" come with
it. A run goes through typer's command in non-standalone mode, so every outcome comes back
here: a parse error as a one-line usage error (exit 64), a command's return value as the
exit status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

import typer
from typer._click import exceptions as click_exceptions

from vlab import __version__
from vlab.cli import common as c
from vlab.core.errors import UsageError

PROG = "vlab"
HELP = (
    "Validation lab for AI-agent runs: admit an evidence pack, apply a declarative ruleset, "
    "emit a deterministic ruling."
)
EPILOG = (
    "Each command's --help lists its exit statuses; every command exits 64 on a usage "
    "error and 70 on an internal error. Judge your own run: vlab pack init DIR --ruleset "
    "ID, add evidence, vlab pack seal DIR, vlab adjudicate DIR."
)
JUDGE, GOVERN, MAKE, REFERENCE = "Judging", "Ruleset governance", "Making packs", "Reference"
CONTEXT = {"help_option_names": ["-h", "--help"]}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"{PROG} {__version__}")
        raise typer.Exit(0)


# -- shell completion: typer's scripts and installers, with the shell named or detected --

SHELLS = ("bash", "zsh", "fish", "powershell", "pwsh")
COMPLETE_VAR = f"_{PROG.upper()}_COMPLETE"  # the variable the completion scripts set
COMPLETION_OPTIONS = ("--show-completion", "--install-completion")


def _show_completion(value: str | None) -> None:
    if value:
        from typer._completion_shared import get_completion_script

        typer.echo(get_completion_script(prog_name=PROG, complete_var=COMPLETE_VAR, shell=value))
        raise typer.Exit(0)


def _install_completion(value: str | None) -> None:
    if value:
        from typer._completion_shared import install

        shell, path = install(shell=value, prog_name=PROG, complete_var=COMPLETE_VAR)
        typer.echo(f"{shell} completion installed in {path}")
        typer.echo("Completion will take effect once you restart the terminal")
        raise typer.Exit(0)


def with_shell(argv: Sequence[str]) -> list[str]:
    """``argv`` with the shell named after a root ``--show-completion`` or
    ``--install-completion`` that names none: the shell vlab runs under (as typer's own
    options detect it), or a usage error when it cannot be told."""
    out = list(argv)
    for i, arg in enumerate(out):
        if not arg.startswith("-"):
            break  # the root's options end at the command
        if arg in COMPLETION_OPTIONS and (i + 1 == len(out) or out[i + 1].startswith("-")):
            from typer._completion_shared import _get_shell_name

            shell = _get_shell_name()
            if shell not in SHELLS:
                raise UsageError(f"{arg} needs a shell: {arg} {'|'.join(SHELLS)}")
            out.insert(i + 1, shell)
            break
    return out


def root(
    ctx: typer.Context,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print vlab's version and exit."
        ),
    ] = False,
    debug: Annotated[
        bool,
        typer.Option(
            "--debug", help="Show a Python traceback on errors (accepted anywhere on the line)."
        ),
    ] = False,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
    install_completion: Annotated[
        str | None,
        typer.Option(
            "--install-completion",
            metavar="SHELL",
            click_type=c.Choice(SHELLS),
            is_eager=True,
            callback=_install_completion,
            help="Install tab completion of vlab for SHELL (default: the shell you run).",
            show_default=False,
        ),
    ] = None,
    show_completion: Annotated[
        str | None,
        typer.Option(
            "--show-completion",
            metavar="SHELL",
            click_type=c.Choice(SHELLS),
            is_eager=True,
            callback=_show_completion,
            help="Print the completion script for SHELL (default: the shell you run), to "
            "copy it or customise the installation.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Validation lab for AI-agent runs: admit an evidence pack, apply a declarative
    ruleset, emit a deterministic ruling."""
    s = c.session(ctx, quiet, no_color)
    s.debug = s.debug or debug
    if ctx.invoked_subcommand is None:
        raise UsageError("a command is required (see vlab --help)")


def _register(app: typer.Typer, name: str) -> None:
    """Register the top-level command ``name`` on ``app``, importing its module only now
    (a run imports the module of the command it runs, and no other)."""
    if name in ("adjudicate", "validate"):
        _register_judging(app, name)
    elif name in ("regress", "diff", "review"):
        _register_governance(app, name)
    elif name == "batch":
        from vlab.cli import batch

        app.command(name, help=batch.HELP, epilog=batch.EPILOG, rich_help_panel=JUDGE)(batch.batch)
    elif name == "explain":
        from vlab.cli import explain

        app.command(
            name, help=explain.HELP, epilog=c.epilog("0 explained"), rich_help_panel=REFERENCE
        )(explain.explain)
    elif name == "rulesets":  # the groups are typer apps of their own, built at import
        from vlab.cli import rulesets

        app.add_typer(rulesets.app, rich_help_panel=GOVERN)
    elif name == "pack":
        from vlab.cli import pack

        app.add_typer(pack.app, rich_help_panel=MAKE)
    elif name == "receipt":
        from vlab.cli import receipt

        app.add_typer(receipt.app, rich_help_panel=MAKE)
    elif name == "keys":
        from vlab.cli import keys

        app.add_typer(keys.app, rich_help_panel=MAKE)
    elif name == "attestation":
        from vlab.cli import attestation

        app.add_typer(attestation.app, rich_help_panel=JUDGE)
    elif name == "import":
        from vlab.cli import importing

        app.command(name, help=importing.HELP, epilog=importing.EPILOG, rich_help_panel=MAKE)(
            importing.import_
        )


def _register_judging(app: typer.Typer, name: str) -> None:
    from vlab.cli import adjudicate

    if name == "adjudicate":
        app.command(
            name,
            cls=c.Command,
            help=adjudicate.ADJUDICATE_HELP,
            epilog=c.VERDICT_EPILOG,
            rich_help_panel=JUDGE,
        )(adjudicate.adjudicate)
    elif name == "validate":
        app.command(
            name,
            help=adjudicate.VALIDATE_HELP,
            epilog=c.epilog("0 ADMISSIBLE", "2 NOT_ADMISSIBLE"),
            rich_help_panel=JUDGE,
        )(adjudicate.validate)


def _register_governance(app: typer.Typer, name: str) -> None:
    from vlab.cli import tools

    if name == "regress":
        app.command(
            name,
            help=tools.REGRESS_HELP,
            epilog=c.epilog("0 every vector matches its expectation", "1 a mismatch"),
            rich_help_panel=GOVERN,
        )(tools.regress)
    elif name == "diff":
        app.command(
            name, help=tools.DIFF_HELP, epilog=c.epilog("0 compared"), rich_help_panel=GOVERN
        )(tools.diff)
    elif name == "review":
        app.command(
            name,
            help=tools.REVIEW_HELP,
            epilog=c.epilog(
                "0 the ruling is intact (and, with --pack, this pack's)",
                "1 the ruling was edited, or it does not match the pack",
            ),
            rich_help_panel=GOVERN,
        )(tools.review)


COMMANDS = (
    "adjudicate",
    "validate",
    "batch",
    "regress",
    "diff",
    "review",
    "rulesets",
    "explain",
    "pack",
    "receipt",
    "import",
    "keys",
    "attestation",
)


def build(only: str | None = None) -> typer.Typer:
    """The app, with every command, or with ``only`` that one (the command a line runs:
    typer builds the click tree of every command it is given, about a tenth of a small
    adjudication's start-up, so a run builds just its own)."""
    app = typer.Typer(
        name=PROG,
        help=HELP,
        epilog=EPILOG,
        invoke_without_command=True,
        add_completion=False,  # vlab's own options below: the shell can be named
        pretty_exceptions_enable=False,
        context_settings=CONTEXT,
    )
    app.callback()(root)
    for name in COMMANDS if only is None else (only,):
        _register(app, name)
    return app


def command_of(argv: Sequence[str]) -> str | None:
    """The top-level command ``argv`` runs, when it runs one whatever the others are: not
    for the root's help or completion, a name that is not a command, or a completion
    request from the shell (these need every command)."""
    import os

    first = next((i for i, a in enumerate(argv) if not a.startswith("-")), None)
    if first is None or argv[first] not in COMMANDS:
        return None
    before = argv[:first]
    if any(a in ("-h", "--help") or a.endswith("-completion") for a in before):
        return None
    if COMPLETE_VAR in os.environ:
        return None
    return argv[first]


def _click_message(exc: click_exceptions.ClickException) -> str:
    """click's message in vlab's style: lower-case start, "; did you mean", and where the
    command's help is."""
    import re

    text = exc.format_message().strip().replace("\n", " ")
    text = re.sub(r"\s*\(Possible options: (.*)\)", r"; did you mean \1?", text)
    text = re.sub(r"\.?\s+Did you mean (.*)\?", r"; did you mean \1?", text)
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    text = text.rstrip(".")
    ctx = getattr(exc, "ctx", None)
    if ctx is not None and "did you mean" not in text:
        text += f" (see {ctx.command_path} --help)"
    return text


def run(argv: Sequence[str], session: c.Session) -> int:
    """One command line, in this process: its exit status. A usage error (click's parse
    errors included) is raised as ``UsageError``; any other exception propagates."""
    import os

    from typer._completion_classes import completion_init
    from typer.main import get_command

    argv = with_shell(argv)
    if COMPLETE_VAR in os.environ:  # a completion request from a shell's script
        completion_init()
    command = get_command(build(command_of(argv)))
    try:
        code = command.main(args=list(argv), prog_name=PROG, standalone_mode=False, obj=session)
    except click_exceptions.ClickException as exc:  # UsageError, BadParameter, NoSuchOption
        raise UsageError(_click_message(exc)) from exc
    except typer.Abort:
        return 130
    finally:
        session.restore()
    return code if isinstance(code, int) else 0
