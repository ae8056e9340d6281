import pytest

from vlab.pack.locators import parse_locator, resolve_jsonptr


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("event_id:evt-1", "event_id", "evt-1"),
        ("event_id:a:b", "event_id", "a:b"),
        ("line:1", "line", "1"),
        ("line:1000000", "line", "1000000"),
        ("jsonptr:", "jsonptr", ""),
        ("jsonptr:/a/0/~1x~0", "jsonptr", "/a/0/~1x~0"),
        ("file:", "file", ""),
    ],
)
def test_well_formed(text: str, kind: str, value: str) -> None:
    loc = parse_locator(text)
    assert loc is not None and (loc.kind, loc.value, loc.text) == (kind, value, text)


@pytest.mark.parametrize(
    "text",
    [
        "event_id:",
        "line:0",
        "line:01",
        "line:-1",
        "line:abc",
        "line:",
        "jsonptr:a",
        "jsonptr:/a~2",
        "file:x",
        "evt:1",
        "",
        "line 3",
        "EVENT_ID:x",
    ],
)
def test_malformed(text: str) -> None:
    assert parse_locator(text) is None


DOC = {"a": [{"b": 1}, {"c/d": 2, "e~f": 3}], "": {"x": None}}


@pytest.mark.parametrize(
    ("pointer", "found", "target"),
    [
        ("", True, DOC),
        ("/a/0/b", True, 1),
        ("/a/1/c~1d", True, 2),
        ("/a/1/e~0f", True, 3),
        ("/", True, {"x": None}),
        ("//x", True, None),
        ("/a/2", False, None),
        ("/a/-", False, None),
        ("/a/01", False, None),
        ("/a/0/b/c", False, None),
        ("/zz", False, None),
    ],
)
def test_resolve_jsonptr(pointer: str, found: bool, target: object) -> None:
    assert resolve_jsonptr(DOC, pointer) == (found, target)
