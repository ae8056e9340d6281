import jmespath
import pytest

from vlab.builtins.functions import BuiltinFunctions, is_present
from vlab.core.tokens import normalize_token, table_contains


@pytest.mark.parametrize(
    ("raw", "token"),
    [
        ("Rate-Limit", "rate_limit"),
        ("  RATE_LIMIT ", "rate_limit"),
        ("rate - _ limit", "rate_limit"),
        ("rate\tlimit", "rate_limit"),
        ("Resource__Budget", "resource_budget"),
        ("allow", "allow"),
        ("", ""),
    ],
)
def test_normalize_token(raw: str, token: str) -> None:
    assert normalize_token(raw) == token


def test_table_contains_normalizes_and_rejects_non_strings() -> None:
    table = frozenset({"rate_limit", "budget"})
    assert table_contains(table, "Rate-Limit")
    assert not table_contains(table, "ratelimit")
    assert not table_contains(table, None)
    assert not table_contains(table, 5)


def test_is_present() -> None:
    assert is_present("x") and is_present(0) and is_present(False) and is_present([])
    assert not is_present(None) and not is_present("") and not is_present("  ")


def test_builtins_through_jmespath() -> None:
    opts = jmespath.Options(custom_functions=BuiltinFunctions({"k": frozenset({"budget"})}))
    data = {"r": {"kind": " BUDGET ", "o": "", "n": 3}}
    assert jmespath.search("in_table('k', r.kind)", data, opts) is True
    assert jmespath.search("in_table('k', r.missing)", data, opts) is False
    assert jmespath.search("present(r.o)", data, opts) is False
    assert jmespath.search("nonempty_string(r.n)", data, opts) is False
    assert jmespath.search("normalize(r.kind)", data, opts) == "budget"
