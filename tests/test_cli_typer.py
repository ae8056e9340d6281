"""The typer command line (issue 12, cli.md): described help for every command, argument
and option; exit-status epilogs where they apply; shell completion; "did you mean";
``--quiet`` and ``--no-color``; the renderer registry as the one list of formats; lazy
imports (counted in ``sys.modules``, never timed); and the newcomer fixes: an empty path,
a pack's parent folder, ``review --pack`` of another pack, ``pack seal`` of an incomplete
folder, no Python ``None`` in human lines, ``explain`` and ``pack init``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from packs import EVENTS, SUMS_PATH, good_pack, remove, write

if TYPE_CHECKING:
    from conftest import InProcessRunner, Runner

REPO = Path(__file__).resolve().parent.parent
VECTOR = REPO / "evidence_packs" / "d1-01" / "pass-event-id"  # a golden vector: pack/ inside
COLOUR_SGR = re.compile(rb"\x1b\[[0-9;]*?(?:3[0-7]|38|9[0-7])[;m]")  # a colour, not bold


def fail_pack(tmp_path: Path) -> Path:
    events = [dict(e) for e in EVENTS]
    events[0]["decision_kind"] = "authz"  # CL-D1-01 FAIL
    return good_pack(tmp_path, name="fail", events=events)


# -- help: every command, argument and option described --------------------------------------


def _commands() -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, click command) of every command and group, the root first."""
    from typer.main import get_command

    from vlab.cli.app import build

    todo: list[tuple[tuple[str, ...], Any]] = [((), get_command(build()))]
    while todo:
        path, cmd = todo.pop(0)
        yield path, cmd
        for name, sub in getattr(cmd, "commands", {}).items():
            todo.append(((*path, name), sub))


COMMAND_PATHS = [path for path, _ in _commands()]
LEAVES = [path for path, cmd in _commands() if not hasattr(cmd, "commands")]


def test_the_app_has_every_command() -> None:
    assert set(LEAVES) == {
        ("adjudicate",),
        ("validate",),
        ("batch",),
        ("regress",),
        ("diff",),
        ("review",),
        ("explain",),
        ("rulesets", "list"),
        ("rulesets", "show"),
        ("rulesets", "lint"),
        ("pack", "seal"),
        ("pack", "init"),
        ("pack", "sign"),
        ("receipt", "check"),
        ("import",),
        ("keys", "generate"),
        ("keys", "id"),
        ("attestation", "verify"),
    }


def _help(vlab_in_process: InProcessRunner, path: tuple[str, ...]) -> str:
    code, out, err = vlab_in_process(*path, "--help")
    assert code == 0 and err == "", err
    return out.decode("utf-8")


def _rows(text: str) -> list[str]:
    """The rows of the help's panels, box characters removed."""
    return [line.strip().strip("│").strip() for line in text.splitlines() if "│" in line]


@pytest.mark.parametrize("path", COMMAND_PATHS, ids=[" ".join(p) or "vlab" for p in COMMAND_PATHS])
def test_help_describes_every_argument_and_option(
    path: tuple[str, ...], vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")  # one row a parameter: the description beside it
    cmd = dict(_commands())[path]
    text = _help(vlab_in_process, path)
    assert (cmd.help or "").strip(), f"{path}: no description"
    rows = _rows(text)
    names: set[str] = {"--help", "-h"}
    for param in cmd.params:
        assert (param.help or "").strip(), f"{path}: {param.name} has no help"
        shown = [*param.opts, *param.secondary_opts] if param.param_type_name == "option" else []
        first = shown[0] if shown else param.metavar
        assert first, param.name
        names.update(shown)
        (row,) = [r for r in rows if re.match(rf"(\*\s+)?{re.escape(first)}(\s|$)", r)]
        words = row.split()
        rest = [w for w in words if w not in shown and w not in ("*", param.metavar)]
        description = " ".join(rest)
        assert re.search(r"[A-Za-z]{3,}", description), f"{path}: {first}: {row!r}"
        assert param.help.split()[0] in row  # the row shows the parameter's own help
    # and every option the help lists is one of the parameters (or --help)
    listed = {m.group(1) for r in rows if (m := re.match(r"(-[-\w]+)", r))}
    assert listed <= names, listed - names


@pytest.mark.parametrize("path", LEAVES, ids=[" ".join(p) for p in LEAVES])
def test_each_command_lists_its_exit_statuses_and_only_adjudicate_the_verdicts(
    path: tuple[str, ...], vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "250")
    text = " ".join(_help(vlab_in_process, path).split())
    assert "Exit status: 0 " in text and "64 usage error" in text
    verdicts = "0 PASS, 1 FAIL, 2 NOT_ADMISSIBLE, 3 NOT_EVALUATED"
    assert (verdicts in text) == (path == ("adjudicate",)), path


def test_format_help_lists_the_registry(
    vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.render import RENDERERS

    monkeypatch.setenv("COLUMNS", "250")
    text = " ".join(_help(vlab_in_process, ("adjudicate",)).split())
    for renderer in RENDERERS.values():
        assert f"{renderer.name}: {' '.join(renderer.summary.split())}" in text


def test_dash_h_is_help_and_version_prints_the_version(vlab_in_process: InProcessRunner) -> None:
    from vlab import __version__

    code, out, _ = vlab_in_process("-h")
    assert code == 0 and b"adjudicate" in out
    assert vlab_in_process("--version")[:2] == (0, f"vlab {__version__}\n".encode())


# -- start-up: what --help imports (modules counted, not time) -------------------------------

PROBE = """
import runpy, sys
out, sys.argv = sys.argv[1], ["vlab", *sys.argv[2:]]
try:
    runpy.run_module("vlab", run_name="__main__")
except SystemExit:
    pass
open(out, "w").write(" ".join(sorted(sys.modules)))
"""


def _modules_after(tmp_path: Path, *args: str) -> set[str]:
    from conftest import clean_env

    out = tmp_path / "modules.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        env=clean_env(),
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(out.read_text().split())


HEAVY = ("jsonschema", "ruamel", "jmespath", "orjson", "pydantic", "vlab.ruleset")


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in prefixes or m.startswith(prefixes))


def test_help_loads_neither_the_engine_nor_its_dependencies(tmp_path: Path) -> None:
    top = _modules_after(tmp_path, "--help")
    assert "typer" in top and "vlab.cli.app" in top  # the probe saw the run
    assert _loaded(top, (*HEAVY, "vlab.engine", "vlab.render", "vlab.tools", "rfc8785")) == []
    # a command's help reads the renderer registry (its formats), still not the engine
    one = _modules_after(tmp_path, "adjudicate", "--help")
    assert "vlab.render" in one
    assert _loaded(one, (*HEAVY, "vlab.engine.pipeline", "vlab.engine.admission")) == []
    version = _modules_after(tmp_path, "--version")
    assert _loaded(version, (*HEAVY, "vlab.engine", "rich.markdown")) == []


def test_a_run_builds_only_its_own_command(tmp_path: Path) -> None:
    """``vlab rulesets list`` imports its command module and no other command's."""
    modules = _modules_after(tmp_path, "rulesets", "list")
    cli = sorted(m for m in modules if m.startswith("vlab.cli."))
    assert cli == ["vlab.cli.app", "vlab.cli.common", "vlab.cli.rulesets"]


def test_typer_is_a_release_without_pydantic() -> None:
    from importlib.metadata import requires, version

    assert version("typer").startswith("0.28.")
    assert not [r for r in requires("typer") or [] if r.lower().startswith("pydantic")]


# -- completion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o default -F _vlab_completion vlab"),
        ("zsh", "#compdef vlab"),
        ("fish", "complete --command vlab"),
    ],
)
def test_show_completion_prints_the_script_of_the_shell_named(
    shell: str, marker: str, vlab: Runner
) -> None:
    proc = vlab("--show-completion", shell, text=True)
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout and "_VLAB_COMPLETE" in proc.stdout


def test_install_completion_writes_under_home(tmp_path: Path, vlab: Runner) -> None:
    proc = vlab("--install-completion", "bash", env={"HOME": str(tmp_path)}, text=True)
    assert proc.returncode == 0, proc.stderr
    script = tmp_path / ".bash_completions" / "vlab.sh"
    assert "_VLAB_COMPLETE=complete_bash" in script.read_text()
    assert str(script) in (tmp_path / ".bashrc").read_text()


def test_an_unknown_shell_is_a_usage_error(vlab: Runner) -> None:
    proc = vlab("--show-completion", "tcsh", text=True)
    assert proc.returncode == 64 and "tcsh" in proc.stderr and proc.stdout == ""


@pytest.mark.parametrize(
    ("words", "cword", "expected"),
    [
        ("vlab adj", 1, {"adjudicate"}),
        ("vlab rulesets s", 2, {"show"}),
        ("vlab adjudicate p --format ", 4, {"table", "json", "md", "junit"}),
    ],
)
def test_the_completion_protocol_completes(
    words: str, cword: int, expected: set[str], vlab: Runner
) -> None:
    env = {"_VLAB_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": str(cword)}
    proc = vlab(env=env, text=True)
    assert proc.returncode == 0, proc.stderr
    assert expected <= set(proc.stdout.split())


# -- usage errors: one line, 64, "did you mean" ----------------------------------------------


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("adjudcate", "x"), "did you mean 'adjudicate'?"),
        (("rulesets", "lsit"), "did you mean 'list'"),
        (("adjudicate", "x", "--fromat", "json"), "did you mean --format"),
    ],
    ids=["command", "subcommand", "option"],
)
def test_a_typo_suggests_the_right_name(
    args: tuple[str, ...], says: str, vlab_in_process: InProcessRunner
) -> None:
    code, out, err = vlab_in_process(*args)
    assert (code, out) == (64, b"")
    assert err.startswith("vlab: error: ") and err.count("\n") == 1, err
    assert says in err


@pytest.mark.parametrize(
    "args",
    [(), ("rulesets",), ("pack",), ("receipt",), ("regress",), ("diff", "x", "--to", "y")],
    ids=["nothing", "rulesets", "pack", "receipt", "missing-argument", "missing-option"],
)
def test_an_incomplete_line_is_one_usage_line(
    args: tuple[str, ...], vlab_in_process: InProcessRunner
) -> None:
    code, out, err = vlab_in_process(*args)
    assert (code, out) == (64, b"")
    assert err.startswith("vlab: error: ") and err.count("\n") == 1, err


# -- newcomer fixes ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("adjudicate", ""),
        ("validate", ""),
        ("review", ""),
        ("review", "{ruling}", "--pack", ""),
        ("regress", ""),
        ("pack", "seal", ""),
        ("rulesets", "lint", ""),
        ("adjudicate", ".", "--rulesets-dir", ""),
    ],
)
def test_an_empty_path_is_a_usage_error_never_the_current_folder(
    args: tuple[str, ...], tmp_path: Path, vlab: Runner
) -> None:
    pack = good_pack(tmp_path)  # the current folder is a good pack: judging it would pass
    ruling = tmp_path / "ruling.json"
    ruling.write_bytes(vlab("adjudicate", pack, "--format", "json").stdout)
    proc = vlab(*(a.format(ruling=ruling) for a in args), cwd=pack, text=True)
    assert proc.returncode == 64, proc.stdout
    assert proc.stdout == "" and "empty path" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_a_packs_parent_folder_gets_a_hint_and_its_ruling(vlab: Runner) -> None:
    """Decision: a hint on stderr, the ruling and exit status unchanged (NOT_ADMISSIBLE)."""
    proc = vlab("adjudicate", VECTOR, "--format", "json", text=True)
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["topline"] == "NOT_ADMISSIBLE"
    assert proc.stderr == (
        f"vlab: hint: {VECTOR} has no bundle.manifest.json but holds a pack/ folder: "
        f"did you mean {VECTOR}/pack?\n"
    )
    proc = vlab("validate", str(VECTOR) + "/", text=True)
    assert proc.returncode == 2 and f"did you mean {VECTOR}/pack?" in proc.stderr
    quiet = vlab("adjudicate", VECTOR, "--quiet", text=True)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (2, "", "")


def test_no_hint_for_a_pack_that_holds_a_pack_folder(tmp_path: Path, vlab: Runner) -> None:
    pack = good_pack(tmp_path, extra_files={"pack/notes.md": b"x\n"})
    proc = vlab("adjudicate", pack, "--format", "json", text=True)
    assert proc.returncode == 0 and proc.stderr == ""


@pytest.fixture
def judged(tmp_path: Path, vlab: Runner) -> tuple[Path, Path]:
    """A pack and the ruling file of it."""
    pack = good_pack(tmp_path)
    ruling = tmp_path / "ruling.json"
    proc = vlab("adjudicate", pack, "--format", "json")
    assert proc.returncode == 0
    ruling.write_bytes(proc.stdout)
    return pack, ruling


def test_review_exit_statuses(judged: tuple[Path, Path], tmp_path: Path, vlab: Runner) -> None:
    """cli.md: 0 intact and this pack's, 1 edited or not this pack's, 64 usage."""
    pack, ruling = judged
    assert vlab("review", ruling).returncode == 0
    same = vlab("review", ruling, "--pack", pack, text=True)
    assert same.returncode == 0 and same.stderr == ""
    assert "pack digest check | matches the pack given" in same.stdout
    other = fail_pack(tmp_path)
    proc = vlab("review", ruling, "--pack", other, text=True)
    assert proc.returncode == 1
    assert "DOES NOT MATCH the pack given (sha256:" in proc.stdout  # the dossier is printed
    assert proc.stderr.count("\n") == 1 and "is not a ruling of the pack" in proc.stderr
    unsealed = good_pack(tmp_path, name="unsealed", sealed=False)
    proc = vlab("review", ruling, "--pack", unsealed, text=True)
    assert proc.returncode == 1 and "None" not in proc.stdout + proc.stderr
    assert "DOES NOT MATCH the pack given (its files and its integrity file differ" in proc.stdout
    # a file changed under an unchanged integrity file: the files are hashed again
    events = pack / "trace" / "events.ndjson"
    events.write_bytes(events.read_bytes().replace(b"evt-", b"EVT-", 1))
    proc = vlab("review", ruling, "--pack", pack, text=True)
    assert proc.returncode == 1, proc.stdout
    assert "DOES NOT MATCH the pack given (its files" in proc.stdout
    doc = json.loads(ruling.read_text())
    doc["topline"] = "FAIL"
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(doc))
    proc = vlab("review", edited, text=True)
    assert (proc.returncode, proc.stdout) == (1, "")
    assert "it was edited after it was issued" in proc.stderr and proc.stderr.count("\n") == 1
    assert vlab("review", tmp_path / "nope.json").returncode == 64
    assert vlab("review", ruling, "--pack", tmp_path / "nope").returncode == 64


@pytest.mark.parametrize(
    "missing",
    [
        ("manifest.json", "bundle.manifest.json", "evidence_pointers.json"),
        ("bundle.manifest.json",),
        ("evidence_pointers.json",),
    ],
)
def test_seal_refuses_a_folder_without_its_control_files(
    missing: tuple[str, ...], tmp_path: Path, vlab: Runner
) -> None:
    pack = good_pack(tmp_path, sealed=False)
    for name in missing:
        remove(pack, name)
    proc = vlab("pack", "seal", pack, text=True)
    assert proc.returncode == 64 and proc.stderr.count("\n") == 1
    assert f"lacks {', '.join(missing)} (--allow-incomplete" in proc.stderr
    assert not (pack / SUMS_PATH).exists()
    proc = vlab("pack", "seal", pack, "--allow-incomplete", text=True)
    assert proc.returncode == 0 and (pack / SUMS_PATH).is_file()


def test_the_seal_library_function_stays_permissive(tmp_path: Path) -> None:
    """Generators of hostile vectors seal incomplete folders through the library."""
    from vlab.pack.seal import missing_control_files, seal

    folder = tmp_path / "loose"
    write(folder, "artifacts/a.json", b"{}")
    assert missing_control_files(folder) == [
        "manifest.json",
        "bundle.manifest.json",
        "evidence_pointers.json",
    ]
    assert seal(folder) == 1


def test_regress_shows_json_words_not_python_none(tmp_path: Path, vlab: Runner) -> None:
    corpus = tmp_path / "corpus"
    vector = shutil.copytree(VECTOR, corpus / "v")
    expected = json.loads((vector / "expected.json").read_text())
    expected["clauses"]["CL-D4-01"]["reason_code"] = None  # actual: EVAL-NOT-APPLICABLE-...
    (vector / "expected.json").write_text(json.dumps(expected))
    proc = vlab("regress", corpus, text=True)
    assert proc.returncode == 1
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("MISMATCH")]
    assert "expected null, actual 'EVAL-NOT-APPLICABLE-RQ-D4-01'" in line
    assert "None" not in proc.stdout


def test_human_lines_never_print_python_none(tmp_path: Path, vlab: Runner) -> None:
    """Absent values are — (cli.md): the parent of a pack has no ids at all."""
    for args in (
        ("adjudicate", VECTOR),
        ("validate", VECTOR),
        ("rulesets", "list"),
        ("rulesets", "show", "ruleset-1.2"),
        ("regress", VECTOR.parent),
    ):
        proc = vlab(*args, text=True)
        assert proc.returncode in (0, 1, 2), (args, proc.stderr)
        assert not re.search(r"\bNone\b", proc.stdout + proc.stderr), (args, proc.stdout)


# -- --quiet and --no-color -------------------------------------------------------------------


def test_quiet_prints_nothing_but_errors(tmp_path: Path, vlab_in_process: InProcessRunner) -> None:
    pack = fail_pack(tmp_path)
    out_file = tmp_path / "r.json"
    _, as_json, _ = vlab_in_process("adjudicate", pack, "--format", "json")
    for expected, args in (
        (1, ("adjudicate", pack, "--quiet", "--out", f"json={out_file}")),
        (1, ("--quiet", "adjudicate", pack, "--format", "json")),
        (0, ("-q", "validate", pack)),
        (0, ("regress", VECTOR.parent, "-q")),
        (0, ("rulesets", "list", "--quiet")),
    ):
        assert vlab_in_process(*args) == (expected, b"", ""), args
    assert out_file.read_bytes() == as_json  # --out files are still written
    sealed = good_pack(tmp_path, name="to-seal", sealed=False)
    assert vlab_in_process("pack", "seal", sealed, "--quiet") == (0, b"", "")
    code, out, err = vlab_in_process("--quiet", "adjudicate", tmp_path / "nope")
    assert (code, out) == (64, b"") and err.startswith("vlab: error: pack not found")


def test_colour_follows_force_color_no_color_and_the_flag(tmp_path: Path, vlab: Runner) -> None:
    pack = fail_pack(tmp_path)
    forced = vlab("adjudicate", pack, no_color=False, env={"FORCE_COLOR": "1"})
    assert forced.returncode == 1 and COLOUR_SGR.search(forced.stdout)
    flag = vlab("adjudicate", pack, "--no-color", no_color=False, env={"FORCE_COLOR": "1"})
    assert flag.returncode == 1 and b"\x1b[" not in flag.stdout
    assert b"CL-D1-01" in flag.stdout
    both = vlab("adjudicate", pack, no_color=False, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert both.returncode == 1 and not COLOUR_SGR.search(both.stdout)
    root = vlab("--no-color", "adjudicate", pack, no_color=False, env={"FORCE_COLOR": "1"})
    assert root.stdout == flag.stdout


def test_no_color_is_undone_after_the_run(
    tmp_path: Path, vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("FORCE_COLOR", "1")
    code, out, _ = vlab_in_process("rulesets", "list", "--no-color")
    assert code == 0 and out
    assert "NO_COLOR" not in os.environ and os.environ["FORCE_COLOR"] == "1"


# -- formats come from the renderer registry ---------------------------------------------------


def test_a_registered_renderer_is_a_format_with_no_cli_change(
    tmp_path: Path, vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab import render

    probe = types.ModuleType("vlab_probe_renderer")
    probe.render_probe = lambda ruling: f"probe {ruling.topline}\n".encode()  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vlab_probe_renderer", probe)
    registry = dict(render.RENDERERS)
    registry["probe"] = render.Renderer("probe", "vlab_probe_renderer", "render_probe", "a probe")
    monkeypatch.setattr(render, "RENDERERS", registry)
    pack = fail_pack(tmp_path)
    target = tmp_path / "p.txt"
    code, out, err = vlab_in_process(
        "adjudicate", pack, "--format", "probe", "--out", f"probe={target}"
    )
    assert (code, out, err) == (1, b"probe FAIL\n", "")
    assert target.read_bytes() == b"probe FAIL\n"


def test_render_gets_the_pack_as_given(
    tmp_path: Path,
    vlab_in_process: InProcessRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from vlab import render

    seen: list[Any] = []

    def with_pack(ruling: Any, fmt: str, *, pack: str | None = None) -> bytes:
        seen.append(pack)
        return b"x\n"

    monkeypatch.setattr(render, "render", with_pack)
    good_pack(tmp_path)
    monkeypatch.chdir(tmp_path)
    code, out, _ = vlab_in_process("adjudicate", "./pack/", "--format", "json")
    assert (code, out) == (0, b"x\n")
    assert seen == ["./pack/"]  # as given, not normalised


# -- explain and pack init (their logic is vlab.tools.explain / vlab.tools.init) --------------


def test_explain_prints_the_explanation(
    vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.core.errors import UsageError

    def explain(code: str) -> str:
        if code != "X-KNOWN":
            raise UsageError(f"unknown code {code!r}")
        return "X-KNOWN\n  what it means\n"

    fake = types.ModuleType("vlab.tools.explain")
    fake.explain = explain  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vlab.tools.explain", fake)
    assert vlab_in_process("explain", "X-KNOWN") == (0, b"X-KNOWN\n  what it means\n", "")
    code, out, err = vlab_in_process("explain", "NOPE")
    assert (code, out) == (64, b"") and err == "vlab: error: unknown code 'NOPE'\n"


def test_pack_init_writes_through_init_pack(
    tmp_path: Path, vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.core.errors import UsageError

    calls: list[tuple[Any, ...]] = []

    def init_pack(path: Path, ruleset_id: str, run_id: str | None, catalog: Any) -> list[str]:
        assert catalog is not None  # the command's catalog (--rulesets-dir included)
        if ruleset_id == "nope":
            raise UsageError("unknown ruleset 'nope'")
        calls.append((path, ruleset_id, run_id))
        return ["manifest.json", "trace/events.ndjson"]

    fake = types.ModuleType("vlab.tools.init")
    fake.init_pack = init_pack  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "vlab.tools.init", fake)
    folder = tmp_path / "new"
    code, out, err = vlab_in_process("pack", "init", folder, "--ruleset", "ruleset-1.1")
    assert code == 0, err
    assert out.decode().splitlines() == [
        f"wrote {folder}/manifest.json",
        f"wrote {folder}/trace/events.ndjson",
    ]
    assert f"vlab pack seal {folder}" in err
    code, _, _ = vlab_in_process("pack", "init", folder, "--ruleset", "r", "--run-id", "run-7")
    assert calls == [(folder, "ruleset-1.1", None), (folder, "r", "run-7")]
    assert vlab_in_process("pack", "init", folder, "--ruleset", "nope")[0] == 64
    assert vlab_in_process("pack", "init", folder)[0] == 64  # --ruleset is required


def test_pack_init_then_seal_then_adjudicate(tmp_path: Path, vlab: Runner) -> None:
    """The newcomer's path: a skeleton, sealed, is a pack the engine judges."""
    pytest.importorskip("vlab.tools.init")
    folder = tmp_path / "mine"
    proc = vlab("pack", "init", folder, "--ruleset", "ruleset-1.1", text=True)
    assert proc.returncode == 0, proc.stderr
    assert vlab("pack", "seal", folder).returncode == 0
    proc = vlab("adjudicate", folder, "--format", "json")
    assert proc.returncode in (0, 1, 3), proc.stderr
    assert json.loads(proc.stdout)["admission"]["status"] == "ADMISSIBLE"


# -- entry points ------------------------------------------------------------------------------


def test_the_console_script_and_python_m_agree(vlab: Runner) -> None:
    script = Path(sys.executable).parent / "vlab"
    if not script.is_file():
        pytest.skip("no console script in this environment")
    from conftest import clean_env

    direct = subprocess.run(
        [str(script), "rulesets", "list", "--format", "json"],
        capture_output=True,
        env=clean_env(),
        timeout=300,
        check=False,
    )
    assert direct.returncode == 0
    assert direct.stdout == vlab("rulesets", "list", "--format", "json").stdout


def test_the_argparse_era_entry_still_runs_a_line(tmp_path: Path) -> None:
    from vlab.cli import build_parser, run
    from vlab.core.errors import UsageError

    assert build_parser().parse_args(["rulesets", "show", "nope"]) is not None
    with pytest.raises(UsageError):
        run(["rulesets", "show", "nope"])
