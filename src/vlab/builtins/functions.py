"""Generic expression helpers that rulesets call from JMESPath, plus the frozen names by
which format-1 rulesets call versioned domain checks.

Each helper is a small pure function (tested on its own) behind a thin JMESPath wrapper.
A ruleset may call only these and JMESPath's own functions; the loader refuses any other
name. Helpers see the ruleset's token tables and, through ``EvidenceView``, read-only pack
evidence — never files, never the clock. Anything domain-specific is a domain check
(``vlab.domains``), named ``name@N`` by the ruleset that uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jmespath import functions

from vlab.core.money import fmt, money
from vlab.core.timestamps import is_rfc3339
from vlab.core.tokens import normalize_token, table_contains
from vlab.domains.registry import get as domain_check
from vlab.domains.view import EvidenceView


def is_nonempty_string(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def is_present(value: Any) -> bool:
    """Not absent: neither null nor a blank string."""
    return value is not None and not (isinstance(value, str) and value.strip() == "")


def decimal_text(value: Any) -> str | None:
    """Money as an exact decimal string (for metrics), or None."""
    number = money(value)
    return None if number is None else fmt(number)


def is_bookkeeping(event_type: Any, types: frozenset[str], prefixes: frozenset[str]) -> bool:
    """An event that records governance rather than doing work (not an execution event)."""
    if not isinstance(event_type, str):
        return False
    token = normalize_token(event_type)
    return token in types or any(token.startswith(p) for p in prefixes)


# Format-1 rulesets (ruleset-1.1, ruleset-1.2) call four domain checks by these names; each
# name is frozen to the check version it meant when the ruleset was released, so their
# digests (which cover the names) keep pinning the same semantics.
LEGACY_CHECKS: dict[str, str] = {
    "settlement_receipt_findings": "budget_settlement@1",
    "spending_cap_findings": "spending_cap@1",
    "run_budget_findings": "run_budget@1",
    "mission_findings": "mission_policy@1",
}


class BuiltinFunctions(functions.Functions):
    """The JMESPath face of the helpers, bound to one ruleset's tables and schemas and,
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

    def _legacy(self, name: str, **arguments: Any) -> list[dict[str, Any]]:
        check = domain_check(LEGACY_CHECKS[name])
        assert check is not None
        return [d.to_finding() for d in check(self.evidence, **arguments)]

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

    @functions.signature({"types": []})
    def _func_decimal_text(self, value: Any) -> str | None:
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

    # -- format-1 names of domain checks (frozen) ------------------------------------------

    @functions.signature({"types": []}, {"types": ["string"]})
    def _func_settlement_receipt_findings(self, receipt: Any, schema: str) -> list[Any]:
        return self._legacy(
            "settlement_receipt_findings", receipt=receipt, schema=self.schemas.get(schema)
        )

    @functions.signature({"types": ["object"]}, {"types": ["string"]}, {"types": ["string"]})
    def _func_spending_cap_findings(
        self, pointer: dict[str, Any], budget_path: str, log_path: str
    ) -> list[Any]:
        return self._legacy(
            "spending_cap_findings", pointer=pointer, budget_path=budget_path, log_path=log_path
        )

    @functions.signature({"types": ["object"]})
    def _func_run_budget_findings(self, pointer: dict[str, Any]) -> list[Any]:
        return self._legacy("run_budget_findings", pointer=pointer)

    @functions.signature({"types": []}, {"types": ["string"]})
    def _func_mission_findings(self, receipt: Any, policy_path: str) -> list[Any]:
        return self._legacy("mission_findings", receipt=receipt, policy_path=policy_path)


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
