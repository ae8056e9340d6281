"""Exact money and UTC time for the replays."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

_MONEY = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH = date(1970, 1, 1).toordinal()


def money(value: Any) -> Decimal | None:
    """A JSON number or decimal string as an exact Decimal; None when it is neither.

    Floats never reach here as money: records holding a float are re-parsed exactly.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, str) and _MONEY.fullmatch(value):
        return Decimal(value)
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
