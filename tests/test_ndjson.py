"""The NDJSON scanner: the orjson hot path must never accept what the strict parser refuses."""

from pathlib import Path

import pytest

from vlab.core.strictjson import StrictJSONError, loads
from vlab.pack.ndjson import iter_records, read_line, scan
from vlab.pack.reader import PackReader

TRICKY = [
    b'{"event_id":"e","a":1,"a":2}',
    b'{"event_id": "e", "a": 1, "a": 2}',
    b'{"event_id":"e","a":1, "a" :2}',
    b'{"event_id":"e","a\\\\":1,"b":1,"b":2}',
    b'{"event_id":"e","k":":","k":1}',
    b'{"event_id":"e","x":{"a":1,"a":1}}',
    b'{"event_id":"e","a":NaN}',
    b'{"event_id":"e","a":1e999}',
    b'{"event_id":"e","a":123456789012345678901234567890}',
    b"[1,2]",
    b'"str"',
    b'{"event_id":"e","a":"\\ud800"}',
    b'{"event_id":"e","a":1.50}',
    b'{"event_id":"e","x":' + b"[" * 70 + b"]" * 70 + b"}",
    # deep with other bytes between the brackets (the chunk's bracket-run check sees it)
    b'{"event_id":"e","x":' + b'[1,{"k":' * 35 + b"1" + b"}]" * 35 + b"}",
    b'{"event_id":"e","n":1,"t":{"kind":"run","id":"r"}}',
    b'{"event_id": "e", "n": 1, "ok": true, "v": null}',
]


@pytest.mark.parametrize("line", TRICKY)
def test_hot_path_agrees_with_the_strict_parser(
    line: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The orjson hot path (forced on) must judge every line exactly as the strict parser."""
    import vlab.pack.ndjson as ndjson

    def run(fast_min: int) -> tuple[list[tuple[str, int | None]], int]:
        monkeypatch.setattr(ndjson, "FAST_PATH_MIN_BYTES", fast_min)
        root = tmp_path / f"p{fast_min}"
        (root / "trace").mkdir(parents=True)
        (root / "trace" / "events.ndjson").write_bytes(line + b"\n")
        reader = PackReader(root)
        reader.inventory()
        index, details = scan(
            reader, "trace/events.ndjson", event_log=True, wanted_ids={"e"}, max_depth=64
        )
        return [(d.code, d.line) for d in details], index.records

    strict = run(1 << 40)
    assert run(0) == strict
    try:
        value = loads(line)
    except StrictJSONError:
        assert strict[0], "the strict parser refused it, so a detail must say why"
    else:
        assert (strict[1] == 1) == isinstance(value, dict)


def _reader(tmp_path: Path, data: bytes) -> PackReader:
    (tmp_path / "trace").mkdir()
    (tmp_path / "trace" / "events.ndjson").write_bytes(data)
    reader = PackReader(tmp_path)
    reader.inventory()
    return reader


def test_scan_indexes_physical_lines_with_crlf_and_blanks(tmp_path: Path) -> None:
    data = b'{"event_id":"a"}\r\n\r\n  \n{"event_id":"b","x":1}\n{"event_id":"c"}'
    reader = _reader(tmp_path, data)
    index, details = scan(
        reader, "trace/events.ndjson", event_log=True, wanted_ids={"b", "zz"}, max_depth=64
    )
    assert details == []
    assert index.line_count == 5
    assert index.records == 3
    assert index.wanted_events == {"b": [4]}
    assert read_line(reader, index, 1) == b'{"event_id":"a"}'
    assert read_line(reader, index, 2) == b""
    assert read_line(reader, index, 4) == b'{"event_id":"b","x":1}'
    assert read_line(reader, index, 5) == b'{"event_id":"c"}'
    assert [n for n, _, _ in iter_records(reader, index)] == [1, 4, 5]
    assert [r["event_id"] for _, _, r in iter_records(reader, index, 4)] == ["b", "c"]


def test_scan_reports_each_fault_with_its_line(tmp_path: Path) -> None:
    data = b'{"event_id":"a"}\n{"event_id":"a"}\n{"x":1}\n[1]\n{"event_id":"d","k":1,"k":2}\n'
    reader = _reader(tmp_path, data)
    _, details = scan(reader, "trace/events.ndjson", event_log=True, wanted_ids=set(), max_depth=64)
    assert [(d.code, d.line) for d in details] == [
        ("CONTRACT-DUPLICATE-EVENT-ID", 2),
        ("CONTRACT-EVENT-ID-MISSING", 3),
        ("CONTRACT-NDJSON-NOT-OBJECT", 4),
        ("CONTRACT-DUPLICATE-KEY", 5),
    ]


def test_scan_handles_lines_split_across_read_chunks(tmp_path: Path, monkeypatch) -> None:
    import vlab.pack.reader as reader_mod

    monkeypatch.setattr(reader_mod, "CHUNK", 7)
    lines = [b'{"event_id":"evt-%d","pad":"%s"}' % (i, b"x" * i) for i in range(40)]
    reader = _reader(tmp_path, b"\n".join(lines) + b"\n")
    index, details = scan(
        reader, "trace/events.ndjson", event_log=True, wanted_ids={"evt-33"}, max_depth=64
    )
    assert details == [] and index.line_count == 40
    assert index.wanted_events == {"evt-33": [34]}
    assert read_line(reader, index, 34) == lines[33]


def test_a_deep_line_among_shallow_ones_is_found_on_the_hot_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The chunk-level bracket check must not let a deep line through with its neighbours."""
    import vlab.pack.ndjson as ndjson

    monkeypatch.setattr(ndjson, "FAST_PATH_MIN_BYTES", 0)
    lines = [b'{"event_id":"e%d","t":{"kind":"run"}}' % i for i in range(1000)]
    lines[500] = b'{"event_id":"deep","x":' + b'[1,{"k":' * 33 + b"1" + b"}]" * 33 + b"}"
    root = tmp_path / "p"
    (root / "trace").mkdir(parents=True)
    (root / "trace" / "events.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    reader = PackReader(root)
    reader.inventory()
    _, details = scan(reader, "trace/events.ndjson", event_log=True, wanted_ids=set(), max_depth=64)
    assert [(d.code, d.line) for d in details] == [("CONTRACT-DEPTH-EXCEEDED", 501)]


def test_duplicates_found_exactly_with_forced_hash_collisions_in_halves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every id on one hash (so every lookup is a collision to confirm), the log scanned
    in two halves: only the real duplicates are reported, each at its own line."""
    import vlab.pack.ndjson as ndjson

    monkeypatch.setattr(ndjson, "id_hash", lambda event_id: 7)
    monkeypatch.setattr(ndjson, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ndjson, "_split_point", lambda src: src.size // 2 + 1)
    ids = ["a", "b", "c", "b", "d", "a", "e", "e"]
    lines = [b'{"event_id":"%s","event_type":"x"}' % i.encode() for i in ids]
    # The split must fall on a line start: make every line the same length.
    reader = _reader(tmp_path, b"\n".join(lines) + b"\n")
    size = reader.source("trace/events.ndjson").size
    monkeypatch.setattr(ndjson, "_split_point", lambda src: (size // len(lines)) * 4)
    index, details = scan(
        reader, "trace/events.ndjson", event_log=True, wanted_ids=set(), max_depth=64
    )
    assert [(d.code, d.line) for d in details] == [
        ("CONTRACT-DUPLICATE-EVENT-ID", 4),
        ("CONTRACT-DUPLICATE-EVENT-ID", 6),
        ("CONTRACT-DUPLICATE-EVENT-ID", 8),
    ]
    assert index.line_count == 8
