"""The ``--results`` file: one line a pack, in plan order, each line whole.

Chunks finish in any order; ``OrderedWriter`` buffers the lines that arrive early and
writes each line as soon as every line before it is written, with one ``write`` of the
whole line and its newline (a short write is continued) and no buffering in between, so
the file is always whole lines plus, at worst after a power cut, one torn last line that
``read_previous`` drops. On Ctrl-C or an error, ``finish`` still writes every line it has,
in order (a gap where a pack was not finished): no finished ruling is lost.

``--resume`` reads the previous file (and the temporary file of a resumed run that was
killed), keeps the rulings whose pack digest still matches (checked by the worker,
``work.current_digest``) and were made under the same settings, and writes the whole
file anew beside it, renamed over it at the end (decision 242).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError

RESUME_SUFFIX = ".resume"  # the file a resumed run writes, renamed over --results at the end


def summary_path(results: Path) -> Path:
    """``results.jsonl`` -> ``results.summary.json``: the results file's name without its
    last suffix, then ``.summary.json`` (decision 246)."""
    stem = results.name[: -len(results.suffix)] if results.suffix else results.name
    return results.with_name(stem + ".summary.json")


class OrderedWriter:
    """Lines written in index order as they become writable."""

    def __init__(self, path: Path, expected: int) -> None:
        self.path = path
        self.expected = expected
        self.next = 0
        self.waiting: dict[int, bytes] = {}
        try:
            self.fd = os.open(
                path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o644
            )
        except OSError as exc:
            raise UsageError(f"cannot write {path}: {exc.strerror}") from None

    def add(self, index: int, line: bytes | None) -> None:
        """The line of ``index`` (None: that pack has none, the lines after it may go)."""
        self.waiting[index] = line or b""
        while self.next in self.waiting:
            ready = self.waiting.pop(self.next)
            if ready:
                self._write(ready)
            self.next += 1

    def _write(self, line: bytes) -> None:
        view = memoryview(line + b"\n")
        while view:
            written = os.write(self.fd, view)
            view = view[written:]

    def finish(self) -> None:
        """Write every line still waiting, in order (gaps where packs are missing)."""
        for index in sorted(self.waiting):
            if self.waiting[index]:
                self._write(self.waiting[index])
        self.waiting.clear()
        os.close(self.fd)


@dataclass(frozen=True)
class Previous:
    """A line of the previous results: its bytes and its parsed document."""

    line: bytes
    doc: dict[str, Any]


def _lines(path: Path) -> Iterator[bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    lines = data.split(b"\n")
    lines.pop()  # after the last newline: empty, or a torn line (never kept)
    yield from lines


def read_previous(path: Path) -> dict[tuple[int, str], Previous]:
    """(corpus, path) -> the previous line of that pack with a ruling, from the results
    file and a killed resumed run's file; malformed lines, error records and packs listed
    twice are dropped (they are judged again)."""
    found: dict[tuple[int, str], Previous] = {}
    twice: set[tuple[int, str]] = set()
    for source in (path, path.with_name(path.name + RESUME_SUFFIX)):
        for line in _lines(source):
            try:
                doc = json.loads(line)
            except ValueError:
                continue
            if not isinstance(doc, dict) or not isinstance(doc.get("ruling"), dict):
                continue
            corpus, shown = doc.get("corpus"), doc.get("path")
            if not isinstance(corpus, int) or not isinstance(shown, str):
                continue
            key = (corpus, shown)
            if key in found and found[key].line != line:
                twice.add(key)
            found[key] = Previous(line, doc)
    for key in twice:
        del found[key]
    return found
