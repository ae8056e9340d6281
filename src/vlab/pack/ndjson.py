"""NDJSON artifacts: one streaming pass that validates every line strictly and builds a
byte-offset index, so later lookups read single lines instead of the whole file.

Hot path: most machine-written lines are parsed by orjson and accepted only when
re-serialising the parsed object reproduces the line byte for byte (modulo ``": "``/``", "``
spacing). Such a line cannot hide a duplicate key, NaN or a non-object, because the
re-serialisation of a dict has exactly the members the text has. Every other line goes
through the strict parser, which is the authority and produces the detail code.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from vlab import strictjson
from vlab.findings import Detail
from vlab.pack.reader import PackReader

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


def _fast_object(raw: bytes, max_depth: int) -> dict[str, Any] | None:
    """The parsed line when the hot path can vouch for it, else None (go strict)."""
    if raw.count(b"{") + raw.count(b"[") > max_depth:
        return None
    try:
        obj = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if type(obj) is not dict:
        return None
    again = orjson.dumps(obj)
    if again == raw or again == raw.replace(b'": ', b'":').replace(b', "', b',"'):
        return obj
    return None


def iter_raw_lines(reader: PackReader, path: str) -> Iterator[tuple[int, int, bytes]]:
    """(line number, byte offset, line bytes without terminator) for every physical line."""
    carry = b""
    offset = 0
    number = 0
    for block in reader.chunks(path):
        pieces = (carry + block).split(b"\n") if carry else block.split(b"\n")
        carry = pieces.pop()
        for piece in pieces:
            number += 1
            yield number, offset, _strip_cr(piece)
            offset += len(piece) + 1
    if carry:
        number += 1
        yield number, offset, _strip_cr(carry)


def scan(
    reader: PackReader,
    path: str,
    *,
    event_log: bool,
    wanted_ids: set[str],
    max_depth: int,
) -> tuple[NdjsonIndex, list[Detail]]:
    """Validate every line of one NDJSON artifact and index it."""
    index = NdjsonIndex(path=path, size=reader.size(path))
    details: list[Detail] = []
    offsets_append = index.offsets.append
    seen: set[str] = set()
    records = 0
    for number, offset, raw in iter_raw_lines(reader, path):
        offsets_append(offset)
        if len(details) >= MAX_FINDINGS_PER_FILE:
            continue
        if number == 1 and raw.startswith(strictjson.BOM):
            details.append(Detail("CONTRACT-BOM", "starts with a byte order mark", path, line=1))
            continue
        if not raw or is_blank(raw):
            continue
        obj = _fast_object(raw, max_depth)
        if obj is None:
            try:
                value = strictjson.loads(raw, max_depth=max_depth)
            except strictjson.StrictJSONError as err:
                details.append(Detail(err.code, err.message, path, line=number))
                continue
            if not isinstance(value, dict):
                details.append(
                    Detail(
                        "CONTRACT-NDJSON-NOT-OBJECT", "line is not a JSON object", path, line=number
                    )
                )
                continue
            obj = value
        records += 1
        event_id = obj.get("event_id")
        if event_log:
            if not isinstance(event_id, str) or not event_id:
                details.append(
                    Detail(
                        "CONTRACT-EVENT-ID-MISSING",
                        "event record lacks a non-empty string event_id",
                        path,
                        line=number,
                    )
                )
                continue
            if event_id in seen:
                details.append(
                    Detail(
                        "CONTRACT-DUPLICATE-EVENT-ID",
                        f"event_id {event_id!r} appears more than once",
                        path,
                        line=number,
                    )
                )
                continue
            seen.add(event_id)
        if isinstance(event_id, str) and event_id in wanted_ids:
            index.wanted_events.setdefault(event_id, []).append(number)
    index.records = records
    return index, details


def read_line(reader: PackReader, index: NdjsonIndex, line: int) -> bytes:
    """Bytes of one physical line, terminator (and its ``\\r``) excluded."""
    start, length = index.line_span(line)
    data = reader.read_range(index.path, start, length)
    return _strip_cr(data[:-1] if data.endswith(b"\n") else data)


def iter_records(
    reader: PackReader, index: NdjsonIndex, start_line: int = 1
) -> Iterator[tuple[int, bytes, dict[str, Any]]]:
    """(line, line bytes, strictly parsed record) for every non-blank line from start_line,
    streamed; the artifact passed the CONTRACT gate, so every such line is an object."""
    if start_line > index.line_count:
        return
    carry = b""
    number = start_line - 1
    for block in reader.chunks(index.path, index.offsets[start_line - 1]):
        pieces = (carry + block).split(b"\n") if carry else block.split(b"\n")
        carry = pieces.pop()
        for piece in pieces:
            number += 1
            raw = _strip_cr(piece)
            if raw and not is_blank(raw):
                yield number, raw, strictjson.loads(raw)
    if carry:
        number += 1
        raw = _strip_cr(carry)
        if raw and not is_blank(raw):
            yield number, raw, strictjson.loads(raw)
