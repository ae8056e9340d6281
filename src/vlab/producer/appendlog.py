"""Append-only JSON-lines files that several processes may write at once, and that stay
readable when a writer dies mid-record.

Every writer follows one protocol (``AppendLog.append``):

1. take an exclusive ``flock`` on the file (the kernel drops it when a writer dies);
2. look at the last byte: anything but a newline is a line torn by a writer that died
   mid-record; refuse (``TornLineError``) rather than write after it, which would glue the
   torn bytes and the new record into one line;
3. derive what depends on the end of the file -- the next id, the latest timestamp
   (``SequencedLog``) -- from its last records, read backwards from the end;
4. write the whole line, looping over short writes (the kernel may split a large
   ``write(2)``), still under the lock, and fsync;
5. unlock.

Because a writer holds the lock for the whole write, a partial last line means exactly one
of two things: a writer holds the lock and is still writing it (readers skip it), or no
writer does and it is torn (readers and writers report it). Readers never block on a
writer: ``records`` tells the two cases apart with a non-blocking shared lock.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, ClassVar

from vlab.core.timestamps import utc_micros

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_FIRST_BLOCK, _LAST_BLOCK = 4096, 1 << 20  # backwards reads: small first, then doubling


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


# -- this process's holds on file locks ------------------------------------------------------
#
# flock belongs to an open file description: a second open of the same file in this process
# would wait for the first one's lock forever. So the process keeps one hold per file
# (device, inode): nested sections in one thread reuse its descriptor, and other threads
# wait on its mutex before they reach flock.


@dataclass
class _Hold:
    mutex: threading.RLock = field(default_factory=threading.RLock)
    fd: int = -1
    depth: int = 0
    owner: int = 0  # the thread holding it, while depth > 0

    def mine(self) -> bool:
        return self.depth > 0 and self.owner == threading.get_ident()


_holds: dict[tuple[int, int], _Hold] = {}
_holds_guard = threading.Lock()


def _hold_of(st: os.stat_result) -> _Hold:
    with _holds_guard:
        return _holds.setdefault((st.st_dev, st.st_ino), _Hold())


def _forget_holds_after_fork() -> None:
    # A forked child inherits the descriptors but none of the threads: it must neither think
    # it holds its parent's locks nor keep them alive after the parent lets go.
    # (A child forked inside a locked section must leave with os._exit, as multiprocessing
    # does, not by unwinding that section.)
    global _holds_guard
    for hold in _holds.values():
        if hold.depth:
            os.close(hold.fd)
        hold.mutex, hold.fd, hold.depth, hold.owner = threading.RLock(), -1, 0, 0
    _holds.clear()
    _holds_guard = threading.Lock()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_forget_holds_after_fork)


def _same_file(path: Path, st: os.stat_result) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_dev, now.st_ino) == (st.st_dev, st.st_ino)


def _torn_at(fd: int, path: Path, size: int) -> TornLineError | None:
    """The partial line ending the first ``size`` bytes, if they do not end in a newline."""
    if size == 0 or os.pread(fd, 1, size - 1) == b"\n":
        return None
    start, step = size, _FIRST_BLOCK
    while start > 0:  # walk back to the newline before the partial line
        begin = max(0, start - step)
        cut = os.pread(fd, start - begin, begin).rfind(b"\n")
        if cut != -1:
            start = begin + cut + 1
            break
        start, step = begin, min(step * 2, _LAST_BLOCK)
    return TornLineError(path, start, os.pread(fd, size - start, start))


def _lines_backwards(fd: int, end: int, stop: int) -> Iterator[bytes]:
    """The lines of ``[stop, end)``, last first, without their newlines; both ends are line
    boundaries (0, or just past a newline). Reads only as far back as the caller iterates."""
    pieces: list[bytes] = []  # the current line, its last block first
    cursor, step = end - 1, _FIRST_BLOCK  # the last line's own newline is not part of it
    while cursor > stop:
        begin = max(stop, cursor - step)
        block = os.pread(fd, cursor - begin, begin)
        right = len(block)
        while (cut := block.rfind(b"\n", 0, right)) != -1:
            pieces.append(block[cut + 1 : right])
            yield b"".join(reversed(pieces))
            pieces, right = [], cut
        pieces.append(block[:right])
        cursor, step = begin, min(step * 2, _LAST_BLOCK)
    if end > stop:
        yield b"".join(reversed(pieces))


def _write_all(fd: int, data: bytes, start: int, path: Path) -> None:
    """Write every byte (under the caller's lock); a failed write is rolled back to ``start``."""
    view = memoryview(data)
    done = 0
    try:
        while done < len(data):
            written = os.write(fd, view[done:])
            if written == 0:  # pragma: no cover - no progress: give up rather than spin
                raise OSError(f"{path}: write made no progress at byte {start + done}")
            done += written
    except BaseException:
        # Still under the lock, so everything past ``start`` is this record: take it back
        # rather than leave a torn line. (If even that fails, the next writer reports it.)
        if done:
            with suppress(OSError):
                os.ftruncate(fd, start)
        raise


class AppendLog:
    """One append-only JSON-lines file shared by any number of writers (the module
    docstring has the protocol): ``append`` a record, read ``records``, and deal with a
    writer that died mid-line (``torn_tail``, ``quarantine_torn_tail``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._hold: _Hold | None = None

    # -- locking ---------------------------------------------------------------------------

    def _shares_protocol(self) -> bool:
        """False for a subclass that replaces ``append`` with its own I/O (say, a buffered
        single writer building a benchmark): locks and tail reads mean nothing for a file
        written that way, so sequencing falls back to this object's own counters."""
        return type(self).append is AppendLog.append

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the file's exclusive lock: appends and the ids and timestamps derived from
        the file's end (``SequencedLog``) inside the block see no other writer in between.
        Nests, also across objects for the same file in one thread; lock several files in
        one order everywhere (``SpendingCap``: the ledger, then the event log)."""
        if not self._shares_protocol():
            yield
            return
        with self._exclusive():
            yield

    @contextmanager
    def _exclusive(self) -> Iterator[int]:
        import fcntl  # POSIX only: imported where a lock is taken, so reading works anywhere

        hold = self._hold
        if hold is None or not hold.mine():
            while True:
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
                try:
                    st = os.fstat(fd)
                    hold = _hold_of(st)
                except BaseException:
                    os.close(fd)
                    raise
                hold.mutex.acquire()
                if hold.depth:  # this thread holds the file through another object
                    os.close(fd)
                    break
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    # Replaced while we waited: lock the file the path names now.
                    settled = _same_file(self.path, st)
                except BaseException:
                    os.close(fd)
                    hold.mutex.release()
                    raise
                if settled:
                    hold.fd, hold.owner = fd, threading.get_ident()
                    break
                os.close(fd)
                hold.mutex.release()
        else:
            hold.mutex.acquire()
        self._hold = hold
        hold.depth += 1
        try:
            yield hold.fd
        finally:
            hold.depth -= 1
            if hold.depth == 0:
                fd, hold.fd = hold.fd, -1
                os.close(fd)  # closing drops the flock
            hold.mutex.release()

    @contextmanager
    def _snapshot(self) -> Iterator[tuple[IO[bytes], int, bool] | None]:
        """The file open for reading, a size, and whether the size is *settled* (no writer
        is mid-record, so a partial line there is torn). Unsettled, the bytes after the last
        newline are a record still being written. None when there is no file. Never waits."""
        import fcntl

        try:
            fh = open(self.path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            yield None
            return
        with fh:
            fd = fh.fileno()
            st = os.fstat(fd)
            hold = _holds.get((st.st_dev, st.st_ino))
            if hold is not None and hold.mine():  # under our own lock nothing moves
                yield fh, st.st_size, True
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                yield fh, os.fstat(fd).st_size, False
                return
            size = os.fstat(fd).st_size
            fcntl.flock(fd, fcntl.LOCK_UN)
            yield fh, size, True

    # -- writing -----------------------------------------------------------------------------

    def append(self, record: dict[str, Any]) -> None:
        """Append one record as one line, under the lock; refuses to write after a torn line."""
        data = encode_line(record)
        with self._exclusive() as fd:
            st = os.fstat(fd)
            torn = _torn_at(fd, self.path, st.st_size)
            if torn is not None:
                raise torn
            _write_all(fd, data, st.st_size, self.path)
            os.fsync(fd)
            self._appended(record, st, st.st_size + len(data))

    def _appended(self, record: dict[str, Any], st: os.stat_result, end: int) -> None:
        """Hook: ``record`` now ends the file at ``end`` (called under the lock)."""

    # -- reading -----------------------------------------------------------------------------

    def torn_tail(self) -> TornLineError | None:
        """The torn last line, if the file has one (a line a writer is still writing is not
        torn, and is not reported)."""
        with self._snapshot() as snap:
            if snap is None or not snap[2]:
                return None
            return _torn_at(snap[0].fileno(), self.path, snap[1])

    def quarantine_torn_tail(self) -> Path | None:
        """Move a torn last line to ``<file>.torn`` (explicit, reported) so appends can go on."""
        if not self.path.exists():
            return None
        with self._exclusive() as fd:
            torn = _torn_at(fd, self.path, os.fstat(fd).st_size)
            if torn is None:
                return None
            aside = self.path.with_name(self.path.name + ".torn")
            with open(aside, "ab") as fh:
                fh.write(torn.tail + b"\n")
                fh.flush()
                os.fsync(fh.fileno())  # kept aside for good before it leaves the log
            os.ftruncate(fd, torn.offset)
            os.fsync(fd)
            return aside

    def records(self) -> Iterator[dict[str, Any]]:
        """Complete records in order; raises TornLineError at a torn last line. A record
        another writer is still writing is left out (it is not torn, only unfinished)."""
        with self._snapshot() as snap:
            if snap is None:
                return
            fh, size, settled = snap
            offset = 0
            while offset < size:
                raw = fh.readline(size - offset)  # never past the snapshot
                if not raw:
                    return  # shorter now: a torn tail was quarantined meanwhile
                if not raw.endswith(b"\n"):
                    if settled:
                        raise TornLineError(self.path, offset, raw)
                    return
                offset += len(raw)
                if raw.strip():
                    yield json.loads(raw, parse_float=Decimal)


# -- ids and timestamps allocated under the lock ----------------------------------------------


def _latest(a: int | None, b: int | None) -> int | None:
    return a if b is None else b if a is None else max(a, b)


@dataclass(frozen=True)
class _Tail:
    """What the end of a sequenced log says, as of ``size`` bytes of file ``dev``/``ino``."""

    dev: int
    ino: int
    size: int
    seq: int  # the highest ``<prefix>-<n>`` id number (0: none)
    ts: int | None  # the latest timestamp, UTC microseconds (None: none)
    lines: int | None  # non-blank lines, kept only while no own id has been seen


class SequencedLog(AppendLog):
    """An append-only log whose records carry ``<prefix>-<n>`` ids and timestamps. The next
    id and the earliest allowed timestamp come from the file's end, read under the lock that
    the append then takes too (``locked``), so concurrent writers never repeat an id nor
    write a timestamp earlier than one already in the file."""

    id_field: ClassVar[str]
    ts_field: ClassVar[str]

    def __init__(self, path: Path, prefix: str) -> None:
        super().__init__(path)
        self.prefix = prefix
        self._own_id = re.compile(re.escape(prefix) + "-([0-9]+)")
        self._tail_seen: _Tail | None = None  # cache: what this object last knew of the end

    def _read(self, record: Any) -> tuple[int | None, int | None]:
        """(own id number, timestamp in UTC microseconds) of a record, where it has them."""
        if not isinstance(record, dict):
            return None, None
        value = record.get(self.id_field)
        match = self._own_id.fullmatch(value) if isinstance(value, str) else None
        return (int(match.group(1)) if match else None), utc_micros(record.get(self.ts_field))

    def _tail(self) -> _Tail:
        """The end of the file, under the lock. Only what was appended since this object last
        looked is read, backwards, and only until an own id and a timestamp turn up: usually
        the last record alone, and never the whole file unless it holds no own id at all."""
        with self._exclusive() as fd:
            st = os.fstat(fd)
            torn = _torn_at(fd, self.path, st.st_size)
            if torn is not None:
                raise torn
            known = self._tail_seen
            # Another file now, or a shorter one (a torn tail cut off): look again from 0.
            if (
                known is None
                or (known.dev, known.ino) != (st.st_dev, st.st_ino)
                or known.size > st.st_size
            ):
                known = _Tail(st.st_dev, st.st_ino, 0, 0, None, 0)
            if known.size < st.st_size:
                known = self._scan(fd, known, st.st_size)
            self._tail_seen = known
            return known

    def _scan(self, fd: int, known: _Tail, end: int) -> _Tail:
        seq: int | None = None
        ts: int | None = None
        lines = 0
        complete = True
        for raw in _lines_backwards(fd, end, known.size):
            if not raw.strip():
                continue
            lines += 1
            try:
                found_seq, found_ts = self._read(json.loads(raw))
            except ValueError:  # not JSON: carries neither
                continue
            seq = found_seq if seq is None else seq
            ts = found_ts if ts is None else ts
            if seq is not None and ts is not None:
                complete = False
                break
        return _Tail(
            known.dev,
            known.ino,
            end,
            max(known.seq, seq or 0),
            _latest(known.ts, ts),
            known.lines + lines if complete and known.lines is not None else None,
        )

    def _appended(self, record: dict[str, Any], st: os.stat_result, end: int) -> None:
        known = self._tail_seen
        if known is None or (known.dev, known.ino, known.size) != (
            st.st_dev,
            st.st_ino,
            st.st_size,
        ):
            return  # not up to date anyway: the next look scans from where it was
        seq, ts = self._read(record)
        self._tail_seen = _Tail(
            known.dev,
            known.ino,
            end,
            max(known.seq, seq or 0),
            _latest(known.ts, ts),
            None if known.lines is None or seq else known.lines + 1,
        )

    def last_number(self, *, or_records: bool = False) -> int:
        """The highest ``<prefix>-<n>`` id number in the file (0: none); ``or_records``: the
        number of records instead while no record has such an id yet."""
        tail = self._tail()
        if or_records and tail.seq == 0 and tail.lines is not None:
            return tail.lines
        return tail.seq

    def last_timestamp(self) -> datetime | None:
        """The latest timestamp in the file (None if none). Under ``locked`` it stays the
        latest until this writer appends."""
        if not self._shares_protocol():
            return None
        micros = self._tail().ts
        return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def not_before(at: datetime, bound: datetime | None, *, strictly: bool = False) -> datetime:
    """``at``, or ``bound`` (1 us past it when ``strictly``) if ``at`` is earlier."""
    if bound is None:
        return at
    floor = bound + timedelta(microseconds=1) if strictly else bound
    return at if at.astimezone(timezone.utc) >= floor else floor
