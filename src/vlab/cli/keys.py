"""``vlab keys generate|id``: Ed25519 keys for signed packs and rulings (trust.md §1)."""

from __future__ import annotations

from typing import Annotated

import typer

from vlab.cli import common as c

HELP = "Ed25519 signing keys: generate a key pair, print a key's id."
USAGE = "usage: vlab keys generate --out NAME | vlab keys id FILE"

app = c.group_app("keys", HELP, USAGE, "0 done")


@app.command("generate", epilog=c.epilog("0 written"))
def generate(
    ctx: typer.Context,
    out: Annotated[
        str,
        typer.Option(
            "--out",
            metavar="NAME",
            click_type=c.PATH,
            help="Write NAME.key (private, PKCS#8 PEM, mode 0600; encrypted with "
            "VLAB_KEY_PASSPHRASE when set) and NAME.pub (SubjectPublicKeyInfo PEM).",
            show_default=False,
        ),
    ],
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Generate an Ed25519 key pair; prints its key id."""
    from pathlib import Path

    from vlab.pack.signatures import generate_keys

    s = c.session(ctx, quiet, no_color)
    s.stdout((generate_keys(Path(out)) + "\n").encode("ascii"))
    return 0


@app.command("id", epilog=c.epilog("0 printed"))
def key_id(
    ctx: typer.Context,
    file: Annotated[str, c.path_argument("FILE", "A public or private key file (PEM).")],
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Print the key id: the sha256 hex of the public key's DER SubjectPublicKeyInfo."""

    from vlab.pack.signatures import file_key_id

    s = c.session(ctx, quiet, no_color)
    s.stdout((file_key_id(c.key_path(file, "FILE")) + "\n").encode("ascii"))
    return 0
