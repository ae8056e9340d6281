"""Tokens: normalised words for synonym tables, and hashable keys for any JSON value."""

from __future__ import annotations

import re
from typing import Any

_SEPARATORS = re.compile(r"[-_\s]+")


def normalize_token(value: str) -> str:
    """lower-case, trim, collapse every run of ``-``, ``_`` and white space to one ``_``."""
    return _SEPARATORS.sub("_", value.strip().lower())


def table_contains(table: frozenset[str], value: Any) -> bool:
    """Membership of a normalized token in a (normalized) token table."""
    return isinstance(value, str) and normalize_token(value) in table


def key(value: Any) -> Any:
    """A hashable stand-in for any JSON value (lists and objects by their canonical text)."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    from vlab.core.canonical import CanonicalError, canonical_text

    try:
        return "json:" + canonical_text(value)
    except CanonicalError:
        return "repr:" + repr(value)
