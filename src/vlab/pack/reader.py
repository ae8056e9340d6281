"""Safe, bounded access to the files of a directory pack.

Files are opened component by component relative to the pack root's descriptor with
``O_NOFOLLOW``, so no path, link or race can make vlab read outside the pack.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vlab.core.findings import Detail
from vlab.pack.limits import ALLOWED_ENDINGS, Limits, artifact_kind, unsafe_path_reason

CHUNK = 1 << 22  # 4 MiB: large enough for hashlib to run without the GIL, small for RSS


class PackAccessError(OSError):
    """A file that cannot be opened safely inside the pack (missing, link, not regular)."""


@dataclass(frozen=True)
class PackFile:
    path: str
    size: int


@dataclass
class Inventory:
    files: list[PackFile] = field(default_factory=list)
    refusals: list[Detail] = field(default_factory=list)

    @property
    def paths(self) -> set[str]:
        return {f.path for f in self.files}


def _utf8_sort_key(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


class PackReader:
    """Read-only view of one pack directory."""

    def __init__(self, root: Path, limits: Limits | None = None) -> None:
        self.root = root
        self.limits = limits or Limits()
        self._sizes: dict[str, int] = {}

    # -- inventory (SECURITY: no file content is read) -------------------------------

    def inventory(self) -> Inventory:
        """Walk the pack without following links; refuse what evidence-pack.md refuses."""
        inv = Inventory()
        limits = self.limits
        total = 0
        stack: list[str] = [""]
        too_many = False
        while stack and not too_many:
            rel_dir = stack.pop()
            try:
                with os.scandir(self.root / rel_dir if rel_dir else self.root) as it:
                    entries = sorted(it, key=lambda e: _utf8_sort_key(e.name))
            except OSError as exc:
                inv.refusals.append(
                    Detail(
                        "SECURITY-UNREADABLE",
                        f"cannot list folder: {exc.strerror}",
                        rel_dir or None,
                    )
                )
                continue
            for entry in entries:
                rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
                shown = rel.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
                reason = unsafe_path_reason(rel)
                if reason is not None:
                    inv.refusals.append(Detail("SECURITY-UNSAFE-PATH", f"name {reason}", shown))
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    inv.refusals.append(
                        Detail("SECURITY-UNREADABLE", f"cannot stat: {exc.strerror}", rel)
                    )
                    continue
                mode = st.st_mode
                if stat.S_ISLNK(mode):
                    inv.refusals.append(Detail("SECURITY-SYMLINK", "symbolic link refused", rel))
                elif stat.S_ISDIR(mode):
                    stack.append(rel)
                elif not stat.S_ISREG(mode):
                    kind = (
                        "FIFO"
                        if stat.S_ISFIFO(mode)
                        else "socket"
                        if stat.S_ISSOCK(mode)
                        else "device file"
                    )
                    inv.refusals.append(Detail("SECURITY-SPECIAL-FILE", f"{kind} refused", rel))
                else:
                    if len(inv.files) >= limits.max_files:
                        inv.refusals.append(
                            Detail(
                                "SECURITY-TOO-MANY-FILES",
                                f"more than {limits.max_files} files in the pack",
                            )
                        )
                        too_many = True
                        break
                    inv.files.append(PackFile(rel, st.st_size))
                    total += st.st_size
                    if not rel.endswith(ALLOWED_ENDINGS):
                        inv.refusals.append(
                            Detail("SECURITY-DISALLOWED-ENDING", "file ending not allowed", rel)
                        )
                    if st.st_size > limits.max_file_bytes:
                        inv.refusals.append(
                            Detail(
                                "SECURITY-FILE-TOO-LARGE",
                                f"{st.st_size} bytes exceeds {limits.max_file_bytes}",
                                rel,
                            )
                        )
                    elif (
                        artifact_kind(rel) in ("json", "yaml")
                        and st.st_size > limits.max_document_bytes
                    ):
                        inv.refusals.append(
                            Detail(
                                "SECURITY-FILE-TOO-LARGE",
                                f"{st.st_size} bytes exceeds the {limits.max_document_bytes}"
                                " byte bound for a whole-parsed document",
                                rel,
                            )
                        )
        if total > limits.max_pack_bytes:
            inv.refusals.append(
                Detail("SECURITY-PACK-TOO-LARGE", f"{total} bytes exceeds {limits.max_pack_bytes}")
            )
        inv.files.sort(key=lambda f: _utf8_sort_key(f.path))
        self._sizes = {f.path: f.size for f in inv.files}
        return inv

    # -- safe opening ---------------------------------------------------------------

    def has(self, path: str) -> bool:
        return path in self._sizes

    def size(self, path: str) -> int:
        return self._sizes[path]

    def open(self, path: str) -> BinaryIO:
        """Open a pack file for reading, refusing links, non-regular files and escapes."""
        if unsafe_path_reason(path) is not None:
            raise PackAccessError(f"unsafe path {path!r}")
        parts = path.split("/")
        dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                try:
                    next_fd = os.open(
                        part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dir_fd
                    )
                except OSError as exc:
                    raise PackAccessError(f"{path}: {exc.strerror}") from None
                os.close(dir_fd)
                dir_fd = next_fd
            try:
                fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
            except OSError as exc:
                raise PackAccessError(f"{path}: {exc.strerror}") from None
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PackAccessError(f"{path}: not a regular file")
        return os.fdopen(fd, "rb")

    def read_bytes(self, path: str, limit: int | None = None) -> bytes:
        """Whole file, refusing more than ``limit`` bytes (default: the document bound)."""
        bound = self.limits.max_document_bytes if limit is None else limit
        with self.open(path) as fh:
            data = fh.read(bound + 1)
        if len(data) > bound:
            raise PackAccessError(f"{path}: larger than {bound} bytes")
        return data

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        with self.open(path) as fh:
            fh.seek(offset)
            return fh.read(length)

    def chunks(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of ``[start, end)`` of a file, in chunks."""
        with self.open(path) as fh:
            if start:
                fh.seek(start)
            left = None if end is None else end - start
            while left is None or left > 0:
                block = fh.read(CHUNK if left is None else min(CHUNK, left))
                if not block:
                    return
                if left is not None:
                    left -= len(block)
                yield block

    # -- hashing and line-length scan (no parsing) -------------------------------------

    def hash_and_scan(self, path: str, max_line: int | None) -> tuple[str, int | None]:
        """sha256 hex of the file and, when ``max_line`` is given, the 1-based number of the
        first line longer than it (None if none). One pass, in chunks. A line's length
        excludes its terminator, ``\\r\\n`` included."""
        digest = hashlib.sha256()
        run = 0  # bytes of the current line seen so far
        last_cr = False  # the last byte seen was a carriage return
        line_no = 1
        too_long: int | None = None
        # A small file gets a small buffer: zeroing 4 MiB per file would dominate small packs.
        buf = bytearray(min(CHUNK, self._sizes.get(path, CHUNK) + 1))
        view = memoryview(buf)
        with self.open(path) as fh:
            while True:
                n = fh.readinto(buf)  # type: ignore[attr-defined]
                if not n:
                    break
                digest.update(view[:n])
                if max_line is None or too_long is not None:
                    continue
                first = buf.find(b"\n", 0, n)
                if first == -1:
                    run += n
                    last_cr = buf[n - 1] == 13
                    if run > max_line + 1:  # even a final \r cannot bring it back
                        too_long = line_no
                    continue
                ends_cr = buf[first - 1] == 13 if first else last_cr
                if run + first - ends_cr > max_line:
                    too_long = line_no
                    continue
                last = buf.rfind(b"\n", 0, n)
                if max_line < last - first:
                    # Lines inside this chunk can only exceed a limit smaller than the chunk.
                    pos = first + 1
                    inner_line = line_no + 1
                    while pos <= last:
                        nl = buf.find(b"\n", pos, last + 1)
                        if nl - pos - (nl > pos and buf[nl - 1] == 13) > max_line:
                            too_long = inner_line
                            break
                        pos = nl + 1
                        inner_line += 1
                    if too_long is not None:
                        continue
                line_no += buf.count(b"\n", 0, n)
                run = n - last - 1
                last_cr = run > 0 and buf[n - 1] == 13
            if too_long is None and max_line is not None and run > max_line:
                too_long = line_no
        return digest.hexdigest(), too_long
