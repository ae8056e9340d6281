"""What a domain check may ask of an admitted pack (the engine's ``Evidence`` provides it).

Read-only and pure: a check sees parsed documents, exact records and exact bytes through
this view — never a file path on disk, never the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol


class EvidenceView(Protocol):
    def json_artifact(self, path: str) -> dict[str, Any]:
        """``{found, sha256, value}`` of a JSON artifact at a conventional path."""
        ...

    def ndjson_records(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]:
        """Every record of an NDJSON artifact with its line, streamed (money exact)."""
        ...

    def artifact_bytes(self, path: str) -> tuple[bytes, str] | None:
        """The exact bytes of an artifact and their ``sha256:<hex>``, or None if absent."""
        ...

    def first_after(
        self, path: str, line: int, action: Any, types: frozenset[str], prefixes: frozenset[str]
    ) -> dict[str, Any] | None:
        """The first execution event after ``line`` (optionally with this action)."""
        ...
