"""``vlab batch``: judge a corpus of packs on an engine, ordered JSONL results and a summary."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from vlab.cli import common as c
from vlab.core.errors import UsageError
from vlab.core.escape import human

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog
    from vlab.ruleset.model import Ruleset

HELP = (
    "Judge every pack of CORPUS... (folders, archives, list files) on an engine: one "
    "canonical ruling a line in --results, in CORPUS then path order, and a summary."
)
EPILOG = c.epilog("0 every pack was judged (whatever the verdicts)", "1 a pack could not be judged")


def batch(
    ctx: typer.Context,
    corpora: Annotated[
        list[str],
        typer.Argument(
            metavar="CORPUS...",
            click_type=c.PATH,
            help="A folder searched for packs (as regress and diff search), an archive pack "
            "(.tar, .tar.gz/.tgz, .zip), or a text file listing one pack path a line "
            "(relative to the file's folder).",
            show_default=False,
        ),
    ],
    results: Annotated[
        str,
        typer.Option(
            "--results",
            metavar="FILE",
            click_type=c.PATH,
            help="Write one canonical ruling a line here (JSON Lines), with the summary "
            "beside it in <name>.summary.json.",
            show_default=False,
        ),
    ],
    out: Annotated[
        list[str] | None,
        c.out_option(
            "FMT=PATH",
            "Also write a report of the batch as FMT (table, json, md, junit, sarif, html) "
            "to PATH; repeatable. html needs the 'html' extra.",
        ),
    ] = None,
    ruleset: Annotated[
        str | None,
        typer.Option(
            "--ruleset",
            metavar="ID_OR_PATH",
            help="Shadow run: judge every pack under this ruleset instead of its pinned one.",
            show_default=False,
        ),
    ] = None,
    engine: Annotated[
        str,
        typer.Option(
            "--engine",
            metavar="NAME",
            help="Where the packs are judged, an engine of the registry: local, a process "
            "pool on this host; dask, Dask distributed (the 'dask' extra), an embedded "
            "LocalCluster unless --scheduler names one.",
        ),
    ] = "local",
    scheduler: Annotated[
        str | None,
        typer.Option(
            "--scheduler",
            metavar="ADDRESS",
            help="--engine dask: submit to this running scheduler (tcp://HOST:PORT); its "
            "workers must be able to read the packs.",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            metavar="N",
            help="Worker processes (default: the CPU count); results are the same for any N.",
            show_default=False,
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Keep the rulings already in --results whose pack digest still matches "
            "and judge only the rest.",
        ),
    ] = False,
    attest: Annotated[
        str | None,
        typer.Option(
            "--attest",
            metavar="DIR",
            click_type=c.PATH,
            help="Also write one signed attestation bundle per pack into DIR; needs --sign.",
            show_default=False,
        ),
    ] = None,
    sign: Annotated[
        str | None,
        typer.Option(
            "--sign",
            metavar="KEY",
            click_type=c.PATH,
            help="The Ed25519 private key (PEM) that signs the --attest bundles.",
            show_default=False,
        ),
    ] = None,
    waivers: Annotated[
        str | None,
        typer.Option(
            "--waivers",
            metavar="FILE",
            help="YAML waivers for FAIL clauses, applied to every pack; needs --as-of.",
            show_default=False,
        ),
    ] = None,
    as_of: c.AsOf = None,
    rulesets_dir: c.RulesetsDir = None,
    quiet: c.Quiet = False,
    no_color: c.NoColor = False,
) -> int:
    """Judge every pack of CORPUS... on an engine: ordered JSONL results and a summary."""
    from vlab.tools.batch.engines import ENGINES, EngineOptions
    from vlab.tools.batch.plan import plan
    from vlab.tools.batch.runner import run_batch
    from vlab.tools.batch.summary import print_table, report
    from vlab.tools.batch.work import HOOK_ENV, Settings

    s = c.session(ctx, quiet, no_color)
    from vlab.tools.batch.summary import FORMATS

    outs = c.parse_outs(out, FORMATS)
    if any(fmt == "html" for fmt, _ in outs):
        _need_jinja2()
    if engine not in ENGINES:  # the registry: an engine added there is a choice here
        raise UsageError(f"--engine: unknown engine {engine!r} (one of {', '.join(ENGINES)})")
    if scheduler is not None and engine != "dask":
        raise UsageError("--scheduler needs --engine dask")
    waiver_set, when = c.waivers_and_as_of(waivers, as_of)
    catalog = s.catalog(rulesets_dir)
    override = catalog.resolve(ruleset) if ruleset is not None else None
    attest_dir = _attest_dir(attest, sign)
    tasks = plan(list(corpora))
    results_path = Path(results)
    if results_path.is_dir():
        raise UsageError(f"--results is a folder: {results}")
    from vlab.ruleset.catalog import PATH_ENV

    settings = Settings(
        rulesets_dirs=tuple(os.path.abspath(d) for d in c.rulesets_dirs(rulesets_dir)),
        rulesets_path=os.environ.get(PATH_ENV),
        ruleset=_ruleset_ref(ruleset, catalog) if ruleset is not None else None,
        waivers=waiver_set,
        as_of=when if waiver_set is not None else None,
        attest_dir=attest_dir,
        sign_key=os.path.abspath(sign) if sign is not None and attest_dir is not None else None,
        time_verified=c.time_verified(when) if attest_dir is not None else None,
        hook=os.environ.get(HOOK_ENV),
    )
    options = EngineOptions(jobs=jobs or os.cpu_count() or 1, scheduler=scheduler)
    with c.progress(s, "packs", len(tasks)) as advance:
        done = run_batch(
            list(corpora),
            results_path,
            settings,
            engine=engine,
            options=options,
            resume=resume,
            reusable=lambda ruling: _same_ruleset(ruling, override, catalog),
            progress=advance,
            tasks=tasks,
        )
    for fmt, path in outs:
        c.write_out(path, report(done, fmt))
    c.step_summary(s, lambda: report(done, "md").decode("utf-8"))
    if not s.quiet:
        print_table(done.summary)
    for f in done.summary["could_not_judge"]:
        s.error(f"could not judge {human(f['path'])} (CORPUS {f['corpus']}): {human(f['error'])}")
    return 0 if done.complete else 1


def _need_jinja2() -> None:
    try:
        import jinja2  # noqa: F401
    except ImportError:
        from vlab.render.html import HTML_EXTRA

        raise UsageError(HTML_EXTRA) from None


def _attest_dir(attest: str | None, sign: str | None) -> str | None:
    """``--attest DIR --sign KEY`` (both or neither): DIR made, the key read, now."""
    if attest is None and sign is None:
        return None
    if attest is None or sign is None:
        raise UsageError("--attest DIR and --sign KEY go together")
    from vlab.pack.signatures import key_signer

    key_signer(c.key_path(sign, "--sign"))  # a bad key is a usage error before any work
    try:
        os.makedirs(attest, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--attest: cannot make the folder {attest}: {exc.strerror}") from None
    return os.path.abspath(attest)


def _ruleset_ref(given: str, catalog: Catalog) -> str:
    """--ruleset as workers resolve it: the id, or the ruleset's absolute path."""
    if "/" not in given and catalog.get(given) is not None:
        return given
    return os.path.abspath(given)


def _same_ruleset(ruling: dict[str, Any], override: Ruleset | None, catalog: Catalog) -> bool:
    """--resume: a previous ruling was made under the ruleset this batch would use."""
    rs = ruling.get("ruleset") or {}
    if override is not None:
        return bool(
            rs.get("override") is True
            and rs.get("id") == override.id
            and rs.get("sha256") == override.sha256
        )
    if rs.get("override") is not False:
        return False
    if rs.get("id") is None:
        return True
    try:
        current = catalog.get(rs["id"])
    except UsageError:
        return False
    return current is not None and current.sha256 == rs.get("sha256")
