"""The bytes judged are the bytes sealed: a pack rewritten while vlab reads it is judged on
the bytes the SECURITY gate hashed, or refused — never judged on other bytes. The walk
follows no link, bounds every count while listing, and reads names as UTF-8 bytes.

Races are provoked two ways: deterministically (a hook rewrites the file at an exact point
of the read), and by a writer process racing the engine (the attacker's reproducer). The
second cannot flake: its assertion is an invariant of every single ruling, whatever the
interleaving; only how many rulings hit the race varies, and that is not asserted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import LIVENESS_TIMEOUT_S, REPO, clean_env
from vlab.pack import ndjson, reader
from vlab.pack.limits import Limits
from vlab.pack.reader import PackReader

FIXTURE = REPO / "evidence_packs/d1-01/fail-outcome-blank/pack"  # FAIL: a blank outcome
EVENTS = "trace/events.ndjson"
SEALED = b'"decision_outcome":"  "'
SWAPPED = b'"decision_outcome":"ok"'  # same length: an in-place rewrite that would PASS


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    root = tmp_path / "pack"
    shutil.copytree(FIXTURE, root)
    return root


def _swap_in_place(path: Path) -> None:
    data = path.read_bytes()
    at = data.index(SEALED)
    with open(path, "r+b") as fh:
        fh.seek(at)
        fh.write(SWAPPED)


def _swap_by_rename(path: Path) -> None:
    tmp = path.with_name(".events.tmp")
    tmp.write_bytes(path.read_bytes().replace(SEALED, SWAPPED))
    os.replace(tmp, path)


SWAPS = {"in-place": _swap_in_place, "rename": _swap_by_rename}


def _after_seal_read(
    monkeypatch: pytest.MonkeyPatch, target: str, action: Callable[[], None]
) -> None:
    original = PackReader.seal_read

    def patched(self: PackReader, path: str, max_line: int | None) -> Any:
        result = original(self, path, max_line)
        if path == target:
            action()
        return result

    monkeypatch.setattr(PackReader, "seal_read", patched)


def test_the_fixture_fails_and_the_swap_would_pass(pack: Path, judge: Any) -> None:
    assert judge(pack)["topline"] == "FAIL"
    _swap_by_rename(pack / EVENTS)
    from vlab.pack.seal import seal

    seal(pack)
    assert judge(pack)["topline"] == "PASS"  # so a missed race would show as a PASS


@pytest.mark.parametrize("swap", sorted(SWAPS))
def test_a_rewrite_after_hashing_does_not_change_the_ruling(
    pack: Path, judge: Any, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """The CONTRACT gate and the evaluation read the SECURITY gate's copy: the ruling is
    byte for byte the ruling of the untouched pack."""
    untouched = judge(pack)
    _after_seal_read(monkeypatch, EVENTS, lambda: SWAPS[swap](pack / EVENTS))
    assert judge(pack) == untouched
    assert SWAPPED in (pack / EVENTS).read_bytes()  # the rewrite did happen


def _during_hash(monkeypatch: pytest.MonkeyPatch, action: Callable[[], None]) -> None:
    original = reader._hash_fd

    def patched(fd: int, size: int, max_line: int | None, sink: Any) -> Any:
        action()
        return original(fd, size, max_line, sink)

    monkeypatch.setattr(reader, "_hash_fd", patched)


def _gate(ruling: dict[str, Any], name: str) -> dict[str, Any]:
    gates = {g["gate"]: g for g in ruling["admission"]["gates"]}
    found = gates[name]
    assert isinstance(found, dict)
    return found


def test_a_file_that_grows_while_hashed_is_refused(
    pack: Path, judge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def grow() -> None:
        with open(pack / EVENTS, "ab") as fh:
            fh.write(b"\n")

    _during_hash(monkeypatch, grow)
    ruling = judge(pack)
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    details = _gate(ruling, "ADM-GATE-SECURITY")["details"]
    assert {d["code"] for d in details} == {"INTEGRITY-CHANGED-DURING-READ"}
    assert "while it was being read" in details[0]["message"]


@pytest.mark.parametrize("swap", sorted(SWAPS))
def test_a_file_changed_between_listing_and_reading_is_refused(
    pack: Path, judge: Any, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    original = PackReader.seal_read

    def patched(self: PackReader, path: str, max_line: int | None) -> Any:
        if path == EVENTS:
            SWAPS[swap](pack / EVENTS)
            with open(pack / EVENTS, "ab") as fh:  # a size change: visible at any clock
                fh.write(b"\n")
        return original(self, path, max_line)

    monkeypatch.setattr(PackReader, "seal_read", patched)
    ruling = judge(pack)
    details = _gate(ruling, "ADM-GATE-SECURITY")["details"]
    assert [(d["code"], d["artifact_path"]) for d in details] == [
        ("INTEGRITY-CHANGED-DURING-READ", EVENTS)
    ]


def test_reads_after_sealing_never_touch_the_live_file(pack: Path) -> None:
    """Fail closed: a file the SECURITY gate did not copy cannot be read at all."""
    r = PackReader(pack)
    r.inventory()
    r.seal_read("manifest.json", None)
    (pack / "manifest.json").write_bytes(b"{}")
    assert r.read_bytes("manifest.json") != b"{}"
    with pytest.raises(reader.PackAccessError):
        r.read_bytes("bundle.manifest.json")


@pytest.mark.parametrize("kernel_copy", [True, False])
def test_large_files_are_copied_to_the_spool_and_scanned_in_two_halves(
    pack: Path, monkeypatch: pytest.MonkeyPatch, kernel_copy: bool
) -> None:
    """The spool copy (not memory) and the forked half-scan read the same sealed bytes."""
    monkeypatch.setattr(reader, "MEMORY_FILE_BYTES", 0)
    monkeypatch.setattr(ndjson, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(ndjson.os, "cpu_count", lambda: 2)
    if not kernel_copy:  # another file system: copied while hashed, in user space

        def cross_device(*args: Any) -> int:
            raise OSError(18, "Invalid cross-device link")

        monkeypatch.setattr(reader.os, "copy_file_range", cross_device)
    r = PackReader(pack)
    r.inventory()
    sealed = r.seal_read(EVENTS, 1 << 20)
    _swap_by_rename(pack / EVENTS)
    assert r.source(EVENTS).data is None  # on the spool
    index, details = ndjson.scan(r, EVENTS, event_log=True, wanted_ids=set(), max_depth=64)
    data = FIXTURE.joinpath(EVENTS).read_bytes()
    assert details == []
    assert index.line_count == data.count(b"\n")
    assert hashlib.sha256(r.read_bytes(EVENTS)).hexdigest() == sealed.hexdigest
    assert SEALED in ndjson.read_line(r, index, 2)
    r.close()


# -- the attacker's reproducers: a writer process racing the engine ------------------------

WRITER = textwrap.dedent(
    """
    import os, sys
    path, mode, stop = sys.argv[1], sys.argv[2], sys.argv[3]
    sealed, swapped = {sealed!r}, {swapped!r}
    data = open(path, "rb").read()
    at = data.index(sealed)
    versions = [data, data.replace(sealed, swapped)]
    i = 0
    print("ready", flush=True)
    while not os.path.exists(stop):
        i ^= 1
        if mode == "in-place":
            with open(path, "r+b") as fh:
                fh.seek(at)
                fh.write(versions[i][at : at + len(sealed)])
        else:
            tmp = path + ".tmp"
            with open(tmp, "wb") as fh:
                fh.write(versions[i])
            os.replace(tmp, path)
    """
).format(sealed=SEALED, swapped=SWAPPED)


@pytest.fixture
def racing_writer(tmp_path: Path) -> Iterator[Callable[[Path, str], None]]:
    procs: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(target: Path, mode: str) -> None:
        stop = tmp_path / f"stop-{len(procs)}"
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target), mode, str(stop)],
            stdout=subprocess.PIPE,
            env=clean_env(),
        )
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n"
        procs.append((proc, stop))

    yield start
    for proc, stop in procs:
        stop.touch()
        proc.wait(timeout=LIVENESS_TIMEOUT_S)


@pytest.mark.parametrize("mode", ["in-place", "rename"])
def test_a_racing_writer_never_gets_a_ruling_about_unsealed_bytes(
    pack: Path, judge: Any, racing_writer: Callable[[Path, str], None], mode: str
) -> None:
    sealed_lines = {
        "sha256:" + hashlib.sha256(line).hexdigest()
        for line in FIXTURE.joinpath(EVENTS).read_bytes().split(b"\n")
    }
    untouched = judge(pack)
    racing_writer(pack / EVENTS, mode)
    outcomes: dict[str, int] = {}
    for _ in range(200):
        ruling = judge(pack)
        top = ruling["topline"]
        outcomes[top] = outcomes.get(top, 0) + 1
        assert top in ("FAIL", "NOT_ADMISSIBLE"), ruling
        if top == "FAIL":
            assert ruling == untouched  # the sealed bytes' ruling, to the byte
        for clause in ruling["clauses"]:
            for ref in clause["evidence_refs"]:
                assert ref["sha256"] in sealed_lines
    assert sum(outcomes.values()) == 200


def test_a_folder_swapped_for_a_link_never_lists_outside_names(
    tmp_path: Path, pack: Path, judge: Any
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret-outside-name.json").write_bytes(b"{}")
    (pack / "artifacts").mkdir()
    (pack / "artifacts" / "inside.json").write_bytes(b"{}")
    swapper = textwrap.dedent(
        """
        import os, sys
        folder, outside, stop = sys.argv[1:4]
        real = folder + ".real"
        print("ready", flush=True)
        while not os.path.exists(stop):
            os.rename(folder, real)  # the folder becomes a link to a folder outside...
            os.symlink(outside, folder)
            os.remove(folder)  # ...and back
            os.rename(real, folder)
        """
    )
    stop = tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, "-c", swapper, str(pack / "artifacts"), str(outside), str(stop)],
        stdout=subprocess.PIPE,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        for _ in range(100):
            text = repr(judge(pack))
            assert "secret-outside-name" not in text
    finally:
        stop.touch()
        proc.wait(timeout=LIVENESS_TIMEOUT_S)


# -- the walk: bounds enforced while listing -----------------------------------------------


class CountingScandir:
    """Counts the directory entries the walk pulls from the kernel."""

    def __init__(self) -> None:
        self.entries = 0
        self._real = os.scandir

    def __call__(self, fd: Any) -> Any:
        real = self._real(fd)
        counter = self

        class Wrapped:
            def __enter__(self) -> Any:
                real.__enter__()
                return self

            def __exit__(self, *exc: Any) -> None:
                real.__exit__(*exc)

            def __iter__(self) -> Any:
                for entry in real:
                    counter.entries += 1
                    yield entry

        return Wrapped()


def _codes(r: PackReader) -> list[str]:
    return [d.code for d in r.inventory().refusals]


def test_a_huge_folder_is_refused_after_the_bound_not_listed_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "p"
    (root / "many").mkdir(parents=True)
    for i in range(300):
        (root / "many" / f"{i}.json").write_bytes(b"{}")
    counting = CountingScandir()
    monkeypatch.setattr(reader.os, "scandir", counting)
    r = PackReader(root, Limits(max_files=50, max_folders=50))
    assert _codes(r) == ["SECURITY-TOO-MANY-ENTRIES"]
    assert counting.entries <= 1 + 101  # the root's one entry, then the bound plus one


def test_empty_folders_count(tmp_path: Path) -> None:
    root = tmp_path / "p"
    for i in range(30):
        (root / f"d{i:02}").mkdir(parents=True)
    assert _codes(PackReader(root, Limits(max_folders=29))) == ["SECURITY-TOO-MANY-FOLDERS"]
    assert _codes(PackReader(root, Limits(max_folders=30))) == []


def test_nesting_is_bounded(tmp_path: Path) -> None:
    deep = tmp_path / "p"
    for i in range(10):
        deep = deep / f"d{i}"
    deep.mkdir(parents=True)
    assert _codes(PackReader(tmp_path / "p", Limits(max_folder_depth=9))) == ["SECURITY-TOO-DEEP"]
    assert _codes(PackReader(tmp_path / "p", Limits(max_folder_depth=10))) == []


def test_a_hard_link_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (tmp_path / "outside.json").write_bytes(b"{}")
    os.link(tmp_path / "outside.json", root / "inside.json")
    refusals = PackReader(root).inventory().refusals
    assert [(d.code, d.artifact_path) for d in refusals] == [("SECURITY-HARDLINK", "inside.json")]


def test_a_name_that_is_not_utf8_is_refused_under_any_file_system_encoding(
    tmp_path: Path,
) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "ok.json").write_bytes(b"{}")
    os.close(os.open(os.fsencode(root) + b"/caf\xe9.json", os.O_CREAT | os.O_WRONLY))
    refusals = PackReader(root).inventory().refusals
    assert [(d.code, d.artifact_path) for d in refusals] == [
        ("SECURITY-UNSAFE-PATH", "caf\ufffd.json")
    ]


# -- locales: the same ruling bytes under UTF-8, Latin-1 and EUC-JP --------------------------

LOCALES = {"en_US.ISO-8859-1": ("en_US", "ISO-8859-1"), "ja_JP.EUC-JP": ("ja_JP", "EUC-JP")}
NAME = "artifacts/caf\u00e9-\u65e5\u672c.json"  # é is Latin-1; 日本 is EUC-JP


@pytest.fixture(scope="module")
def locale_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Latin-1 and EUC-JP locales compiled by ``localedef`` (skip where it cannot)."""
    where = tmp_path_factory.mktemp("locales")
    if shutil.which("localedef") is None:
        pytest.skip("localedef is not installed")
    for name, (source, charmap) in LOCALES.items():
        proc = subprocess.run(
            ["localedef", "-i", source, "-f", charmap, str(where / name)],
            capture_output=True,
            timeout=LIVENESS_TIMEOUT_S,
            check=False,
        )
        if not (where / name).is_dir():
            pytest.skip(f"localedef cannot build {name}: {proc.stderr[-200:]!r}")
    return where


def _non_ascii_pack(tmp_path: Path, name: str) -> Path:
    src = REPO / "evidence_packs/d1-01/pass-jsonptr-into-json-artifact/pack"
    root = tmp_path / name
    shutil.copytree(src, root)
    pointers = (root / "evidence_pointers.json").read_text(encoding="utf-8")
    old = next(p for p in root.rglob("*.json") if p.parent.name == "artifacts")
    rel_old = old.relative_to(root).as_posix()
    assert rel_old in pointers
    os.rename(old, os.fsencode(root) + b"/" + NAME.encode("utf-8"))
    (root / "evidence_pointers.json").write_text(pointers.replace(rel_old, NAME), encoding="utf-8")
    bundle = json.loads((root / "bundle.manifest.json").read_text(encoding="utf-8"))
    bundle["run_id"] = "run-\u65e5\u672c"  # printed by every format, table included
    (root / "bundle.manifest.json").write_text(json.dumps(bundle), encoding="utf-8")
    return root


def test_the_same_ruling_bytes_under_every_locale(tmp_path: Path, locale_dir: Path) -> None:
    rulings = {}
    for loc in ("C.UTF-8", *LOCALES):
        root = _non_ascii_pack(tmp_path, f"pack-{loc}")
        env = clean_env({"LOCPATH": str(locale_dir), "LC_ALL": loc, "PYTHONUTF8": "0"})
        env.pop("PYTHONIOENCODING", None)
        seal = subprocess.run(
            [sys.executable, "-m", "vlab", "pack", "seal", str(root)],
            capture_output=True,
            env=env,
            timeout=LIVENESS_TIMEOUT_S,
            check=False,
        )
        assert seal.returncode == 0, seal.stderr
        sums = (root / "integrity/sha256sums.txt").read_bytes()
        assert NAME.encode("utf-8") in sums  # UTF-8 names, whatever the locale
        proc = subprocess.run(
            [sys.executable, "-m", "vlab", "adjudicate", str(root), "--format", "json"],
            capture_output=True,
            env=env,
            cwd=tmp_path,
            timeout=LIVENESS_TIMEOUT_S,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        rulings[loc] = proc.stdout
        # the table too: a character the locale cannot spell is escaped, never a crash
        table = subprocess.run(
            [sys.executable, "-m", "vlab", "adjudicate", str(root), "--format", "table"],
            capture_output=True,
            env=env,
            cwd=tmp_path,
            timeout=LIVENESS_TIMEOUT_S,
            check=False,
        )
        assert table.returncode == 0, table.stderr
    assert NAME.encode("utf-8") in rulings["C.UTF-8"]
    assert len(set(rulings.values())) == 1, rulings
