"""TEMPORARY (issue 13 integration): placeholders so ruleset-1.3 loads while the real
@2 checks are written; a real registration of the same id replaces each. Lead removes."""

from __future__ import annotations

from typing import Any

from vlab.domains.registry import Argument, DomainCheck

PLACEHOLDER = True


def _none(view: Any, **arguments: Any) -> list[Any]:
    return []


def _stub(name: str, args: tuple[str, ...], codes: tuple[str, ...]) -> DomainCheck:
    return DomainCheck(name, 2, "placeholder", tuple(Argument(a) for a in args), codes, _none)


_RCPT = [
    "RCPT-SCHEMA-INVALID",
    "RCPT-ADMISSION-REF-MISSING",
    "RCPT-ACTUALS-MISSING",
    "RCPT-FAIL-CLOSED-REASON-MISSING",
    "RCPT-NEGATIVE-COUNTER",
    "RCPT-OVERRUN-HIDDEN",
    "RCPT-OVERRUN-PHANTOM",
    "RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED",
    "RCPT-OVERRUN-AMOUNT-WRONG",
    "RCPT-ADMISSION-REF-UNRESOLVED",
    "RCPT-IDENTITY-MISMATCH",
    "RCPT-ESTIMATE-DRIFT",
    "RCPT-SETTLED-AFTER-DENY",
]
_LEDGER = [
    "LEDGER-BUDGET-INVALID",
    "LEDGER-CHECK-INVALID",
    "LEDGER-NEGATIVE-AMOUNT",
    "LEDGER-NO-CHECKS",
    "LEDGER-UNPARSEABLE",
    "LEDGER-NOT-APPEND-ONLY",
    "LEDGER-CHARGE-AFTER-DENY",
    "LEDGER-DECISION-MISMATCH",
    "LEDGER-OVERSPEND-TOLERATED",
    "LEDGER-DECISION-STRICTER",
    "LEDGER-CHECKS-NOT-RECORDED",
    "LEDGER-CAP-EXCEEDED",
    "LEDGER-TORN-TAIL",
]
_RUN = [
    "RUNBUDGET-CONFIG-MISSING",
    "RUNBUDGET-DISPATCH-AFTER-EXHAUSTION",
    "RUNBUDGET-TERMINATION-NOT-SURFACED",
    "RUNBUDGET-STATUS-NOT-SURFACED",
    "RUNBUDGET-SPURIOUS-TERMINATION",
    "RUNBUDGET-SPEND-MISREPORTED",
    "RUNBUDGET-INCOMPLETE-MATRIX",
    "RUNBUDGET-INFLIGHT-OVERSHOOT",
]

CHECKS = (
    DomainCheck(
        "budget_settlement",
        2,
        "placeholder",
        (
            Argument("receipt"),
            Argument("schema", "schema"),
            Argument("agentplane_schema", "schema"),
            Argument("admission"),
            Argument("run_id"),
        ),
        tuple(_RCPT),
        _none,
    ),
    _stub("spending_cap", ("pointer", "budget_path", "log_path", "import_path"), tuple(_LEDGER)),
    _stub("run_budget", ("pointer",), tuple(_RUN)),
)
