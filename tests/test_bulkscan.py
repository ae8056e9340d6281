"""The bulk NDJSON scan (pack/bulkscan.py) must give exactly what the exact scan gives:
the same index for a clean log, and for anything else the exact scan's own findings."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import vlab.pack.bulkscan as bulkscan
import vlab.pack.ndjson as ndjson
import vlab.pack.reader as reader_mod
from vlab.pack.reader import PackReader

EVENTS = "trace/events.ndjson"


def _line(i: int, **extra: Any) -> bytes:
    body = b'{"event_id":"evt-%07d","event_type":"tool_call","n":%d' % (i, i)
    for k, v in extra.items():
        body += b',"%s":%s' % (k.encode(), v)
    return body + b"}"


def _clean(n: int) -> list[bytes]:
    return [_line(i) for i in range(n)]


def _reader(root: Path, data: bytes) -> PackReader:
    (root / "trace").mkdir(parents=True, exist_ok=True)
    (root / EVENTS).write_bytes(data)
    reader = PackReader(root)
    reader.inventory()
    return reader


def _summary(index: ndjson.NdjsonIndex, details: list[Any]) -> tuple[Any, ...]:
    return (
        [(d.code, d.line, d.message) for d in details],
        list(index.offsets),
        index.records,
        index.wanted_events,
        index.line_count,
    )


def _both(
    tmp_path: Path, data: bytes, wanted: set[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    """(bulk-first scan, exact scan) of the same bytes."""
    monkeypatch.setattr(ndjson, "FAST_PATH_MIN_BYTES", 0)
    reader = _reader(tmp_path / "p", data)
    got = bulkscan.scan(reader, EVENTS, event_log=True, wanted_ids=wanted, max_depth=64)
    src = reader.source(EVENTS)
    want = ndjson.exact_scan(src, EVENTS, event_log=True, wanted_ids=wanted, bounds=(64, 10**6))
    reader.close()
    return _summary(*got), _summary(*want)


CASES = {
    "clean": _clean(700),
    "spaced": [b'{"event_id": "e%d", "n": %d}' % (i, i) for i in range(300)],
    "mixed spacing": [
        b'{"event_id": "e%d", "n": 1}' % i if i % 2 else b'{"event_id":"e%d","n":1}' % i
        for i in range(300)
    ],
    "crlf and blanks": [_line(i) + (b"\r" if i % 3 else b"") for i in range(200)]
    + [b"", b"  \t", _line(999)],
    "duplicate far apart": [*_clean(500), _line(3)],
    "duplicate key": [*_clean(200), b'{"event_id":"x","a":1,"a":2}', *_clean(0)],
    "missing id": [*_clean(300), b'{"event_type":"x"}'],
    "empty id": [*_clean(300), b'{"event_id":""}'],
    "id not a string": [*_clean(300), b'{"event_id":7}'],
    "not an object": [*_clean(130), b"[1,2]", b'"s"'],
    "bad json": [*_clean(129), b'{"event_id":"z",}'],
    "boundary trick": [
        b'{"event_id":"a","x":[{"b":1}',
        b'{"c":2}]}',
        b'{"event_id":"y"},{"event_id":"z"}',
        *_clean(200),
    ],
    "float forms": [_line(i, v=b"1e5" if i == 7 else b"1.5") for i in range(200)],
    "nan": [*_clean(140), b'{"event_id":"q","v":NaN}'],
    "bom first": [b"\xef\xbb\xbf" + _line(0), *_clean(200)[1:]],
    "deep": [*_clean(150), b'{"event_id":"d","x":' + b"[" * 70 + b"]" * 70 + b"}"],
    "surrogate": [*_clean(150), b'{"event_id":"s","a":"\\ud800"}'],
    "eleven faults": [*_clean(10), *([b"[1]"] * 11), *_clean(10)],
}


# The hot path's tricky lines (tests/test_ndjson.py), each in the middle of a clean log.
TRICKY = [
    b'{"event_id":"e","a":1,"a":2}',
    b'{"event_id": "e", "a": 1, "a": 2}',
    b'{"event_id":"e","a":1, "a" :2}',
    b'{"event_id":"e","a\\\\":1,"b":1,"b":2}',
    b'{"event_id":"e","k":":","k":1}',
    b'{"event_id":"e","x":{"a":1,"a":1}}',
    b'{"event_id":"e","a":1e999}',
    b'{"event_id":"e","a":123456789012345678901234567890}',
    b'{"event_id":"e","a":1.50}',
    b'{"event_id":"e","x":' + b'[1,{"k":' * 35 + b"1" + b"}]" * 35 + b"}",
    b'{"event_id":"e","n":1,"t":{"kind":"run","id":"r"}}',
    b'{"event_id": "e", "n": 1, "ok": true, "v": null}',
    b'{"event_id":"e","s":"a\\": b", "t": 1}',
]
for n, line in enumerate(TRICKY):
    CASES[f"tricky {n}"] = [*_clean(150), line, *(_line(i) for i in range(1000, 1149))]


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("final_newline", [True, False])
def test_bulk_scan_agrees_with_the_exact_scan(
    name: str, final_newline: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = b"\n".join(CASES[name]) + (b"\n" if final_newline else b"")
    wanted = {"evt-0000003", "evt-0000999", "e5", "nowhere"}
    got, want = _both(tmp_path, data, wanted, monkeypatch)
    assert got == want


def test_a_clean_log_is_proven_without_the_exact_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted work: every id hash is checked once, and the per-line scan never runs."""
    calls: list[int] = []
    original = ndjson._scan_range
    monkeypatch.setattr(ndjson, "_scan_range", lambda *a: calls.append(1) or original(*a))
    monkeypatch.setattr(bulkscan, "checked", 0)
    got, want = _both(tmp_path, b"\n".join(_clean(5000)) + b"\n", {"evt-0004321"}, monkeypatch)
    assert got == want
    assert len(calls) == 1  # the exact scan of the comparison, not of ``scan``
    assert bulkscan.checked == 5000
    assert got[3] == {"evt-0004321": [4322]}


def test_forced_hash_collisions_send_the_log_to_the_exact_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every id on one key: the bulk scan cannot tell, the exact scan confirms on the ids —
    no duplicate invented, each real one reported at its line."""
    monkeypatch.setattr(bulkscan, "_key", lambda event_id: 7)
    clean = b"\n".join(_clean(300)) + b"\n"
    got, want = _both(tmp_path / "a", clean, set(), monkeypatch)
    assert got == want and got[0] == []
    lines = _clean(300)
    lines[150], lines[299] = lines[10], lines[20]
    got, want = _both(tmp_path / "b", b"\n".join(lines) + b"\n", set(), monkeypatch)
    assert got == want
    assert [(c, n) for c, n, _ in got[0]] == [
        ("CONTRACT-DUPLICATE-EVENT-ID", 151),
        ("CONTRACT-DUPLICATE-EVENT-ID", 300),
    ]


def test_hash_ranges_hold_every_hash_once() -> None:
    """The sort-and-cut partition: every key in exactly one range, each range in order."""
    parts: list[Any] = [bulkscan.array("q") for _ in range(bulkscan.PARTS)]
    keys = [hash(f"id-{i}") for i in range(20000)] + [-(1 << 63), (1 << 63) - 1, 0]
    bulkscan._partition(list(keys), parts)
    assert sorted(k for p in parts for k in p) == sorted(keys)
    bounds = [-(1 << 63), *bulkscan._BOUNDS, 1 << 63]
    for k, part in enumerate(parts):
        assert all(bounds[k] <= key < bounds[k + 1] for key in part)
    assert bulkscan.no_repeats(parts)
    bulkscan._partition([keys[5], keys[9], keys[5]], parts)
    assert not bulkscan.no_repeats(parts)


# -- the forked tail ----------------------------------------------------------------------


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[bulkscan.Prescan]:
    """Every log spooled, scanned in two parts, the child's files in a watched folder."""
    monkeypatch.setattr(reader_mod, "MEMORY_FILE_BYTES", 0)
    monkeypatch.setattr(ndjson, "FAST_PATH_MIN_BYTES", 0)
    monkeypatch.setattr(ndjson, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(bulkscan.os, "cpu_count", lambda: 2)
    spool = tmp_path / "spool"
    spool.mkdir()
    monkeypatch.setenv("TMPDIR", str(spool))
    monkeypatch.setattr(bulkscan.tempfile, "tempdir", str(spool))
    started: list[bulkscan.Prescan] = []
    original = bulkscan.Prescan.__init__

    def recording(self: bulkscan.Prescan, *args: Any) -> None:
        original(self, *args)
        self.first_pid = self.pid  # type: ignore[attr-defined]
        started.append(self)

    monkeypatch.setattr(bulkscan.Prescan, "__init__", recording)
    return started


def _reaped(job: Any) -> bool:
    """The child is gone and no longer ours (waited for), the parent's handle cleared."""
    try:
        os.waitpid(job.first_pid, os.WNOHANG)
    except ChildProcessError:
        return job.pid is None
    return False


@pytest.mark.parametrize("name", ["clean", "duplicate far apart", "crlf and blanks", "bad json"])
def test_the_forked_tail_agrees_and_leaves_nothing(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    lines = CASES[name]
    data = b"\n".join(lines) + b"\n"
    wanted = {"evt-0000003", "evt-0000999", "evt-0000650", "nowhere"}
    reader = _reader(tmp_path / "p", data)
    reader.seal_read(EVENTS, 1 << 20)
    got = _summary(*bulkscan.scan(reader, EVENTS, event_log=True, wanted_ids=wanted, max_depth=64))
    want = _summary(
        *ndjson.exact_scan(
            reader.source(EVENTS), EVENTS, event_log=True, wanted_ids=wanted, bounds=(64, 10**6)
        )
    )
    assert got == want
    assert len(forked) == 1 and _reaped(forked[0])
    assert os.listdir(tmp_path / "spool") == []  # unlinked spool files: never a name
    reader.close()


def test_a_duplicate_across_the_two_parts_is_found(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    lines = _clean(400)
    lines[390] = lines[2]  # the head's id again in the tail
    reader = _reader(tmp_path / "p", b"\n".join(lines) + b"\n")
    reader.seal_read(EVENTS, 1 << 20)
    _, details = bulkscan.scan(reader, EVENTS, event_log=True, wanted_ids=set(), max_depth=64)
    assert [(d.code, d.line) for d in details] == [("CONTRACT-DUPLICATE-EVENT-ID", 391)]
    assert len(forked) == 1 and _reaped(forked[0])
    reader.close()


def test_the_prescan_starts_at_seal_time_and_is_claimed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    reader = _reader(tmp_path / "p", b"\n".join(_clean(600)) + b"\n")
    bulkscan_start = bulkscan.start_prescan
    reader.seal_read(EVENTS, 1 << 20, lambda src: bulkscan_start(reader, EVENTS, src, (64, 10**6)))
    assert len(forked) == 2 and all(j.pid is not None for j in forked)  # before CONTRACT
    index, details = bulkscan.scan(
        reader, EVENTS, event_log=True, wanted_ids={"evt-0000599"}, max_depth=64
    )
    assert details == [] and index.records == 600
    assert index.wanted_events == {"evt-0000599": [600]}
    assert len(forked) == 2 and all(map(_reaped, forked))  # claimed, not started again
    reader.close()


def test_an_unclaimed_prescan_is_killed_and_reaped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    """An admission that stops before CONTRACT (here: the reader is closed) leaves no child."""
    reader = _reader(tmp_path / "p", b"\n".join(_clean(600)) + b"\n")
    reader.seal_read(
        EVENTS, 1 << 20, lambda src: bulkscan.start_prescan(reader, EVENTS, src, (64, 10**6))
    )
    assert len(forked) == 2 and all(j.pid is not None for j in forked)
    reader.discard_pending()
    assert all(map(_reaped, forked))
    assert reader.claim(("prescan", EVENTS)) is None
    reader.close()


def test_an_admission_that_fails_early_reaps_the_prescan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    """SECURITY starts the prescan of a large event log; INTEGRITY then fails (no sums
    file): the child is killed and reaped, and the log's scan never ran."""
    from vlab.engine.admission import admit

    root = tmp_path / "pack"
    reader = _reader(root, b"\n".join(_clean(600)) + b"\n")
    (root / "manifest.json").write_bytes(b"{}")
    reader = PackReader(root)
    admission = admit(reader, lambda ruleset_id: None)
    assert any(g.status == "FAIL" for g in admission.gates)
    assert len(forked) == 2 and all(map(_reaped, forked))
    assert reader.claim(("prescan", EVENTS)) is None
    reader.close()


@pytest.mark.parametrize("chunk", [5, 7, 64, 1 << 22])
def test_the_over_long_line_is_numbered_over_the_sealed_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """The line-length scan counts no newlines while it reads; the number of the first
    over-long line is counted afterwards, and is the naive count's."""
    monkeypatch.setattr(reader_mod, "CHUNK", chunk)
    for spool in (0, 1 << 20):
        monkeypatch.setattr(reader_mod, "MEMORY_FILE_BYTES", spool)
        for at in (0, 3, 17):
            lines = [b"x" * (i % 9) for i in range(30)]
            lines[at] = b"y" * 41
            data = b"\r\n".join(lines) + b"\n"
            root = tmp_path / f"c{chunk}-{spool}-{at}"
            reader = _reader(root, data)
            assert reader.seal_read(EVENTS, 40).too_long == at + 1
            assert reader.hash_file(EVENTS, 40)[1] == at + 1
            assert reader.seal_read(EVENTS, 41).too_long is None
            reader.close()


def test_ctrl_c_during_admission_reaps_the_prescan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    """A KeyboardInterrupt in a gate after SECURITY (the children running) propagates, and
    no child outlives it."""
    from vlab.engine import admission
    from vlab.engine.admission import pin

    def interrupted(ctx: Any) -> Any:
        assert len(forked) == 2 and all(j.pid is not None for j in forked)
        raise KeyboardInterrupt

    monkeypatch.setattr(pin, "run", interrupted)
    root = tmp_path / "pack"
    _reader(root, b"\n".join(_clean(600)) + b"\n")
    reader = PackReader(root)
    with pytest.raises(KeyboardInterrupt):
        admission.admit(reader, lambda ruleset_id: None)
    assert len(forked) == 2 and all(map(_reaped, forked))
    reader.close()


def test_a_child_that_dies_sends_the_log_to_the_exact_scan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, forked: list[Any]
) -> None:
    """A child killed (Ctrl-C reaches the whole process group) reports nothing: the exact
    scan judges the log, with the same result."""
    import signal

    lines = _clean(600)
    reader = _reader(tmp_path / "p", b"\n".join(lines) + b"\n")
    reader.seal_read(
        EVENTS, 1 << 20, lambda src: bulkscan.start_prescan(reader, EVENTS, src, (64, 10**6))
    )
    os.kill(forked[1].pid, signal.SIGINT)
    exact: list[int] = []
    original = ndjson.exact_scan
    monkeypatch.setattr(ndjson, "exact_scan", lambda *a, **k: exact.append(1) or original(*a, **k))
    index, details = bulkscan.scan(
        reader, EVENTS, event_log=True, wanted_ids={"evt-0000500"}, max_depth=64
    )
    assert details == [] and index.records == 600
    assert index.wanted_events == {"evt-0000500": [501]}
    assert all(map(_reaped, forked))
    # The child may have finished before the signal landed; either way the answer is one.
    assert len(exact) <= 1
    reader.close()


@pytest.mark.parametrize("ending", [".tgz", ".zip"])
def test_an_archive_pack_numbers_the_over_long_line_as_its_folder_does(
    tmp_path: Path, ending: str
) -> None:
    from vlab.pack.archive import unpacked, write_archive
    from vlab.pack.limits import Limits

    lines = [b'{"event_id":"e%d"}' % i for i in range(30)]
    lines[17] = b'{"event_id":"long","pad":"' + b"x" * 60 + b'"}'
    folder = tmp_path / "pack"
    _reader(folder, b"\n".join(lines) + b"\n").close()
    (folder / "manifest.json").write_bytes(b"{}")  # not one top-level folder: the root
    archive = tmp_path / f"pack{ending}"
    write_archive(folder, archive)
    limits = Limits(max_line_bytes=40)
    with unpacked(archive, limits) as reader:
        reader.inventory()
        assert reader.seal_read(EVENTS, 40).too_long == 18
        assert reader.hash_file(EVENTS, 40)[1] == 18
    direct = PackReader(folder, limits)
    direct.inventory()
    assert direct.seal_read(EVENTS, 40).too_long == 18
    direct.close()
