"""JSON Schema validation with ECMA-262 regular-expression semantics for ``pattern``.

JSON Schema patterns are ECMA-262 regexes, where ``$`` matches only at the very end of the
string; Python's ``re`` also matches ``$`` before a final newline, so ``"p\\n"`` would pass
``^[a-z]+$``. Every schema vlab applies goes through this validator.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

_DOLLAR = re.compile(r"(?<!\\)\$")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_DOLLAR.sub(r"\\Z", pattern))


@lru_cache(maxsize=1)
def _validator_class() -> Any:
    from jsonschema import Draft202012Validator, ValidationError, validators

    def pattern(validator: Any, patrn: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _compiled(patrn).search(instance):
            yield ValidationError(f"{instance!r} does not match {patrn!r}")

    return validators.extend(Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]


def validator(schema: dict[str, Any]) -> Any:
    """A 2020-12 validator for ``schema`` (ECMA-262 ``$`` in patterns)."""
    return _validator_class()(schema)
