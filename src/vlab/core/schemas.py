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
    """A 2020-12 validator for ``schema`` (ECMA-262 ``$`` in patterns); where jsonschema-rs
    is installed and the schema allows it, valid documents are confirmed natively first."""
    full = _validator_class()(schema)
    fast = _native_validator(schema)
    return full if fast is None else Confirmed(full, fast)


# -- the native confirmation of valid documents (decision 285) ---------------------------------
#
# jsonschema (pure Python) is the authority: every error, message and order comes from it.
# jsonschema-rs (optional, the ``fast`` extra) only answers "valid" for documents and schemas
# where both read JSON Schema 2020-12 alike; anything else, and every document it does not
# call valid, goes to jsonschema. Where they could read differently the native check is not
# asked: a pattern outside a plain subset (``\d``, ``\w``, ``(?``, a brace that may not be a
# quantifier: Python's ``re`` and ECMA-262 differ there), a ``$ref`` that is not local, and a
# document holding anything but strings, booleans, null, safe integers, lists and objects
# (a Decimal 1.0 is an integer to jsonschema-rs, not to jsonschema).

_ESC = r"\\[.\-/\\+*?()\[\]{}^$|]"
_CLASS = rf"\[\^?(?:[^\\\]\[^$]|{_ESC})+\]"
_ATOM = rf"(?:[^\\()\[\]{{}}|*+?.^$]|{_ESC}|\.|{_CLASS})"
_TOKEN = rf"(?:{_ATOM}|\^|\$|\||\((?!\?)|\)|[*+?]|\{{[0-9]+(?:,[0-9]*)?\}})"
_PLAIN_PATTERN = re.compile(rf"(?:{_TOKEN})*")
SAFE_INTEGER = 2**53
stats = {"native_valid": 0, "full": 0}  # documents each way, for tests that count work


def _schema_is_plain(schema: Any) -> bool:
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for name, value in node.items():
                if name == "pattern" and isinstance(value, str):
                    if not _PLAIN_PATTERN.fullmatch(value):
                        return False
                elif name == "patternProperties" and isinstance(value, dict):
                    if not all(_PLAIN_PATTERN.fullmatch(k) for k in value):
                        return False
                elif name in ("$ref", "$dynamicRef") and not (
                    isinstance(value, str) and value.startswith("#")
                ):
                    return False
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _native_validator(schema: dict[str, Any]) -> Any:
    if not _schema_is_plain(schema):
        return None
    try:
        import jsonschema_rs
    except ImportError:
        return None
    try:
        return jsonschema_rs.Draft202012Validator(schema)
    except Exception:  # a schema it cannot build: jsonschema alone
        return None


def _document_is_plain(document: Any) -> bool:
    stack = [document]
    while stack:
        node = stack.pop()
        kind = type(node)
        if kind is str or kind is bool or node is None:
            continue
        if kind is int:
            if -SAFE_INTEGER <= node <= SAFE_INTEGER:
                continue
            return False
        if kind is list:
            stack.extend(node)
        elif kind is dict:
            if not all(type(k) is str for k in node):
                return False
            stack.extend(node.values())
        else:
            return False
    return True


class Confirmed:
    """A jsonschema validator whose valid documents are confirmed natively first."""

    def __init__(self, full: Any, native: Any) -> None:
        self.full = full
        self.native = native

    def iter_errors(self, instance: Any) -> Iterator[Any]:
        if _document_is_plain(instance):
            try:
                valid = bool(self.native.is_valid(instance))
            except Exception:
                valid = False
            if valid:
                stats["native_valid"] += 1
                return iter(())
        stats["full"] += 1
        return iter(self.full.iter_errors(instance))

    def is_valid(self, instance: Any) -> bool:
        return next(self.iter_errors(instance), None) is None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.full, name)
