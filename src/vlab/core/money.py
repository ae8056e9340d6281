"""Exact money and UTC time for the replays."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Context, Decimal, localcontext
from typing import Any

_MONEY = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?")  # the money bound, as text
_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH = date(1970, 1, 1).toordinal()
_LAST_DAY = date.max.toordinal()
# Money is bounded to 18 integer digits and 18 decimals; with that bound, 60 significant
# digits keep every sum of up to 10^24 amounts exact (the default context has 28).
MONEY_DIGITS = 18
EXACT = Context(prec=60)


@contextmanager
def exact() -> Iterator[None]:
    """Decimal arithmetic wide enough that bounded money never rounds."""
    with localcontext(EXACT):
        yield


def bounded(value: Decimal) -> Decimal | None:
    """The value if it is finite money within the bound, else None."""
    if not value.is_finite():
        return None
    exponent = value.as_tuple().exponent
    if value and (
        value.adjusted() >= MONEY_DIGITS or (isinstance(exponent, int) and exponent < -MONEY_DIGITS)
    ):
        return None
    return value


def key(value: Any) -> Any:
    """A hashable stand-in for any JSON value (lists and objects by their canonical text)."""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return value
    from vlab.core.canonical import CanonicalError, canonical_text

    try:
        return "json:" + canonical_text(value)
    except CanonicalError:
        return "repr:" + repr(value)


def money(value: Any) -> Decimal | None:
    """A JSON number or decimal string as an exact Decimal; None when it is neither.

    Floats never reach here as money: records holding a float are re-parsed exactly.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return bounded(Decimal(value)) if abs(value) < 10**MONEY_DIGITS else None
    if isinstance(value, Decimal):
        return bounded(value)
    if isinstance(value, str) and _MONEY.fullmatch(value):
        return Decimal(value)  # the pattern already holds the bound
    return None


def utc_micros(value: Any) -> int | None:
    """Microseconds since the epoch, in UTC, of an RFC 3339 timestamp (None if invalid)."""
    match = _TS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    frac = match.group(7) or ""
    try:
        ordinal = date(y, mo, d).toordinal()
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 60:
        return None
    offset = 0
    if match.group(9):
        oh, om = int(match.group(10)), int(match.group(11))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60 * (1 if match.group(9) == "+" else -1)
    seconds = (ordinal - _EPOCH) * 86400 + h * 3600 + mi * 60 + s - offset
    if not 1 <= seconds // 86400 + _EPOCH <= _LAST_DAY:  # must be a calendar day in UTC
        return None
    return seconds * 1_000_000 + int((frac + "000000")[:6])


def utc_day(micros: int) -> int:
    """The UTC calendar day (days since the epoch) of a timestamp in microseconds."""
    return micros // 86_400_000_000


def day_text(day: int) -> str:
    return date.fromordinal(day + _EPOCH).isoformat()


def fmt(value: Decimal) -> str:
    return format(value, "f")


def finding(
    code: str,
    message: str,
    *,
    line: int | None = None,
    artifact_path: str | None = None,
    advisory: bool = False,
) -> dict[str, Any]:
    out: dict[str, Any] = {"code": code, "message": message}
    if line is not None:
        out["line"] = line
        out["locator"] = f"line:{line}"
    if artifact_path is not None:
        out["artifact_path"] = artifact_path
    if advisory:
        out["advisory"] = True
    return out
