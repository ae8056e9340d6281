"""Strict JSON: no duplicate keys, no NaN/Infinity, no BOM, UTF-8, depth-limited.

Every JSON number with a fraction or exponent is parsed to ``Decimal`` so money is never
a binary float. Errors carry the CONTRACT detail code they map to.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

BOM = b"\xef\xbb\xbf"
DEFAULT_MAX_DEPTH = 64
# A parsed value costs up to ~25x its text (`[{},{},...]`): documents are parsed whole only
# when they hold at most this many values (decision 66).
DEFAULT_MAX_VALUES = 1_000_000

_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")


class StrictJSONError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


def _reject_constant(name: str) -> Any:
    raise StrictJSONError("CONTRACT-NONFINITE-NUMBER", f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_pairs, parse_float=Decimal, parse_constant=_reject_constant
)


# A JSON string (unrolled: no per-character alternation) or one structural byte.
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},]', re.DOTALL)
_OPEN, _CLOSE, _COMMA = frozenset(b"[{"), frozenset(b"]}"), ord(",")


def shape(data: bytes, max_depth: int, max_values: int) -> tuple[int, int]:
    """(nesting depth, value count) outside strings, by one scan that stops as soon as
    either passes its bound (so a hostile text costs at most ~max_values steps). Values are
    counted generously — one, plus every ``[``, ``{`` and ``,`` — an upper bound on what a
    parse builds, at most twice the true count."""
    depth = best = 0
    values = 1
    for match in _TOKEN.finditer(data):
        byte = data[match.start()]
        if byte in _OPEN:
            depth += 1
            values += 1
            if depth > best:
                best = depth
                if best > max_depth:
                    break
        elif byte in _CLOSE:
            depth -= 1
        elif byte == _COMMA:
            values += 1
            if values > max_values:
                break
    return best, values


def nesting_depth(data: bytes, bound: int = 1 << 62) -> int:
    """Maximum bracket nesting outside strings (no parsing, no recursion); stops counting
    once it passes ``bound``."""
    return shape(data, bound, 1 << 62)[0]


def value_count_bound(data: bytes) -> int:
    """An upper bound on the number of values in a JSON text: every value but the first
    follows a ``,`` or opens after ``[``/``{`` (bytes inside strings counted too)."""
    return data.count(b",") + data.count(b"[") + data.count(b"{") + 1


def loads(
    data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH, max_values: int = DEFAULT_MAX_VALUES
) -> Any:
    """Parse one strict JSON document from bytes."""
    if data.startswith(BOM):
        raise StrictJSONError("CONTRACT-BOM", "starts with a UTF-8 byte order mark")
    # Bounds before any copy of the text is made: a refused document costs one scan. The
    # plain byte counts are upper bounds; only a text they cannot clear is scanned.
    brackets = data.count(b"{") + data.count(b"[")
    if brackets > max_depth or value_count_bound(data) > max_values:
        depth, values = shape(data, max_depth, max_values)
        if values > max_values:
            raise StrictJSONError(
                "CONTRACT-DOCUMENT-TOO-LARGE",
                f"more than {max_values} JSON values; at most that many are parsed whole",
            )
        if depth > max_depth:
            raise StrictJSONError("CONTRACT-DEPTH-EXCEEDED", f"nesting depth exceeds {max_depth}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError("CONTRACT-ENCODING", f"not valid UTF-8 at byte {exc.start}") from None
    try:
        value = _DECODER.decode(text)
    except _DuplicateKey as dup:
        raise StrictJSONError(
            "CONTRACT-DUPLICATE-KEY", f"duplicate key {json.dumps(dup.key)}"
        ) from None
    except json.JSONDecodeError as exc:
        raise StrictJSONError(
            "CONTRACT-JSON-INVALID", f"{exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except StrictJSONError:
        raise
    except (ValueError, RecursionError, ArithmeticError) as exc:
        # e.g. an integer literal longer than Python's digit limit, or an exponent no
        # Decimal can hold
        raise StrictJSONError("CONTRACT-JSON-INVALID", str(exc).split("\n")[0]) from None
    # A \uD800-style escape is valid JSON text but no Unicode: only a surrogate *pair* is.
    if _SURROGATE_ESCAPE.search(data) and has_lone_surrogate(value):
        raise StrictJSONError("CONTRACT-ENCODING", "a string holds a lone surrogate escape")
    return value


def has_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a parsed document is not valid Unicode."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
