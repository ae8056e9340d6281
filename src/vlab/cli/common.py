"""What every command shares: the session (catalog, --quiet, --no-color), the options
declared once (typed, with their help), output sinks and the renderer adapter.

Nothing heavy is imported here: the engine, the rulesets and the renderers are imported
inside the functions that use them, so ``vlab --help`` loads typer and vlab's small core
modules only.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer._click import types as click_types  # typer's documented ``click_type`` base
from typer.core import TyperCommand

from vlab.core.errors import UsageError
from vlab.core.escape import human, scrub
from vlab.pack.limits import Limits

if TYPE_CHECKING:
    from vlab.engine.ruling import Ruling
    from vlab.ruleset.catalog import Catalog

CatalogFactory = Callable[[tuple[str, ...]], "Catalog"]

# -- the session ----------------------------------------------------------------------------


def _default_catalog(dirs: tuple[str, ...]) -> Catalog:
    from vlab.tools.pool import catalog_for

    return catalog_for(dirs)


@dataclass
class Session:
    """One run of the command line: ``ctx.obj`` of every command.

    ``catalog`` makes the catalog of shipped rulesets plus the ``--rulesets-dir`` folders
    (``vlab.cli.main`` passes ``vlab.cli._catalog``, the one place tests replace it)."""

    catalog_factory: CatalogFactory = _default_catalog
    debug: bool = False
    quiet: bool = False
    colour_env: dict[str, str | None] = field(default_factory=dict)  # saved by no_colour()

    def catalog(self, dirs: Sequence[Path] | None = None) -> Catalog:
        return self.catalog_factory(rulesets_dirs(dirs))

    def no_colour(self) -> None:
        """``--no-color``: NO_COLOR set and FORCE_COLOR dropped for the rest of this run
        (every rich console, vlab's and typer's, reads them); ``restore`` undoes it."""
        for name in ("NO_COLOR", "FORCE_COLOR"):
            self.colour_env.setdefault(name, os.environ.get(name))
        os.environ["NO_COLOR"] = "1"
        os.environ.pop("FORCE_COLOR", None)

    def restore(self) -> None:
        for name, value in self.colour_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.colour_env.clear()

    # -- sinks: stdout is the command's output, stderr its notes and errors --

    def stdout(self, data: bytes) -> None:
        if self.quiet:
            return
        sys.stdout.buffer.write(data)
        sys.stdout.flush()

    def echo(self, text: str = "") -> None:
        """One line on stdout. Its data pieces are escaped by the caller (``human``);
        scrub is the guard that keeps a forgotten one from sending a raw control character
        or a line break, and backslashreplace the one for a file name that is not UTF-8."""
        self.stdout((scrub(text) + "\n").encode("utf-8", "backslashreplace"))

    def note(self, text: str) -> None:
        """A line for people on stderr (a hint, a warning, "sealed N files"): not with
        ``--quiet``, which leaves only errors."""
        if not self.quiet:
            print(scrub(text), file=sys.stderr)

    def error(self, text: str) -> None:
        """An error line on stderr, shown even with ``--quiet``."""
        print(scrub(f"vlab: error: {text}"), file=sys.stderr)


def session(ctx: typer.Context, quiet: bool = False, no_color: bool = False) -> Session:
    """The run's session with this command's ``--quiet`` / ``--no-color`` applied (they
    are accepted before the command too: ``vlab --quiet adjudicate ...``)."""
    s = ctx.obj if isinstance(ctx.obj, Session) else Session()
    ctx.obj = s
    s.quiet = s.quiet or quiet
    if no_color:
        s.no_colour()
    return s


# -- option types ---------------------------------------------------------------------------


def path_text(value: str) -> str:
    """A path as given on the command line; an empty one is a usage error (Path("") would
    be the current folder, which nobody means by ``vlab adjudicate ""``)."""
    if value == "":
        raise typer.BadParameter("an empty path (to mean the current folder, give .)")
    return value


class PathText(click_types.ParamType):
    """A path argument or option, kept as the text given (``--format github`` reports the
    pack path as given); refuses the empty string (``path_text``)."""

    name = "path"

    def __init__(self, as_path: bool = False) -> None:
        self.as_path = as_path

    def convert(self, value: Any, param: Any, ctx: Any) -> Any:
        if isinstance(value, Path):
            return value
        try:
            text = path_text(str(value))
        except typer.BadParameter as exc:
            self.fail(exc.message, param, ctx)
        return Path(text) if self.as_path else text

    def shell_complete(self, ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from typer._click.shell_completion import CompletionItem

        return [CompletionItem(incomplete, type="file")]  # the shell completes file names


PATH = PathText()
AS_PATH = PathText(as_path=True)


class Choice(click_types.ParamType):
    """A choice among ``fixed`` names or, without them, among the formats of the renderer
    registry (``vlab.render.RENDERERS``), read when a value is checked, completed or shown
    in ``--help``, never at start-up: a renderer added to the registry is a ``--format`` /
    ``--out`` value with no CLI change."""

    name = "choice"

    def __init__(self, fixed: Sequence[str] | None = None) -> None:
        self.fixed = tuple(fixed) if fixed is not None else None

    @property
    def choices(self) -> tuple[str, ...]:
        return self.fixed if self.fixed is not None else renderer_names()

    def get_metavar(self, param: Any, ctx: Any = None) -> str:
        # The registry's names are listed in the option's help (``Command``), one a line
        # with what each is: a metavar of all of them would crowd an 80-column help.
        return "<" + "|".join(self.fixed) + ">" if self.fixed is not None else "FMT"

    def convert(self, value: Any, param: Any, ctx: Any) -> str:
        if value in self.choices:
            return str(value)
        self.fail(f"{value!r} is not one of {', '.join(map(repr, self.choices))}", param, ctx)

    def shell_complete(self, ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from typer._click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in self.choices if c.startswith(incomplete)]


def renderer_names() -> tuple[str, ...]:
    from vlab.render import RENDERERS

    return tuple(RENDERERS)


class Command(TyperCommand):
    """A command whose ``--help`` lists the renderer registry's formats, each with its
    summary, under every option that takes one: the registry is read when the help is
    shown, not when the command line starts."""

    def format_help(self, ctx: Any, formatter: Any) -> None:
        from rich.markup import escape

        from vlab.render import RENDERERS

        listed = escape("; ".join(f"{r.name}: {r.summary}" for r in RENDERERS.values()))
        for param in self.params:
            if isinstance(param.type, Choice) and param.type.fixed is None:
                base = getattr(param, "base_help", None) or getattr(param, "help", "")
                setattr(param, "base_help", base)  # noqa: B010 - not a declared attribute
                setattr(param, "help", f"{base} FMT is one of: {listed}.")  # noqa: B010
        super().format_help(ctx, formatter)


TABLE_OR_JSON = Choice(("table", "json"))

Pack = Annotated[
    str,
    typer.Argument(
        metavar="PACK",
        click_type=PATH,
        help="The evidence pack: a folder holding bundle.manifest.json, manifest.json, "
        "evidence_pointers.json and integrity/sha256sums.txt.",
        show_default=False,
    ),
]
RulesetsDir = Annotated[
    list[Path] | None,
    typer.Option(
        "--rulesets-dir",
        metavar="DIR",
        click_type=AS_PATH,
        help="Also load the rulesets in DIR (DIR/<id>/ruleset.yaml); repeatable.",
        show_default=False,
    ),
]
Quiet = Annotated[
    bool,
    typer.Option(
        "--quiet", "-q", help="Print nothing but errors: the exit status says the outcome."
    ),
]
NoColor = Annotated[
    bool,
    typer.Option(
        "--no-color", help="No colour in human output (also: NO_COLOR=1; FORCE_COLOR=1 forces it)."
    ),
]
Jobs = Annotated[
    int,
    typer.Option(
        "--jobs",
        "-j",
        min=1,
        metavar="N",
        help="Worker processes on this host (results are the same for any N).",
    ),
]

AsOf = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        metavar="TIME",
        help="The RFC 3339 time at which waivers' expiry is judged and a signed ruling is "
        "dated (vlab never reads the clock into a ruling).",
        show_default=False,
    ),
]


def as_of(value: str | None) -> str | None:
    """``--as-of`` in UTC (``...Z``), or a usage error naming the bad value."""
    if value is None:
        return None
    from vlab.core.timestamps import utc_text

    text = utc_text(value)
    if text is None:
        raise UsageError(f"--as-of: not an RFC 3339 date-time with an offset: {value!r}")
    return text


def time_verified(value: str | None) -> str:
    """A VSA's timeVerified: ``--as-of`` in UTC, else the current time (the one clock read
    on the judging side: a VSA is a statement made at a time; the ruling stays time-free)."""
    given = as_of(value)
    if given is not None:
        return given
    from datetime import datetime, timezone

    from vlab.core.timestamps import utc_text

    now = utc_text(datetime.now(timezone.utc).isoformat())
    assert now is not None
    return now


def table_or_json(text: str) -> Any:
    """A ``--format table|json`` option described by ``text``."""
    return typer.Option("--format", click_type=TABLE_OR_JSON, help=text)


# The safety limits a flag overrides: evidence-pack.md's four, and the bounds of decisions
# 65-66. Each is declared on ``adjudicate`` and ``validate``; ``limits(ctx)`` collects them.
LIMITS_PANEL = "Safety limits (a pack over one is NOT_ADMISSIBLE)"
_DEFAULTS = Limits()


def _limit(name: str, what: str) -> Any:
    default = getattr(_DEFAULTS, name)
    return typer.Option(
        "--" + name.replace("_", "-"),
        min=1,
        metavar="N",
        help=f"{what} (default {default:,}).",
        rich_help_panel=LIMITS_PANEL,
        show_default=False,
    )


MaxFiles = Annotated[int | None, _limit("max_files", "Most files in a pack")]
MaxFileBytes = Annotated[int | None, _limit("max_file_bytes", "Largest file, in bytes")]
MaxPackBytes = Annotated[int | None, _limit("max_pack_bytes", "Largest pack, in bytes")]
MaxLineBytes = Annotated[int | None, _limit("max_line_bytes", "Longest NDJSON line, in bytes")]
MaxFolders = Annotated[int | None, _limit("max_folders", "Most folders in a pack")]
MaxFolderDepth = Annotated[int | None, _limit("max_folder_depth", "Deepest folder nesting")]
MaxDocumentBytes = Annotated[
    int | None, _limit("max_document_bytes", "Largest JSON/YAML document, in bytes")
]
MaxDocumentValues = Annotated[
    int | None, _limit("max_document_values", "Most values in one JSON/YAML document")
]
MaxPointers = Annotated[int | None, _limit("max_pointers", "Most evidence pointers")]
LIMIT_NAMES = (
    "max_files",
    "max_file_bytes",
    "max_pack_bytes",
    "max_line_bytes",
    "max_folders",
    "max_folder_depth",
    "max_document_bytes",
    "max_document_values",
    "max_pointers",
)


def limits(params: Mapping[str, Any]) -> Limits:
    """The limits with every ``--max-*`` given on the command line (``ctx.params``)."""
    given = {n: params[n] for n in LIMIT_NAMES if params.get(n) is not None}
    return replace(_DEFAULTS, **given)


def rulesets_dirs(dirs: Sequence[Path] | None) -> tuple[str, ...]:
    return tuple(str(d) for d in dirs or ())


# -- exit-status epilogs: each command lists its own ---------------------------------------

VERDICT_EPILOG = (
    "Exit status: 0 PASS, 1 FAIL, 2 NOT_ADMISSIBLE, 3 NOT_EVALUATED (the topline, whatever "
    "the format or --out), 64 usage error, 70 internal error."
)


def group_app(name: str, help_text: str, usage: str, *codes: str) -> typer.Typer:
    """A command group (``vlab rulesets``, ``pack``, ``receipt``): its help, its exit
    statuses, and a usage error when no subcommand is named."""
    app = typer.Typer(
        name=name,
        help=help_text,
        epilog=epilog(*codes),
        invoke_without_command=True,
        add_completion=False,
    )

    @app.callback(help=help_text)
    def group(ctx: typer.Context) -> None:
        if ctx.invoked_subcommand is None:
            from vlab.core.errors import UsageError

            raise UsageError(usage)

    return app


def path_argument(metavar: str, help_text: str) -> Any:
    """A path argument as given on the command line (``""`` is a usage error)."""
    return typer.Argument(metavar=metavar, click_type=PATH, help=help_text, show_default=False)


def out_option(metavar: str, help_text: str) -> Any:
    """``--out FMT=PATH``, repeatable."""
    return typer.Option("--out", metavar=metavar, help=help_text, show_default=False)


def epilog(*codes: str) -> str:
    return "Exit status: " + ", ".join((*codes, "64 usage error", "70 internal error")) + "."


# -- outputs --------------------------------------------------------------------------------


def parse_outs(outs: Sequence[str] | None, allowed: Sequence[str]) -> list[tuple[str, Path]]:
    parsed = []
    for item in outs or []:
        fmt, sep, path = item.partition("=")
        if not sep or not path or fmt not in allowed:
            raise UsageError(f"--out takes FMT=PATH with FMT in {', '.join(allowed)}: {item!r}")
        parsed.append((fmt, Path(path)))
    return parsed


def write_out(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None


def step_summary(s: Session, make_markdown: Callable[[], str]) -> None:
    """Append a Markdown summary for GitHub Actions when it asks for one (the summary is
    made only then: rendering it loads the code registry)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return
    markdown = make_markdown()
    # The renderers escape their data (vlab.core.escape); scrub is the last guard, so no
    # producer of a summary can put a raw control or bidi character into a CI page.
    text = scrub(markdown, keep_newlines=True)
    try:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        s.note(f"vlab: warning: cannot append to GITHUB_STEP_SUMMARY: {human(exc.strerror)}")


def render(ruling: Ruling, fmt: str, pack: str) -> bytes:
    """``vlab.render.render`` with the pack path as given on the command line (the
    renderers that point into the pack use it; the others ignore it)."""
    from vlab.render import render as registry_render

    return registry_render(ruling, fmt, pack=pack)


def shown(value: object) -> str:
    """A value in a human line: ``—`` for an absent one, never Python's ``None``."""
    return "—" if value is None else human(value)


@contextmanager
def progress(s: Session, label: str, total: int | None) -> Iterator[Callable[[int], None] | None]:
    """A transient progress bar on stderr when it is a terminal (not with --quiet); yields
    the advance callback, or None."""
    if s.quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import Progress

    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def pack_hint(s: Session, given: str) -> None:
    """A folder that is not a pack but holds one (a golden vector's folder: ``pack/`` next
    to ``expected.json``) gets a hint on stderr; the ruling and the exit status are the
    engine's, unchanged (governance/decisions.md: "A pack's parent folder gets a hint")."""
    folder = Path(given)
    if not folder.is_dir() or (folder / "bundle.manifest.json").exists():
        return
    from vlab.tools.corpus import PACK_ARCHIVES

    for name in ("pack", *PACK_ARCHIVES):  # a pack folder, or an archive pack (issue 17)
        if (folder / name).is_dir() if name == "pack" else (folder / name).is_file():
            s.note(
                f"vlab: hint: {human(given)} has no bundle.manifest.json but holds "
                f"{'a pack/ folder' if name == 'pack' else name}: did you mean "
                f"{human(os.path.join(given, name))}?"
            )
            return


def waivers_and_as_of(path: str | None, when: str | None) -> tuple[Any, str | None]:
    """The ``--waivers`` set and ``--as-of`` time, read before any pack is (so a bad
    file is a usage error, 64): ``--waivers`` without ``--as-of`` is one too."""
    moment = as_of(when)
    if path is None:
        return None, moment
    if moment is None:
        raise UsageError("--waivers needs --as-of TIME (vlab never reads the clock)")
    from vlab.engine.waivers import load_waivers

    return load_waivers(path), moment


def exit_status(ruling: Any, fail_on: str | None) -> int:
    """The topline's exit status; with ``--fail-on``, a FAIL topline exits 1 only if an
    unwaived FAIL clause has at least that severity (exits 2 and 3 are unchanged)."""
    from vlab.core.vocabulary import EXIT_BY_TOPLINE, EXIT_PASS, FAIL

    status: int = EXIT_BY_TOPLINE[ruling.topline]
    if fail_on is None or ruling.topline != FAIL:
        return status
    from vlab.engine.ruling import severity_rank

    bar = severity_rank(fail_on)
    if any(cl.counts_as_fail and severity_rank(cl.severity) >= bar for cl in ruling.clauses):
        return status
    return EXIT_PASS


# -- trust (issue 16) -------------------------------------------------------------------------

Trust = Annotated[
    str | None,
    typer.Option(
        "--trust",
        metavar="POLICY",
        click_type=PATH,
        help="A trust policy (YAML: keys, require): the pack must be signed by enough of its "
        "keys (the ADM-GATE-AUTHENTICITY gate). Needs the trust extra.",
        show_default=False,
    ),
]


def trust_policy(value: str | None) -> Any:
    """The policy ``--trust`` names (None without one); a usage error when the trust extra
    is missing or the policy is bad."""
    if value is None:
        return None
    from vlab.pack.trust import load_policy

    return load_policy(Path(value))


def key_path(value: str, flag: str) -> Path:
    from vlab.pack.signatures import require_trust

    require_trust()
    path = Path(value)
    if not path.is_file():
        raise UsageError(f"{flag}: no such key file: {value}")
    return path
