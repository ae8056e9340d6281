"""Shared ways of running vlab in tests: the command line (in a subprocess or in-process)
and an in-process adjudication that returns the ruling document.

Every run sees the same clean environment: variables that would change what vlab loads
(extra ruleset folders), how it prints (colour, terminal size) or where it writes (a CI step
summary) are removed first, so a developer's shell or a CI runner cannot change a result.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # vlab is imported by the fixtures that use it, not by every session
    from vlab.pack.limits import Limits
    from vlab.ruleset.catalog import Catalog

REPO = Path(__file__).resolve().parent.parent

# Removed from the environment of every run (subprocess and in-process).
HYGIENE = (
    "VLAB_RULESETS_DIR",  # another folder of shipped rulesets
    "VLAB_RULESETS_PATH",  # extra ruleset folders
    "NO_COLOR",  # set again below (no_color=True), never inherited
    "FORCE_COLOR",
    "CLICOLOR_FORCE",
    "TERM",
    "TTY_COMPATIBLE",
    "TTY_INTERACTIVE",
    "COLUMNS",
    "LINES",
    "GITHUB_STEP_SUMMARY",  # adjudicate/regress append to it: never to a real CI summary
)
# A liveness bound for one CLI run, not a performance limit: a hung child fails the test
# instead of the whole session.
LIVENESS_TIMEOUT_S = 300

Runner = Callable[..., "subprocess.CompletedProcess[Any]"]
InProcessRunner = Callable[..., tuple[int, bytes, str]]
Judge = Callable[..., dict[str, Any]]


def clean_env(
    env: Mapping[str, str] | None = None, drop: Iterable[str] = (), no_color: bool = True
) -> dict[str, str]:
    """``os.environ`` without HYGIENE and ``drop``, with NO_COLOR=1 (unless not wanted),
    then ``env`` on top."""
    gone = set(HYGIENE) | set(drop)
    out = {k: v for k, v in os.environ.items() if k not in gone}
    if no_color:
        out["NO_COLOR"] = "1"
    out.update(env or {})
    return out


def run_vlab(
    *args: Any,
    cwd: Path | str | None = REPO,
    env: Mapping[str, str] | None = None,
    drop: Iterable[str] = (),
    no_color: bool = True,
    text: bool = False,
    allow_traceback: bool = False,
) -> subprocess.CompletedProcess[Any]:
    """Run ``python -m vlab ARGS`` in a subprocess (stdout/stderr captured, bytes unless
    ``text``). ``env`` adds to (or overrides) the cleaned environment, ``drop`` removes more
    variables. No run may print a Python traceback unless ``allow_traceback`` (``--debug``)."""
    proc = subprocess.run(
        [sys.executable, "-m", "vlab", *(str(a) for a in args)],
        capture_output=True,
        cwd=cwd,
        env=clean_env(env, drop, no_color),
        text=text,
        timeout=LIVENESS_TIMEOUT_S,
        check=False,
    )
    if not allow_traceback:
        err = proc.stderr if text else proc.stderr.decode("utf-8", "replace")
        assert "Traceback" not in err, err
    return proc


@pytest.fixture(scope="session")
def vlab() -> Runner:
    """The command line in a subprocess: ``vlab(*args, cwd=, env=, drop=, no_color=, text=,
    allow_traceback=)`` -> CompletedProcess (see ``run_vlab``)."""
    return run_vlab


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    """The shipped rulesets, loaded once per session (in a clean environment)."""
    from vlab.ruleset.catalog import Catalog

    with pytest.MonkeyPatch.context() as mp:
        for name in HYGIENE:
            mp.delenv(name, raising=False)
        return Catalog()


@pytest.fixture
def vlab_in_process(
    catalog: Catalog, capsysbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> InProcessRunner:
    """The command line through its entry point in this process (fast; the session catalog
    is shared): ``vlab_in_process(*args)`` -> (exit status, stdout bytes, stderr text)."""
    from vlab.cli import main

    for name in HYGIENE:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("vlab.cli._catalog", lambda *_: catalog)

    def run(*args: Any) -> tuple[int, bytes, str]:
        with pytest.raises(SystemExit) as exc:
            main([str(a) for a in args])
        out, err = capsysbinary.readouterr()
        text = err.decode("utf-8", "replace")
        assert "Traceback" not in text, text
        code = exc.value.code
        assert isinstance(code, int)
        return code, out, text

    return run


def ruling_document(ruling: Any) -> dict[str, Any]:
    """The JSON document of what ``adjudicate`` returned (a typed ruling or a dict)."""
    doc = ruling.to_json() if hasattr(ruling, "to_json") else ruling
    assert isinstance(doc, dict)
    return doc


@pytest.fixture(scope="session")
def judge(catalog: Catalog) -> Judge:
    """Adjudicate a pack in-process: ``judge(pack, ruleset=ID_OR_PATH, limits=...)`` -> the
    ruling document. ``ruleset`` is a shadow run (``--ruleset``); ``limits`` is a
    ``Limits`` or a mapping of overrides (``{"max_files": 5}``, as an expectation's
    ``limits``)."""
    from vlab.engine.pipeline import adjudicate
    from vlab.pack.limits import Limits as _Limits

    def run(
        pack: Path, *, ruleset: str | None = None, limits: Limits | Mapping[str, int] | None = None
    ) -> dict[str, Any]:
        if limits is not None and not isinstance(limits, _Limits):
            limits = replace(_Limits(), **limits)
        override = catalog.resolve(ruleset) if ruleset is not None else None
        return ruling_document(adjudicate(pack, catalog, override=override, limits=limits))

    return run
