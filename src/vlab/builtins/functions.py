"""Named built-in functions that rulesets call from JMESPath expressions.

Each built-in is a small pure function (tested on its own) plus a thin JMESPath wrapper.
A ruleset may call only these and JMESPath's own functions; the loader refuses any other
name. Built-ins see the ruleset's token tables and, through ``EvidenceView``, read-only
pack evidence — never files, never the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, Protocol

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


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]+)?"
    r"(?:[Zz]|[+-]([0-9]{2}):([0-9]{2}))"
)


def is_rfc3339(value: Any) -> bool:
    """An RFC 3339 date-time: a real calendar date, a valid time, an explicit offset."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return False
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    off_h, off_m = (int(g) if g else 0 for g in match.groups()[7:9])
    try:
        datetime(year, month, day, hour, minute, min(second, 59))  # 60: a leap second
    except ValueError:
        return False
    return second <= 60 and off_h <= 23 and off_m <= 59


def is_bookkeeping(event_type: Any, types: frozenset[str], prefixes: frozenset[str]) -> bool:
    """An event that records governance rather than doing work (not an execution event)."""
    if not isinstance(event_type, str):
        return False
    token = normalize_token(event_type)
    return token in types or any(token.startswith(p) for p in prefixes)


class EvidenceView(Protocol):
    """What a built-in may ask of the pack (implemented in ``vlab.engine.evaluation``)."""

    def json_artifact(self, path: str) -> dict[str, Any]: ...

    def ndjson_records(self, path: str) -> Iterator[tuple[int, dict[str, Any]]]: ...

    def artifact_bytes(self, path: str) -> tuple[bytes, str] | None: ...

    def first_after(
        self, path: str, line: int, action: Any, types: frozenset[str], prefixes: frozenset[str]
    ) -> dict[str, Any] | None: ...


class BuiltinFunctions(functions.Functions):
    """The JMESPath face of the built-ins, bound to one ruleset's tables and schemas and,
    during evaluation, to one admitted pack's evidence."""

    def __init__(
        self,
        tables: Mapping[str, frozenset[str]],
        schemas: Mapping[str, dict[str, Any]] | None = None,
        evidence: EvidenceView | None = None,
    ) -> None:
        super().__init__()
        self.tables = tables
        self.schemas = schemas or {}
        self.evidence = evidence

    def _view(self) -> EvidenceView:
        if self.evidence is None:
            raise RuntimeError("this built-in needs pack evidence")
        return self.evidence

    @functions.signature({"types": []})
    def _func_rfc3339(self, value: Any) -> bool:
        return is_rfc3339(value)

    @functions.signature({"types": []}, {"types": []}, {"types": ["string"]}, {"types": ["string"]})
    def _func_first_execution_after(
        self, pointer: Any, action: Any, types: str, prefixes: str
    ) -> dict[str, Any] | None:
        """First execution event after the pointed log line (optionally with this action)."""
        if not isinstance(pointer, dict) or not isinstance(pointer.get("line"), int):
            return None
        return self._view().first_after(
            pointer["artifact_path"],
            pointer["line"],
            action,
            self.tables[types],
            self.tables[prefixes],
        )

    @functions.signature({"types": ["string"]})
    def _func_pack_json(self, path: str) -> dict[str, Any]:
        """``{found, sha256, value}`` of a JSON artifact at a conventional path."""
        return self._view().json_artifact(path)

    @functions.signature({"types": []}, {"types": ["string"]})
    def _func_settlement_receipt_findings(self, receipt: Any, schema: str) -> list[Any]:
        from vlab.domains.settlement import receipt_findings

        return receipt_findings(receipt, self.schemas.get(schema))

    @functions.signature({"types": ["object"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_spending_cap_findings(
        self, pointer: dict[str, Any], budget_path: str, log_path: str
    ) -> list[Any]:
        """Replay the spend ledger the pointer names against the budget and the checks."""
        from vlab.domains.spending_cap import replay

        view = self._view()
        ledger_path = pointer["artifact_path"]
        return replay(
            view.json_artifact(budget_path)["value"],
            view.ndjson_records(log_path),
            lambda: view.ndjson_records(ledger_path),
            log_path=log_path,
            ledger_path=ledger_path,
            budget_path=budget_path,
        )

    @functions.signature({"types": ["object"]})
    def _func_run_budget_findings(self, pointer: dict[str, Any]) -> list[Any]:
        """Replay the eval-matrix log the pointer names against its run-wide cap."""
        from vlab.domains.run_budget import replay

        path = pointer["artifact_path"]
        return replay(self._view().ndjson_records(path), log_path=path)

    @functions.signature({"types": []}, {"types": ["string"]})
    def _func_mission_findings(self, receipt: Any, policy_path: str) -> list[Any]:
        """Recompute grade and verdict from the policy at its conventional path."""
        from vlab.domains.mission import findings

        policy = self._view().artifact_bytes(policy_path)
        data, sha = policy if policy is not None else (None, None)
        return findings(receipt, data, sha, policy_path)

    @functions.signature({"types": []})
    def _func_decimal_text(self, value: Any) -> str | None:
        """Money as an exact decimal string (for metrics), or null."""
        from vlab.domains.mission import decimal_text

        return decimal_text(value)

    @functions.signature({"types": []}, {"types": []})
    def _func_counters_equal(self, a: Any, b: Any) -> bool:
        from vlab.domains.settlement import counters_equal

        return counters_equal(a, b)

    @functions.signature({"types": []})
    def _func_has_measured(self, block: Any) -> bool:
        from vlab.domains.settlement import has_measured

        return has_measured(block)

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
TABLE_ARGUMENTS: dict[str, tuple[int, ...]] = {"in_table": (0,), "first_execution_after": (2, 3)}
# Built-ins whose argument must be a literal naming one of the ruleset's schemas.
SCHEMA_ARGUMENTS: dict[str, tuple[int, ...]] = {"settlement_receipt_findings": (1,)}
