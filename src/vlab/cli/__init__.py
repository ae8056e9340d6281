"""The ``vlab`` command line (typer + rich).

``main`` is the console script (``vlab = "vlab.cli:main"``, also ``python -m vlab``): every
outcome maps to an exit status (adjudication.md §5), every error is one line on stderr and
no traceback is shown unless ``--debug``. The app is in ``vlab.cli.app``, one module per
command group beside it; heavy modules (the engine, jsonschema, ruamel.yaml) are imported
inside the command that needs them, so ``vlab --help`` does not load them.

``_catalog`` is the one place every command gets its rulesets from (tests replace it).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from vlab.core.errors import UsageError
from vlab.core.escape import human, scrub
from vlab.core.vocabulary import EXIT_INTERNAL, EXIT_USAGE

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog

__all__ = ["build_parser", "main", "run"]


def _catalog(dirs: Sequence[str] = ()) -> Catalog:
    """Shipped rulesets plus ``VLAB_RULESETS_PATH`` and every ``--rulesets-dir``."""
    from vlab.tools.pool import catalog_for

    return catalog_for(tuple(dirs))


def run(argv: Sequence[str], debug: bool = False) -> int:
    """Run one command line in this process and return its exit status; a usage error is
    raised as ``UsageError`` (``main`` makes it exit 64), any other error propagates."""
    from vlab.cli.app import run as run_app
    from vlab.cli.common import Session

    # ``_catalog`` is looked up now, so a replacement (a test's) is what the commands use.
    return run_app(argv, Session(catalog_factory=lambda dirs: _catalog(dirs), debug=debug))


def _one_line(exc: BaseException) -> str:
    """An error as one escaped line. vlab's own messages (UsageError) are one line by
    construction, so a line break in one came from data: all of it is shown, escaped,
    never cut at the break. Other exceptions may carry long multi-line texts (a schema
    error quotes its schema): their first line is shown, escaped too."""
    text = str(exc).strip()
    if not isinstance(exc, UsageError):
        text = text.splitlines()[0] if text else ""
    return human(text) if text else type(exc).__name__


def main(argv: list[str] | None = None) -> NoReturn:
    """Console entry point: every outcome maps to its exit status, one line per error."""
    import signal

    if hasattr(signal, "SIGPIPE"):  # `vlab ... | head` ends quietly, like other Unix tools
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if debug:  # accepted anywhere on the line, not only before the command
        args_list = ["--debug", *(a for a in args_list if a != "--debug")]
    try:
        code = run(args_list, debug)
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


class _Invocation:
    """What ``build_parser().parse_args(argv)`` gives: ``.run(_)`` runs the line."""

    def __init__(self, argv: Sequence[str]) -> None:
        self.argv = [str(a) for a in argv]

    def run(self, _args: object = None) -> int:
        return run(self.argv)


class _Parser:
    def parse_args(self, argv: Sequence[str]) -> _Invocation:
        return _Invocation(argv)


def build_parser() -> _Parser:
    """The argparse-era in-process entry (``build_parser().parse_args(argv).run(args)``),
    kept for callers written against it; new code calls ``run(argv)``."""
    return _Parser()
