"""``vlab explain CODE``: what a reason or detail code means, and what triggers it."""

from __future__ import annotations

from typing import Annotated

import typer

from vlab.cli import common as c
from vlab.core.escape import scrub

HELP = "What a reason or detail code means, which clauses emit it, and evidence that does."


def explain(
    ctx: typer.Context,
    code: Annotated[
        str,
        typer.Argument(
            metavar="CODE",
            help="A reason or detail code as a ruling shows it (REQ-FAIL-RQ-D1-01, "
            "PIN-BUNDLE-MISSING, ...).",
            show_default=False,
        ),
    ],
    no_color: c.NoColor = False,
) -> int:
    """What a reason or detail code means, which clauses emit it, and evidence that does."""
    from vlab.tools.explain import explain as explain_code

    s = c.session(ctx, no_color=no_color)
    text = scrub(explain_code(code), keep_newlines=True).rstrip("\n") + "\n"
    s.stdout(text.encode("utf-8", "backslashreplace"))
    return 0
