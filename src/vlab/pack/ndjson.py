"""NDJSON artifacts: one streaming pass that validates every line strictly and builds a
byte-offset index, so later lookups read single lines instead of the whole file.

Hot path: most machine-written lines are parsed by orjson and accepted only when
re-serialising the parsed object reproduces the line byte for byte (modulo ``": "``/``", "``
spacing). Such a line cannot hide a duplicate key, NaN or a non-object, because the
re-serialisation of a dict has exactly the members the text has. Every other line goes
through the strict parser, which is the authority and produces the detail code.
"""

from __future__ import annotations

import os
import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

from vlab.core import strictjson
from vlab.core.findings import Detail
from vlab.pack.idtable import IdTable, id_hash
from vlab.pack.reader import PackReader, Source

MAX_FINDINGS_PER_FILE = 10


@dataclass
class NdjsonIndex:
    """Where every physical line of one NDJSON artifact starts."""

    path: str
    size: int
    offsets: array[int] = field(default_factory=lambda: array("q"))
    # requested event_id -> line numbers holding it (only ids some pointer names)
    wanted_events: dict[str, list[int]] = field(default_factory=dict)
    records: int = 0

    @property
    def line_count(self) -> int:
        return len(self.offsets)

    def line_span(self, line: int) -> tuple[int, int]:
        """Byte offset and length of a line; the last line's span may include its ``\\n``."""
        start = self.offsets[line - 1]
        end = self.offsets[line] - 1 if line < len(self.offsets) else self.size
        return start, end - start


def _strip_cr(raw: bytes) -> bytes:
    return raw[:-1] if raw.endswith(b"\r") else raw


def is_blank(line: bytes) -> bool:
    return not line.strip(b" \t")


# NDJSON artifacts at least this large take the orjson hot path.
FAST_PATH_MIN_BYTES = 256 * 1024
# Longer lines always take the strict parser, which bounds the values it builds (a line
# shorter than this holds fewer than strictjson.DEFAULT_MAX_VALUES values).
STRICT_ONLY_LINE_BYTES = 1 << 20
# Event logs at least this large are scanned by two processes, one per half.
PARALLEL_MIN_BYTES = 64 * 1024 * 1024


@dataclass
class _Range:
    """What one scan of a byte range found; line numbers are local to the range."""

    offsets: array[int]
    details: list[Detail]
    wanted: dict[str, list[int]]
    records: int
    seen: IdTable | None  # event_ids seen in this range (the first half's)
    id_keys: array[int]  # their hashes, in order, with their lines (the second half's)
    id_lines: array[int]


def scan(
    reader: PackReader,
    path: str,
    *,
    event_log: bool,
    wanted_ids: set[str],
    max_depth: int,
    max_values: int = strictjson.DEFAULT_MAX_VALUES,
) -> tuple[NdjsonIndex, list[Detail]]:
    """Validate every line of one NDJSON artifact and index it."""
    # The sealed bytes (the SECURITY gate's private copy), picklable for the forked half.
    src = reader.source(path)
    size = src.size
    bounds = (max_depth, max_values)
    split = _split_point(src) if size >= PARALLEL_MIN_BYTES else None
    if split is None:
        part = _scan_range(src, path, 0, size, event_log, wanted_ids, bounds, False)
        return _index(path, size, [part]), part.details
    return _scan_halves(src, path, size, split, event_log, wanted_ids, bounds)


def _index(path: str, size: int, parts: list[_Range]) -> NdjsonIndex:
    # The first part's offsets become the index's (no copy of the largest array).
    index = NdjsonIndex(path=path, size=size, offsets=parts[0].offsets)
    for number, part in enumerate(parts):
        base = 0
        if number:
            base = len(index.offsets)
            index.offsets.extend(part.offsets)
            part.offsets = array("q")
        for event_id, lines in part.wanted.items():
            index.wanted_events.setdefault(event_id, []).extend(n + base for n in lines)
        index.records += part.records
    return index


def _split_point(src: Source) -> int | None:
    """A line start near the middle of the file, or None for a one-process scan."""
    if (os.cpu_count() or 1) < 2:
        return None
    size = src.size
    split = size // 2
    for block in src.chunks(split):
        newline = block.find(b"\n")
        if newline != -1:
            split += newline + 1
            break
        split += len(block)
    return split if 0 < split < size else None


def _scan_halves(
    src: Source,
    path: str,
    size: int,
    split: int,
    event_log: bool,
    wanted_ids: set[str],
    bounds: tuple[int, int],
) -> tuple[NdjsonIndex, list[Detail]]:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        future = pool.submit(
            _scan_range, src, path, split, size, event_log, wanted_ids, bounds, True
        )
        first = _scan_range(src, path, 0, split, event_log, wanted_ids, bounds, False)
        second = future.result()
    base = len(first.offsets)
    details = list(first.details)
    for d in second.details:
        details.append(replace(d, line=d.line + base if d.line is not None else None))
    index = _index(path, size, [first, second])
    if event_log and first.seen is not None:
        # An id the first half has seen is a duplicate wherever the second half repeats it
        # (equal hashes confirmed on the ids themselves, re-read by line).
        seen = first.seen
        for key, line in zip(second.id_keys, second.id_lines, strict=True):
            for earlier in seen.candidates(key):
                later_id = _event_id_at(src, index.offsets, line + base, size)
                if _event_id_at(src, index.offsets, earlier, size) == later_id:
                    details.append(_duplicate(str(later_id), path, line + base))
                    break
    details.sort(key=lambda d: d.line or 0)
    return index, details[:MAX_FINDINGS_PER_FILE]


def _event_id_at(src: Source, offsets: array[int], line: int, size: int) -> object:
    """The event_id of a line that passed the scan (read again by its offset)."""
    start = offsets[line - 1]
    end = offsets[line] - 1 if line < len(offsets) else size
    raw = _strip_cr(src.read(start, end - start).rstrip(b"\n"))
    record = strictjson.loads(raw)
    return record.get("event_id") if isinstance(record, dict) else None


def _duplicate(event_id: str, path: str, line: int) -> Detail:
    return Detail(
        "CONTRACT-DUPLICATE-EVENT-ID",
        f"event_id {event_id!r} appears more than once",
        path,
        line=line,
    )


def _scan_range(
    src: Source,
    path: str,
    start: int,
    end: int,
    event_log: bool,
    wanted_ids: set[str],
    bounds: tuple[int, int],
    keep_ids: bool,
) -> _Range:
    """Validate the lines of ``[start, end)``; ``start`` must be a line start."""
    max_depth = bounds[0]
    offsets: array[int] = array("q")
    offsets_append = offsets.append
    details: list[Detail] = []
    # Sized for lines of ~256 bytes or more (no rehashing on machine-written logs);
    # shorter lines make it grow.
    seen = IdTable(
        wide_lines=end - start >= 1 << 32, capacity=(end - start) >> 8 if event_log else 1
    )
    seen_add = seen.add
    id_keys: array[int] = array("q")
    id_lines: array[int] = array("q" if end - start >= 1 << 32 else "I")

    def same(earlier: int) -> bool:  # the earlier line's id is this line's (not a collision)
        return bool(_event_id_at(src, offsets, earlier, end) == event_id)

    wanted: dict[str, list[int]] = {}
    records = 0
    number = 0
    offset = start
    first_line_of_file = start == 0
    # Lines shorter than this cannot nest deeper than max_depth, so skip the bracket count.
    deep_possible = 2 * max_depth + 2
    # orjson costs more to import than a small artifact costs to parse strictly.
    fast = end - start >= FAST_PATH_MIN_BYTES
    if fast:
        import orjson

        loads, dumps, decode_error = orjson.loads, orjson.dumps, orjson.JSONDecodeError
    carry = b""
    shallow = False
    deep_run = _deep_run(max_depth)
    for block in _blocks_with_final(src, start, end):
        if block is None:  # end of range: a last line without its newline
            if not carry:
                break
            pieces = [carry]
            carry = b""
        else:
            text = carry + block if carry else block
            pieces = text.split(b"\n")
            carry = pieces.pop()
            # Only a line with more opening brackets than the depth bound can nest deeper
            # than it: two C passes over the chunk (keep brackets and newlines, look for a
            # run past the bound) spare every line of a chunk without one its own count.
            shallow = fast and deep_run.search(text.translate(None, _NOT_OPENING)) is None
        for raw in pieces:
            number += 1
            offsets_append(offset)
            offset += len(raw) + 1
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if not raw or (raw[0] in _BLANK_START and not raw.strip(b" \t")):
                continue
            if len(details) >= MAX_FINDINGS_PER_FILE:
                continue
            # Hot path (see module docstring); the strict parser decides everything else.
            obj = None
            if (
                fast
                and not (first_line_of_file and number == 1)
                and (
                    shallow
                    or len(raw) < deep_possible
                    or raw.count(b"{") + raw.count(b"[") <= max_depth
                )
                and len(raw) <= STRICT_ONLY_LINE_BYTES
            ):
                try:
                    obj = loads(raw)
                except decode_error:
                    obj = None
                if type(obj) is dict:
                    again = dumps(obj)
                    if again != raw and again != raw.replace(b'": ', b'":').replace(b', "', b',"'):
                        obj = None
                else:
                    obj = None
            if obj is None:
                found = _strict_record(
                    raw, number, path, bounds, file_start=first_line_of_file and number == 1
                )
                if isinstance(found, Detail):
                    details.append(found)
                    continue
                obj = found
            records += 1
            event_id = obj.get("event_id")
            if event_log:
                if type(event_id) is not str or not event_id:
                    details.append(
                        Detail(
                            "CONTRACT-EVENT-ID-MISSING",
                            "event record lacks a non-empty string event_id",
                            path,
                            line=number,
                        )
                    )
                    continue
                key = id_hash(event_id)
                if seen_add(key, number, same) is not None:
                    details.append(_duplicate(event_id, path, number))
                    continue
                if keep_ids:
                    id_keys.append(key)
                    id_lines.append(number)
            if wanted_ids and type(event_id) is str and event_id in wanted_ids:
                wanted.setdefault(event_id, []).append(number)
    # The other half looks ids up in its own table; do not ship this one.
    return _Range(offsets, details, wanted, records, None if keep_ids else seen, id_keys, id_lines)


_BLANK_START = frozenset(b" \t")
# Every byte but newline and the opening brackets (deleted by translate).
_NOT_OPENING = bytes(b for b in range(256) if b not in b"\n{[")


@lru_cache(maxsize=4)
def _deep_run(max_depth: int) -> re.Pattern[bytes]:
    """More than ``max_depth`` opening brackets in a row once everything else but
    newlines is deleted: a line that may nest past the bound."""
    return re.compile(rb"[{\[]{%d}" % (max_depth + 1))


def _blocks_with_final(src: Source, start: int, end: int) -> Iterator[bytes | None]:
    yield from src.chunks(start, end)
    yield None


def _strict_record(
    raw: bytes, number: int, path: str, bounds: tuple[int, int], file_start: bool
) -> Any:
    """The strictly parsed record, or the Detail saying why the line is not one (a BOM is
    only one at the start of the file)."""
    if file_start and raw.startswith(strictjson.BOM):
        return Detail("CONTRACT-BOM", "starts with a byte order mark", path, line=number)
    try:
        value = strictjson.loads(raw, max_depth=bounds[0], max_values=bounds[1])
    except strictjson.StrictJSONError as err:
        return Detail(err.code, err.message, path, line=number)
    if not isinstance(value, dict):
        return Detail("CONTRACT-NDJSON-NOT-OBJECT", "line is not a JSON object", path, line=number)
    return value


def read_line(reader: PackReader, index: NdjsonIndex, line: int) -> bytes:
    """Bytes of one physical line, terminator (and its ``\\r``) excluded."""
    start, length = index.line_span(line)
    data = reader.read_range(index.path, start, length)
    return _strip_cr(data[:-1] if data.endswith(b"\n") else data)


def iter_exact_records(
    reader: PackReader, index: NdjsonIndex, start_line: int = 1
) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line, record) for every record from start_line, streamed, for replays.

    Records are parsed by orjson when the artifact is large; a record with a top-level
    float (where money lives) is parsed again strictly, so money is always an exact
    Decimal. The artifact passed the CONTRACT gate, so every record is a strict object.
    """
    if index.size < FAST_PATH_MIN_BYTES:
        for number, _, record in iter_records(reader, index, start_line):
            yield number, record
        return
    import orjson

    if start_line > index.line_count:
        return
    loads, decode_error = orjson.loads, orjson.JSONDecodeError
    # physical_lines and _iter_lines, inlined: one generator frame a record, not three.
    number = start_line - 1
    carry = b""
    for block in reader.chunks(index.path, index.offsets[start_line - 1]):
        pieces = (carry + block).split(b"\n") if carry else block.split(b"\n")
        carry = pieces.pop()
        for raw in pieces:
            number += 1
            if raw[-1:] == b"\r":
                raw = raw[:-1]
            if not raw or not raw.strip(b" \t"):
                continue
            try:
                record = loads(raw)
            except decode_error:  # e.g. 1e400: valid, beyond a double
                record = strictjson.loads(raw)
            else:
                if float in map(type, record.values()):
                    record = strictjson.loads(raw)
            yield number, record
    raw = _strip_cr(carry)
    if raw and not is_blank(raw):  # a last line without its newline
        try:
            record = loads(raw)
        except decode_error:
            record = strictjson.loads(raw)
        else:
            if float in map(type, record.values()):
                record = strictjson.loads(raw)
        yield number + 1, record


def physical_lines(
    reader: PackReader, path: str, start: int = 0, first_number: int = 1
) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes without terminator) of every physical line from byte ``start``
    (a line start), blank ones included; streamed in chunks."""
    carry = b""
    number = first_number - 1
    for block in reader.chunks(path, start):
        pieces = (carry + block).split(b"\n") if carry else block.split(b"\n")
        carry = pieces.pop()
        for piece in pieces:
            number += 1
            yield number, _strip_cr(piece)
    if carry:
        yield number + 1, _strip_cr(carry)


def _iter_lines(
    reader: PackReader, index: NdjsonIndex, start_line: int
) -> Iterator[tuple[int, bytes]]:
    if start_line > index.line_count:
        return
    start = index.offsets[start_line - 1]
    for number, raw in physical_lines(reader, index.path, start, start_line):
        if raw and not is_blank(raw):
            yield number, raw


def iter_records(
    reader: PackReader, index: NdjsonIndex, start_line: int = 1
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(line, line bytes, strictly parsed record) for every non-blank line from start_line,
    streamed; the artifact passed the CONTRACT gate, so every such line is an object."""
    for number, raw in _iter_lines(reader, index, start_line):
        yield number, raw, strictjson.loads(raw)
