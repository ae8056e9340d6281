"""RFC 3339 date-times: the one timestamp parser of the engine.

``is_rfc3339`` (a clause asking "is this a date-time?") and ``utc_micros`` (a replay
ordering charges by time) read the same grammar; only the latter also needs the instant to
fall on a UTC calendar day (year 1..9999 after the offset is applied).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

_TS = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))"
)
_EPOCH = date(1970, 1, 1).toordinal()
_LAST_DAY = date.max.toordinal()


def _parts(value: Any) -> tuple[int, int, str, int] | None:
    """(calendar ordinal, local seconds of the day, fraction digits, offset seconds)."""
    match = _TS.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        return None
    y, mo, d, h, mi, s = (int(g) for g in match.groups()[:6])
    try:
        ordinal = date(y, mo, d).toordinal()
    except ValueError:
        return None
    if h > 23 or mi > 59 or s > 60:  # 60: a leap second
        return None
    offset = 0
    if match.group(9):
        oh, om = int(match.group(10)), int(match.group(11))
        if oh > 23 or om > 59:
            return None
        offset = (oh * 60 + om) * 60 * (1 if match.group(9) == "+" else -1)
    return ordinal, h * 3600 + mi * 60 + s, match.group(7) or "", offset


def is_rfc3339(value: Any) -> bool:
    """An RFC 3339 date-time: a real calendar date, a valid time, an explicit offset."""
    return _parts(value) is not None


# The canonical shape machine-written logs use, ``YYYY-MM-DDTHH:MM:SS[.f+]Z``, is read by
# slicing (decision 256); any other text, and any value the slices cannot vouch for, goes to
# the full grammar above, so both paths give one answer for every input (tests compare them).
_MINUTES: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" -> epoch seconds, valid prefixes only
_MAX_MINUTES = 4096  # cleared when full: a bounded memo, never a different answer
_SECONDS = {f"{s:02d}": s for s in range(61)}  # 60: a leap second


def _minute_base(prefix: str) -> int | None:
    """Epoch seconds of a valid ``YYYY-MM-DDTHH:MM`` (UTC), else None."""
    if (
        not prefix.isascii()
        or prefix[4] != "-"
        or prefix[7] != "-"
        or prefix[10] != "T"
        or prefix[13] != ":"
    ):
        return None
    digits = prefix[:4] + prefix[5:7] + prefix[8:10] + prefix[11:13] + prefix[14:16]
    if not digits.isdigit():
        return None
    h, mi = int(digits[8:10]), int(digits[10:])
    if h > 23 or mi > 59:
        return None
    try:
        ordinal = date(int(digits[:4]), int(digits[4:6]), int(digits[6:8])).toordinal()
    except ValueError:
        return None
    base = (ordinal - _EPOCH) * 86400 + h * 3600 + mi * 60
    if len(_MINUTES) >= _MAX_MINUTES:
        _MINUTES.clear()
    _MINUTES[prefix] = base
    return base


def utc_micros(value: Any) -> int | None:
    """Microseconds since the epoch, in UTC, of an RFC 3339 timestamp (None if invalid).

    A canonical UTC value is read here by slicing; anything else, or anything the slices
    cannot vouch for, is answered by the full grammar (``_full_micros``)."""
    if type(value) is not str:
        return _full_micros(value)
    n = len(value)
    if n < 20 or value[-1] != "Z" or value[16] != ":":
        return _full_micros(value)
    base = _MINUTES.get(value[:16])
    if base is None:
        base = _minute_base(value[:16])
        if base is None:
            return _full_micros(value)
    second = _SECONDS.get(value[17:19])
    if second is None:
        return _full_micros(value)
    if n == 20:
        frac = 0
    else:
        digits = value[20:-1]
        if value[19] != "." or not (digits.isdigit() and digits.isascii()):  # "" too
            return _full_micros(value)
        frac = int(digits) * 1000 if len(digits) == 3 else int((digits + "000000")[:6])
    seconds = base + second
    if second == 60 and seconds // 86400 + _EPOCH > _LAST_DAY:  # 9999-12-31T23:59:60Z
        return None
    return seconds * 1_000_000 + frac


def _full_micros(value: Any) -> int | None:
    """``utc_micros`` by the full grammar (any offset, ``t``/``z``, every check)."""
    parts = _parts(value)
    if parts is None:
        return None
    ordinal, local, frac, offset = parts
    seconds = (ordinal - _EPOCH) * 86400 + local - offset
    if not 1 <= seconds // 86400 + _EPOCH <= _LAST_DAY:  # must be a calendar day in UTC
        return None
    return seconds * 1_000_000 + int((frac + "000000")[:6])


def utc_day(micros: int) -> int:
    """The UTC calendar day (days since the epoch) of a timestamp in microseconds."""
    return micros // 86_400_000_000


def day_text(day: int) -> str:
    return date.fromordinal(day + _EPOCH).isoformat()


def utc_text(value: Any) -> str | None:
    """An RFC 3339 timestamp restated in UTC with a ``Z`` (``--as-of``, a VSA's
    ``timeVerified``): one spelling for one instant, fraction kept to microseconds and its
    trailing zeros dropped. None if ``value`` is not a valid timestamp."""
    micros = utc_micros(value)
    if micros is None:
        return None
    seconds, frac = divmod(micros, 1_000_000)
    day, rest = divmod(seconds, 86400)
    d = date.fromordinal(day + _EPOCH)
    h, rem = divmod(rest, 3600)
    text = f"{d.isoformat()}T{h:02d}:{rem // 60:02d}:{rem % 60:02d}"
    if frac:
        text += "." + f"{frac:06d}".rstrip("0")
    return text + "Z"
