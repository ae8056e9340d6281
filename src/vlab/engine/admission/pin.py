"""ADM-GATE-PIN: the bundle manifest pins an installed ruleset, an accepted protocol and
that ruleset's schema bundle digest; no pin is a placeholder."""

from __future__ import annotations

from vlab.core.findings import Detail
from vlab.core.vocabulary import GATE_PIN
from vlab.engine.admission.context import BUNDLE, GateContext

NAME = GATE_PIN
PIN_FIELDS = ("ruleset_ref", "protocol_pin", "schema_bundle_sha256")


def run(ctx: GateContext) -> list[Detail]:
    if not ctx.reader.has(BUNDLE):
        return [Detail("PIN-BUNDLE-MISSING", f"{BUNDLE} is missing", BUNDLE)]
    bundle, err = ctx.parse(BUNDLE)
    if err is not None:
        return [Detail("PIN-BUNDLE-INVALID", f"{err.code}: {err.message}", BUNDLE)]
    if not isinstance(bundle, dict):
        return [Detail("PIN-BUNDLE-INVALID", "not a JSON object", BUNDLE)]
    ctx.result.documents[BUNDLE] = bundle
    details: list[Detail] = []
    pins: dict[str, str] = {}
    for name in PIN_FIELDS:
        value = bundle.get(name)
        if not isinstance(value, str) or not value.strip():
            details.append(
                Detail(
                    "PIN-MISSING",
                    f"{name} is missing, empty or not a string",
                    BUNDLE,
                    locator=f"jsonptr:/{name}",
                )
            )
        elif _is_placeholder(value):
            details.append(
                Detail(
                    "PIN-PLACEHOLDER",
                    f"{name} {value!r} is a placeholder{_pin_hint(ctx, bundle, name)}",
                    BUNDLE,
                    locator=f"jsonptr:/{name}",
                )
            )
        else:
            pins[name] = value
    ruleset = None
    if "ruleset_ref" in pins:
        ruleset = ctx.find_ruleset(pins["ruleset_ref"])
        # Known even if another pin fails: its clauses are then NOT_ADMISSIBLE.
        ctx.result.pinned = ruleset
        if ruleset is None:
            details.append(
                Detail(
                    "PIN-UNKNOWN-RULESET",
                    f"ruleset_ref {pins['ruleset_ref']!r} names no installed ruleset",
                    BUNDLE,
                    locator="jsonptr:/ruleset_ref",
                )
            )
    if ruleset is not None:
        if "protocol_pin" in pins and pins["protocol_pin"] not in ruleset.protocol_pins:
            details.append(
                Detail(
                    "PIN-PROTOCOL-NOT-ACCEPTED",
                    f"protocol_pin {pins['protocol_pin']!r} is not accepted by "
                    f"{ruleset.id} (accepts {', '.join(ruleset.protocol_pins)})",
                    BUNDLE,
                    locator="jsonptr:/protocol_pin",
                )
            )
        got = pins.get("schema_bundle_sha256")
        if got is not None and got != ruleset.schema_bundle_sha256:
            details.append(
                Detail(
                    "PIN-SCHEMA-BUNDLE-MISMATCH",
                    f"schema_bundle_sha256 is not the digest of {ruleset.id}'s schema "
                    f"bundle ({ruleset.schema_bundle_sha256})",
                    BUNDLE,
                    locator="jsonptr:/schema_bundle_sha256",
                )
            )
    if not details:
        run_id = bundle.get("run_id")
        ctx.result.run_id = run_id if isinstance(run_id, str) else None
    return details


def _pin_hint(ctx: GateContext, bundle: dict[str, object], name: str) -> str:
    """What to pin instead of a placeholder, when the ruleset the bundle names says."""
    ref = bundle.get("ruleset_ref")
    if not isinstance(ref, str) or not ref.strip() or _is_placeholder(ref):
        return ""
    ruleset = ctx.find_ruleset(ref)
    if ruleset is None:
        return ""
    if name == "schema_bundle_sha256":
        return f"; pin {ruleset.schema_bundle_sha256} ({ruleset.id}'s schema bundle digest)"
    if name == "protocol_pin":
        return f"; pin one of {', '.join(ruleset.protocol_pins)} (what {ruleset.id} accepts)"
    return ""


def _is_placeholder(value: str) -> bool:
    token = value.strip().lower()
    return token in ("unknown", "tbd", "placeholder") or "placeholder" in token
