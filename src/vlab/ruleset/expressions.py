"""Ruleset expressions: JMESPath compiled at load time, every call checked against the
built-in registry, and (format 2) every root name checked against the clause context.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import jmespath
from jmespath.exceptions import JMESPathError

from vlab.builtins.functions import BUILTIN_NAMES, JMESPATH_OWN, SCHEMA_ARGUMENTS, TABLE_ARGUMENTS
from vlab.ruleset.model import Template
from vlab.ruleset.source import Path_, Source

_HOLE = re.compile(r"\{([^{}]+)\}")

# Nodes whose first child is evaluated against the current value and whose other children
# are evaluated against what the first child produced (so their fields are not root names).
_CHAINS = frozenset(
    ("subexpression", "pipe", "index_expression", "projection", "value_projection",
     "filter_projection", "flatten")
)  # fmt: skip


def root_names(node: Any) -> set[str]:
    """The identifiers an expression reads from the context it is evaluated in."""
    if not isinstance(node, dict):
        return set()
    kind, children = node.get("type"), node.get("children") or []
    if kind == "field":
        return {node["value"]}
    if kind in _CHAINS:
        return root_names(children[0]) if children else set()
    if kind in ("expref", "literal", "current", "identity", "index", "slice"):
        return set()
    names: set[str] = set()
    for child in children:
        names |= root_names(child)
    return names


class Expressions:
    """Compiles a ruleset's expressions against its tables, schemas and context names."""

    def __init__(
        self, src: Source, tables: Iterable[str], schemas: Iterable[str], check_roots: bool
    ) -> None:
        self.src = src
        self.tables = frozenset(tables)
        self.schemas = frozenset(schemas)
        self.check_roots = check_roots

    def compile(self, at: Path_, text: str, names: frozenset[str] | None = None) -> Any:
        src = self.src
        try:
            parsed = jmespath.compile(text)
        except JMESPathError as exc:
            raise src.error(at, f"expression does not compile: {exc}") from None
        except (RecursionError, ValueError) as exc:
            raise src.error(at, f"expression does not compile: {type(exc).__name__}") from None
        try:
            self._calls(at, text, parsed.parsed)
            unknown = sorted(root_names(parsed.parsed) - names) if names is not None else []
        except RecursionError:
            raise src.error(at, "expression nests too deeply") from None
        if self.check_roots and unknown:
            known = ", ".join(sorted((names or frozenset()) - {"null"}))
            raise src.error(at, f"unknown name {unknown[0]!r} in {text!r} (known: {known})")
        return parsed

    def template(self, at: Path_, text: str, names: frozenset[str] | None = None) -> Template:
        parts = tuple(_HOLE.split(text))
        compiled = tuple(self.compile(at, parts[i], names) for i in range(1, len(parts), 2))
        return Template(parts=parts, compiled=compiled)

    def _calls(self, at: Path_, text: str, node: Any) -> None:
        if not isinstance(node, dict):
            return
        if node.get("type") == "function_expression":
            name = node.get("value")
            if name not in BUILTIN_NAMES and name not in JMESPATH_OWN:
                raise self.src.error(at, f"unknown built-in {name!r} in {text!r}")
            children = node.get("children") or []
            for kind, known, positions in (
                ("table", self.tables, TABLE_ARGUMENTS.get(name, ())),
                ("schema", self.schemas, SCHEMA_ARGUMENTS.get(name, ())),
            ):
                for i in positions:
                    arg = children[i] if i < len(children) else None
                    if not (isinstance(arg, dict) and arg.get("type") == "literal"):
                        raise self.src.error(
                            at, f"{name}() needs a literal {kind} name in {text!r}"
                        )
                    if arg.get("value") not in known:
                        raise self.src.error(at, f"unknown {kind} {arg.get('value')!r} in {text!r}")
        for child in node.get("children", []):
            self._calls(at, text, child)


def called(parsed: Any) -> set[str]:
    """Names of the functions an expression calls."""
    names: set[str] = set()
    stack = [parsed.parsed]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") == "function_expression":
                names.add(str(node.get("value")))
            stack.extend(node.get("children") or [])
    return names
