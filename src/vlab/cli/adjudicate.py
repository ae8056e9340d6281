"""``vlab adjudicate`` and ``vlab validate``: judge one pack, or admit it only."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from vlab.cli import common as c
from vlab.core.escape import human

Waivers = Annotated[
    str | None,
    typer.Option(
        "--waivers",
        metavar="FILE",
        help="YAML waivers for FAIL clauses (never read from the pack); needs --as-of.",
        show_default=False,
    ),
]
FailOn = Annotated[
    str | None,
    typer.Option(
        "--fail-on",
        metavar="SEVERITY",
        click_type=c.Choice(("critical", "high", "medium", "low")),
        help="Exit 1 only for an unwaived FAIL clause of at least this severity "
        "(critical, high, medium, low); the topline is unchanged.",
        show_default=False,
    ),
]

if TYPE_CHECKING:
    from vlab.pack.signatures import Signer

ADJUDICATE_HELP = "Admit and judge one pack: the ruling on stdout, the topline as exit status."
VALIDATE_HELP = (
    "Run the admission gates only (SECURITY, PIN, INTEGRITY, CONTRACT; AUTHENTICITY under --trust)."
)

Ruleset = Annotated[
    str | None,
    typer.Option(
        "--ruleset",
        metavar="ID_OR_PATH",
        help="Shadow run: judge under this ruleset (an installed id or a ruleset folder/file) "
        "instead of the one the pack pins; admission still uses the pinned one.",
        show_default=False,
    ),
]
Format = Annotated[
    str,
    typer.Option(
        "--format",
        click_type=c.Choice(),
        help="How the ruling is printed on stdout: any format of the renderer registry.",
    ),
]
Attest = Annotated[
    str | None,
    typer.Option(
        "--attest",
        metavar="PATH",
        click_type=c.PATH,
        help="Also write a signed attestation bundle (JSON Lines: a SLSA VSA v1 and the ruling "
        "Statement, DSSE envelopes) to PATH; needs --sign and the trust extra.",
        show_default=False,
    ),
]
Sign = Annotated[
    str | None,
    typer.Option(
        "--sign",
        metavar="KEY",
        click_type=c.PATH,
        help="The Ed25519 private key (PEM) that signs the --attest bundle.",
        show_default=False,
    ),
]
Out = Annotated[
    list[str] | None,
    c.out_option(
        "FMT=PATH", "Also write the ruling as FMT to PATH (FMT as for --format); repeatable."
    ),
]


def adjudicate(
    ctx: typer.Context,
    pack: c.Pack,
    ruleset: Ruleset = None,
    fmt: Format = "table",
    out: Out = None,
    trust: c.Trust = None,
    attest: Attest = None,
    sign: Sign = None,
    as_of: c.AsOf = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
    max_files: c.MaxFiles = None,
    max_file_bytes: c.MaxFileBytes = None,
    max_pack_bytes: c.MaxPackBytes = None,
    max_line_bytes: c.MaxLineBytes = None,
    max_folders: c.MaxFolders = None,
    max_folder_depth: c.MaxFolderDepth = None,
    max_document_bytes: c.MaxDocumentBytes = None,
    max_document_values: c.MaxDocumentValues = None,
    max_pointers: c.MaxPointers = None,
    waivers: Waivers = None,
    fail_on: FailOn = None,
) -> int:
    """Admit and judge one pack: the ruling on stdout, the topline as exit status."""
    from pathlib import Path

    from vlab.engine.pipeline import adjudicate as judge

    s = c.session(ctx, quiet, no_color)
    outs = c.parse_outs(out, c.renderer_names())
    waiver_set, when = c.waivers_and_as_of(waivers, as_of)  # checked before judging
    catalog = s.catalog(rulesets_dir)
    override = catalog.resolve(ruleset) if ruleset is not None else None
    policy = c.trust_policy(trust)
    signer = _attestation_signer(attest, sign)
    c.pack_hint(s, pack)
    ruling = judge(
        Path(pack), catalog, override=override, limits=c.limits(ctx.params), trust=policy
    )
    if waiver_set is not None and when is not None:
        from vlab.engine.waivers import apply_waivers

        ruling = apply_waivers(ruling, waiver_set, when)
    if signer is not None and attest is not None:
        from vlab.tools.attest import attestation_bundle

        c.write_out(Path(attest), attestation_bundle(ruling, signer, c.time_verified(when)))
    for name, path in outs:
        c.write_out(path, c.render(ruling, name, pack))
    c.step_summary(s, lambda: c.render(ruling, "md", pack).decode("utf-8"))
    if s.quiet:
        pass
    elif fmt == "table":  # straight to the terminal: its width, its colours
        from vlab.render.table import print_table

        print_table(ruling, find_ruleset=catalog.get)  # --rulesets-dir rulesets too
    else:
        s.stdout(c.render(ruling, fmt, pack))
    return c.exit_status(ruling, fail_on)


def _attestation_signer(attest: str | None, sign: str | None) -> Signer | None:
    """The signer of ``--attest PATH --sign KEY`` (both or neither)."""
    from vlab.core.errors import UsageError

    if attest is None and sign is None:
        return None
    if attest is None or sign is None:
        raise UsageError("--attest PATH and --sign KEY go together")
    from vlab.pack.signatures import key_signer

    return key_signer(c.key_path(sign, "--sign"))


def validate(
    ctx: typer.Context,
    pack: c.Pack,
    fmt: Annotated[
        str, c.table_or_json("table: one line a gate and a detail; json: the admission record.")
    ] = "table",
    trust: c.Trust = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
    max_files: c.MaxFiles = None,
    max_file_bytes: c.MaxFileBytes = None,
    max_pack_bytes: c.MaxPackBytes = None,
    max_line_bytes: c.MaxLineBytes = None,
    max_folders: c.MaxFolders = None,
    max_folder_depth: c.MaxFolderDepth = None,
    max_document_bytes: c.MaxDocumentBytes = None,
    max_document_values: c.MaxDocumentValues = None,
    max_pointers: c.MaxPointers = None,
) -> int:
    """Run the admission gates only (SECURITY, PIN, INTEGRITY, CONTRACT; AUTHENTICITY under
    --trust)."""
    from pathlib import Path

    from vlab.core.canonical import canonical_bytes
    from vlab.engine.pipeline import admit_pack

    s = c.session(ctx, quiet, no_color)
    catalog = s.catalog(rulesets_dir)
    policy = c.trust_policy(trust)
    c.pack_hint(s, pack)
    admission = admit_pack(Path(pack), catalog, c.limits(ctx.params), policy)
    doc = admission.to_json()
    if fmt == "json":
        s.stdout(canonical_bytes(doc) + b"\n")
    else:
        s.echo(f"admission {doc['status']}")
        for gate in doc["gates"]:
            s.echo(f"  {human(gate['gate']):<20} {gate['status']}")
            for d in gate["details"]:
                where = human(d["artifact_path"] or "")
                line = f":{d['line']}" if d["line"] is not None else ""
                s.echo(f"    {human(d['code'])} {where}{line} {human(d['message'])}")
    return 0 if admission.admissible else 2
