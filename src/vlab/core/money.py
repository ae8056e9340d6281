"""Money as exact decimals: the one money parser of the engine and the producer library.

A JSON number with a fraction is parsed by strict JSON as ``Decimal``; here such values,
integers and decimal strings become bounded ``Decimal`` money. Binary floats never are.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Context, Decimal, localcontext
from typing import Any

# Money is bounded to 18 integer digits and 18 decimals; with that bound, 60 significant
# digits keep every sum of up to 10^24 amounts exact (the default context has 28).
MONEY_DIGITS = 18
EXACT = Context(prec=60)
_MONEY = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?")  # the money bound, as text
MONEY_TEXT = _MONEY  # for loops that inline ``money`` of a str: Decimal(s) when it matches


@contextmanager
def exact() -> Iterator[None]:
    """Decimal arithmetic wide enough that bounded money never rounds."""
    with localcontext(EXACT):
        yield


# A native system's JSON float written in its shortest form (hal0: 15 tokens at $3 per
# million is 0.00012000000000000002) can need more fraction digits than vlab's own money
# format allows. Checks that read native evidence (ruleset-1.3's @2 checks) take up to this
# many; 18 + 28 digits keep sums of up to 10^14 amounts exact in EXACT's 60.
NATIVE_FRACTION_DIGITS = 28
_NATIVE_MONEY = re.compile(r"-?(0|[1-9][0-9]{0,17})(\.[0-9]{1,28})?")


def bounded(value: Decimal, fraction_digits: int = MONEY_DIGITS) -> Decimal | None:
    """The value if it is finite money within the bound, else None."""
    if not value.is_finite():
        return None
    exponent = value.as_tuple().exponent
    if value and (
        value.adjusted() >= MONEY_DIGITS
        or (isinstance(exponent, int) and exponent < -fraction_digits)
    ):
        return None
    return value


def native_money(value: Any) -> Decimal | None:
    """``money``, with the wider fraction bound a native float's shortest text needs."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return bounded(Decimal(value)) if abs(value) < 10**MONEY_DIGITS else None
    if isinstance(value, Decimal):
        return bounded(value, NATIVE_FRACTION_DIGITS)
    if isinstance(value, str) and _NATIVE_MONEY.fullmatch(value):
        return Decimal(value)
    return None


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


def fmt(value: Decimal) -> str:
    """Money as plain decimal text (never an exponent)."""
    return format(value, "f")
