"""What the MPLP importer needs of JavaScript's semantics, restated exactly: white space as
``String.prototype.trim`` and RegExp ``\\s`` see it, ``String(value)`` of parsed JSON
values (numbers as doubles, as JSON.parse reads them), and upstream's canonptr v1
(lib/evidence/canonptr.ts) on top of them, so vlab finds the event a producer's canonptr
names."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

# JavaScript's white space (String.prototype.trim, RegExp \\s): upstream trims with it.
JS_SPACE = (
    "\t\n\v\f\r \u00a0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + ("\u2028\u2029\u202f\u205f\u3000\ufeff")
)
# canonptr v1 (upstream lib/evidence/canonptr.ts): decision kind -> domain, and the
# semantic fields each domain's digest covers.
CANON_DOMAINS = {
    "budget": "D1",
    "lifecycle": "D2",
    "authz": "D3",
    "terminate": "D4",
    "termination": "D4",
}
# upstream's kind -> domain map is a plain object: a decision_kind naming an
# Object.prototype member finds that member (truthy), so its event gets a pointer (in a
# domain no real pointer names) and advances the sequence of every later one.
JS_INHERITED = {
    name: f"function {name}() {{ [native code] }}"
    for name in (
        "__defineGetter__",
        "__defineSetter__",
        "hasOwnProperty",
        "__lookupGetter__",
        "__lookupSetter__",
        "isPrototypeOf",
        "propertyIsEnumerable",
        "toString",
        "valueOf",
        "toLocaleString",
    )
} | {"constructor": "function Object() { [native code] }", "__proto__": "[object Object]"}
CANON_FIELDS = {
    "D1": ("outcome", "resource"),
    "D2": ("to_state",),
    "D3": ("outcome", "subject", "resource", "action"),
    "D4": ("termination_reason",),
}


def js_string(value: Any) -> str:
    """JavaScript's ``String(value)`` / template-literal text of a parsed JSON value."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        # JSON.parse reads every number as a double: 2**53 + 1 is 9007199254740992 there,
        # and 400 digits are Infinity
        return str(value) if abs(value) <= 2**53 else _js_number(_double(value))
    if isinstance(value, Decimal):
        return _js_number(float(value))
    if isinstance(value, list):
        return ",".join("" if v is None else js_string(v) for v in value)
    return "[object Object]"


def _double(value: int) -> float:
    """The double JSON.parse makes of an integer literal (correctly rounded, as float())."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def _js_number(x: float) -> str:
    """ECMAScript Number::toString for a finite double (shortest round-trip digits)."""
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    if x == 0:
        return "0"
    sign = "-" if x < 0 else ""
    digits, exponent = _shortest(abs(x))
    k = len(digits)
    n = exponent + k  # the decimal point sits after n digits
    if k <= n <= 21:
        return sign + digits + "0" * (n - k)
    if 0 < n <= 21:
        return sign + digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return sign + "0." + "0" * (-n) + digits
    e = n - 1
    mantissa = digits[0] + ("." + digits[1:] if k > 1 else "")
    return f"{sign}{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"


def _shortest(x: float) -> tuple[str, int]:
    """(digits, exponent) with x == int(digits) * 10**exponent, digits shortest (repr's)."""
    text = repr(x)
    mantissa, _, exp = text.partition("e")
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    digits = (whole + fraction).lstrip("0") or "0"
    exponent = (int(exp) if exp else 0) - len(fraction)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    return stripped or "0", exponent


def _js_truthy(value: Any) -> bool:
    if value is None or value is False or value == "":
        return False
    return not (isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == 0)


def canonptr(event: Mapping[str, Any], seq: int) -> str | None:
    """upstream ``eventToCanonPtr``: ``canonptr:v1:<domain>:<kind>:<seq>:<digest>``."""
    kind = event.get("decision_kind")
    if not _js_truthy(kind):
        return None
    kind_text = js_string(kind)
    fields: dict[str, Any] = {"decision_kind": kind}
    domain = CANON_DOMAINS.get(kind_text)
    if domain is None:
        inherited = JS_INHERITED.get(kind_text)
        if inherited is None:
            return None
        return f"canonptr:v1:{inherited}:{kind_text}:{seq:03d}:{_digest(fields)}"
    for name in CANON_FIELDS[domain]:
        if _js_truthy(event.get(name)):
            fields[name] = event[name]
    if domain == "D1" and "amount" in event:  # `event.amount !== undefined`
        fields["amount"] = event["amount"]
    return f"canonptr:v1:{domain}:{kind_text}:{seq:03d}:{_digest(fields)}"


def _digest(fields: Mapping[str, Any]) -> str:
    """upstream ``computeSemanticDigest``: keys sorted, ``k:String(v)`` joined by ``|``."""
    text = "|".join(f"{k}:{js_string(fields[k])}" for k in sorted(fields))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def canonptr_index(events: list[tuple[int, Any]]) -> dict[str, tuple[int, Any]]:
    """upstream ``extractCanonPtrsFromTrace``: canonptr -> (line, event_id), first wins."""
    out: dict[str, tuple[int, Any]] = {}
    seq = 0
    for line, event in events:
        if not isinstance(event, dict) or not _js_truthy(event.get("decision_kind")):
            continue
        ptr = canonptr(event, seq)
        if ptr is not None:
            out.setdefault(ptr, (line, event.get("event_id")))
            seq += 1
    return out
