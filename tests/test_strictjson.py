from decimal import Decimal

import pytest

from vlab.core.strictjson import StrictJSONError, loads, nesting_depth


def code_of(data: bytes) -> str:
    with pytest.raises(StrictJSONError) as err:
        loads(data)
    return err.value.code


def test_numbers_with_fraction_are_decimal_never_float() -> None:
    doc = loads(b'{"a": 0.1, "b": 2, "c": 1e2}')
    assert doc == {"a": Decimal("0.1"), "b": 2, "c": Decimal("1E+2")}
    assert type(doc["a"]) is Decimal and type(doc["b"]) is int
    assert doc["a"] + Decimal("0.2") == Decimal("0.3")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"a":1,"a":2}', "CONTRACT-DUPLICATE-KEY"),
        (b'{"x":{"a":1,"b":{"a":1,"a":1}}}', "CONTRACT-DUPLICATE-KEY"),
        (b'{"a":NaN}', "CONTRACT-NONFINITE-NUMBER"),
        (b'{"a":-Infinity}', "CONTRACT-NONFINITE-NUMBER"),
        (b'\xef\xbb\xbf{"a":1}', "CONTRACT-BOM"),
        (b'{"a":"\xff"}', "CONTRACT-ENCODING"),
        (b'{"a":1,}', "CONTRACT-JSON-INVALID"),
        (b"", "CONTRACT-JSON-INVALID"),
        (b"1" * 5000, "CONTRACT-JSON-INVALID"),  # beyond Python's int digit limit
    ],
)
def test_strict_failures_have_their_code(data: bytes, code: str) -> None:
    assert code_of(data) == code


def test_depth_64_is_allowed_and_65_is_not() -> None:
    assert loads(b"[" * 64 + b"]" * 64) is not None
    assert code_of(b"[" * 65 + b"]" * 65) == "CONTRACT-DEPTH-EXCEEDED"


def test_hostile_depth_never_recurses() -> None:
    assert code_of(b"[" * 200_000) == "CONTRACT-DEPTH-EXCEEDED"


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    text = b'{"s":"' + b"[" * 100 + b'\\"' + b"{" * 100 + b'"}'
    assert nesting_depth(text) == 1
    assert loads(text)["s"].startswith("[")
