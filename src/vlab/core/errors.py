"""The exceptions the CLI turns into exit statuses (64 usage, 70 internal)."""

from __future__ import annotations


class UsageError(Exception):
    """Bad flags, a missing path, an unknown id: exit 64 with one line on stderr."""


class RulesetError(UsageError):
    """A ruleset that does not load: names the file and line."""

    def __init__(self, path: str, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line
        self.message = message
