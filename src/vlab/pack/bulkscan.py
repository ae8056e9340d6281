"""The bulk NDJSON scan: a large artifact validated in batches of lines by C-level passes
(``map`` over ``orjson.loads``, one ``orjson.dumps`` of the batch compared with the batch's
own bytes, ids and their hashes by ``map``), instead of one trip through the interpreter
per line. It proves a clean log clean; it never reports a fault. The first line that is
not plainly valid, a missing id or a repeated id hash abandons it, and the exact scan of
``pack/ndjson.py`` (the authority: strict parser, id table confirming every equal hash on
the ids) judges the whole artifact again, so every finding is the exact scan's (decision
251).

Why one ``dumps`` of the batch proves every line: each line is parsed alone (so object
``i`` is line ``i``'s value), every value is a dict, and ``dumps(objects)`` equals ``[`` +
the lines joined by ``,`` + ``]`` (or that with ``": "``/``", "`` compacted). If line ``i``
differed from ``dumps(object_i)``, one would be a proper prefix of the other followed by
``,`` or ``]``; but a line that parses alone has nothing but white space after its object,
and the canonical text of an object closes its first ``{`` only at its end. So every line
is the canonical text of its object, as the per-line check requires.

Duplicate ids, with no per-line table: each block's id hashes are sorted and cut into
``PARTS`` ranges of the 64-bit hash space; at the end each range's hashes go into one
``set`` (a range at a time, so memory stays one range's worth) and a range with fewer
distinct hashes than hashes sends the artifact to the exact scan.

A large event log's second part is scanned by a forked process (``Prescan``), started
when the SECURITY gate has copied the log into the private store (before it hashes it):
the child reads only the sealed copy, writes its line offsets, its id hashes in line order
and its hash ranges to an unlinked spool file, and reports counts through a pipe. The
CONTRACT gate claims it; an admission that ends first kills and reaps it (decision 252).
"""

from __future__ import annotations

import contextlib
import gc
import os
import pickle
import signal
import tempfile
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, compress, count, repeat
from operator import add
from typing import Any, BinaryIO

from vlab.core import strictjson
from vlab.core.findings import Detail
from vlab.pack import ndjson
from vlab.pack.reader import PackReader, Source

BATCH_LINES = 128  # lines parsed per C-level pass (small: the batch stays in cache)
PARTS = 64  # ranges of the hash space checked one at a time for repeats
# Where each range ends (signed 64-bit hashes, sorted): PARTS - 1 boundaries.
_BOUNDS = [-(1 << 63) + (k << 58) for k in range(1, PARTS)]
_get = dict.get
_DEFERRED = {signal.SIGINT, signal.SIGTERM}


# The 64-bit key of an id: Python's string hash, called from C by ``map`` (a forked child
# shares the parent's hash secret; nothing judged depends on its value).
_key: Callable[[Any], int] = hash


class Abandon(Exception):
    """A line the bulk scan cannot prove valid: the exact scan decides."""


@dataclass
class Bulk:
    """What the bulk scan of one byte range found (line numbers local to the range)."""

    offsets: array[int]
    records: int
    parts: list[array[int]]  # PARTS arrays of id hashes (event logs)
    wanted: dict[str, list[int]] = field(default_factory=dict)


@dataclass
class _Sinks:
    """Where a prescan child streams its per-line arrays (no copy kept in memory)."""

    offsets: BinaryIO
    order: BinaryIO
    lines: int = 0


def scan_range(
    src: Source,
    path: str,
    start: int,
    end: int,
    event_log: bool,
    wanted_ids: set[str],
    bounds: tuple[int, int],
    sinks: _Sinks | None = None,
) -> Bulk:
    """Prove ``[start, end)`` (``start`` a line start) clean, or raise ``Abandon``."""
    import orjson

    loads, dumps = orjson.loads, orjson.dumps
    decode_error, encode_error = orjson.JSONDecodeError, orjson.JSONEncodeError
    max_depth = bounds[0]
    deep_run = ndjson._deep_run(max_depth)
    offsets: array[int] = array("q")
    parts: list[array[int]] = [array("q") for _ in range(PARTS)]
    wanted: dict[str, list[int]] = {}
    records = 0
    number = 0  # lines so far
    offset = start
    carry = b""
    for block in ndjson._blocks_with_final(src, start, end):
        if block is None:
            if not carry:
                break
            lines, carry, text = [carry], b"", carry
        else:
            text = carry + block if carry else block
            lines = text.split(b"\n")
            carry = lines.pop()
            if not lines:
                continue
        offsets.extend(accumulate(map(add, map(len, lines), repeat(1)), initial=offset))
        offset = offsets.pop()
        # A block with a line that may nest too deep, or one the strict parser alone takes,
        # goes line by line (the exact scan's own rules for each line).
        shallow = deep_run.search(text.translate(None, ndjson._NOT_OPENING)) is None
        plain = shallow and max(map(len, lines)) <= ndjson.STRICT_ONLY_LINE_BYTES
        block_keys: list[int] = []
        block_order: list[int] = []
        ids: list[Any]
        for i in range(0, len(lines), BATCH_LINES):
            batch = lines[i : i + BATCH_LINES]
            base = number + i + 1  # the line number of batch[0]
            objs: list[Any] | None = None
            if plain and not (start == 0 and base == 1):  # line 1: strict (a BOM)
                try:
                    objs = list(map(loads, batch))
                    again = dumps(objs)
                    joined = b"[" + b",".join(batch) + b"]"
                    if again != joined and again != joined.replace(b'": ', b'":').replace(
                        b', "', b',"'
                    ):
                        objs = None
                    else:  # dict.get refuses anything but a dict: every value an object
                        ids = list(map(_get, objs, repeat("event_id")))
                except (decode_error, encode_error, TypeError):
                    objs = None
            numbers: list[int] | None = None
            if objs is None:  # line by line, blank lines skipped
                objs, numbers = _line_by_line(batch, base, path, bounds, shallow, start == 0)
                ids = list(map(_get, objs, repeat("event_id")))
            records += len(objs)
            if event_log:
                try:
                    "".join(ids)  # a TypeError unless every id is a string
                except TypeError:
                    raise Abandon from None
                if "" in ids:
                    raise Abandon
                keys = list(map(_key, ids))
                block_keys += keys
                if sinks is not None:
                    if numbers is not None:  # one entry per physical line: 0 for no record
                        keys = _with_gaps(keys, numbers, base, len(batch))
                    block_order += keys
            if wanted_ids:
                _note_wanted(ids, numbers, base, wanted_ids, wanted)
        if sinks is not None and event_log:
            array("q", block_order).tofile(sinks.order)
        number += len(lines)
        _partition(block_keys, parts)
        if sinks is not None:
            offsets.tofile(sinks.offsets)
            sinks.lines += len(offsets)
            del offsets[:]
    return Bulk(offsets, records, parts, wanted)


def _with_gaps(keys: list[int], numbers: list[int], first: int, width: int) -> list[int]:
    out = [0] * width
    for key, line in zip(keys, numbers, strict=True):
        out[line - first] = key
    return out


def _line_by_line(
    batch: list[bytes],
    first: int,
    path: str,
    bounds: tuple[int, int],
    shallow: bool,
    at_file_start: bool,
) -> tuple[list[Any], list[int]]:
    """The records of ``batch`` by the exact scan's per-line rules; ``Abandon`` at the first
    line those rules would report."""
    objs: list[Any] = []
    numbers: list[int] = []
    for j, raw in enumerate(batch):
        number = first + j
        file_start = at_file_start and number == 1
        obj = ndjson.line_record(raw, number, path, bounds, shallow, file_start=file_start)
        if isinstance(obj, Detail):
            raise Abandon
        if obj is not None:
            objs.append(obj)
            numbers.append(number)
    return objs, numbers


def _note_wanted(
    ids: list[Any],
    numbers: list[int] | None,
    base: int,
    wanted_ids: set[str],
    wanted: dict[str, list[int]],
) -> None:
    if not wanted_ids.intersection(i for i in ids if type(i) is str):
        return
    for j, event_id in enumerate(ids):
        if type(event_id) is str and event_id in wanted_ids:
            wanted.setdefault(event_id, []).append(base + j if numbers is None else numbers[j])


def _partition(keys: list[int], parts: list[array[int]]) -> None:
    """Sort a block's hashes and append each range's share to its array."""
    if not keys:
        return
    keys.sort()
    lo = 0
    for k, bound in enumerate(_BOUNDS):
        hi = bisect_left(keys, bound, lo)
        if hi > lo:
            parts[k].extend(keys[lo:hi])
            lo = hi
    parts[-1].extend(keys[lo:])


def no_repeats(parts: list[array[int]], more: Callable[[int], array[int]] | None = None) -> bool:
    """No hash appears twice across ``parts`` (and ``more(k)``: the child's range ``k``);
    each range is released once checked. Counts the hashes seen in ``checked``."""
    global checked
    for k in range(PARTS):
        keys = parts[k]
        parts[k] = array("q")
        if more is not None:
            keys.extend(more(k))
        checked += len(keys)
        if len(set(keys)) != len(keys):
            return False
    return True


checked = 0  # hashes looked at by ``no_repeats`` (tests count work with it)


# -- the forked second part ---------------------------------------------------------------


class Prescan:
    """The scan of ``[start, size)`` of one sealed event log in a forked child. ``result``
    waits for it; ``cancel`` kills and reaps it (idempotent). The spool file is unlinked
    from the start: nothing is left on disk whatever happens."""

    def __init__(
        self,
        src: Source,
        path: str,
        span: tuple[int, int],
        bounds: tuple[int, int],
        spool_dir: Any,
    ) -> None:
        self.src, self.path, self.bounds = src, path, bounds
        self.start, self.end = span
        self._offsets = tempfile.TemporaryFile(prefix="vlab-scan-", dir=spool_dir)  # noqa: SIM115
        self._order = tempfile.TemporaryFile(prefix="vlab-scan-", dir=spool_dir)  # noqa: SIM115
        self.pid: int | None = None
        self._pipe: int | None = None
        self._parts_at: list[tuple[int, int]] = []
        try:
            read_end, write_end = os.pipe()
        except OSError:
            self.cancel()
            raise
        import orjson  # noqa: F401 - imported before the fork: the child never imports

        # Ctrl-C and SIGTERM wait while the child is made, so that neither process can be
        # interrupted between the fork and the code that cleans up after it.
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED)
        try:
            pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            os.close(read_end)
            os.close(write_end)
            self.cancel()
            raise
        if pid == 0:  # the child: never returns
            _child(self, read_end, write_end, mask)
        self.pid = pid
        self._pipe = read_end
        os.close(write_end)
        try:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a Ctrl-C held back lands here
        except BaseException:
            self.cancel()
            raise

    def result(self) -> tuple[int, int] | None:
        """(lines, records) of a clean part, or None (a fault, or the child died)."""
        assert self._pipe is not None
        chunks = []
        while True:
            data = os.read(self._pipe, 1 << 16)
            if not data:
                break
            chunks.append(data)
        os.close(self._pipe)
        self._pipe = None
        self._reap()
        try:
            report = pickle.loads(b"".join(chunks))
        except Exception:
            return None
        if not isinstance(report, tuple) or report[0] != "ok":
            return None
        _, lines, records, parts_at = report
        self._parts_at = parts_at
        return lines, records

    def offsets_into(self, offsets: array[int], lines: int) -> None:
        self._offsets.seek(0)
        offsets.fromfile(self._offsets, lines)

    def order_chunks(self, lines: int, per: int = 1 << 20) -> Iterator[array[int]]:
        """The child's id hashes in line order (0: no record), ``per`` at a time."""
        self._order.seek(0)
        done = 0
        while done < lines:
            chunk: array[int] = array("q")
            chunk.fromfile(self._order, min(per, lines - done))
            done += len(chunk)
            yield chunk

    def part(self, k: int) -> array[int]:
        at, n = self._parts_at[k]
        self._offsets.seek(at)
        out: array[int] = array("q")
        out.fromfile(self._offsets, n)
        return out

    def _reap(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
            self.pid = None

    def cancel(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self._pipe is not None:
            os.close(self._pipe)
            self._pipe = None
        self._offsets.close()
        self._order.close()


def _child(job: Prescan, read_end: int, write_end: int, mask: Any) -> None:
    code = 1
    try:
        os.close(read_end)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # Ctrl-C now ends this child
        # The parent's objects are never garbage here: the collector leaves them alone (no
        # traversal of them, no copy-on-write of their pages).
        gc.freeze()
        sinks = _Sinks(job._offsets, job._order)
        try:
            bulk = scan_range(job.src, job.path, job.start, job.end, True, set(), job.bounds, sinks)
        except Abandon:
            report: tuple[Any, ...] = ("abandon",)
        else:
            sinks.order.flush()
            parts_at = []
            at = sinks.offsets.tell()
            for keys in bulk.parts:  # the hash ranges follow the offsets in the same file
                keys.tofile(sinks.offsets)
                parts_at.append((at, len(keys)))
                at += 8 * len(keys)
            sinks.offsets.flush()
            report = ("ok", sinks.lines, bulk.records, parts_at)
        data = pickle.dumps(report)
        while data:
            data = data[os.write(write_end, data) :]
        code = 0
    except BaseException:
        pass
    finally:
        os._exit(code)


class Prescans:
    """The prescans of one event log, in file order (``cancel`` ends them all)."""

    def __init__(self, jobs: list[Prescan]) -> None:
        self.jobs = jobs

    def cancel(self) -> None:
        for job in self.jobs:
            job.cancel()


def start_prescan(reader: PackReader, path: str, src: Source, bounds: tuple[int, int]) -> None:
    """Start scanning a large sealed event log in two forked children, one per half (the
    SECURITY gate calls this once the log is in the private store, before hashing it);
    the CONTRACT gate's scan claims them."""
    if src.size < ndjson.PARALLEL_MIN_BYTES or not hasattr(os, "fork"):
        return
    split = ndjson._split_point(src)
    if split is None:
        return
    jobs: list[Prescan] = []
    group = Prescans(jobs)
    try:
        for span in ((0, split), (split, src.size)):
            jobs.append(Prescan(src, path, span, bounds, reader.spool_dir))
    except OSError:  # no process or file to spare: CONTRACT scans it itself, as before
        group.cancel()
        return
    except BaseException:
        group.cancel()
        raise
    reader.attach(("prescan", path), group)


def scan(
    reader: PackReader,
    path: str,
    *,
    event_log: bool,
    wanted_ids: set[str],
    max_depth: int,
    max_values: int = strictjson.DEFAULT_MAX_VALUES,
) -> tuple[ndjson.NdjsonIndex, list[Detail]]:
    """``ndjson.scan``'s result, faster: a large artifact is first proven clean in bulk
    (with the prescans of a large event log the SECURITY gate started); whatever that
    cannot prove, the exact scan judges (decision 251)."""
    # The sealed bytes (the SECURITY gate's private copy).
    src = reader.source(path)
    bounds = (max_depth, max_values)
    prescans = reader.claim(("prescan", path))
    if src.size >= ndjson.FAST_PATH_MIN_BYTES:
        index = bulk_scan(src, path, event_log, wanted_ids, bounds, prescans, reader.spool_dir)
        if index is not None:
            return index, []
    elif prescans is not None:
        prescans.cancel()
    return ndjson.exact_scan(src, path, event_log=event_log, wanted_ids=wanted_ids, bounds=bounds)


def bulk_scan(
    src: Source,
    path: str,
    event_log: bool,
    wanted_ids: set[str],
    bounds: tuple[int, int],
    prescans: Prescans | None,
    spool_dir: Any,
) -> ndjson.NdjsonIndex | None:
    """The index of a clean artifact, or None (the exact scan decides). Uses the prescans
    when they are of these very sealed bytes, or, for a large event log, scans the first
    half here while a forked child scans the second; every child is reaped before this
    returns."""
    if prescans is not None and (
        not event_log
        or any(j.src != src or j.bounds != bounds or j.path != path for j in prescans.jobs)
    ):
        prescans.cancel()
        prescans = None
    try:
        mine: Bulk | None = None
        if prescans is None:
            prescans = Prescans([])
            end = src.size
            if event_log and src.size >= ndjson.PARALLEL_MIN_BYTES and hasattr(os, "fork"):
                split = ndjson._split_point(src)
                if split is not None:
                    with contextlib.suppress(OSError):  # else: all of it here
                        prescans.jobs.append(Prescan(src, path, (split, end), bounds, spool_dir))
                        end = split
            try:
                mine = scan_range(src, path, 0, end, event_log, wanted_ids, bounds)
            except Abandon:
                return None
        return _joined(src, path, event_log, wanted_ids, mine, prescans.jobs)
    finally:
        if prescans is not None:
            prescans.cancel()


def _joined(
    src: Source,
    path: str,
    event_log: bool,
    wanted_ids: set[str],
    mine: Bulk | None,
    jobs: list[Prescan],
) -> ndjson.NdjsonIndex | None:
    """One index of the parts (this process's first, then the children's in order)."""
    counts = []
    for job in jobs:
        got = job.result()
        if got is None:
            return None
        counts.append(got)
    parts = mine.parts if mine is not None else [array("q") for _ in range(PARTS)]
    if event_log:

        def more(k: int) -> array[int]:
            out: array[int] = array("q")
            for job in jobs:
                out.extend(job.part(k))
            return out

        if not no_repeats(parts, more if jobs else None):
            return None
    offsets: array[int] = mine.offsets if mine is not None else array("q")
    wanted = mine.wanted if mine is not None else {}
    records = mine.records if mine is not None else 0
    bases = []
    for job, (lines, job_records) in zip(jobs, counts, strict=True):
        bases.append(len(offsets))
        job.offsets_into(offsets, lines)
        records += job_records
    index = ndjson.NdjsonIndex(path, src.size, offsets, wanted, records)
    if wanted_ids:
        for job, base, (lines, _) in zip(jobs, bases, counts, strict=True):
            _wanted_in(src, index, job, base, lines, wanted_ids)
    return index


def _wanted_in(
    src: Source,
    index: ndjson.NdjsonIndex,
    prescan: Prescan,
    base: int,
    lines: int,
    wanted_ids: set[str],
) -> None:
    """The lines of a prescanned part holding a wanted id: the lines whose hash is a
    wanted id's (C-level), each confirmed on the id itself."""
    wanted_keys = {_key(w) for w in wanted_ids}
    done = base
    for chunk in prescan.order_chunks(lines):
        for line in compress(count(done + 1), map(wanted_keys.__contains__, chunk)):
            start, length = index.line_span(line)
            raw = ndjson._strip_cr(src.read(start, length).rstrip(b"\n"))
            if not raw or ndjson.is_blank(raw):
                continue
            event_id = strictjson.loads(raw).get("event_id")
            if event_id in wanted_ids:
                index.wanted_events.setdefault(event_id, []).append(line)
        done += len(chunk)
