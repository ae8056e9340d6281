"""The start-up baseline for vlab's command line: a minimal typer app (benchmarks/suites/cold.py).

Two commands, so typer builds a group as it does for vlab; ``judge PACK`` imports the
dependencies ``vlab adjudicate`` may import (typer, rich, jsonschema, ruamel.yaml,
jmespath, orjson, rfc8785) inside the command, as vlab does, and does one small piece of
each one's work on the pack's control files: what a command line built on these libraries
cannot start faster than. ``--help`` is typer's rich help, as ``vlab --help``.

    python benchmarks/minimal_typer_app.py judge PACK
    python benchmarks/minimal_typer_app.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="A minimal typer app: vlab's start-up baseline.", add_completion=True)


@app.command()
def judge(pack: Annotated[Path, typer.Argument(help="A pack folder.")]) -> None:
    """Validate a pack's manifest, query it and print it canonically."""
    import jmespath
    import jsonschema
    import orjson
    import rfc8785
    from rich.console import Console
    from ruamel.yaml import YAML

    manifest = orjson.loads((pack / "manifest.json").read_bytes())
    schema = YAML(typ="safe", pure=True).load("type: object\nrequired: [pack_id]\n")
    jsonschema.Draft202012Validator(schema).validate(manifest)
    found = jmespath.search("pack_id", manifest)
    Console(file=sys.stderr, no_color=True)  # built, as a table renderer would be
    sys.stdout.buffer.write(rfc8785.dumps({"pack_id": found, "manifest": manifest}) + b"\n")


@app.command()
def version() -> None:
    """Print a version (a second command, so typer builds a group as vlab's)."""
    typer.echo("0")


if __name__ == "__main__":
    app()
