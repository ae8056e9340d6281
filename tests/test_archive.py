"""Archive packs (issue 17, scale.md §1): every hostile archive refused with its code before
anything in it is parsed, the private folder gone afterwards (also on errors, Ctrl-C and
SIGTERM), nothing written outside it, and an archive's ruling byte-identical to the same
pack's ruling as a folder."""

from __future__ import annotations

import io
import json
import os
import signal
import stat
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import LIVENESS_TIMEOUT_S, REPO, clean_env

if TYPE_CHECKING:
    from vlab.ruleset.catalog import Catalog
    from vlab.tools.regress import Vector

VECTORS = REPO / "evidence_packs"
ARCHIVES = VECTORS / "archive"


def _vectors(catalog: Catalog, root: Path = VECTORS) -> dict[str, Vector]:
    from vlab.tools.regress import load_vectors

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = catalog.get(ruleset_id)
        return None if rs is None else {c.clause_id for c in rs.clauses}

    return {v.id: v for v in load_vectors(root, clause_ids_of, None)}


@pytest.fixture(scope="module")
def vectors(catalog: Catalog) -> dict[str, Vector]:
    return _vectors(catalog)


ARCHIVE_IDS = sorted(f"archive/{p.name}" for p in ARCHIVES.iterdir() if p.is_dir())
GOOD_IDS = [i for i in ARCHIVE_IDS if i.startswith("archive/pass-")]
HOSTILE_IDS = [i for i in ARCHIVE_IDS if i not in GOOD_IDS]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder tempfile uses in this process (and TMPDIR for children)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.setenv("TMPDIR", str(folder))
    return folder


def _ruling_bytes(ruling: Any) -> bytes:
    from vlab.core.canonical import canonical_bytes

    return canonical_bytes(ruling.to_json())


# -- every hostile vector: refused with its code, the private folder removed -------------


@pytest.mark.parametrize("vector_id", HOSTILE_IDS)
def test_hostile_archive_is_refused_with_its_code(
    vector_id: str, vectors: dict[str, Vector], catalog: Catalog, private_tmp: Path
) -> None:
    from vlab.tools.regress import judge_vector

    vector = vectors[vector_id]
    assert vector.pack.is_file()
    ruling = judge_vector(vector, catalog, digest=True)
    want = vector.expected["admission"]
    assert (ruling.admission.status, ruling.admission.reason_code) == (
        "NOT_ADMISSIBLE",
        "ADM-GATE-SECURITY-FAIL",
    )
    security = ruling.admission.gates[0]
    assert [d.code for d in security.details] == want["detail_codes"]
    assert ruling.pack.digest is None  # as for a folder the SECURITY gate refuses
    assert list(private_tmp.iterdir()) == []


def test_every_archive_code_has_a_vector() -> None:
    from vlab.core.codes import registry

    codes = {c for c in registry()["detail_codes"] if c.startswith("SECURITY-ARCHIVE-")}
    shown = set()
    for vector_id in HOSTILE_IDS:
        expected = json.loads((VECTORS / vector_id / "expected.json").read_text("utf-8"))
        shown |= set(expected["admission"]["detail_codes"])
    assert codes == {"SECURITY-ARCHIVE-ENTRY", "SECURITY-ARCHIVE-BOMB", "SECURITY-ARCHIVE-CORRUPT"}
    assert codes <= shown


# -- hostile archives built here (cases a vector would be large for, or cannot hold) ------


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]], gz: bool = False) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w", format=tarfile.PAX_FORMAT) as tf:
        for info, data in members:
            tf.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def _file(name: str, data: bytes, **fields: Any) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in fields.items():
        setattr(info, key, value)
    return info, data


def _refusals(path: Path, **limits: int) -> list[tuple[str, str | None, str]]:
    from vlab.engine.pipeline import opened_pack
    from vlab.pack.limits import Limits

    with opened_pack(path, Limits(**limits)) as reader:
        return [(d.code, d.artifact_path, d.message) for d in reader.inventory().refusals]


def _codes(path: Path, **limits: int) -> list[str]:
    return [code for code, _, _ in _refusals(path, **limits)]


def test_a_pax_header_over_the_bound_is_refused_unread(tmp_path: Path, private_tmp: Path) -> None:
    big = _file("notes.txt", b"x\n")
    big[0].pax_headers = {"comment": "a" * (2 << 20)}
    path = tmp_path / "p.tgz"
    path.write_bytes(_tar([big], gz=True))
    found = _refusals(path)
    assert [c for c, _, _ in found] == ["SECURITY-ARCHIVE-ENTRY"]
    assert "a tar header of" in found[0][2]
    assert list(private_tmp.iterdir()) == []


def test_a_name_with_nul_is_refused() -> None:
    from vlab.pack.archive import _Unpacker
    from vlab.pack.limits import Limits

    u = _Unpacker(Path("/nonexistent"), Limits())
    assert u.entry("manifest.json\x00.txt", "file", 1) is None
    assert [d.code for d in u.refusals] == ["SECURITY-ARCHIVE-ENTRY"]
    assert "NUL" in u.refusals[0].message


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../x.json", "'..'"),
        ("a/./x.json", "'.'"),
        ("/x.json", "absolute"),
        ("a\\x.json", "backslash"),
        ("C:x.json", "drive letter"),
        ("c:/x.json", "drive letter"),
        ("a//x.json", "empty segment"),
        ("a/\x07.json", "control character"),
        ("x" * 256 + ".json", "too long"),
        ("a\udcff.json", "UTF-8"),
    ],
)
def test_unsafe_names_are_refused(name: str, why: str) -> None:
    from vlab.pack.archive import _Unpacker
    from vlab.pack.limits import Limits

    u = _Unpacker(Path("/nonexistent"), Limits())
    assert u.entry(name, "file", 1) is None
    assert len(u.refusals) == 1 and why in u.refusals[0].message, u.refusals


def test_dot_slash_names_and_the_root_entry_are_the_pack_root() -> None:
    from vlab.pack.archive import _Unpacker
    from vlab.pack.limits import Limits

    u = _Unpacker(Path("/nonexistent"), Limits())
    assert u.entry("./", "dir", 0) is None  # the archive's root itself
    assert u.entry(".", "dir", 0) is None
    assert u.entry("./manifest.json", "file", 1) == "manifest.json"
    assert u.entry("./trace/", "dir", 0) == "trace"
    assert u.refusals == []


def test_a_non_utf8_zip_name_and_an_encrypted_entry_are_refused(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("caf\u00e9.json", b"{}")  # zipfile marks a non-ASCII name UTF-8
        zf.writestr("secret.json", b"{}")
    data = bytearray(out.getvalue())
    # clear the UTF-8 flag of the first entry and set the encrypted flag of the second,
    # in their central directory records
    pos = data.find(b"PK\x01\x02")
    data[pos + 9] &= ~0x08  # general purpose flags: bit 11 is bit 3 of the high byte
    pos = data.find(b"PK\x01\x02", pos + 4)
    data[pos + 8] |= 0x01
    path = tmp_path / "p.zip"
    path.write_bytes(bytes(data))
    found = _refusals(path)
    assert [c for c, _, _ in found] == ["SECURITY-ARCHIVE-ENTRY", "SECURITY-ARCHIVE-ENTRY"]
    assert "not marked UTF-8" in found[0][2]
    assert "encrypted" in found[1][2]


def test_a_zip_central_directory_larger_than_its_entries_can_need(tmp_path: Path) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        for i in range(2000):
            zf.writestr(f"artifacts/{i:04}-{'n' * 60}.txt", b"x")
    path = tmp_path / "p.zip"
    path.write_bytes(out.getvalue())
    # 3 files and 1 folder allowed: a central directory of 128 KiB at most (the floor),
    # this one is over 200 KiB: refused before zipfile reads it
    found = _refusals(path, max_files=3, max_folders=1)
    assert [c for c, _, _ in found] == ["SECURITY-TOO-MANY-ENTRIES"]
    assert "central directory" in found[0][2]


def test_counts_depth_and_sparse_files(tmp_path: Path) -> None:
    many = tmp_path / "many.tar"
    many.write_bytes(_tar([_file(f"a{i}.txt", b"x\n") for i in range(10)]))
    assert _codes(many, max_files=3) == ["SECURITY-TOO-MANY-FILES"]
    links = []
    for i in range(10):
        link = tarfile.TarInfo(f"l{i}.json")
        link.type = tarfile.SYMTYPE
        link.linkname = "x"
        links.append((link, None))
    many.write_bytes(_tar(links))  # each refused, every entry counted: 3 + 1 + 1 of them
    codes = _codes(many, max_files=3, max_folders=1)
    assert codes == ["SECURITY-ARCHIVE-ENTRY"] * 5 + ["SECURITY-TOO-MANY-ENTRIES"]
    deep = tmp_path / "deep.tar"
    deep.write_bytes(_tar([_file("/".join("d" * 10) + "/x.txt", b"x\n")]))
    assert _codes(deep, max_folder_depth=3) == ["SECURITY-TOO-DEEP"]
    folders = tmp_path / "folders.tar"
    folders.write_bytes(_tar([_file(f"d{i}/x.txt", b"x\n") for i in range(5)]))
    assert _codes(folders, max_folders=2) == ["SECURITY-TOO-MANY-FOLDERS"]
    sparse = tmp_path / "sparse.tar"
    sparse.write_bytes(_tar([_file("x.txt", b"x\n", type=tarfile.GNUTYPE_SPARSE)]))
    assert _codes(sparse) == ["SECURITY-ARCHIVE-ENTRY"]


def test_the_pack_bound_counts_declared_bytes(tmp_path: Path) -> None:
    path = tmp_path / "p.tgz"
    path.write_bytes(_tar([_file(f"a{i}.txt", b"x" * 400) for i in range(3)], gz=True))
    assert _codes(path, max_pack_bytes=1000) == ["SECURITY-PACK-TOO-LARGE"]


def test_data_skipped_after_a_refusal_is_bounded_too(tmp_path: Path) -> None:
    """After a refusal, data is skipped (inflated, never written): a bomb there is
    caught by the stream's own ratio bound."""
    link = tarfile.TarInfo("link.json")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    path = tmp_path / "p.tgz"
    path.write_bytes(_tar([(link, None), _file("zeros.txt", b"\0" * (8 << 20))], gz=True))
    assert _codes(path) == ["SECURITY-ARCHIVE-ENTRY", "SECURITY-ARCHIVE-BOMB"]


def test_a_small_file_of_one_repeated_byte_is_not_a_bomb(tmp_path: Path) -> None:
    """The ratio counts at least RATIO_FLOOR compressed bytes: 100 KiB of spaces (far over
    200:1) unpacks."""
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("notes.txt", b" " * (100 << 10))
    assert _codes(path) == []


def test_an_empty_or_garbage_archive_is_corrupt(tmp_path: Path) -> None:
    for name, data in (("e.tar", b""), ("g.tgz", b"\x1f\x8bgarbage"), ("z.tar", b"\0" * 100)):
        path = tmp_path / name
        path.write_bytes(data)
        assert _codes(path) == ["SECURITY-ARCHIVE-CORRUPT"], name


def test_a_named_archive_that_is_not_a_regular_file(tmp_path: Path) -> None:
    from vlab.core.errors import UsageError
    from vlab.engine.pipeline import opened_pack

    fifo = tmp_path / "p.tar"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="not a pack directory or archive file"):  # noqa: SIM117
        with opened_pack(fifo):
            pass
    with pytest.raises(UsageError, match="pack not found"):  # noqa: SIM117
        with opened_pack(tmp_path / "missing.zip"):
            pass


# -- the private folder ---------------------------------------------------------------


def test_the_private_folder_is_private_and_removed(
    vectors: dict[str, Vector], private_tmp: Path
) -> None:
    from vlab.engine.pipeline import opened_pack

    with opened_pack(vectors["archive/pass-tgz"].pack) as reader:
        assert reader.has("manifest.json") is False  # not walked yet
        assert any(f.path == "manifest.json" for f in reader.inventory().files)
        # a small pack is kept in memory: nothing on disk at all (decision 236)
        assert list(private_tmp.iterdir()) == []
    assert list(private_tmp.iterdir()) == []


def test_the_private_folder_is_removed_on_an_error_and_on_ctrl_c(
    vectors: dict[str, Vector], private_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.engine.pipeline import opened_pack
    from vlab.pack import archive

    with pytest.raises(RuntimeError):  # noqa: SIM117
        with opened_pack(vectors["archive/pass-zip"].pack):
            raise RuntimeError("a failure while judging")
    assert list(private_tmp.iterdir()) == []

    def interrupt(self: Any, files: int) -> None:
        if files == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(archive._Pause, "reached", interrupt)
    for name in ("pass-tar", "pass-tgz", "pass-zip"):
        with pytest.raises(KeyboardInterrupt):  # noqa: SIM117
            with opened_pack(vectors[f"archive/{name}"].pack):
                pass
        assert list(private_tmp.iterdir()) == [], name


def _paused_child(
    tmp_path: Path, pack: Path, tmp: Path, after: int
) -> tuple[subprocess.Popen[bytes], Path]:
    """``vlab adjudicate PACK`` in a subprocess, paused after ``after`` files are unpacked
    (the test hook waits on a FIFO): returns once the child has said it is paused."""
    fifo = tmp_path / "pause.fifo"
    os.mkfifo(fifo)
    env = clean_env({"TMPDIR": str(tmp), "VLAB_TEST_ARCHIVE_PAUSE": f"{after}:{fifo}"})
    child = subprocess.Popen(
        [sys.executable, "-m", "vlab", "adjudicate", str(pack), "--quiet"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    said: list[bytes] = []
    reader = threading.Thread(target=lambda: said.append(fifo.read_bytes()), daemon=True)
    reader.start()  # blocks until the child opens the FIFO, reads until it closes it
    reader.join(LIVENESS_TIMEOUT_S)
    if reader.is_alive():
        child.kill()
        pytest.fail("the child never reached the pause")
    assert said == [b"paused\n"]
    return child, fifo


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@pytest.mark.parametrize("name", ["pass-tgz", "pass-zip"])
def test_a_signal_mid_unpacking_removes_the_private_folder(
    tmp_path: Path, sig: int, status: int, name: str
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    (pack,) = (ARCHIVES / name).glob("pack.*")
    child, _ = _paused_child(tmp_path, pack, tmp, 2)
    # two files unpacked, none of them on disk: they are in the reader's store in memory
    assert list(tmp.iterdir()) == []
    child.send_signal(sig)
    _, err = child.communicate(timeout=LIVENESS_TIMEOUT_S)
    assert child.returncode == status, err
    assert b"Traceback" not in err
    assert list(tmp.iterdir()) == []


# -- nothing written outside the private folder, nothing else read by the unpacking -------

AUDIT = r"""
import json, os, sys
log = open(sys.argv[1], "w")
HERE = "vlab/pack/archive.py"
WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
PATH_EVENTS = {"os.mkdir", "os.rename", "os.replace", "os.remove", "os.rmdir", "os.link",
               "os.symlink", "os.truncate", "os.chmod", "os.chown", "os.utime",
               "shutil.rmtree", "shutil.copyfile", "shutil.copymode", "shutil.copystat",
               "shutil.move", "shutil.copytree", "tempfile.mkdtemp", "tempfile.mkstemp",
               "os.mkfifo", "os.mknod"}
DIR_FD_LAST = {"os.mkdir", "os.remove", "os.rmdir"}

def where(path, dir_fd=None):
    if isinstance(path, int):
        return os.readlink(f"/proc/self/fd/{path}")
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        return None
    if dir_fd is not None and dir_fd >= 0 and not os.path.isabs(path):
        return os.path.join(os.readlink(f"/proc/self/fd/{dir_fd}"), path)
    return os.path.abspath(path)

def frames():
    f = sys._getframe(2)
    while f is not None:
        yield f.f_code.co_filename, f.f_code.co_name
        f = f.f_back

def record(event, path, write, relative=False):
    names = list(frames())
    log.write(json.dumps({
        "event": event, "path": path, "write": write, "relative": relative,
        "archive_code": any(n.endswith(HERE) for n, _ in names),
        # tempfile's own check, once a process, that its folder is writable
        "probe": any(n.endswith("tempfile.py") and f == "_get_default_tempdir" for n, f in names),
        # inside shutil.rmtree's walk (by descriptors: names relative to the tree it removes)
        "rmtree": any(n.endswith("shutil.py") and f.startswith("_rmtree") for n, f in names),
    }) + "\n")
    log.flush()

def hook(event, args):
    if event == "open":
        path, mode, flags = args
        if isinstance(path, int):
            return
        names = list(frames())
        if any(n.startswith("<frozen importlib") for n, _ in names):
            return  # a module being imported
        writes = (mode is not None and any(c in mode for c in "wax+")) or bool(flags & WRITES)
        if writes or any(n.endswith(HERE) for n, _ in names):
            record(event, where(path), writes, not os.path.isabs(os.fsdecode(path)))
    elif event in PATH_EVENTS:
        dir_fd = args[-1] if event in DIR_FD_LAST and isinstance(args[-1], int) else None
        for p in args[:2]:
            if isinstance(p, (str, bytes, os.PathLike)):
                record(event, where(os.fspath(p), dir_fd), True)
    elif event in ("os.scandir", "os.listdir"):
        if any(n.endswith(HERE) for n, _ in frames()):
            record(event, where(args[0]), False)

import vlab.cli, vlab.engine.pipeline, vlab.pack.archive, tarfile, zipfile, zlib  # warm
sys.addaudithook(hook)
from vlab.cli import main
main(sys.argv[2:])
"""


def _large_archive(tmp_path: Path) -> Path:
    """The starter PASS pack with a file over the reader's memory bound, as a .tgz."""
    import hashlib
    import shutil

    from vlab.pack import reader as pack_reader
    from vlab.pack.archive import write_archive
    from vlab.pack.seal import seal

    folder = tmp_path / "large" / "pack"
    shutil.copytree(VECTORS / "starter" / "arb-d1-budget-pass-fixture" / "pack", folder)
    (folder / "artifacts").mkdir(exist_ok=True)
    # incompressible (a repeated line would be refused as a bomb), and deterministic
    (folder / "artifacts" / "blob.txt").write_bytes(
        b"".join(
            hashlib.sha256(b"%d" % i).hexdigest().encode() + b"\n"
            for i in range(pack_reader.MEMORY_FILE_BYTES // 65 + 100)
        )
    )
    seal(folder)
    write_archive(folder, tmp_path / "large" / "pack.tgz")
    return tmp_path / "large" / "pack.tgz"


@pytest.mark.parametrize(
    "vector_id",
    ["archive/pass-tgz-top", "archive/pass-zip", "archive/pass-tar", "archive/bomb-tgz", "large"],
)
def test_nothing_is_written_outside_the_private_folder(tmp_path: Path, vector_id: str) -> None:
    """A small pack is unpacked into memory: no write at all. A pack with a file over the
    memory bound spools it into one private folder, and nothing else is written."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    if vector_id == "large":
        pack = _large_archive(tmp_path)
    else:
        pack = next((VECTORS / vector_id).glob("pack.*"))
    log = tmp_path / "audit.jsonl"
    proc = subprocess.run(
        [sys.executable, "-B", "-c", AUDIT, str(log), "adjudicate", str(pack), "--quiet"],
        cwd=REPO,
        env=clean_env({"TMPDIR": str(tmp), "PYTHONDONTWRITEBYTECODE": "1"}),
        capture_output=True,
        timeout=LIVENESS_TIMEOUT_S,
        check=False,
    )
    assert proc.returncode in (0, 2), proc.stderr
    events = [json.loads(line) for line in log.read_text("utf-8").splitlines()]
    made = [e for e in events if e["event"] == "tempfile.mkdtemp"]
    writes = [e for e in events if e["write"] and e["event"] != "tempfile.mkdtemp"]
    # what the unpacking read (rmtree's relative names are under the rmtree event's path,
    # the private folder)
    read_by_unpacking = [
        e for e in events if e["archive_code"] and not e["write"] and not e["rmtree"]
    ]
    assert read_by_unpacking, "the archive was seen being opened"
    allowed = {str(pack.resolve())}
    if vector_id != "large":
        assert made == [] and writes == []
        assert [e for e in read_by_unpacking if e["path"] not in allowed] == []
        assert list(tmp.iterdir()) == []
        return
    assert len(made) == 1
    private = made[0]["path"]
    assert Path(private).parent == tmp and Path(private).name.startswith("vlab-archive-")
    inside = private + os.sep

    def within(path: str | None) -> bool:
        return path is not None and (path == private or path.startswith(inside))

    assert [e for e in writes if e["event"] == "os.rmdir" and e["path"] == private], "removed"
    # Python's tempfile checks once that TMPDIR is writable (a file it makes and removes
    # at once, before the private folder exists): the only write outside it.
    probe = [e for e in writes if e["probe"]]
    assert [e["event"] for e in probe] in ([], ["open", "os.remove"])
    assert all(Path(e["path"]).parent == tmp for e in probe)
    assert all(events.index(e) < events.index(made[0]) for e in probe)
    writes = [e for e in writes if not e["probe"]]
    assert [e for e in writes if e["relative"] or not within(e["path"])] == []
    assert [e for e in writes if e["event"] == "open" and within(e["path"])], "the spool"
    outside = [e for e in read_by_unpacking if not within(e["path"]) and e["path"] not in allowed]
    assert outside == []
    assert list(tmp.iterdir()) == []


# -- archive ruling == folder ruling ----------------------------------------------------


def _extract(archive: Path, into: Path) -> Path:
    """The archive's pack as a folder, unpacked by the standard library alone."""
    if archive.suffix == ".zip":
        with zipfile.ZipFile(archive) as zf:
            zf.extractall(into)
    else:
        with tarfile.open(archive) as tf:
            tf.extractall(into, filter="data")
    entries = list(into.iterdir())
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else into


@pytest.mark.parametrize("vector_id", GOOD_IDS)
def test_a_good_archive_rules_as_its_folder(
    vector_id: str, vectors: dict[str, Vector], catalog: Catalog, tmp_path: Path
) -> None:
    from vlab.tools.regress import judge_vector

    vector = vectors[vector_id]
    folder = _extract(vector.pack, tmp_path / "folder")
    as_archive = judge_vector(vector, catalog, digest=True)
    as_folder = judge_vector(replace(vector, pack=folder), catalog, digest=True)
    assert as_archive.topline == "PASS"
    assert as_archive.pack.digest is not None
    assert _ruling_bytes(as_archive) == _ruling_bytes(as_folder)


# Folder vectors whose ruling as an archive differs by design: the archive refuses the entry
# itself, with its own code (scale.md §1), where the walk of a folder has another.
ARCHIVE_OWN_CODE = {
    "admission/security-unsafe-name": "a backslash in a name: SECURITY-ARCHIVE-ENTRY",
}


def test_every_golden_vector_packed_as_an_archive_rules_as_its_folder(
    vectors: dict[str, Vector], catalog: Catalog, tmp_path: Path, private_tmp: Path
) -> None:
    """Every folder vector (all groups, every gate, PASS to NOT_ADMISSIBLE) written as an
    archive (the four kinds in turn, every other one under a top-level folder): the same
    ruling, byte for byte, digests included."""
    from vlab.core.errors import UsageError
    from vlab.pack.archive import write_archive
    from vlab.tools.regress import judge_vector

    compared, linked = 0, []
    for i, vector_id in enumerate(sorted(i for i, v in vectors.items() if v.pack.is_dir())):
        vector = vectors[vector_id]
        ending = (".tar", ".tar.gz", ".tgz", ".zip")[i % 4]
        archive = tmp_path / f"{i}{ending}"
        try:
            write_archive(vector.pack, archive, top="pack" if i % 2 else None)
        except UsageError:  # a pack holding a link: no archive pack can hold one
            linked.append(vector_id)
            continue
        as_folder = _ruling_bytes(judge_vector(vector, catalog, digest=True))
        as_archive = _ruling_bytes(
            judge_vector(replace(vector, pack=archive), catalog, digest=True)
        )
        if vector_id in ARCHIVE_OWN_CODE:
            assert as_archive != as_folder
            continue
        assert as_archive == as_folder, vector_id
        compared += 1
    assert linked == ["admission/security-symlink"]
    assert compared >= 300, compared
    assert list(private_tmp.iterdir()) == []


# -- reproducible archives, and corpora that hold them ------------------------------------


def test_archive_bytes_do_not_depend_on_times_or_owners(tmp_path: Path) -> None:
    from vlab.pack.archive import archive_bytes, folder_entries

    pack = REPO / "evidence_packs/starter/arb-d1-budget-pass-fixture/pack"
    copy = tmp_path / "copy"
    for path in sorted(pack.rglob("*")):
        dest = copy / path.relative_to(pack)
        if path.is_dir():
            dest.mkdir(parents=True, exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(path.read_bytes())
            os.utime(dest, (1_000_000_000, 1_000_000_000))
            dest.chmod(0o600)
    for kind in ("tar", "tgz", "zip"):
        one = archive_bytes(folder_entries(pack), kind)  # type: ignore[arg-type]
        two = archive_bytes(folder_entries(copy), kind)  # type: ignore[arg-type]
        assert one == two, kind


def test_regress_and_diff_find_archive_packs(tmp_path: Path, catalog: Catalog) -> None:
    from vlab.tools.corpus import find_packs

    found = dict(find_packs(ARCHIVES))
    assert "pass-zip/pack.zip" in found and "pass-tgz/pack.tgz" in found
    assert len(found) == len(ARCHIVE_IDS)
    loaded = _vectors(catalog, ARCHIVES)
    assert sorted(f"archive/{i}" for i in loaded) == ARCHIVE_IDS
    assert all(v.pack.is_file() for v in loaded.values())
    both = tmp_path / "both"
    (both / "pack").mkdir(parents=True)
    (both / "expected.json").write_bytes((ARCHIVES / "pass-tar" / "expected.json").read_bytes())
    (both / "pack.tar").write_bytes((ARCHIVES / "pass-tar" / "pack.tar").read_bytes())
    from vlab.core.errors import UsageError

    with pytest.raises(UsageError, match="more than one pack/ folder or pack archive"):
        _vectors(catalog, tmp_path)


def test_vlab_regress_runs_the_archive_vectors(vlab: Any) -> None:
    proc = vlab("regress", ARCHIVES, "--jobs", "2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["total"] == len(ARCHIVE_IDS) and summary["failed"] == 0


@pytest.mark.parametrize("kind", ["tar", "tgz", "zip"])
def test_an_archive_refused_for_sizes_gets_the_folders_refusals(tmp_path: Path, kind: str) -> None:
    """A file over --max-file-bytes is never unpacked; the walk over the archive's listing
    still refuses it as the folder walk does (every problem, the walk's order, the pack
    bound last), whatever the order of the archive's entries."""
    from vlab.pack.archive import archive_bytes, folder_entries
    from vlab.pack.limits import Limits
    from vlab.pack.reader import PackReader

    folder = tmp_path / "pack"
    (folder / "z").mkdir(parents=True)
    (folder / "a-b").mkdir()
    (folder / "z" / "big.txt").write_bytes(b"x" * 5000)
    (folder / "a-b" / "run.sh").write_bytes(b"echo\n")
    (folder / "manifest.json").write_bytes(b"{}" * 3000)
    (folder / "notes.md").write_bytes(b"n\n")
    limits = Limits(max_file_bytes=4096, max_pack_bytes=9000)
    want = PackReader(folder, limits).inventory().refusals
    assert [d.code for d in want] == [
        "SECURITY-DISALLOWED-ENDING",
        "SECURITY-FILE-TOO-LARGE",
        "SECURITY-FILE-TOO-LARGE",
        "SECURITY-PACK-TOO-LARGE",
    ]
    for order in (1, -1):
        entries = folder_entries(folder, "top")
        path = tmp_path / f"p{order}.{kind}"
        path.write_bytes(archive_bytes([entries[0], *entries[1:][::order]], kind))  # type: ignore[arg-type]
        from vlab.engine.pipeline import opened_pack

        with opened_pack(path, limits) as reader:
            assert reader.inventory().refusals == want, order


@pytest.mark.parametrize("kind", ["tar", "tgz", "zip"])
def test_a_large_entry_is_kept_in_the_spool_and_rules_as_the_folder(
    tmp_path: Path, private_tmp: Path, catalog: Catalog, kind: str
) -> None:
    """A file over the reader's memory bound goes to the spool (an unlinked file in the
    private folder, decision 236); the ruling is still the folder's, and the folder is
    gone afterwards."""
    import hashlib
    import shutil

    from vlab.engine.pipeline import adjudicate, opened_pack
    from vlab.pack import reader as pack_reader
    from vlab.pack.archive import write_archive
    from vlab.pack.seal import seal

    folder = tmp_path / "pack"
    shutil.copytree(VECTORS / "starter" / "arb-d1-budget-pass-fixture" / "pack", folder)
    blob = folder / "artifacts" / "blob.txt"
    blob.parent.mkdir(exist_ok=True)
    # incompressible (a repeated line would be refused as a bomb), and deterministic
    blob.write_bytes(
        b"".join(
            hashlib.sha256(b"%d" % i).hexdigest().encode() + b"\n"
            for i in range(pack_reader.MEMORY_FILE_BYTES // 65 + 100)
        )
    )
    seal(folder)
    archive = tmp_path / f"p.{kind}"
    write_archive(folder, archive)
    want = _ruling_bytes(adjudicate(folder, catalog))
    assert _ruling_bytes(adjudicate(archive, catalog)) == want
    assert json.loads(want)["topline"] == "PASS"
    with opened_pack(archive) as reader:
        reader.inventory()
        src = reader.source("artifacts/blob.txt")
        assert src.data is None and src.fd >= 0  # in the spool, not in memory
        assert src.size == blob.stat().st_size
        (private,) = private_tmp.iterdir()  # made for the spool
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        assert list(private.iterdir()) == []  # the spool is unlinked: nothing to list
    assert list(private_tmp.iterdir()) == []


@pytest.mark.parametrize("kind", ["tgz", "zip"])
def test_a_refusal_that_stops_unpacking_names_the_entry_as_it_is(
    tmp_path: Path, private_tmp: Path, kind: str
) -> None:
    """A bomb in the first folder of an archive whose root holds more than that folder:
    the unpacking stops before it has seen the other entries, so it must not take that
    folder for the pack's root (the refusal names ``artifacts/blob.txt``, not ``blob.txt``)."""
    from vlab.engine.pipeline import opened_pack
    from vlab.pack.archive import write_archive

    folder = tmp_path / "pack"
    (folder / "artifacts").mkdir(parents=True)
    (folder / "artifacts" / "blob.txt").write_bytes(b"0" * (4 << 20))
    (folder / "manifest.json").write_bytes(b"{}")
    archive = tmp_path / f"p.{kind}"
    write_archive(folder, archive)
    with opened_pack(archive) as reader:
        refusals = reader.inventory().refusals
    assert [(d.code, d.artifact_path) for d in refusals] == [
        ("SECURITY-ARCHIVE-BOMB", "artifacts/blob.txt")
    ]
