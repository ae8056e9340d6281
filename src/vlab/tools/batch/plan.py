"""The batch's plan: CORPUS arguments -> the ordered list of packs to judge.

A CORPUS argument is a folder (searched for packs as ``vlab regress``/``diff`` search:
``tools.corpus.find_packs``; a pack that fails PIN is still found), an archive pack
(``.tar``, ``.tar.gz``/``.tgz``, ``.zip``: one pack, path ``.``), or a text file listing
one pack path a line (UTF-8; blank lines and lines starting with ``#`` are skipped; a
relative path is relative to the list file's folder, and the path shown is the line as
written). The order is by CORPUS argument, then by the UTF-8 bytes of the path relative
to it, whatever order the walk or the list gave (decision 240).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vlab.core.errors import UsageError
from vlab.pack.limits import archive_kind

MAX_LIST_BYTES = 64 * 1024 * 1024  # a list file of about a million paths


@dataclass(frozen=True)
class Task:
    """One pack to judge: its CORPUS argument, its path relative to it, where it is."""

    corpus: int  # index of its CORPUS argument
    rel: str  # relative to the argument, POSIX; a name that is not UTF-8 carries surrogates
    path: str  # absolute (workers may run elsewhere, in another folder)

    @property
    def key(self) -> bytes:
        """The order within a CORPUS argument: the path's UTF-8 bytes."""
        return self.rel.encode("utf-8", "surrogateescape")

    @property
    def shown(self) -> str:
        """The path as results show it: bytes that are not UTF-8 as ``\\xNN``."""
        return self.key.decode("utf-8", "backslashreplace")


def plan(corpora: list[str]) -> list[Task]:
    """Every pack of every CORPUS argument, in batch order; a usage error (64) for a
    CORPUS argument that does not exist, is given twice, or holds no pack."""
    if not corpora:
        raise UsageError("batch needs at least one CORPUS (a folder, an archive or a list file)")
    seen: dict[str, str] = {}
    tasks: list[Task] = []
    for index, given in enumerate(corpora):
        path = Path(given)
        if not path.exists():
            raise UsageError(f"CORPUS not found: {given}")
        real = os.path.realpath(path)
        if real in seen:
            raise UsageError(f"CORPUS given twice: {given} (also {seen[real]})")
        seen[real] = given
        found = _packs_of(index, path, given)
        tasks.extend(sorted(found, key=lambda t: t.key))
    return tasks


def _packs_of(index: int, path: Path, given: str) -> list[Task]:
    if path.is_dir():
        from vlab.tools.corpus import find_packs

        found = [Task(index, rel, os.path.abspath(p)) for rel, p in find_packs(path)]
        if not found:
            raise UsageError(f"no packs under {given}")
        return found
    if not path.is_file():
        raise UsageError(f"CORPUS is not a folder, an archive or a list file: {given}")
    if archive_kind(path.name) is not None:
        return [Task(index, ".", os.path.abspath(path))]
    return _listed(index, path, given)


def _listed(index: int, path: Path, given: str) -> list[Task]:
    """The packs a list file names, one a line."""
    from vlab.core.inputs import read_input

    data = read_input(path, what="list of packs", limit=MAX_LIST_BYTES)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{given}: a list of packs is UTF-8 text (byte {exc.start})") from None
    base = os.path.abspath(path.parent)
    tasks: list[Task] = []
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if not line.strip() or line.startswith("#"):
            continue
        if "\x00" in line:
            raise UsageError(f"{given}:{number}: a pack path with a NUL character")
        if line in lines:
            raise UsageError(f"{given}:{number}: {line!r} is listed twice (line {lines[line]})")
        lines[line] = number
        where = line if os.path.isabs(line) else os.path.join(base, line)
        tasks.append(Task(index, line, os.path.normpath(where)))
    if not tasks:
        raise UsageError(f"{given}: lists no pack (one pack path a line)")
    return tasks
