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
