"""Findings as data: every detail is a typed record with a code, a location and a message."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Detail:
    """One finding inside a gate or a clause (adjudication.md §4)."""

    code: str
    message: str
    artifact_path: str | None = None
    locator: str | None = None
    line: int | None = None
    advisory: bool = False
    # Not part of the ruling: set when a check marked `violation` failed, i.e. the evidence
    # was found and breaks the rule, so the clause may not fall back to NOT_EVALUATED.
    violation: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "artifact_path": self.artifact_path,
            "locator": self.locator,
            "line": self.line,
            "message": self.message,
            "advisory": self.advisory,
        }


def quote(value: Any) -> str:
    """Deterministic rendering of a value inside a message."""
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):
        from vlab.core.canonical import CanonicalError, canonical_text

        try:
            text = canonical_text(value)
        except CanonicalError:
            text = f"<{type(value).__name__} without a canonical JSON form>"
        return text if len(text) <= 120 else text[:117] + "..."
    text = str(value) if not isinstance(value, int) or value.bit_length() < 200 else "<huge int>"
    return text if len(text) <= 120 else text[:117] + "..."
