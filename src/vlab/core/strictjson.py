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

_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
_BRACKET = re.compile(rb"[\[\]{}]")


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


def nesting_depth(data: bytes) -> int:
    """Maximum bracket nesting outside strings, by byte scan (no parsing, no recursion)."""
    if data.count(b"{") + data.count(b"[") == 0:
        return 0
    stripped = _STRING.sub(b'""', data)
    depth = best = 0
    for match in _BRACKET.finditer(stripped):
        if match.group() in (b"{", b"["):
            depth += 1
            if depth > best:
                best = depth
        else:
            depth -= 1
    return best


def loads(data: bytes, *, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    """Parse one strict JSON document from bytes."""
    if data.startswith(BOM):
        raise StrictJSONError("CONTRACT-BOM", "starts with a UTF-8 byte order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StrictJSONError("CONTRACT-ENCODING", f"not valid UTF-8 at byte {exc.start}") from None
    # Only documents with enough brackets to matter pay for the exact depth scan.
    if data.count(b"{") + data.count(b"[") > max_depth:
        depth = nesting_depth(data)
        if depth > max_depth:
            raise StrictJSONError(
                "CONTRACT-DEPTH-EXCEEDED", f"nesting depth {depth} exceeds {max_depth}"
            )
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
