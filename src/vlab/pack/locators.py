"""Locators: where inside an artifact a pointer's evidence is.

``event_id:<id>`` and ``line:<N>`` address one NDJSON record, ``jsonptr:<pointer>`` an
RFC 6901 target inside a JSON document, ``file:`` the whole artifact.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

_LINE = re.compile(r"[1-9][0-9]*")
_INDEX = re.compile(r"0|[1-9][0-9]*")
_ESCAPE = re.compile(r"~(?![01])")


@dataclass(frozen=True)
class Locator:
    kind: str  # "event_id" | "line" | "jsonptr" | "file"
    value: str
    text: str

    @property
    def line(self) -> int:
        # Past any real file for absurdly long numbers (and no int() digit-limit error).
        return int(self.value) if len(self.value) <= 18 else 10**18


def _event_id(value: str) -> bool:
    return value != ""


def _line(value: str) -> bool:
    return _LINE.fullmatch(value) is not None


def _jsonptr(value: str) -> bool:
    return (value == "" or value.startswith("/")) and not _ESCAPE.search(value)


def _file(value: str) -> bool:
    return value == ""


# The locator kinds: kind -> whether a value is well-formed. Adding a kind is an entry here
# and its resolver in ``vlab.engine.evidence.RESOLVERS`` (a test checks they agree).
LOCATOR_KINDS: dict[str, Callable[[str], bool]] = {
    "event_id": _event_id,
    "line": _line,
    "jsonptr": _jsonptr,
    "file": _file,
}


def parse_locator(text: str) -> Locator | None:
    """The locator, or None when ``text`` is not a well-formed locator."""
    kind, sep, value = text.partition(":")
    well_formed = LOCATOR_KINDS.get(kind) if sep else None
    return Locator(kind, value, text) if well_formed and well_formed(value) else None


def jsonptr_tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


_MISSING = object()


def resolve_jsonptr(document: Any, pointer: str) -> tuple[bool, Any]:
    """(found, target) of an RFC 6901 pointer."""
    target = document
    for token in jsonptr_tokens(pointer):
        if isinstance(target, dict):
            target = target.get(token, _MISSING)
            if target is _MISSING:
                return False, None
        elif isinstance(target, list):
            if not _INDEX.fullmatch(token) or len(token) > 18 or int(token) >= len(target):
                return False, None
            target = target[int(token)]
        else:
            return False, None
    return True, target
