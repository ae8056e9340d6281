"""``vlab receipt check``: standalone settlement receipts, judged by the settlement check
the chosen ruleset calls (``budget_settlement@N``), with no pack around them.

Each file's dialect is detected on its own (vlab's ``schema: BudgetSettlementReceipt/v0.1``
or agentplane's ``schemaVersion: agentplane.budget-settlement-receipt.v0.1``): a ruleset
that calls ``budget_settlement@2`` (ruleset-1.3) judges both, one that calls only ``@1``
(ruleset-1.2) judges every file as vlab's receipt. The in-pack checks (admission receipt,
bundle run id) need a pack and do not run here.
"""

from __future__ import annotations

from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.domains.registry import DomainCheck
from vlab.domains.registry import get as domain_check
from vlab.ruleset.model import Ruleset

CHECK_NAME = "budget_settlement"
# Format-1 rulesets call @1 by its frozen name with this schema (ruleset-1.2).
LEGACY_SCHEMAS = {"schema": "budget_settlement_receipt"}


def settlement_check(ruleset: Ruleset) -> tuple[DomainCheck, dict[str, str]]:
    """The newest ``budget_settlement@N`` the ruleset calls and, per schema argument, the
    name of the ruleset schema it receives (``@1`` with vlab's schema when it calls none)."""
    calls: dict[int, dict[str, str]] = {}
    for clause in ruleset.clauses:
        for check in clause.checks:
            for check_id in check.calls:
                name, _, number = check_id.partition("@")
                if name != CHECK_NAME:
                    continue
                schemas = dict(LEGACY_SCHEMAS)
                if check.domain is not None and check.domain.check_id == check_id:
                    schemas = {n: v for n, kind, v in check.domain.arguments if kind == "schema"}
                calls.setdefault(int(number), schemas)
    version = max(calls) if calls else 1
    found = domain_check(f"{CHECK_NAME}@{version}")
    assert found is not None  # the loader refuses rulesets calling unknown checks
    schemas = calls.get(version, LEGACY_SCHEMAS)
    if ruleset.extra_schemas.get(schemas.get("schema", "")) is None:
        raise UsageError(f"{ruleset.id} ships no BudgetSettlementReceipt schema")
    return found, schemas


def check_receipt(data: bytes, ruleset: Ruleset) -> list[dict[str, Any]]:
    """The findings (``{code, message}``) of one receipt file's bytes; none when valid."""
    try:
        receipt = strictjson.loads(data)
    except strictjson.StrictJSONError as err:
        return [{"code": "RCPT-SCHEMA-INVALID", "message": f"{err.code}: {err.message}"}]
    check, schemas = settlement_check(ruleset)
    arguments: dict[str, Any] = {}
    for argument in check.arguments:
        if argument.kind == "schema":
            arguments[argument.name] = ruleset.extra_schemas.get(schemas.get(argument.name, ""))
        elif argument.name == "receipt":
            arguments[argument.name] = receipt
        else:  # admission, run_id: no pack
            arguments[argument.name] = None
    return [d.to_finding() for d in check(None, **arguments)]
