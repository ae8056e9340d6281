"""Safe, bounded access to the files of a directory pack — and the private snapshot that
makes the bytes every stage judges the bytes the SECURITY gate hashed.

The walk opens every folder relative to its parent's descriptor with ``O_NOFOLLOW |
O_DIRECTORY`` and enforces the limits while listing (a million-entry folder is never
listed whole). Names are handled as UTF-8 bytes, never in the locale's encoding.

``seal_read`` hashes a file while copying it into a private store (memory for small
files, an unlinked temporary file for the rest); from then on every read of that file is
served from the copy, so another process rewriting the pack during adjudication cannot
change what is judged. A file that changes *while* it is being copied (or that is not the
file the walk listed) is reported, never silently judged (decision 63).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vlab.core.errors import UsageError
from vlab.core.findings import Detail
from vlab.pack.limits import (
    ALLOWED_ENDINGS,
    NATIVE_ENDINGS,
    NATIVE_PREFIX,
    Limits,
    artifact_kind,
    ending_allowed,
    unsafe_path_reason,
)

CHUNK = 1 << 22  # 4 MiB: large enough for hashlib to run without the GIL, small for RSS
# Files up to this size are copied into memory, while the total stays under the budget;
# the rest go to one unlinked temporary file (page cache, not RSS).
MEMORY_FILE_BYTES = 1 << 20
MEMORY_TOTAL_BYTES = 16 << 20

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
# The refusal names what is allowed, so a producer knows what to rename or leave out.
_ENDING_MESSAGE = (
    f"file ending not allowed (allowed: {', '.join(ALLOWED_ENDINGS)}; "
    f"under {NATIVE_PREFIX} also {', '.join(NATIVE_ENDINGS)})"
)


class PackAccessError(OSError):
    """A file that cannot be opened safely inside the pack (missing, link, not regular)."""


@dataclass(frozen=True)
class PackFile:
    path: str
    size: int
    # What the walk saw (lstat): a file read later must still be this file, unchanged.
    identity: tuple[int, ...] = ()


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


@dataclass
class Inventory:
    files: list[PackFile] = field(default_factory=list)
    refusals: list[Detail] = field(default_factory=list)
    folders: int = 0

    @property
    def paths(self) -> set[str]:
        return {f.path for f in self.files}


@dataclass(frozen=True)
class SealedRead:
    """What ``seal_read`` found: the sha256 hex, the first over-long line (or None), and
    why the file cannot be trusted to be the listed one (or None)."""

    hexdigest: str
    too_long: int | None
    changed: str | None


def _utf8_sort_key(path: str) -> bytes:
    return path.encode("utf-8")


def shown(name: bytes) -> str:
    """A file name for a message: UTF-8, undecodable bytes replaced."""
    return name.decode("utf-8", "replace")


@dataclass(frozen=True)
class Source:
    """Where the sealed bytes of one file are: in memory, or a span of the spool file.
    Picklable (the forked NDJSON scan reads through it: the spool descriptor is
    inherited, and ``pread`` keeps the two processes from sharing a file offset)."""

    size: int
    data: bytes | None = None
    fd: int = -1
    base: int = 0

    def read(self, offset: int, length: int) -> bytes:
        end = min(self.size, offset + length)
        if offset >= end:
            return b""
        if self.data is not None:
            return self.data[offset:end]
        parts = []
        while offset < end:
            block = os.pread(self.fd, end - offset, self.base + offset)
            if not block:
                raise PackAccessError("the private copy of the pack is shorter than sealed")
            parts.append(block)
            offset += len(block)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        stop = self.size if end is None else min(end, self.size)
        while start < stop:
            block = self.read(start, min(CHUNK, stop - start))
            yield block
            start += len(block)


class _LineScan:
    """Finds the first line longer than ``max_line`` bytes (terminator, ``\\r\\n``
    included, excluded from the length) in a stream fed chunk by chunk."""

    def __init__(self, max_line: int) -> None:
        self.max_line = max_line
        self.run = 0  # bytes of the current line seen so far
        self.last_cr = False  # the last byte seen was a carriage return
        self.line_no = 1
        self.too_long: int | None = None

    def feed(self, buf: bytearray | bytes, n: int) -> None:
        max_line = self.max_line
        first = buf.find(b"\n", 0, n)
        if first == -1:
            self.run += n
            self.last_cr = buf[n - 1] == 13
            if self.run > max_line + 1:  # even a final \r cannot bring it back
                self.too_long = self.line_no
            return
        ends_cr = buf[first - 1] == 13 if first else self.last_cr
        if self.run + first - ends_cr > max_line:
            self.too_long = self.line_no
            return
        last = buf.rfind(b"\n", 0, n)
        if max_line < last - first:
            # Lines inside this chunk can only exceed a limit smaller than the chunk.
            pos = first + 1
            inner_line = self.line_no + 1
            while pos <= last:
                nl = buf.find(b"\n", pos, last + 1)
                if nl - pos - (nl > pos and buf[nl - 1] == 13) > max_line:
                    self.too_long = inner_line
                    return
                pos = nl + 1
                inner_line += 1
        self.line_no += buf.count(b"\n", 0, n)
        self.run = n - last - 1
        self.last_cr = self.run > 0 and buf[n - 1] == 13

    def finish(self) -> int | None:
        if self.too_long is None and self.run > self.max_line:
            self.too_long = self.line_no
        return self.too_long


class PackReader:
    """Read-only view of one pack directory."""

    def __init__(
        self,
        root: Path,
        limits: Limits | None = None,
        *,
        refused: Sequence[Detail] = (),
        spool_dir: Path | None = None,
    ) -> None:
        """``refused``: what unpacking an archive pack found (the pack is then refused
        with it, and never walked); ``spool_dir``: where the private store's file goes
        (an archive pack's private folder; default the system's temporary folder)."""
        self.root = root
        self.limits = limits or Limits()
        self._refused = tuple(refused)
        self._spool_dir = spool_dir
        self._files: dict[str, PackFile] = {}
        self._sources: dict[str, Source] = {}
        self._sealed = False  # once any file is snapshotted, reads come only from copies
        self._memory_used = 0
        self._spool: BinaryIO | None = None
        self._spool_end = 0
        self._live_fds: list[int] = []

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None
        for fd in self._live_fds:
            os.close(fd)
        self._live_fds.clear()
        self._sources.clear()

    def __del__(self) -> None:
        for fd in getattr(self, "_live_fds", ()):
            with contextlib.suppress(OSError):
                os.close(fd)

    # -- inventory (SECURITY: no file content is read) -------------------------------

    def inventory(self) -> Inventory:
        """Walk the pack without following links; refuse what evidence-pack.md refuses,
        with every bound enforced while listing."""
        walk = _Walk(self.limits)
        if self._refused:
            walk.inv.refusals.extend(self._refused)
            return walk.inv
        try:
            root_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            walk.inv.refusals.append(
                Detail("SECURITY-UNREADABLE", f"cannot list folder: {exc.strerror}")
            )
            return walk.inv
        try:
            walk.folder(root_fd, "", 0)
        finally:
            os.close(root_fd)
        inv = walk.finish()
        inv.files.sort(key=lambda f: _utf8_sort_key(f.path))
        self._files = {f.path: f for f in inv.files}
        return inv

    # -- safe opening ---------------------------------------------------------------

    def has(self, path: str) -> bool:
        return path in self._files

    def size(self, path: str) -> int:
        return self._files[path].size

    def _open_fd(self, path: str) -> int:
        """A descriptor of the regular file at ``path``, reached component by component
        with ``O_NOFOLLOW``: no link, on any component, is followed."""
        if unsafe_path_reason(path) is not None:
            raise PackAccessError(f"unsafe path {path!r}")
        parts = [p.encode("utf-8") for p in path.split("/")]
        dir_fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            for part in parts[:-1]:
                try:
                    next_fd = os.open(part, _DIR_FLAGS, dir_fd=dir_fd)
                except OSError as exc:
                    raise PackAccessError(f"{path}: {exc.strerror}") from None
                os.close(dir_fd)
                dir_fd = next_fd
            try:
                fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=dir_fd)
            except OSError as exc:
                raise PackAccessError(f"{path}: {exc.strerror}") from None
        finally:
            os.close(dir_fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise PackAccessError(f"{path}: not a regular file")
        return fd

    def source(self, path: str) -> Source:
        """The sealed bytes of ``path``. Before any file is sealed (tools that only look at
        a pack), the live file is copied on demand."""
        if path in self._sources:
            return self._sources[path]
        if self._sealed:  # fail closed: the engine never reads a byte it did not hash
            raise PackAccessError(f"{path}: not in the sealed snapshot of the pack")
        # A tool's look at a live pack (vlab review): read in place through one descriptor,
        # never whole.
        fd = self._open_fd(path)
        self._live_fds.append(fd)
        live = Source(os.fstat(fd).st_size, fd=fd)
        self._sources[path] = live
        return live

    def read_bytes(self, path: str, limit: int | None = None) -> bytes:
        """Whole file, refusing more than ``limit`` bytes (default: the document bound)."""
        bound = self.limits.max_document_bytes if limit is None else limit
        src = self.source(path)
        if src.size > bound:
            raise PackAccessError(f"{path}: larger than {bound} bytes")
        return src.read(0, src.size)

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        return self.source(path).read(offset, length)

    def chunks(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of ``[start, end)`` of a file, in chunks."""
        return self.source(path).chunks(start, end)

    # -- hashing and line-length scan (no parsing) -------------------------------------

    def seal_read(self, path: str, max_line: int | None) -> SealedRead:
        """Hash ``path`` while copying it into the private store; later reads of it see
        exactly these bytes. ``changed`` says why the copy is not the listed file."""
        listed = self._files[path]
        fd = self._open_fd(path)
        try:
            before = os.fstat(fd)
            changed = None
            if listed.identity and _identity(before) != listed.identity:
                changed = "the file changed between listing and reading"
            sink = _Sink(self, before.st_size)
            copied = sink.kernel_copy(fd, before.st_size + 1)
            if copied is None:  # hash while copying through user space
                hexdigest, too_long, count = _hash_fd(fd, before.st_size, max_line, sink)
            else:  # the kernel copied; hash the copy itself, which is what is judged
                hexdigest, too_long, count = _hash_fd(sink.fd, copied, max_line, None, at=sink.base)
                count = min(count, copied)
            after = os.fstat(fd)
            if count != before.st_size or _identity(after) != _identity(before):
                changed = "the file changed while it was being read"
        finally:
            os.close(fd)
        self._sources[path] = sink.source(count)
        self._sealed = True
        return SealedRead(hexdigest, too_long, changed)

    def hash_file(self, path: str, max_line: int | None) -> tuple[str, int | None]:
        """sha256 hex of the live file and its first over-long line (``vlab pack seal``:
        the producer side, which keeps no copy)."""
        fd = self._open_fd(path)
        try:
            hexdigest, too_long, _ = _hash_fd(fd, os.fstat(fd).st_size, max_line, None)
        finally:
            os.close(fd)
        return hexdigest, too_long

    # -- the private store ---------------------------------------------------------------

    def _spool_fd(self) -> int:
        if self._spool is None:
            try:
                self._spool = tempfile.TemporaryFile(  # noqa: SIM115
                    prefix="vlab-pack-", dir=self._spool_dir
                )
            except OSError as exc:
                raise UsageError(
                    f"cannot create a private copy of the pack in {tempfile.gettempdir()}: "
                    f"{exc.strerror} (set TMPDIR to a writable folder)"
                ) from None
        return self._spool.fileno()


class _Sink:
    """Where ``seal_read`` copies one file's bytes."""

    def __init__(self, reader: PackReader, size: int) -> None:
        self.reader = reader
        in_memory = size <= MEMORY_FILE_BYTES and reader._memory_used + size <= MEMORY_TOTAL_BYTES
        self.parts: list[bytes] | None = [] if in_memory else None
        self.fd = -1 if in_memory else reader._spool_fd()
        self.base = reader._spool_end

    def write(self, block: memoryview) -> None:
        if self.parts is not None:
            self.parts.append(bytes(block))
            return
        offset = self.reader._spool_end
        while block:
            try:
                n = os.pwrite(self.fd, block, offset)
            except OSError as exc:
                raise UsageError(
                    f"cannot write the private copy of the pack: {exc.strerror} "
                    "(set TMPDIR to a folder with room for the pack)"
                ) from None
            block = block[n:]
            offset += n
        self.reader._spool_end = offset

    def kernel_copy(self, src: int, limit: int) -> int | None:
        """Copy up to ``limit`` bytes of ``src`` into the spool in the kernel
        (``copy_file_range``: no trip through user space, a reflink where the file system
        has them), or None where it cannot (memory copies, another file system, an old
        kernel): the caller then copies while it hashes."""
        copy = getattr(os, "copy_file_range", None)
        if self.parts is not None or copy is None:
            return None
        done = 0
        try:
            while done < limit:
                n = copy(src, self.fd, limit - done, done, self.base + done)
                if not n:
                    break
                done += n
        except OSError:
            return None  # nothing was recorded: the user-space copy overwrites from base
        self.reader._spool_end = self.base + done
        return done

    def source(self, count: int) -> Source:
        if self.parts is not None:
            data = b"".join(self.parts)
            self.reader._memory_used += len(data)
            return Source(len(data), data=data)
        return Source(count, fd=self.fd, base=self.base)


def _hash_fd(
    fd: int, size: int, max_line: int | None, sink: _Sink | None, at: int | None = None
) -> tuple[str, int | None, int]:
    """sha256 hex, first over-long line and byte count of one pass over ``fd`` (from its
    offset, or with ``pread`` from ``at``: the spool, after a kernel copy into it)."""
    digest = hashlib.sha256()
    scan = _LineScan(max_line) if max_line is not None else None
    # A small file gets a small buffer: zeroing 4 MiB per file would dominate small packs.
    buf = bytearray(min(CHUNK, size + 1))
    view = memoryview(buf)
    count = 0
    # Never more than one byte past the size fstat gave: a file growing while it is read is
    # already a change, and must not make the copy (memory or spool) as large as a writer
    # wants.
    left = size + 1
    with os.fdopen(os.dup(fd), "rb", buffering=0) as fh:
        while left > 0:
            want = view[: min(len(buf), left)]
            n = fh.readinto(want) if at is None else os.preadv(fd, [want], at + count)
            if not n:
                break
            left -= n
            count += n
            digest.update(view[:n])
            if sink is not None:
                sink.write(view[:n])
            if scan is not None and scan.too_long is None:
                scan.feed(buf, n)
    return digest.hexdigest(), scan.finish() if scan is not None else None, count


class _Walk:
    """One walk of the pack's folders, depth first in UTF-8 name order, one descriptor
    per level (so the depth bound also bounds the descriptors held)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.inv = Inventory()
        self.total = 0
        self.stopped = False  # a bound was hit: the rest of the pack is not looked at
        # Every entry counts (links, special files and refused names too), pack-wide: the
        # walk stops at the first entry past what a pack may hold, so its work and the
        # refusals it records are bounded whatever the pack holds.
        self.entry_bound = limits.max_files + limits.max_folders
        self.entries = 0

    def refuse(self, code: str, message: str, path: str | None = None) -> None:
        self.inv.refusals.append(Detail(code, message, path))

    def finish(self) -> Inventory:
        """The inventory, with the pack bound checked over every file's size (last)."""
        if self.total > self.limits.max_pack_bytes and not self.stopped:
            self.refuse(
                "SECURITY-PACK-TOO-LARGE",
                f"{self.total} bytes exceeds {self.limits.max_pack_bytes}",
            )
        return self.inv

    def stop(self, code: str, message: str, path: str | None = None) -> None:
        self.refuse(code, message, path)
        self.stopped = True

    def folder(self, fd: int, rel_dir: str, depth: int) -> None:
        entries = self._list(fd, rel_dir)
        if entries is None:
            return
        for name_bytes, st in entries:
            if self.stopped:
                return
            self._entry(fd, rel_dir, depth, name_bytes, st)

    def _list(self, fd: int, rel_dir: str) -> list[tuple[bytes, os.stat_result | None]] | None:
        """The folder's entries in UTF-8 byte order, each with its lstat (None: cannot be
        inspected) — or None when the folder cannot be listed or holds too many."""
        found: list[tuple[bytes, os.stat_result | None]] = []
        try:
            with os.scandir(fd) as it:
                for entry in it:
                    self.entries += 1
                    if self.entries > self.entry_bound:
                        self.stop(
                            "SECURITY-TOO-MANY-ENTRIES",
                            f"more than {self.entry_bound} entries (files, folders and"
                            " others) in the pack",
                            rel_dir or None,
                        )
                        return None
                    try:
                        st: os.stat_result | None = entry.stat(follow_symlinks=False)
                    except OSError:
                        st = None
                    # fsencode undoes the locale's decoding exactly (surrogateescape).
                    found.append((os.fsencode(entry.name), st))
        except OSError as exc:
            self.refuse(
                "SECURITY-UNREADABLE", f"cannot list folder: {exc.strerror}", rel_dir or None
            )
            return None
        found.sort(key=lambda e: e[0])
        return found

    def _entry(
        self,
        fd: int,
        rel_dir: str,
        depth: int,
        name_bytes: bytes,
        st: os.stat_result | None,
    ) -> None:
        limits = self.limits
        try:
            name = name_bytes.decode("utf-8")
        except UnicodeDecodeError:
            where = f"{rel_dir}/{shown(name_bytes)}" if rel_dir else shown(name_bytes)
            self.refuse("SECURITY-UNSAFE-PATH", "name not valid UTF-8", where)
            return
        rel = f"{rel_dir}/{name}" if rel_dir else name
        reason = unsafe_path_reason(rel)
        if reason is not None:
            self.refuse("SECURITY-UNSAFE-PATH", f"name {reason}", rel)
            return
        if st is None:
            self.refuse("SECURITY-UNREADABLE", "cannot stat", rel)
            return
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            self.refuse("SECURITY-SYMLINK", "symbolic link refused", rel)
        elif stat.S_ISDIR(mode):
            self._subfolder(fd, rel, depth, name_bytes, st)
        elif not stat.S_ISREG(mode):
            kind = (
                "FIFO"
                if stat.S_ISFIFO(mode)
                else "socket"
                if stat.S_ISSOCK(mode)
                else "device file"
            )
            self.refuse("SECURITY-SPECIAL-FILE", f"{kind} refused", rel)
        else:
            if len(self.inv.files) >= limits.max_files:
                self.stop(
                    "SECURITY-TOO-MANY-FILES", f"more than {limits.max_files} files in the pack"
                )
                return
            self._file(rel, st)

    def _file(self, rel: str, st: os.stat_result) -> None:
        limits = self.limits
        self.inv.files.append(PackFile(rel, st.st_size, _identity(st)))
        self.total += st.st_size
        if st.st_nlink > 1:
            # Another name, maybe outside the pack, reaches the same bytes (decision 64).
            self.refuse("SECURITY-HARDLINK", f"file has {st.st_nlink} hard links", rel)
        if not ending_allowed(rel):
            self.refuse("SECURITY-DISALLOWED-ENDING", _ENDING_MESSAGE, rel)
        if st.st_size > limits.max_file_bytes:
            self.refuse(
                "SECURITY-FILE-TOO-LARGE",
                f"{st.st_size} bytes exceeds {limits.max_file_bytes}",
                rel,
            )
        elif artifact_kind(rel) in ("json", "yaml") and st.st_size > limits.max_document_bytes:
            self.refuse(
                "SECURITY-FILE-TOO-LARGE",
                f"{st.st_size} bytes exceeds the {limits.max_document_bytes}"
                " byte bound for a whole-parsed document",
                rel,
            )

    def _subfolder(
        self, fd: int, rel: str, depth: int, name_bytes: bytes, st: os.stat_result
    ) -> None:
        limits = self.limits
        self.inv.folders += 1
        if self.inv.folders > limits.max_folders:
            self.stop(
                "SECURITY-TOO-MANY-FOLDERS", f"more than {limits.max_folders} folders in the pack"
            )
            return
        if depth + 1 > limits.max_folder_depth:
            self.stop(
                "SECURITY-TOO-DEEP",
                f"folders nest deeper than {limits.max_folder_depth} levels",
                rel,
            )
            return
        self._descend(fd, rel, depth, name_bytes, st)

    def _descend(
        self, fd: int, rel: str, depth: int, name_bytes: bytes, st: os.stat_result
    ) -> None:
        try:
            sub = os.open(name_bytes, _DIR_FLAGS, dir_fd=fd)
        except OSError as exc:
            # Listed as a folder, now a link or gone: the pack is changing under the walk.
            self.refuse(
                "INTEGRITY-CHANGED-DURING-READ",
                f"folder cannot be opened as listed: {exc.strerror}",
                rel,
            )
            return
        try:
            now = os.fstat(sub)
            if (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                self.refuse(
                    "INTEGRITY-CHANGED-DURING-READ", "folder was replaced while listed", rel
                )
                return
            self.folder(sub, rel, depth + 1)
        finally:
            os.close(sub)


class _ListedWalk(_Walk):
    """The same walk over a listing instead of a folder: an archive's entries, when its
    files cannot all be unpacked (one over the file bound, the whole over the pack bound),
    so that its refusals are still the ones the same pack gets as a folder. A folder's
    "descriptor" is its index in ``folders``."""

    def __init__(self, limits: Limits, folders: list[dict[bytes, tuple[bool, int]]]) -> None:
        super().__init__(limits)
        self.folders = folders
        self.index: dict[tuple[int, bytes], int] = {}

    def _list(self, fd: int, rel_dir: str) -> list[tuple[bytes, os.stat_result | None]] | None:
        found: list[tuple[bytes, os.stat_result | None]] = []
        for name, (is_dir, size) in sorted(self.folders[fd].items()):
            self.entries += 1
            if self.entries > self.entry_bound:
                self.stop(
                    "SECURITY-TOO-MANY-ENTRIES",
                    f"more than {self.entry_bound} entries (files, folders and others) in the pack",
                    rel_dir or None,
                )
                return None
            mode = (stat.S_IFDIR | 0o700) if is_dir else (stat.S_IFREG | 0o600)
            found.append((name, os.stat_result((mode, 0, 0, 1, 0, 0, size, 0, 0, 0))))
        return found

    def _descend(
        self, fd: int, rel: str, depth: int, name_bytes: bytes, st: os.stat_result
    ) -> None:
        self.folder(self.index[(fd, name_bytes)], rel, depth + 1)


def listed_inventory(entries: Iterable[tuple[str, bool, int]], limits: Limits) -> Inventory:
    """The SECURITY walk's inventory of a pack given as (path, is a folder, size) entries,
    folders before what they hold (what ``PackReader.inventory`` finds in such a folder,
    refusals in the walk's order, without one byte on disk)."""
    folders: list[dict[bytes, tuple[bool, int]]] = [{}]
    where: dict[str, int] = {"": 0}
    walk = _ListedWalk(limits, folders)
    for path, is_dir, size in entries:
        parent, _, name = path.rpartition("/")
        node = where[parent]
        folders[node][name.encode("utf-8")] = (is_dir, size)
        if is_dir:
            where[path] = len(folders)
            walk.index[(node, name.encode("utf-8"))] = len(folders)
            folders.append({})
    walk.folder(0, "", 0)
    return walk.finish()
