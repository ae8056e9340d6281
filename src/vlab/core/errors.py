"""Exit statuses and the two exceptions the CLI turns into them."""

from __future__ import annotations

EXIT_PASS = 0
EXIT_FAIL = 1
EXIT_NOT_ADMISSIBLE = 2
EXIT_NOT_EVALUATED = 3
EXIT_USAGE = 64
EXIT_INTERNAL = 70

EXIT_BY_TOPLINE = {
    "PASS": EXIT_PASS,
    "FAIL": EXIT_FAIL,
    "NOT_ADMISSIBLE": EXIT_NOT_ADMISSIBLE,
    "NOT_EVALUATED": EXIT_NOT_EVALUATED,
}


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
