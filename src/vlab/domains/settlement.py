"""BudgetSettlementReceipt v0.1 checks: pure functions shared by clause CL-D1-02 and
``vlab receipt check``. Money and counters are exact ``Decimal``; never binary floats."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail
from vlab.core.money import exact, fmt, money
from vlab.domains.registry import Argument, DomainCheck
from vlab.domains.view import EvidenceView

COUNTERS = ("cost_usd", "tokens_in", "tokens_out", "tool_calls", "wall_seconds")


class Invalid:
    """A value that is present but not a number (its fault is RCPT-SCHEMA-INVALID's)."""


INVALID = Invalid()


def parse_number(value: Any) -> Decimal | Invalid | None:
    """A JSON number or decimal string as an exact Decimal; None means not measured."""
    if value is None:
        return None
    number = money(value)
    return INVALID if number is None else number


def counters(block: Any) -> dict[str, Decimal | Invalid | None]:
    """The five counters of a counters object (absent and null alike: not measured)."""
    source = block if isinstance(block, dict) else {}
    return {name: parse_number(source.get(name)) for name in COUNTERS}


def measured(values: dict[str, Decimal | Invalid | None]) -> dict[str, Decimal]:
    return {k: v for k, v in values.items() if isinstance(v, Decimal)}


def exceeding(estimate: Any, actual: Any) -> list[str]:
    """Counters whose measured actual exceeds the measured estimate."""
    est, act = measured(counters(estimate)), measured(counters(actual))
    return [k for k in COUNTERS if k in est and k in act and act[k] > est[k]]


def counters_equal(a: Any, b: Any) -> bool:
    """Decimal-wise equality of two counters objects (unmeasured equals unmeasured)."""
    ca, cb = counters(a), counters(b)
    for name in COUNTERS:
        x, y = ca[name], cb[name]
        if isinstance(x, Decimal) and isinstance(y, Decimal):
            if x != y:
                return False
        elif (x is None) != (y is None) or isinstance(x, Invalid) or isinstance(y, Invalid):
            return False
    return True


def has_measured(block: Any) -> bool:
    return bool(measured(counters(block)))


def receipt_findings(receipt: Any, schema: dict[str, Any] | None) -> list[Detail]:
    """Every violated check of one receipt, in order (exact decimal arithmetic)."""
    with exact():
        return _receipt_findings(receipt, schema)


def _receipt_findings(receipt: Any, schema: dict[str, Any] | None) -> list[Detail]:
    """Every violated check of one receipt (settlement domain file, table 1), in order.

    Every check runs on every receipt that is an object; a schema failure never hides a
    more specific code.
    """
    if not isinstance(receipt, dict):
        return [_f("RCPT-SCHEMA-INVALID", "the receipt is not a JSON object")]
    found: list[Detail] = []
    if schema is not None:
        from vlab.core.schemas import validator

        errors = sorted(
            validator(schema).iter_errors(receipt),
            key=lambda e: ([str(p) for p in e.absolute_path], e.message),
        )
        if errors:
            first = errors[0]
            where = "/" + "/".join(str(p) for p in first.absolute_path)
            message = first.message if len(first.message) <= 160 else first.message[:157] + "..."
            more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
            found.append(_f("RCPT-SCHEMA-INVALID", f"{where}: {message}{more}"))
    if not found and any(
        isinstance(v, Invalid)
        for side in ("estimate", "actual")
        for v in counters(receipt.get(side)).values()
    ):
        found.append(_f("RCPT-SCHEMA-INVALID", "a counter is not money within the bound"))
    ref = receipt.get("admission_receipt_ref")
    ref_id = ref.get("receipt_id") if isinstance(ref, dict) else None
    if not isinstance(ref_id, str) or not ref_id.strip():
        found.append(
            _f("RCPT-ADMISSION-REF-MISSING", "admission_receipt_ref is absent or has no receipt_id")
        )
    status = receipt.get("status")
    actual = receipt.get("actual")
    if status != "FAILED_CLOSED" and not has_measured(actual):
        found.append(
            _f(
                "RCPT-ACTUALS-MISSING",
                f"status {status!r} but actual has no measured counter",
            )
        )
    reason = receipt.get("fail_closed_reason")
    if status == "FAILED_CLOSED" and not (isinstance(reason, str) and reason.strip()):
        found.append(
            _f("RCPT-FAIL-CLOSED-REASON-MISSING", "FAILED_CLOSED without a fail_closed_reason")
        )
    negative = [
        f"{side}.{name}"
        for side in ("estimate", "actual")
        for name, value in measured(counters(receipt.get(side))).items()
        if value < 0
    ]
    if negative:
        found.append(_f("RCPT-NEGATIVE-COUNTER", f"below zero: {', '.join(negative)}"))
    estimate = receipt.get("estimate")
    over = exceeding(estimate, actual)
    overrun = receipt.get("overrun")
    overrun_status = overrun.get("status") if isinstance(overrun, dict) else None
    if over and (overrun_status != "OVERRUN" or status == "SETTLED"):
        found.append(
            _f(
                "RCPT-OVERRUN-HIDDEN",
                f"actual exceeds estimate for {', '.join(over)} but overrun.status is "
                f"{overrun_status!r} and status is {status!r}",
            )
        )
    if not over and (overrun_status == "OVERRUN" or status == "SETTLED_WITH_OVERRUN"):
        found.append(
            _f(
                "RCPT-OVERRUN-PHANTOM",
                f"overrun declared (overrun.status {overrun_status!r}, status {status!r}) but "
                "no measured actual exceeds its estimate",
            )
        )
    est_all, act_all = counters(estimate), counters(actual)
    if (
        overrun_status == "UNKNOWN"
        and all(isinstance(v, Decimal) for v in est_all.values())
        and all(isinstance(v, Decimal) for v in act_all.values())
    ):
        found.append(
            _f(
                "RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED",
                "overrun.status UNKNOWN although every cost and counter is measured",
            )
        )
    if isinstance(overrun, dict):
        found += _overrun_amount(overrun.get("cost_usd_over"), est_all, act_all)
    return found


def _overrun_amount(
    stated: Any, est: dict[str, Decimal | Invalid | None], act: dict[str, Decimal | Invalid | None]
) -> list[Detail]:
    e, a = est["cost_usd"], act["cost_usd"]
    value = parse_number(stated)
    if isinstance(e, Decimal) and isinstance(a, Decimal):
        expected = max(Decimal(0), a - e)
        if not isinstance(value, Decimal) or value != expected:
            return [
                _f(
                    "RCPT-OVERRUN-AMOUNT-WRONG",
                    f"cost_usd_over is {stated!s}, expected {fmt(expected)}",
                )
            ]
    elif value is not None:
        return [
            _f("RCPT-OVERRUN-AMOUNT-WRONG", "cost_usd_over must be null when a cost is unmeasured")
        ]
    return []


def _f(code: str, message: str) -> Detail:
    return Detail(code, message)


def _budget_settlement_v1(view: EvidenceView | None, *, receipt: Any, schema: Any) -> list[Detail]:
    return receipt_findings(receipt, schema if isinstance(schema, dict) else None)


CHECKS = (
    DomainCheck(
        name="budget_settlement",
        version=1,
        summary="BudgetSettlementReceipt v0.1: facts present, counters exact, overrun honest",
        arguments=(
            Argument("receipt", summary="the receipt the pointer resolves to"),
            Argument("schema", "schema", "the receipt's JSON Schema (one of the ruleset's)"),
        ),
        codes=(
            "RCPT-SCHEMA-INVALID",
            "RCPT-ADMISSION-REF-MISSING",
            "RCPT-ACTUALS-MISSING",
            "RCPT-FAIL-CLOSED-REASON-MISSING",
            "RCPT-NEGATIVE-COUNTER",
            "RCPT-OVERRUN-HIDDEN",
            "RCPT-OVERRUN-PHANTOM",
            "RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED",
            "RCPT-OVERRUN-AMOUNT-WRONG",
        ),
        run=_budget_settlement_v1,
    ),
)
