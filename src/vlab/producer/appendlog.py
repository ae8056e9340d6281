"""Append-only JSON-lines files: one record per ``write(2)`` with ``O_APPEND``, fsync'd.

A single ``write`` of a whole line to a file opened with ``O_APPEND`` lands at the end, so
two processes appending at once never interleave their lines. Each append also holds an
exclusive ``flock`` while it looks at the file's last byte and writes: a line torn by a
crashed writer (no final newline) is then seen by the next writer, reported, and never
silently dropped or merged into the next record. (The kernel drops a dead writer's lock.)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any


class TornLineError(RuntimeError):
    """The file ends in a partial line (a writer died mid-write)."""

    def __init__(self, path: Path, offset: int, tail: bytes) -> None:
        super().__init__(f"{path}: torn last line at byte {offset} ({len(tail)} bytes)")
        self.path = path
        self.offset = offset
        self.tail = tail


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # money is written as an exact decimal string
    raise TypeError(f"cannot write {type(value).__name__} to a JSON line")


def encode_line(record: dict[str, Any]) -> bytes:
    return (
        json.dumps(record, separators=(",", ":"), ensure_ascii=False, default=_default) + "\n"
    ).encode("utf-8")


class AppendLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def torn_tail(self) -> TornLineError | None:
        """The torn last line, if the file has one."""
        try:
            size = self.path.stat().st_size
        except FileNotFoundError:
            return None
        if size == 0:
            return None
        with open(self.path, "rb") as fh:
            fh.seek(max(0, size - 1))
            if fh.read(1) == b"\n":
                return None
            # Walk back to the start of the partial line.
            start = size
            while start > 0:
                step = min(65536, start)
                fh.seek(start - step)
                block = fh.read(step)
                cut = block.rfind(b"\n")
                if cut != -1:
                    start = start - step + cut + 1
                    break
                start -= step
            fh.seek(start)
            return TornLineError(self.path, start, fh.read())

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as one line; refuses to write after a torn line."""
        import fcntl

        data = encode_line(record)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            size = os.fstat(fd).st_size
            if size and self._last_byte(size) != b"\n":
                torn = self.torn_tail()
                if torn is not None:
                    raise torn
            written = os.write(fd, data)
            if written != len(data):  # pragma: no cover - a full disk or a signal
                raise OSError(f"{self.path}: short write ({written} of {len(data)} bytes)")
            os.fsync(fd)
        finally:
            os.close(fd)  # closing drops the lock

    def _last_byte(self, size: int) -> bytes:
        with open(self.path, "rb") as fh:
            fh.seek(size - 1)
            return fh.read(1)

    def quarantine_torn_tail(self) -> Path | None:
        """Move a torn last line to ``<file>.torn`` (explicit, reported) so appends can go on."""
        torn = self.torn_tail()
        if torn is None:
            return None
        aside = self.path.with_name(self.path.name + ".torn")
        with open(aside, "ab") as fh:
            fh.write(torn.tail + b"\n")
        os.truncate(self.path, torn.offset)
        return aside

    def records(self) -> Iterator[dict[str, Any]]:
        """Complete records in order; raises TornLineError at a torn last line."""
        if not self.path.exists():
            return
        with open(self.path, "rb") as fh:
            for raw in fh:
                if not raw.endswith(b"\n"):
                    raise TornLineError(self.path, fh.tell() - len(raw), raw)
                if raw.strip():
                    yield json.loads(raw, parse_float=Decimal)
