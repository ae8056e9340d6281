"""Archive packs (scale.md §1): a ``.tar``, ``.tar.gz``/``.tgz`` or ``.zip`` of a pack
folder, unpacked into a private temporary folder under every rule of evidence-pack.md.

Every entry is checked from its header before a byte of it is kept: a safe relative
name (no absolute path, ``..``, ``\\``, NUL, control character or drive letter), not equal
to another entry's name after NFC normalisation or case folding, a regular file or a
folder (never a link, device, FIFO, or a file where a folder is, or the other way round),
within the entry and byte limits (the file, folder and depth limits are then the walk's,
over the archive's listing, so a pack over them is refused as it is as a folder). Data is
streamed in bounded chunks and counted as it decompresses: a declared size that lies, an
entry that decompresses more than ``MAX_RATIO`` times its compressed bytes, or a stream
that ends early stops the unpacking with its own code.

The entries are unpacked straight into the reader's private store (decision 236): small
files in memory, larger ones in its spool, an unlinked file in a private folder made for
this pack alone. No pack file is ever created on disk, so there is nothing another process
could rewrite, and the bytes the gates hash are the bytes decompressed. The SECURITY walk
runs over the archive's listing (``listed_inventory``), the same walk a folder gets, so an
archive's ruling is the folder's ruling.

Python's ``tarfile`` and ``zipfile`` parse the containers; they are only ever given a
stream that refuses any single read larger than a bound (a pax header or a zip central
directory of gigabytes is refused, never read into memory). A ``.tar.gz`` is inflated
here with ``zlib`` (a forward-only stream that knows how many compressed bytes each entry
used: ``gzip.GzipFile`` reads ahead in blocks, which makes per-entry ratios unknowable).

Nothing is written outside the private folder, and nothing in it but the spool.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import os
import re
import shutil
import signal
import stat
import tarfile
import tempfile
import threading
import unicodedata
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import BinaryIO

from vlab.core.errors import UsageError
from vlab.core.findings import Detail
from vlab.pack.limits import Kind, Limits, archive_kind, unsafe_path_reason
from vlab.pack.reader import (
    Inventory,
    PackAccessError,
    PackReader,
    SealedRead,
    Source,
    _LineScan,
    _Sink,
    _utf8_sort_key,
    listed_inventory,
)

MAX_RATIO = 200  # evidence-pack.md: per-entry compression ratio
# An entry's ratio counts at least this many compressed bytes: a file under 200 KiB is
# never a bomb (a few hundred bytes of one repeated character compress beyond 200:1, and
# are harmless).
RATIO_FLOOR = 1024
CHUNK = 1 << 20  # bytes read (and written) at a time
TAR_HEADER_BYTES = 1 << 20  # a tar header (pax records, a GNU long name) is at most this
# A zip's central directory is read whole by zipfile: at most this many bytes an entry
# the limits allow (46 fixed bytes, the name and extra fields of a pack path).
ZIP_DIRECTORY_BYTES_PER_ENTRY = 1024
NAME_BYTES = 4095  # PATH_MAX less its NUL: no file system takes a longer name
SEGMENT_BYTES = 255  # NAME_MAX
PRIVATE_PREFIX = "vlab-archive-"
PAUSE_ENV = "VLAB_TEST_ARCHIVE_PAUSE"  # tests only: "N:FIFO" (see _Pause)

_DRIVE = re.compile(r"[A-Za-z]:")
_ZIP_MEMBER_HEADER = 30 + 2 * 0xFFFF  # a local header, its name and extra field
_UTF8_FLAG = 0x800  # zip general-purpose flag bit 11: the name is UTF-8
_ENCRYPTED_FLAG = 0x1


class _Stop(Exception):
    """Unpacking stops here: the archive is refused with this detail."""

    def __init__(self, detail: Detail) -> None:
        super().__init__(detail.message)
        self.detail = detail


class _TooLarge(Exception):
    """A container parser asked for more bytes at once than it may be given."""

    def __init__(self, wanted: int) -> None:
        super().__init__(f"{wanted} bytes at once")
        self.wanted = wanted


def corrupt(message: str, path: str | None = None) -> _Stop:
    return _Stop(Detail("SECURITY-ARCHIVE-CORRUPT", message, path))


# -- streams the container parsers read --------------------------------------------------


class _Bounded:
    """A seekable file whose every read is at most ``bound`` bytes (tar, zip)."""

    def __init__(self, raw: BinaryIO, bound: int) -> None:
        self.raw = raw
        self.bound = bound
        self.last_block = b""  # the last 512-byte read (a tar's end-of-archive block)

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            here = self.raw.tell()
            n = self.raw.seek(0, os.SEEK_END) - here
            self.raw.seek(here)
        if n > self.bound:
            raise _TooLarge(n)
        data = self.raw.read(n)
        if n == tarfile.BLOCKSIZE:
            self.last_block = data
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def seekable(self) -> bool:
        return True


class _Gunzip:
    """The inflated bytes of a gzip file, forward only (what tarfile's reading needs),
    counting the compressed bytes consumed so far (``consumed``) and refusing any single
    read larger than ``bound``. An entry's data is ratio-checked by its reader (with the
    entry's name); what is inflated outside an entry's data (headers, data skipped after
    a refusal) may not exceed ``MAX_RATIO`` times its compressed bytes either."""

    def __init__(self, raw: BinaryIO, bound: int) -> None:
        self.raw = raw
        self.bound = bound
        self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        self.pending = b""  # compressed bytes read, not yet given to zlib
        self.consumed = 0
        self.pos = 0
        self.ended = False
        self.last_block = b""
        self.in_entry = False  # an entry's reader is reading (and checking) its data
        self.free_out = 0  # inflated bytes outside an entry's data, and their input
        self.free_in = 0

    def _more(self, n: int) -> bytes:
        out: list[bytes] = []
        got = 0
        while got < n and not self.ended:
            if self.inflate.eof:  # a member ended: another may follow (concatenated gzip)
                rest = self.inflate.unused_data + self.pending
                if not rest:
                    rest = self.raw.read(CHUNK)
                if not rest:
                    self.ended = True
                    break
                self.inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
                self.pending = rest
            data = self.pending or self.raw.read(CHUNK)
            try:  # with no input left, zlib may still hold output: ask for it once
                piece = self.inflate.decompress(data, n - got)
            except zlib.error as exc:
                raise corrupt(f"the compressed stream is damaged ({exc})") from None
            if not data and not piece and not self.inflate.eof:
                raise corrupt("the compressed stream ends before its end (truncated)")
            rest = self.inflate.unconsumed_tail
            used = len(data) - len(rest) - len(self.inflate.unused_data)
            self.consumed += used
            self.pending = rest
            if self.inflate.eof:
                self.pending = b""  # unused_data holds what follows the member
            got += len(piece)
            out.append(piece)
            if self.in_entry:
                continue
            self.free_out += len(piece)
            self.free_in += used
            if self.free_out > MAX_RATIO * max(self.free_in, RATIO_FLOOR):
                raise _Stop(
                    Detail(
                        "SECURITY-ARCHIVE-BOMB",
                        f"the compressed stream outside the entries' data inflates more"
                        f" than {MAX_RATIO} times its {self.free_in} compressed bytes",
                    )
                )
        data = b"".join(out)
        self.pos += len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0 or n > self.bound:
            raise _TooLarge(n if n is not None and n >= 0 else 1 << 62)
        data = self._more(n)
        if n == tarfile.BLOCKSIZE:
            self.last_block = data
        return data

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        target = offset if whence == os.SEEK_SET else self.pos + offset
        if whence not in (os.SEEK_SET, os.SEEK_CUR) or target < self.pos:
            raise corrupt("the archive needs a backward seek in its compressed stream")
        while self.pos < target:
            if not self._more(min(CHUNK, target - self.pos)):
                break
        return self.pos

    def tell(self) -> int:
        return self.pos

    def seekable(self) -> bool:
        return True


# -- what may be unpacked ----------------------------------------------------------------


def _key(name: str) -> str:
    """The name two entries must not share: NFC, case folded (and NFC again)."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


@dataclass
class _Placed:
    name: str
    is_dir: bool
    explicit: bool
    size: int = 0  # a file's declared size


class _Pause:
    """A test hook (``VLAB_TEST_ARCHIVE_PAUSE=N:FIFO``): after the N-th file is written,
    announce it on the FIFO and wait on it, so a test can interrupt unpacking at a point
    it reached by counting (never by sleeping). Unset, it costs one comparison a file."""

    def __init__(self) -> None:
        spec = os.environ.get(PAUSE_ENV, "")
        count, _, fifo = spec.partition(":")
        self.after = int(count) if count.isdigit() and fifo else -1
        self.fifo = fifo

    def reached(self, files: int) -> None:
        if files != self.after:
            return
        with open(self.fifo, "wb") as out:
            out.write(b"paused\n")
        with open(self.fifo, "rb") as wait:
            wait.read()


class _Unpacker:
    """One unpacking: the checks every entry passes, and each file kept in ``store``."""

    def __init__(self, store: ArchiveReader, limits: Limits) -> None:
        self.store = store
        self.limits = limits
        self.refusals: list[Detail] = []
        self.placed: dict[str, _Placed] = {}
        self.entries = 0
        self.files = 0
        self.stopped = False  # unpacking stopped before the last entry
        # (first name segment, whether it is a folder) of every entry: the pack's root is
        # the one top-level folder when there is just one (refusals name paths below it)
        self.tops: set[tuple[str, bool]] = set()
        self.total = 0  # bytes the archive would produce (declared, then counted)
        # what a pack may hold, and one top-level folder
        self.entry_bound = limits.max_files + limits.max_folders + 1
        self.pause = _Pause()

    @property
    def writing(self) -> bool:
        """Whether data is still unpacked: after the first refusal entries are only
        checked (the pack is refused; what else is wrong is still worth saying)."""
        return not self.refusals and self.total <= self.limits.max_pack_bytes

    def refuse(self, message: str, path: str | None, code: str = "SECURITY-ARCHIVE-ENTRY") -> None:
        self.refusals.append(Detail(code, message, path))

    # -- names ----------------------------------------------------------------------

    def entry(self, raw_name: str, kind: str, declared: int) -> str | None:
        """The relative path to unpack an entry to, or None when it is refused (recorded,
        or a ``_Stop`` when a bound is reached). ``kind`` is ``file``, ``dir``, or the
        name of a refused kind (``symbolic link`` ...).

        Of the pack's own limits only what bounds the unpacking is enforced here (entries,
        bytes); the file, folder and depth limits are the walk's, on the unpacked folder,
        so that the refusal is the one the same pack as a folder gets."""
        name = self._name(raw_name, kind == "dir")
        if name == ".":  # the archive's root folder itself
            return None
        if name is None:
            self.count()
            return None
        if kind not in ("file", "dir"):
            self.count()
            self.refuse(f"{kind} refused", name)
            return None
        if not self._place(name, kind == "dir"):
            return None
        if kind == "dir":
            return name
        self.placed[_key(name)].size = declared
        self.files += 1
        self.total += declared  # every file counts, as in the walk (the refusal: finish)
        if declared > self.limits.max_file_bytes:
            self.refuse(
                f"{declared} bytes exceeds {self.limits.max_file_bytes}",
                name,
                "SECURITY-FILE-TOO-LARGE",
            )
            return None
        return name

    def finish(self) -> None:
        """After the last entry: the pack bound over every declared size (the walk's
        refusal, last, after the files')."""
        if self.total > self.limits.max_pack_bytes:
            self.refuse(
                f"{self.total} bytes exceeds {self.limits.max_pack_bytes}",
                None,
                "SECURITY-PACK-TOO-LARGE",
            )

    def _name(self, raw: str, is_dir: bool) -> str | None:
        shown = raw.encode("utf-8", "replace").decode("utf-8", "replace")
        name = raw
        while name.startswith("./"):  # `tar -C pack .` writes ./manifest.json
            name = name[2:]
        if is_dir:
            name = name.rstrip("/") or "."
        if name == "." and is_dir:
            return "."
        first, _, rest = name.partition("/")
        self.tops.add((first, bool(rest) or is_dir))
        if "\x00" in raw:
            self.refuse("name contains NUL", shown)
            return None
        reason = unsafe_path_reason(name)
        if reason is None and _DRIVE.match(name):
            reason = "starts with a drive letter"
        if reason is None:
            encoded = name.encode("utf-8")
            if len(encoded) > NAME_BYTES or any(
                len(s.encode("utf-8")) > SEGMENT_BYTES for s in name.split("/")
            ):
                reason = "is too long for a file system"
        if reason is not None:
            self.refuse(f"name {reason}", shown)
            return None
        return name

    def _place(self, name: str, is_dir: bool) -> bool:
        """Record a name; refuse it if it clashes with one seen before (the same name
        twice, equal after NFC or case folding, a file where a folder is)."""
        parts = name.split("/")
        for i in range(1, len(parts)):
            if not self._put(_Placed("/".join(parts[:i]), True, False), name):
                return False
        return self._put(_Placed(name, is_dir, True), name)

    def count(self) -> None:
        """One more entry (a file or folder placed, implied folders too, or a refused
        entry): more than the files and folders a pack may hold (and one top-level
        folder) stops the unpacking, as the walk stops a folder pack."""
        self.entries += 1
        if self.entries > self.entry_bound:
            raise _Stop(
                Detail(
                    "SECURITY-TOO-MANY-ENTRIES",
                    f"more than {self.entry_bound - 1} entries (files, folders and others)"
                    " in the pack",
                )
            )

    def _put(self, new: _Placed, entry: str) -> bool:
        key = _key(new.name)
        old = self.placed.get(key)
        if old is None:
            self.count()
            self.placed[key] = new
            return True
        if (
            old.name == new.name
            and old.is_dir
            and new.is_dir
            and not (old.explicit and new.explicit)
        ):
            old.explicit = old.explicit or new.explicit
            return True
        self.count()
        if unicodedata.normalize("NFC", old.name) != unicodedata.normalize("NFC", new.name):
            self.refuse(f"{new.name!r} equals {old.name!r} after case folding", entry)
        elif old.name != new.name:
            self.refuse(
                f"{new.name!a} equals {old.name!a} after Unicode NFC normalisation",
                entry,
            )
        elif old.is_dir != new.is_dir:
            self.refuse(f"directory as file: {new.name!r} is both a file and a folder", entry)
        else:
            self.refuse("the same name appears twice", entry)
        return False

    # -- keeping (in the reader's private store, never as a file) -----------------------

    def folder(self, rel: str) -> None:
        """A folder entry: nothing to keep (the listing, ``placed``, has it)."""

    def file(self, rel: str, chunks: Iterable[bytes]) -> None:
        self.store.keep(rel, self.placed[_key(rel)].size, chunks)
        self.pause.reached(self.files)

    # -- counting what an entry produces -----------------------------------------------

    def bound(self, declared: int) -> int:
        """The most bytes one entry may produce: its declared size, and what the file and
        pack limits leave."""
        room = self.limits.max_pack_bytes - (self.total - declared)
        return min(self.limits.max_file_bytes, room)

    def over(self, name: str, produced: int, declared: int) -> _Stop:
        """The refusal for an entry that produced more than ``bound``."""
        if produced > self.limits.max_file_bytes:
            return _Stop(
                Detail(
                    "SECURITY-FILE-TOO-LARGE",
                    f"more than {self.limits.max_file_bytes} bytes (declared {declared})",
                    name,
                )
            )
        return _Stop(
            Detail(
                "SECURITY-PACK-TOO-LARGE",
                f"more than {self.limits.max_pack_bytes} bytes (an entry declared {declared}"
                " produces more)",
            )
        )


def _ratio_stop(name: str, produced: int, compressed: int) -> _Stop:
    return _Stop(
        Detail(
            "SECURITY-ARCHIVE-BOMB",
            f"decompresses to more than {MAX_RATIO} times its {compressed} compressed bytes"
            f" ({produced} bytes so far)",
            name,
        )
    )


# -- tar ---------------------------------------------------------------------------------

_TAR_FILE_TYPES = (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE)


def _tar_kind(member: tarfile.TarInfo) -> str:
    if member.type in _TAR_FILE_TYPES and not member.issparse():
        return "file"
    if member.isdir():
        return "dir"
    if member.issym():
        return "symbolic link"
    if member.islnk():
        return "hard link"
    if member.ischr() or member.isblk():
        return "device file"
    if member.isfifo():
        return "FIFO"
    if member.issparse():
        return "sparse file"
    return f"entry of tar type {member.type!r}"


def _unpack_tar(u: _Unpacker, stream: _Bounded | _Gunzip) -> None:
    gz = stream if isinstance(stream, _Gunzip) else None
    try:
        # The stream is the caller's to close; tarfile is given only what it reads through.
        tf = tarfile.open(  # type: ignore[call-overload]  # noqa: SIM115
            fileobj=stream,
            mode="r:",
            encoding="utf-8",
            errors="surrogateescape",
        )
    except _TooLarge as exc:
        raise _Stop(
            Detail("SECURITY-ARCHIVE-ENTRY", f"a tar header of {exc.wanted} bytes")
        ) from None
    except tarfile.TarError as exc:
        raise corrupt(f"not a readable tar archive ({exc})") from None
    try:
        while True:
            try:
                member = tf.next()
            except _TooLarge as exc:
                raise _Stop(
                    Detail("SECURITY-ARCHIVE-ENTRY", f"a tar header of {exc.wanted} bytes")
                ) from None
            except tarfile.TarError as exc:
                raise corrupt(f"damaged tar header at byte {tf.offset} ({exc})") from None
            if member is None:
                break
            tf.members.clear()  # tarfile keeps every member; this loop needs none of them
            kind = _tar_kind(member)
            rel = u.entry(member.name, kind, member.size if kind == "file" else 0)
            if rel is None or not u.writing:
                continue
            if kind == "dir":
                u.folder(rel)
                continue
            u.file(rel, _tar_data(u, tf, member, rel, gz))
        # tarfile ends quietly at a missing or damaged header after the first: a real end
        # is a block of zeros where the next header would be.
        if stream.last_block != b"\0" * tarfile.BLOCKSIZE or stream.tell() != tf.offset + (
            tarfile.BLOCKSIZE
        ):
            raise corrupt(f"the archive ends at byte {tf.offset} without its end-of-archive block")
    finally:
        tf.members.clear()


def _tar_data(
    u: _Unpacker, tf: tarfile.TarFile, member: tarfile.TarInfo, rel: str, gz: _Gunzip | None
) -> Iterator[bytes]:
    src = tf.extractfile(member)
    assert src is not None  # a regular file
    start = gz.consumed if gz is not None else 0
    produced = 0
    with src:
        while True:
            if gz is not None:
                gz.in_entry = True
            try:
                block = src.read(CHUNK)
            except _TooLarge as exc:  # never: data reads are CHUNK at most
                raise corrupt(f"a read of {exc.wanted} bytes", rel) from None
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise corrupt(f"the archive ends inside this entry ({exc})", rel) from None
            finally:
                if gz is not None:
                    gz.in_entry = False
            if not block:
                break
            produced += len(block)
            if gz is not None:
                compressed = gz.consumed - start
                if produced > MAX_RATIO * max(compressed, RATIO_FLOOR):
                    raise _ratio_stop(rel, produced, compressed)
            yield block
    if produced != member.size:
        raise corrupt(f"the entry declares {member.size} bytes and holds {produced}", rel)


# -- zip ---------------------------------------------------------------------------------


def _zip_kind(info: zipfile.ZipInfo) -> str:
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    kind = stat.S_IFMT(mode)
    named_dir = info.orig_filename.endswith("/")
    if kind == 0:
        return "dir" if named_dir or info.external_attr & 0x10 else "file"
    if stat.S_ISREG(kind):
        return "file" if not named_dir else "folder name (ending in /) marked a regular file"
    if stat.S_ISDIR(kind):
        return "dir" if named_dir else "folder (by its mode) not named as one (no final /)"
    if stat.S_ISLNK(kind):
        return "symbolic link"
    if stat.S_ISCHR(kind) or stat.S_ISBLK(kind):
        return "device file"
    if stat.S_ISFIFO(kind):
        return "FIFO"
    return "socket" if stat.S_ISSOCK(kind) else f"entry of mode {oct(kind)}"


def _unpack_zip(u: _Unpacker, stream: _Bounded) -> None:
    try:
        zf = zipfile.ZipFile(stream)
    except _TooLarge as exc:
        raise _Stop(
            Detail(
                "SECURITY-TOO-MANY-ENTRIES",
                f"a central directory of {exc.wanted} bytes: more than"
                f" {u.entry_bound - 1} entries can need",
            )
        ) from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError) as exc:
        raise corrupt(f"not a readable zip archive ({exc})") from None
    stream.bound = max(CHUNK, _ZIP_MEMBER_HEADER)  # from here on: headers and data chunks
    with zf:
        for info in zf.infolist():
            name = info.orig_filename
            if not info.flag_bits & _UTF8_FLAG and not name.isascii():
                u.count()
                u.refuse("name not marked UTF-8 (its encoding is unknown)", name)
                continue
            if info.flag_bits & _ENCRYPTED_FLAG:
                u.count()
                u.refuse("encrypted entry refused", name)
                continue
            kind = _zip_kind(info)
            rel = u.entry(name, kind, info.file_size if kind == "file" else 0)
            if rel is None or not u.writing:
                continue
            if kind == "dir":
                u.folder(rel)
                continue
            if info.file_size > MAX_RATIO * max(info.compress_size, RATIO_FLOOR):
                raise _Stop(
                    Detail(
                        "SECURITY-ARCHIVE-BOMB",
                        f"declares {info.file_size} bytes from {info.compress_size}"
                        f" compressed: more than {MAX_RATIO}:1",
                        rel,
                    )
                )
            u.file(rel, _zip_data(u, zf, info, rel))


def _zip_data(
    u: _Unpacker, zf: zipfile.ZipFile, info: zipfile.ZipInfo, rel: str
) -> Iterator[bytes]:
    # zipfile stops at the declared size (and then fails the CRC): read with the bound the
    # limits allow instead, to see what the entry really holds.
    bound = u.bound(info.file_size)
    probe = copy.copy(info)
    probe.file_size = bound + 1
    produced = 0
    try:
        src = zf.open(probe)
    except NotImplementedError as exc:
        raise _Stop(Detail("SECURITY-ARCHIVE-ENTRY", f"cannot be unpacked: {exc}", rel)) from None
    except (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error) as exc:
        raise corrupt(f"damaged entry ({exc})", rel) from None
    with src:
        while True:
            try:
                block = src.read(CHUNK)
            except (zipfile.BadZipFile, EOFError, ValueError, OSError, zlib.error) as exc:
                raise corrupt(f"damaged entry ({exc})", rel) from None
            if not block:
                break
            produced += len(block)
            if produced > MAX_RATIO * max(info.compress_size, RATIO_FLOOR):
                raise _ratio_stop(rel, produced, info.compress_size)
            if produced > info.file_size:
                raise _Stop(
                    Detail(
                        "SECURITY-ARCHIVE-BOMB",
                        f"declares {info.file_size} bytes and decompresses to more",
                        rel,
                    )
                )
            if produced > bound:
                raise u.over(rel, produced, info.file_size)
            yield block
    if produced != info.file_size:
        raise _Stop(
            Detail(
                "SECURITY-ARCHIVE-BOMB",
                f"declares {info.file_size} bytes and decompresses to {produced}",
                rel,
            )
        )


# -- unpacking ---------------------------------------------------------------------------


class ArchiveReader(PackReader):
    """A reader of an archive pack whose files were unpacked into its own private store
    (memory, or the spool in ``spool_dir``): listed by the archive, never by a folder."""

    def __init__(self, archive: Path, limits: Limits) -> None:
        super().__init__(archive, limits)
        self._kept: dict[str, Source] = {}
        self._listing: list[tuple[str, bool, int]] = []
        self.private: Path | None = None  # made when the spool is first needed

    def _spool_fd(self) -> int:
        """The spool, in a private folder made for it: most archive packs fit in memory
        and never touch the disk (a folder made and removed per pack costs as much as
        judging a small pack on a busy disk)."""
        if self.private is None:
            try:
                self.private = Path(tempfile.mkdtemp(prefix=PRIVATE_PREFIX))
            except OSError as exc:
                raise UsageError(
                    f"cannot make a private folder in {tempfile.gettempdir()}: {exc.strerror}"
                    " (set TMPDIR to a writable folder)"
                ) from None
            self._spool_dir = self.private
        return super()._spool_fd()

    def remove_private(self) -> None:
        """Close the spool and remove its folder (empty: the spool is an unlinked file)."""
        self.close()
        if self.private is not None:
            try:
                os.rmdir(self.private)
            except OSError:
                shutil.rmtree(self.private, ignore_errors=True)
            self.private = None

    def keep(self, rel: str, declared: int, chunks: Iterable[bytes]) -> None:
        """Keep one entry's bytes (at most ``declared``: the readers above stop there)."""
        sink = _Sink(self, declared)
        count = 0
        for block in chunks:
            sink.write(memoryview(block))
            count += len(block)
        self._kept[rel] = sink.source(count)

    def settle(
        self, listing: list[tuple[str, bool, int]], refused: list[Detail], top: str | None
    ) -> None:
        """After unpacking: the pack's listing and kept files, relative to its root (the
        archive's one top-level folder, when it has one), or why it is refused."""
        if refused:
            self._refused = tuple(refused)
            self._kept.clear()
            return
        prefix = f"{top}/" if top else ""
        self._listing = listing
        self._kept = {rel[len(prefix) :]: src for rel, src in self._kept.items()}

    def inventory(self) -> Inventory:
        if self._refused:
            return super().inventory()  # the refusals, and nothing walked
        inv = listed_inventory(self._listing, self.limits)
        inv.files.sort(key=lambda f: _utf8_sort_key(f.path))
        self._files = {f.path: f for f in inv.files}
        return inv

    def _open_fd(self, path: str) -> int:
        raise PackAccessError(f"{path}: an archive pack has no files on disk")

    def source(self, path: str) -> Source:
        found = self._sources.get(path) or self._kept.get(path)
        if found is None:
            raise PackAccessError(f"{path}: not in the archive pack")
        return found

    def _digest(self, path: str, max_line: int | None) -> tuple[str, int | None]:
        digest = hashlib.sha256()
        scan = _LineScan(max_line) if max_line is not None else None
        for block in self.source(path).chunks():
            digest.update(block)
            if scan is not None and scan.too_long is None:
                scan.feed(block, len(block))
        return digest.hexdigest(), scan.finish() if scan is not None else None

    def seal_read(self, path: str, max_line: int | None) -> SealedRead:
        """The kept bytes are already the private copy: hash them where they are."""
        hexdigest, too_long = self._digest(path, max_line)
        self._sources[path] = self.source(path)
        self._sealed = True
        return SealedRead(hexdigest, too_long, None)

    def hash_file(self, path: str, max_line: int | None) -> tuple[str, int | None]:
        return self._digest(path, max_line)


def unpack(archive: Path, store: ArchiveReader, limits: Limits) -> None:
    """Unpack ``archive`` into ``store``: its files kept, its listing (relative to the
    pack's root: the archive's root or its one top-level folder), or the refusals (the
    pack is then NOT_ADMISSIBLE for them and nothing of it is read)."""
    kind = archive_kind(archive.name)
    assert kind is not None, archive
    u = _Unpacker(store, limits)
    try:
        fd = os.open(archive, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        detail = Detail("SECURITY-UNREADABLE", f"cannot read archive: {exc.strerror}")
        store.settle([], [detail], None)
        return
    with os.fdopen(fd, "rb") as raw:
        try:
            if kind == "zip":
                directory = (u.entry_bound + 1) * ZIP_DIRECTORY_BYTES_PER_ENTRY
                # at least what zipfile reads to find the directory's end (a 64 KiB comment)
                _unpack_zip(u, _Bounded(raw, max(directory, 1 << 17)))
            elif kind == "tgz":
                _unpack_tar(u, _Gunzip(raw, max(CHUNK, TAR_HEADER_BYTES)))
            else:
                _unpack_tar(u, _Bounded(raw, max(CHUNK, TAR_HEADER_BYTES)))
            u.finish()
        except _Stop as stop:
            u.refusals.append(stop.detail)
            u.stopped = True
        except OSError as exc:  # reading the archive itself failed
            u.refusals.append(Detail("SECURITY-UNREADABLE", f"cannot read archive: {exc.strerror}"))
            u.stopped = True
    top = _top(u.tops)
    if not u.refusals:
        store.settle(list(_listing(u, top)), [], top)
    elif not u.stopped and all(d.code in _SIZE_CODES for d in u.refusals):
        # Every entry was read and only sizes keep the pack from being unpacked: the walk
        # over its listing refuses it as it refuses the same pack as a folder.
        store.settle([], listed_inventory(_listing(u, top), limits).refusals, top)
    else:
        # An unpacking that stopped early has not seen every entry, so it cannot know the
        # pack's root: its refusals name the archive's entries as they are.
        store.settle([], _below(u.refusals, None if u.stopped else top), top)


_SIZE_CODES = frozenset({"SECURITY-FILE-TOO-LARGE", "SECURITY-PACK-TOO-LARGE"})


def _top(tops: set[tuple[str, bool]]) -> str | None:
    """The archive's one top-level folder (the pack's root), or None."""
    (top, is_dir), *others = sorted(tops) or [("", False)]
    return top if is_dir and not others else None


def _listing(u: _Unpacker, top: str | None) -> Iterator[tuple[str, bool, int]]:
    """(path in the pack, is a folder, size) of every entry, folders first."""
    prefix = f"{top}/" if top else ""
    for p in u.placed.values():
        if p.name.startswith(prefix):
            yield p.name[len(prefix) :], p.is_dir, p.size


def _below(refusals: list[Detail], top: str | None) -> list[Detail]:
    """The refusals with paths relative to the pack: below the archive's one top-level
    folder when it has one (so they read as the same pack's refusals as a folder)."""
    if top is None:
        return refusals
    prefix = top + "/"
    return [
        replace(d, artifact_path=d.artifact_path[len(prefix) :])
        if d.artifact_path is not None and d.artifact_path.startswith(prefix)
        else d
        for d in refusals
    ]


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """While the block runs, SIGTERM ends the process through Python (``SystemExit``,
    status 143) rather than at once, so the private folder is removed on the way out.
    Only in the main thread, and only where nobody else handles SIGTERM."""
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
    ):
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def unpacked(archive: Path, limits: Limits) -> Iterator[PackReader]:
    """A reader of the archive pack, unpacked into its private store. The store's spool
    (files over the reader's memory bounds) is an unlinked file in a private folder (mode
    0700, made by ``tempfile`` when first needed) that is removed when the block ends:
    also on an error, Ctrl-C or SIGTERM."""
    with _terminate_as_exit():
        store = ArchiveReader(archive, limits)
        try:
            unpack(archive, store, limits)
            yield store
        finally:
            store.remove_private()


# -- writing an archive of a pack folder (vlab import --out, golden vectors) -------------


@dataclass(frozen=True)
class Entry:
    """One entry to write: ``kind`` is ``file`` or ``dir`` for a pack; the vector
    generator also writes the kinds a reader must refuse (``symlink``, ``hardlink``,
    ``chardev``, ``fifo``), with ``target`` the link's target."""

    name: str
    kind: str = "file"
    data: bytes = b""
    target: str = ""


def folder_entries(folder: Path, top: str | None = None) -> list[Entry]:
    """A pack folder's folders and files, in UTF-8 byte order of their paths (a folder
    before what it holds), under ``top`` when given."""
    found: list[Entry] = []
    prefix = f"{top}/" if top else ""
    if top:
        found.append(Entry(top, "dir"))
    for path in folder.rglob("*"):
        rel = prefix + path.relative_to(folder).as_posix()
        if path.is_symlink() or not (path.is_dir() or path.is_file()):
            raise UsageError(f"{path}: only files and folders go into an archive pack")
        found.append(Entry(rel, "dir") if path.is_dir() else Entry(rel, "file", path.read_bytes()))
    return sorted(found, key=lambda e: e.name.encode("utf-8"))


_TAR_TYPES = {
    "file": tarfile.REGTYPE,
    "dir": tarfile.DIRTYPE,
    "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE,
    "chardev": tarfile.CHRTYPE,
    "fifo": tarfile.FIFOTYPE,
}
_ZIP_MODES = {
    "file": stat.S_IFREG | 0o644,
    "dir": stat.S_IFDIR | 0o755,
    "symlink": stat.S_IFLNK | 0o777,
    "chardev": stat.S_IFCHR | 0o644,
    "fifo": stat.S_IFIFO | 0o644,
}


def archive_bytes(entries: Iterable[Entry], kind: Kind) -> bytes:
    """The archive of ``entries``, byte-reproducible: fixed times (1980-01-01 for zip, 0
    for tar and gzip), owners 0, modes 0644/0755, entries in the order given, no names in
    the gzip header, maximum compression."""
    import gzip
    import io

    out = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(out, "w") as zf:
            for e in entries:
                name = e.name + "/" if e.kind == "dir" else e.name
                info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
                info.create_system = 3
                info.external_attr = (_ZIP_MODES[e.kind] << 16) | (0x10 if e.kind == "dir" else 0)
                data = e.target.encode("utf-8") if e.kind == "symlink" else e.data
                info.compress_type = zipfile.ZIP_STORED if e.kind == "dir" else zipfile.ZIP_DEFLATED
                zf.writestr(info, data, compresslevel=9)
        return out.getvalue()
    tar_out: BinaryIO = out
    gz = None
    if kind == "tgz":
        gz = gzip.GzipFile(filename="", mode="wb", fileobj=out, compresslevel=9, mtime=0)
        tar_out = gz  # type: ignore[assignment]
    with tarfile.open(fileobj=tar_out, mode="w", format=tarfile.PAX_FORMAT) as tf:
        for e in entries:
            member = tarfile.TarInfo(e.name)
            member.type = _TAR_TYPES[e.kind]
            member.mode = 0o755 if e.kind == "dir" else 0o644
            member.mtime = 0
            member.uid = member.gid = 0
            member.uname = member.gname = ""
            member.linkname = e.target
            if e.kind == "file":
                member.size = len(e.data)
                tf.addfile(member, io.BytesIO(e.data))
            else:
                tf.addfile(member)
    if gz is not None:
        gz.close()
    return out.getvalue()


def write_archive(folder: Path, dest: Path, top: str | None = None) -> None:
    """Write the pack folder as the archive ``dest`` names (its ending picks the kind)."""
    kind = archive_kind(dest.name)
    if kind is None:
        raise UsageError(f"{dest}: not an archive name (.tar, .tar.gz, .tgz or .zip)")
    data = archive_bytes(folder_entries(folder, top), kind)
    try:
        dest.write_bytes(data)
    except OSError as exc:
        raise UsageError(f"cannot write {dest}: {exc.strerror}") from None
