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

    def to_finding(self) -> dict[str, Any]:
        """The finding as an expression value: only the fields it sets (the evaluator
        fills the others from the pointer)."""
        out: dict[str, Any] = {"code": self.code, "message": self.message}
        for name in ("artifact_path", "locator", "line"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        if self.advisory:
            out["advisory"] = True
        return out

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


def finding(
    code: str,
    message: str,
    *,
    line: int | None = None,
    artifact_path: str | None = None,
    advisory: bool = False,
) -> Detail:
    """A domain check's finding; a line also gives its ``line:`` locator. Location fields
    left None are filled from the pointer the clause judged."""
    return Detail(
        code,
        message,
        artifact_path,
        f"line:{line}" if line is not None else None,
        line,
        advisory,
    )
