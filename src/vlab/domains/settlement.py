"""BudgetSettlementReceipt v0.1 checks: pure functions shared by clause CL-D1-02 and
``vlab receipt check``. Money and counters are exact ``Decimal``; never binary floats."""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from vlab.core.findings import Detail, quote
from vlab.core.money import (
    MONEY_DIGITS,
    NATIVE_FRACTION_DIGITS,
    exact,
    fmt,
    money,
    native_money,
)
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


CHECKS: tuple[DomainCheck, ...] = (
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


# -- budget_settlement@2 (ruleset-1.3): two receipt dialects, the in-pack checks ----------
#
# Dialects (importers.md §3): vlab's (``schema: BudgetSettlementReceipt/v0.1``, judged by
# exactly @1 plus the in-pack checks ruleset-1.2 states as expressions) and agentplane's
# (``schemaVersion: agentplane.budget-settlement-receipt.v0.1``, SocioProphet/agentplane),
# judged by the same checks on agentplane's fields, in exact decimal arithmetic.

VLAB_SETTLEMENT = "BudgetSettlementReceipt/v0.1"
VLAB_ADMISSION = "AttemptAdmissionReceipt/v0.1"
AGENTPLANE_SETTLEMENT = "agentplane.budget-settlement-receipt.v0.1"
AGENTPLANE_ADMISSION = "agentplane.attempt-admission-receipt.v0.1"
AGENTPLANE_CONTRACT = "agentplane.governed-run-contract.v0.1"
ADMISSION_PATH = "artifacts/budget/admission_receipt.json"

# agentplane's fields (schemas/receipts/budget-settlement-receipt.v0.1.schema.json).
AP_ACTUALS = ("tokens_in", "tokens_out", "tool_calls", "wall_clock_ms", "cost_usd")
AP_ESTIMATE = (
    "projected_cost_usd",
    "remaining_budget_usd",
    "remaining_iterations",
    "remaining_tokens",
)
AP_ESTIMATE_REQUIRED = ("projected_cost_usd", "remaining_budget_usd")
AP_NONEMPTY = (
    "settlement_id",
    "run_id",
    "attempt_id",
    "settled_at",
    "settlement_status",
    "settlement_provenance",
    "receipt_hash",
)
AP_FAIL_CLOSED = ("missing_actuals", "invalid_actuals", "fail-closed")
AP_SETTLING = ("settled", "overrun")
AP_REF_PREFIX = "attempt-admission-receipt:"


def dialect(receipt: Any) -> str:
    """``agentplane`` for an object that carries ``schemaVersion`` and no ``schema``;
    ``vlab`` for anything else (a non-object is judged, and refused, as vlab's)."""
    if isinstance(receipt, dict) and "schemaVersion" in receipt and "schema" not in receipt:
        return "agentplane"
    return "vlab"


def settlement_findings(
    receipt: Any,
    schema: dict[str, Any] | None,
    agentplane_schema: dict[str, Any] | None,
    admission: Any = None,
    run_id: Any = None,
) -> list[Detail]:
    """budget_settlement@2: every violated check of one receipt of either dialect; with
    ``admission`` (``{found, sha256, value}`` of the pack's admission receipt) also the
    checks against the rest of the pack. Exact decimal arithmetic throughout."""
    with exact():
        if dialect(receipt) == "agentplane":
            found = _agentplane_findings(receipt, agentplane_schema)
            if admission is not None:
                found += _agentplane_in_pack(receipt, admission, run_id)
            return found
        found = _receipt_findings(receipt, schema)
        if admission is not None:
            found += _vlab_in_pack(receipt, admission, run_id)
        return found


def _get(value: Any, key: str) -> Any:
    """JMESPath field access: a field of an object, else null."""
    return value.get(key) if isinstance(value, dict) else None


def _number(value: Any) -> bool:
    return (isinstance(value, (int, Decimal))) and not isinstance(value, bool)


def _jeq(x: Any, y: Any) -> bool:
    """JMESPath ``==`` (0 and 1 never equal a boolean)."""
    for a, b in ((x, y), (y, x)):
        if _number(a) and a in (0, 1) and isinstance(b, bool):
            return False
    return bool(x == y)


def _nonempty(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ""


def _vlab_in_pack(receipt: Any, admission: Any, run_id: Any) -> list[Detail]:
    """ruleset-1.2's four in-pack checks of CL-D1-02, as its expressions state them."""
    found: list[Detail] = []
    value, sha = _get(admission, "value"), _get(admission, "sha256")
    ref = _get(receipt, "admission_receipt_ref")
    ref_id = _get(ref, "receipt_id")
    if _nonempty(ref_id) and not (
        _jeq(_get(value, "schema"), VLAB_ADMISSION)
        and _jeq(_get(value, "receipt_id"), ref_id)
        and _jeq(sha, _get(ref, "sha256"))
    ):
        found.append(
            _f(
                "RCPT-ADMISSION-REF-UNRESOLVED",
                f"no AttemptAdmissionReceipt {quote(ref_id)} with sha256 "
                f"{quote(_get(ref, 'sha256'))} at {ADMISSION_PATH}",
            )
        )
    if not isinstance(receipt, dict):
        return found
    rid, aid = receipt.get("run_id"), receipt.get("attempt_id")
    if not (
        _jeq(rid, run_id)
        and (
            value is None
            or (_jeq(rid, _get(value, "run_id")) and _jeq(aid, _get(value, "attempt_id")))
        )
    ):
        found.append(
            _f(
                "RCPT-IDENTITY-MISMATCH",
                f"run_id {quote(rid)} / attempt_id {quote(aid)} differ from the bundle's "
                f"run_id {quote(run_id)} or the admission receipt's "
                f"{quote(_get(value, 'run_id'))} / {quote(_get(value, 'attempt_id'))}",
            )
        )
    if isinstance(value, dict) and not counters_equal(
        receipt.get("estimate"), value.get("budget_estimate")
    ):
        found.append(
            _f(
                "RCPT-ESTIMATE-DRIFT",
                "estimate differs from the admission receipt's budget_estimate",
            )
        )
    if _jeq(_get(value, "decision"), "DENY") and has_measured(receipt.get("actual")):
        found.append(
            _f(
                "RCPT-SETTLED-AFTER-DENY",
                "the admission receipt denied the attempt, yet actuals were settled",
            )
        )
    return found


def _schema_errors(receipt: Any, schema: dict[str, Any] | None) -> list[Detail]:
    """RCPT-SCHEMA-INVALID naming the first error (path order) and how many more."""
    if schema is None:
        return []
    from vlab.core.schemas import validator

    errors = sorted(
        validator(schema).iter_errors(receipt),
        key=lambda e: ([str(p) for p in e.absolute_path], e.message),
    )
    if not errors:
        return []
    first = errors[0]
    where = "/" + "/".join(str(p) for p in first.absolute_path)
    message = first.message if len(first.message) <= 160 else first.message[:157] + "..."
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return [_f("RCPT-SCHEMA-INVALID", f"agentplane schema: {where}: {message}{more}")]


def _ap_money(block: Any, key: str) -> Decimal | Invalid | None:
    """A field of an agentplane block as exact Decimal (None: absent or null); agentplane
    writes floats, so a shortest float text's fraction digits are taken (native_money)."""
    value = _get(block, key)
    if value is None:
        return None
    number = native_money(value)
    return INVALID if number is None else number


def _agentplane_findings(receipt: dict[str, Any], schema: dict[str, Any] | None) -> list[Detail]:
    """agentplane's receipt standalone: its schema, the rules its own validator adds
    (tools/validate_budget_settlement_receipt.py, c73a8fb), and vlab's checks on its
    fields — in exact decimal where agentplane compares floats within 1e-9."""
    found = _schema_errors(receipt, schema)
    # What agentplane's validator requires beyond its schema (non-empty strings; the
    # provenance of a missing_actuals settlement) is a structural fault too.
    rules = [f"{k} is an empty string" for k in AP_NONEMPTY if receipt.get(k) == ""]
    estimate, actuals, overrun = (receipt.get(k) for k in ("estimate", "actuals", "overrun"))
    if _get(estimate, "estimate_provenance") == "":
        rules.append("estimate.estimate_provenance is an empty string")
    status = receipt.get("settlement_status")
    if status == "missing_actuals" and receipt.get("settlement_provenance") != "missing":
        rules.append("a missing_actuals settlement must have settlement_provenance missing")
    if rules:
        found.append(_f("RCPT-SCHEMA-INVALID", "agentplane validator: " + "; ".join(rules)))
    ref = receipt.get("admission_receipt_ref")
    if not _nonempty(ref):
        found.append(
            _f(
                "RCPT-ADMISSION-REF-MISSING",
                "admission_receipt_ref is absent or not a non-empty string",
            )
        )
    elif not str(ref).startswith(AP_REF_PREFIX):
        found.append(
            _f(
                "RCPT-ADMISSION-REF-MISSING",
                f"admission_receipt_ref {quote(ref)} names no AttemptAdmissionReceipt "
                f"(agentplane requires the prefix {quote(AP_REF_PREFIX)})",
            )
        )
    act = {k: _ap_money(actuals, k) for k in AP_ACTUALS}
    absent = [k for k, v in act.items() if v is None]
    if absent:
        found.append(
            _f(
                "RCPT-ACTUALS-MISSING",
                f"actuals lacks {', '.join(absent)} (agentplane requires all five, whatever "
                f"the settlement_status {quote(status)})",
            )
        )
    reason = receipt.get("fail_closed_reason")
    if status in AP_FAIL_CLOSED and not _nonempty(reason):
        found.append(
            _f(
                "RCPT-FAIL-CLOSED-REASON-MISSING",
                f"settlement_status {quote(status)} without a fail_closed_reason",
            )
        )
    est = {k: _ap_money(estimate, k) for k in AP_ESTIMATE}
    # A number vlab cannot hold as exact money (1e999999, 19 integer digits) is a fault of
    # its own, never "unmeasured": an overrun must not hide behind an unreadable actual.
    unreadable = [
        f"{side}.{k}"
        for side, block, values in (("estimate", estimate, est), ("actuals", actuals, act))
        for k, v in values.items()
        if v is INVALID and isinstance(_get(block, k), (int, Decimal))
    ]
    if unreadable:
        found.append(
            _f(
                "RCPT-SCHEMA-INVALID",
                f"not an amount vlab can compare exactly (beyond {MONEY_DIGITS} integer or "
                f"{NATIVE_FRACTION_DIGITS} fraction digits): {', '.join(unreadable)}",
            )
        )
    negative = [
        f"{side}.{k}"
        for side, values in (("estimate", est), ("actuals", act))
        for k, v in values.items()
        if isinstance(v, Decimal) and v < 0
    ]
    if negative:
        found.append(_f("RCPT-NEGATIVE-COUNTER", f"below zero: {', '.join(negative)}"))
    projected, cost = est["projected_cost_usd"], act["cost_usd"]
    over_budget, over_status = _get(overrun, "over_budget"), _get(overrun, "status")
    if isinstance(projected, Decimal) and isinstance(cost, Decimal):
        over = cost > projected
        said = (
            f"actuals.cost_usd {fmt(cost)} vs estimate.projected_cost_usd {fmt(projected)}; "
            f"settlement_status {quote(status)}, overrun.over_budget {quote(over_budget)}, "
            f"overrun.status {quote(over_status)}"
        )
        if over and (status == "settled" or over_budget is not True or over_status != "overrun"):
            found.append(_f("RCPT-OVERRUN-HIDDEN", f"the actual cost exceeds the estimate: {said}"))
        if not over and (over_budget is True or over_status == "overrun" or status == "overrun"):
            found.append(_f("RCPT-OVERRUN-PHANTOM", f"an overrun is declared but none: {said}"))
    wrong = [
        f"overrun.{field} is {quote(_get(overrun, field))}, {name} is {fmt(value)}"
        for field, name, value in (
            ("estimated_cost_usd", "estimate.projected_cost_usd", projected),
            ("actual_cost_usd", "actuals.cost_usd", cost),
        )
        if isinstance(value, Decimal) and _ap_money(overrun, field) != value
    ]
    if wrong:
        found.append(_f("RCPT-OVERRUN-AMOUNT-WRONG", "; ".join(wrong) + " (exact decimal)"))
    return found


def _agentplane_in_pack(receipt: dict[str, Any], admission: Any, run_id: Any) -> list[Detail]:
    """The same four in-pack checks, on agentplane's fields: its reference is a string id
    (no file hash: agentplane binds none), its admission's decision is admission_decision."""
    found: list[Detail] = []
    value = _get(admission, "value")
    ref = receipt.get("admission_receipt_ref")
    if _nonempty(ref) and not (
        _jeq(_get(value, "schemaVersion"), AGENTPLANE_ADMISSION)
        and _jeq(_get(value, "receipt_id"), ref)
    ):
        found.append(
            _f(
                "RCPT-ADMISSION-REF-UNRESOLVED",
                f"no agentplane AttemptAdmissionReceipt {quote(ref)} at {ADMISSION_PATH}"
                + (f" (it holds {quote(_get(value, 'receipt_id'))})" if value is not None else ""),
            )
        )
    rid, aid = receipt.get("run_id"), receipt.get("attempt_id")
    if not (
        _jeq(rid, run_id)
        and (
            value is None
            or (_jeq(rid, _get(value, "run_id")) and _jeq(aid, _get(value, "attempt_id")))
        )
    ):
        found.append(
            _f(
                "RCPT-IDENTITY-MISMATCH",
                f"run_id {quote(rid)} / attempt_id {quote(aid)} differ from the bundle's "
                f"run_id {quote(run_id)} or the admission receipt's "
                f"{quote(_get(value, 'run_id'))} / {quote(_get(value, 'attempt_id'))}",
            )
        )
    if isinstance(value, dict):
        estimate, basis = receipt.get("estimate"), value.get("budget_estimate")
        drift = [
            k
            for k in AP_ESTIMATE
            if (k in AP_ESTIMATE_REQUIRED or _get(estimate, k) is not None)
            and not _same_money(_ap_money(estimate, k), _ap_money(basis, k))
        ]
        if drift:
            found.append(
                _f(
                    "RCPT-ESTIMATE-DRIFT",
                    f"estimate differs from the admission receipt's budget_estimate in "
                    f"{', '.join(drift)}",
                )
            )
        decision = _admission_decision(value)
        if decision is not None and _settled(receipt):
            found.append(
                _f(
                    "RCPT-SETTLED-AFTER-DENY",
                    f"the admission receipt did not admit the attempt ({decision}), yet "
                    f"settlement_status is {quote(receipt.get('settlement_status'))} with actuals "
                    "above zero or a settled status",
                )
            )
    return found


def _same_money(a: Decimal | Invalid | None, b: Decimal | Invalid | None) -> bool:
    if isinstance(a, Decimal) and isinstance(b, Decimal):
        return a == b
    return a is None and b is None


def _admission_decision(value: dict[str, Any]) -> str | None:
    """Why an admission receipt is not an admit (None: it admits, or says nothing vlab
    can read). agentplane: admission_decision other than admit (reject, require-review,
    fail-closed), or admitted false; vlab's: decision DENY."""
    if value.get("schemaVersion") == AGENTPLANE_ADMISSION:
        decision, admitted = value.get("admission_decision"), value.get("admitted")
        if decision != "admit":
            return f"admission_decision {quote(decision)}"
        if admitted is False:
            return "admitted false"
        return None
    if value.get("schema") == VLAB_ADMISSION and value.get("decision") == "DENY":
        return "decision 'DENY'"
    return None


def _settled(receipt: dict[str, Any]) -> bool:
    """An agentplane receipt settles consumption: a settled/overrun status, or any actual
    above zero (agentplane requires every actual, so zeros are how it says none)."""
    if receipt.get("settlement_status") in AP_SETTLING:
        return True
    actuals = receipt.get("actuals")
    return any(
        isinstance(v, Decimal) and v > 0 for v in (_ap_money(actuals, k) for k in AP_ACTUALS)
    )


def _budget_settlement_v2(
    view: EvidenceView | None,
    *,
    receipt: Any,
    schema: Any,
    agentplane_schema: Any,
    admission: Any,
    run_id: Any,
) -> list[Detail]:
    return settlement_findings(
        receipt,
        schema if isinstance(schema, dict) else None,
        agentplane_schema if isinstance(agentplane_schema, dict) else None,
        admission,
        run_id,
    )


CHECKS = (
    *CHECKS,
    DomainCheck(
        name="budget_settlement",
        version=2,
        summary=(
            "BudgetSettlementReceipt v0.1 in vlab's or agentplane's dialect: @1's checks, "
            "and in a pack the admission receipt it refers to"
        ),
        arguments=(
            Argument("receipt", summary="the receipt the pointer resolves to"),
            Argument("schema", "schema", "vlab's BudgetSettlementReceipt JSON Schema"),
            Argument("agentplane_schema", "schema", "agentplane's receipt JSON Schema"),
            Argument(
                "admission",
                summary="{found, sha256, value} of artifacts/budget/admission_receipt.json, "
                "or null outside a pack",
            ),
            Argument("run_id", summary="the bundle's run_id, or null outside a pack"),
        ),
        codes=(
            *CHECKS[0].codes,
            "RCPT-ADMISSION-REF-UNRESOLVED",
            "RCPT-IDENTITY-MISMATCH",
            "RCPT-ESTIMATE-DRIFT",
            "RCPT-SETTLED-AFTER-DENY",
        ),
        run=_budget_settlement_v2,
    ),
)


# -- series for the review dossier (vlab.engine.series) ----------------------------------------


@dataclass(frozen=True, slots=True)
class CounterPair:
    """One counter of a receipt: estimate and actual (None: not measured or not a number),
    and whether the actual overruns the estimate (``exceeding``)."""

    name: str
    estimate: Decimal | None
    actual: Decimal | None
    overrun: bool


def settlement_series(view: EvidenceView | None, *, receipt: Any, **_: Any) -> Any:
    """Estimate against actual per counter of a vlab-dialect receipt (the CL-D1-02 chart);
    None for another dialect or a receipt that is not an object."""
    if not isinstance(receipt, dict) or dialect(receipt) != "vlab":
        return None
    est, act = counters(receipt.get("estimate")), counters(receipt.get("actual"))
    over = set(exceeding(receipt.get("estimate"), receipt.get("actual")))
    return tuple(
        CounterPair(
            name,
            est[name] if isinstance(est[name], Decimal) else None,  # type: ignore[arg-type]
            act[name] if isinstance(act[name], Decimal) else None,  # type: ignore[arg-type]
            name in over,
        )
        for name in COUNTERS
    )


CHECKS = tuple(replace(c, series=settlement_series) for c in CHECKS)
