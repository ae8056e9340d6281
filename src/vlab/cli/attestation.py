"""``vlab attestation verify``: check a signed ruling bundle (trust.md §3)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vlab.cli import common as c
from vlab.core.escape import human

if TYPE_CHECKING:
    from vlab.pack.trust import TrustPolicy
    from vlab.ruleset.catalog import Catalog

HELP = "Signed rulings: verify an attestation bundle that vlab adjudicate --attest wrote."
USAGE = "usage: vlab attestation verify PATH --key PUB [--pack PACK]"

app = c.group_app("attestation", HELP, USAGE, "0 verified", "1 not verified")


@app.command("verify", epilog=c.epilog("0 verified", "1 not verified (one line why)"))
def verify(
    ctx: typer.Context,
    bundle: Annotated[str, c.path_argument("PATH", "The attestation bundle (JSON Lines).")],
    key: Annotated[
        str,
        typer.Option(
            "--key",
            metavar="PUB",
            click_type=c.PATH,
            help="The signer's Ed25519 public key (PEM); a private key is a usage error.",
            show_default=False,
        ),
    ],
    pack: Annotated[
        str | None,
        typer.Option(
            "--pack",
            metavar="PACK",
            click_type=c.PATH,
            help="Also re-adjudicate this pack and check the bundle holds its ruling.",
            show_default=False,
        ),
    ] = None,
    trust: c.Trust = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Check the bundle's signatures, that its ruling matches its own digest and its VSA,
    and (with --pack) that it is the ruling of that pack."""
    from vlab.pack.signatures import load_public_key_file
    from vlab.tools.attest import NotVerified, verify_bundle

    s = c.session(ctx, quiet, no_color)
    public = load_public_key_file(c.key_path(key, "--key"))
    policy = c.trust_policy(trust)
    try:
        verified = verify_bundle(Path(bundle), public)
        if pack is not None:
            catalog = s.catalog(rulesets_dir)
            _same_ruling(verified.ruling, Path(pack), catalog, policy)
    except NotVerified as exc:
        import sys

        sys.stderr.write(f"not verified: {human(str(exc))}\n")
        return 1
    doc = verified.ruling
    bound = f" for pack {human(pack)}" if pack is not None else ""
    s.echo(f"verified: ruling {human(doc['digest'])} ({human(doc['topline'])}){bound}")
    return 0


def _same_ruling(
    doc: dict[str, Any], pack: Path, catalog: Catalog, policy: TrustPolicy | None
) -> None:
    from vlab.engine.pipeline import adjudicate
    from vlab.tools.attest import NotVerified

    digest = doc["pack"]["digest"]
    if digest is None:  # decision 211: no binding is claimed that the ruling does not have
        raise NotVerified("the ruling names no pack digest, so it cannot be bound to --pack")
    ruleset = doc["ruleset"]
    override = catalog.resolve(str(ruleset["id"])) if ruleset.get("override") else None
    again = adjudicate(pack, catalog, override=override, trust=policy)
    if again.pack.digest != digest:
        raise NotVerified(f"the pack's digest is {again.pack.digest}, the ruling's {digest}")
    if again.digest != doc["digest"]:
        hint = " (it was made under a trust policy: give --trust)" if "trust" in doc else ""
        raise NotVerified(f"re-adjudicating the pack gives ruling {again.digest}{hint}")
