"""Named built-in functions that rulesets call from JMESPath expressions.

Each built-in is a small pure function (tested on its own) plus a thin JMESPath wrapper.
A ruleset may call only these and JMESPath's own functions; the loader refuses any other
name. Built-ins see the ruleset's token tables and, through ``EvidenceView``, read-only
pack evidence — never files, never the clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jmespath import functions

_SEPARATORS = re.compile(r"[-_\s]+")


def normalize_token(value: str) -> str:
    """lower-case, trim, collapse every run of ``-``, ``_`` and white space to one ``_``."""
    return _SEPARATORS.sub("_", value.strip().lower())


def table_contains(table: frozenset[str], value: Any) -> bool:
    """Membership of a normalized token in a (normalized) token table."""
    return isinstance(value, str) and normalize_token(value) in table


def is_nonempty_string(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_present(value: Any) -> bool:
    """Not absent: neither null nor a blank string."""
    return value is not None and not (isinstance(value, str) and value.strip() == "")


class BuiltinFunctions(functions.Functions):
    """The JMESPath face of the built-ins, bound to one ruleset's tables."""

    def __init__(self, tables: Mapping[str, frozenset[str]]) -> None:
        super().__init__()
        self.tables = tables

    @functions.signature({"types": []})
    def _func_normalize(self, value: Any) -> str | None:
        return normalize_token(value) if isinstance(value, str) else None

    @functions.signature({"types": ["string"]}, {"types": []})
    def _func_in_table(self, name: str, value: Any) -> bool:
        return table_contains(self.tables[name], value)

    @functions.signature({"types": []})
    def _func_present(self, value: Any) -> bool:
        return is_present(value)

    @functions.signature({"types": []})
    def _func_nonempty_string(self, value: Any) -> bool:
        return is_nonempty_string(value)


JMESPATH_OWN = frozenset(
    name[len("_func_") :] for name in dir(functions.Functions) if name.startswith("_func_")
)
BUILTIN_NAMES = (
    frozenset(name[len("_func_") :] for name in dir(BuiltinFunctions) if name.startswith("_func_"))
    - JMESPATH_OWN
)
# Built-ins whose first argument must be a literal naming one of the ruleset's tables.
TABLE_ARGUMENT = frozenset({"in_table"})
