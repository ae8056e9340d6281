"""A ruleset YAML file as plain data, with the line of every value (for error messages).

Plain data only: anchors/aliases (and so alias bombs and cycles), non-scalar keys and
nesting beyond Python's recursion are refused with file and line before anything walks
the document. ``format_errors`` lists every violation of the ruleset format schema.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from vlab.core.errors import RulesetError
from vlab.data import DATA

Path_ = tuple[Any, ...]


class Source:
    """One YAML file: its data and where each value sits."""

    def __init__(self, path: Path) -> None:
        from ruamel.yaml import YAML
        from ruamel.yaml.error import MarkedYAMLError, YAMLError

        self.path = path
        self.name = str(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RulesetError(self.name, None, f"cannot read ruleset: {exc}") from None
        yaml = YAML(typ="safe", pure=True)
        try:
            node = yaml.compose(text)
        except MarkedYAMLError as exc:
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise RulesetError(self.name, line, f"YAML: {exc.problem}") from None
        except (YAMLError, RecursionError, ValueError) as exc:
            raise RulesetError(self.name, 1, f"YAML: {str(exc).splitlines()[0]}") from None
        self.lines: dict[Path_, int] = {}
        if node is not None:
            # Plain data only: anchors/aliases (and so alias bombs and cycles) and non-scalar
            # keys are refused before anything walks the document.
            self._visited: set[int] = set()
            try:
                self._map(node, ())
            except RecursionError:
                raise RulesetError(self.name, 1, "the ruleset nests too deeply") from None
        try:
            self.data: Any = YAML(typ="safe", pure=True).load(text)
        except MarkedYAMLError as exc:  # e.g. a duplicate key, at its line
            line = exc.problem_mark.line + 1 if exc.problem_mark else None
            raise RulesetError(self.name, line, f"YAML: {exc.problem}") from None
        except (YAMLError, RecursionError, ValueError) as exc:
            raise RulesetError(self.name, 1, f"YAML: {str(exc).splitlines()[0]}") from None
        except (KeyError, IndexError, TypeError, AttributeError, ArithmeticError) as exc:
            # ruamel's constructors raise these on hostile tags (`!!bool x`, an empty `!!int`)
            raise RulesetError(
                self.name, 1, f"YAML: a value cannot be read ({type(exc).__name__})"
            ) from None

    @classmethod
    def bare(cls, path: Path) -> Source:
        """A source known only by name (a compiled ruleset: nothing to point into)."""
        src = cls.__new__(cls)
        src.path, src.name, src.data, src.lines = path, str(path), None, {}
        src._visited = set()
        return src

    def _map(self, node: Any, at: Path_) -> None:
        line = node.start_mark.line + 1
        if id(node) in self._visited:
            raise RulesetError(self.name, line, "YAML anchors and aliases are not allowed")
        self._visited.add(id(node))
        self.lines[at] = line
        if node.id == "mapping":
            for key, value in node.value:
                if key.id != "scalar":
                    raise RulesetError(
                        self.name, key.start_mark.line + 1, "mapping keys must be plain scalars"
                    )
                here = (*at, key.value)
                self._map(value, here)
                # An error about a key points at the key's own line.
                self.lines[here] = key.start_mark.line + 1
        elif node.id == "sequence":
            for i, item in enumerate(node.value):
                self._map(item, (*at, i))

    def line(self, at: Path_) -> int | None:
        while at:
            if at in self.lines:
                return self.lines[at]
            at = at[:-1]
        return self.lines.get(())

    def error(self, at: Path_, message: str) -> RulesetError:
        return RulesetError(self.name, self.line(at), message)


@lru_cache(maxsize=1)
def _format_validator() -> Any:
    from vlab.core.schemas import validator

    return validator(json.loads((DATA / "ruleset-format.schema.json").read_text("utf-8")))


def format_errors(src: Source) -> list[RulesetError]:
    """Every violation of the ruleset format, each with its line."""
    if not isinstance(src.data, dict):
        return [src.error((), "a ruleset must be a YAML mapping")]
    out = []
    for err in sorted(
        _format_validator().iter_errors(src.data),
        key=lambda e: (src.line(tuple(e.absolute_path)) or 0, list(map(str, e.absolute_path))),
    ):
        where = "/".join(str(p) for p in err.absolute_path) or "(top level)"
        at = tuple(err.absolute_path)
        if err.validator == "additionalProperties":
            extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
            for key in extra:
                out.append(src.error((*at, key), f"unknown key {key!r} in {where}"))
            continue
        message = err.message if len(err.message) <= 200 else err.message[:197] + "..."
        out.append(src.error(at, f"{where}: {message}"))
    return out
