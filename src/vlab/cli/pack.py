"""``vlab pack seal|init``: the producer side (making a pack)."""

from __future__ import annotations

from typing import Annotated

import typer

from vlab.cli import common as c
from vlab.core.escape import human

HELP = "Producer-side pack tools: start a pack skeleton, seal a pack folder, sign it."
USAGE = (
    "usage: vlab pack seal DIR [--sign KEY] | vlab pack sign DIR --key KEY "
    "| vlab pack init DIR --ruleset ID"
)

app = c.group_app("pack", HELP, USAGE, "0 done")

Dir = Annotated[
    str,
    c.path_argument("DIR", "The pack folder."),
]


@app.command(
    "seal",
    epilog="Exit status: 0 sealed, 64 usage error (also: a control file is missing, or the "
    "SECURITY gate would refuse the folder), 70 internal error.",
)
def seal(
    ctx: typer.Context,
    folder: Dir,
    allow_incomplete: Annotated[
        bool,
        typer.Option(
            "--allow-incomplete",
            help="Seal a folder that lacks manifest.json, bundle.manifest.json or "
            "evidence_pointers.json (to build hostile test vectors).",
        ),
    ] = False,
    sign: Annotated[
        str | None,
        typer.Option(
            "--sign",
            metavar="KEY",
            click_type=c.PATH,
            help="Also sign the sealed pack with this Ed25519 private key (PEM): writes "
            "integrity/signatures/<keyid>.dsse.json. Needs the trust extra.",
            show_default=False,
        ),
    ] = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Write integrity/sha256sums.txt for a pack folder, replacing any old one."""
    from pathlib import Path

    from vlab.core.errors import UsageError
    from vlab.pack.seal import missing_control_files
    from vlab.pack.seal import seal as seal_folder

    s = c.session(ctx, quiet, no_color)
    path = Path(folder)
    if not path.exists():
        raise UsageError(f"pack not found: {path}")
    if not path.is_dir():
        raise UsageError(f"not a pack directory: {path}")
    missing = missing_control_files(path)
    if missing and not allow_incomplete:
        raise UsageError(
            f"not a complete pack: {path} lacks {', '.join(missing)} "
            "(--allow-incomplete seals it anyway)"
        )
    signer = None
    if sign is not None:  # the key loads (and its passphrase is asked) before anything is written
        from vlab.pack.signatures import key_signer

        signer = key_signer(c.key_path(sign, "--sign"))
    count = seal_folder(path)
    s.note(f"sealed {count} files")
    written = None
    if signer is not None:
        from vlab.pack.signatures import sign_pack

        written = sign_pack(path, signer)
        s.note(f"signed: {human(written.name)}")
    sig_dir = path / "integrity" / "signatures"
    stale = [p for p in sig_dir.glob("*") if p != written] if sig_dir.is_dir() else []
    if stale:  # they sign the old sums: under --trust they are AUTH-SUBJECT-MISMATCH
        s.note(
            f"warning: {len(stale)} older signature file(s) under "
            f"{human(str(sig_dir))} sign the old sums"
        )
    return 0


@app.command(
    "sign",
    epilog="Exit status: 0 signed, 64 usage error (also: the pack is not sealed, or its files "
    "differ from its sums), 70 internal error.",
)
def sign(
    ctx: typer.Context,
    folder: Dir,
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="KEY",
            click_type=c.PATH,
            help="The Ed25519 private key (PEM) to sign with (VLAB_KEY_PASSPHRASE if encrypted).",
            show_default=False,
        ),
    ],
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Add a signature to a sealed pack: integrity/signatures/<keyid>.dsse.json (a DSSE
    envelope of an in-toto Statement over every pack file)."""
    from pathlib import Path

    from vlab.pack.signatures import key_signer, sign_pack

    s = c.session(ctx, quiet, no_color)
    signer = key_signer(c.key_path(key, "--key"))
    written = sign_pack(Path(folder), signer)
    s.note(f"signed: {human(written.name)}")
    return 0


@app.command("init", epilog=c.epilog("0 written"))
def init(
    ctx: typer.Context,
    folder: Annotated[
        str,
        c.path_argument("DIR", "Where to write the pack skeleton."),
    ],
    ruleset: Annotated[
        str,
        typer.Option(
            "--ruleset",
            metavar="ID",
            help="The ruleset the pack pins (its schema-bundle digest is written too).",
            show_default=False,
        ),
    ],
    run_id: Annotated[
        str | None,
        typer.Option(
            "--run-id",
            metavar="ID",
            help="The run id written into the pack's manifests (default: the folder's name).",
            show_default=False,
        ),
    ] = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Write a minimal pack skeleton for a ruleset: pins, empty event log and pointers, and a
    note of what each clause needs; then add evidence and `vlab pack seal DIR`."""
    import os
    from pathlib import Path

    from vlab.tools.init import init_pack

    s = c.session(ctx, quiet, no_color)
    written = init_pack(Path(folder), ruleset, run_id, catalog=s.catalog(rulesets_dir))
    for name in written:
        s.echo(f"wrote {human(os.path.join(folder, name))}")
    s.note(f"next: add the run's evidence, then: vlab pack seal {human(folder)}")
    return 0
