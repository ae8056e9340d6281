"""Archive packs (issue 17, scale.md §1): good archives whose ruling is the folder's, and
one vector for each way an archive is refused before anything in it is parsed."""

from __future__ import annotations

import io
import struct
import unicodedata
import zipfile
from collections.abc import Callable

from scripts.vectors.model import Archive, Case, Gate
from vlab.pack.archive import Entry

SEC = "ADM-GATE-SECURITY"
ENTRY = "SECURITY-ARCHIVE-ENTRY"
BOMB = "SECURITY-ARCHIVE-BOMB"
CORRUPT = "SECURITY-ARCHIVE-CORRUPT"
EntriesEdit = Callable[[list[Entry]], list[Entry]]


def good(name: str, description: str, archive: Archive) -> Case:
    return Case("archive", name, description, archive=archive)


def refused(name: str, description: str, archive: Archive, codes: list[str], **limits: int) -> Case:
    return Case(
        "archive",
        name,
        description,
        ruleset=None,
        gate=Gate(SEC, codes),
        archive=archive,
        limits=limits,  # type: ignore[typeddict-item]
    )


def adding(*extra: Entry) -> EntriesEdit:
    """The pack's entries and these after them."""
    return lambda entries: [*entries, *extra]


def file_as_folder(entries: list[Entry]) -> list[Entry]:
    """trace/ written as a file: trace/events.ndjson then needs a file as its folder."""
    return [Entry("trace", "file", b"x\n") if e.name == "trace" else e for e in entries]


def folder_as_file(entries: list[Entry]) -> list[Entry]:
    """manifest.json also written as a folder (after the file of that name)."""
    return [*entries, Entry("manifest.json", "dir")]


def truncated(keep: Callable[[int], int]) -> Callable[[bytes], bytes]:
    return lambda data: data[: keep(len(data))]


def zip_declares(member: str, size: int) -> Callable[[bytes], bytes]:
    """A zip whose local header and central directory both declare ``size`` bytes for
    ``member`` (a size that lies; its CRC is the real bytes')."""

    def edit(data: bytes) -> bytes:
        out = bytearray(data)
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            info = zf.getinfo(member)
            start = zf.start_dir
        struct.pack_into("<L", out, info.header_offset + 22, size)
        pos = out.find(b"PK\x01\x02", start)
        while pos != -1:
            (name_len,) = struct.unpack_from("<H", out, pos + 28)
            if out[pos + 46 : pos + 46 + name_len] == member.encode("utf-8"):
                struct.pack_into("<L", out, pos + 24, size)
            pos = out.find(b"PK\x01\x02", pos + 46)
        return bytes(out)

    return edit


def tar_declares(member: str, size: int) -> Callable[[bytes], bytes]:
    """A tar whose header for ``member`` declares ``size`` bytes (checksum fixed up)."""
    import tarfile

    def edit(data: bytes) -> bytes:
        out = bytearray(data)
        with tarfile.open(fileobj=io.BytesIO(data)) as tf:
            offset = tf.getmember(member).offset
        out[offset + 124 : offset + 136] = b"%011o\0" % size
        out[offset + 148 : offset + 156] = b" " * 8
        out[offset + 148 : offset + 156] = b"%06o\0 " % sum(out[offset : offset + 512])
        return bytes(out)

    return edit


CAFE_NFC = unicodedata.normalize("NFC", "artifacts/café.json")
CAFE_NFD = unicodedata.normalize("NFD", "artifacts/café.json")
ZEROS = Entry("artifacts/zeros.txt", "file", b"\0" * (1 << 20))  # 1 MiB, ~1000:1

CASES: list[Case] = [
    # -- good archives: the ruling is the folder's (tests/test_archive.py compares them) --
    good("pass-tar", "the starter pack as a .tar, its files at the root", Archive(".tar")),
    good(
        "pass-tar-top", "a .tar with the pack under one top-level folder", Archive(".tar", "run-1")
    ),
    good("pass-tar-gz", "a .tar.gz, files at the root", Archive(".tar.gz")),
    good("pass-tar-gz-top", "a .tar.gz under one top-level folder", Archive(".tar.gz", "pack")),
    good("pass-tgz", "a .tgz, files at the root", Archive(".tgz")),
    good(
        "pass-tgz-dot",
        "a .tgz as `tar -C pack -czf x.tgz .` writes it (./ names)",
        Archive(".tgz", dot=True),
    ),
    good("pass-tgz-top", "a .tgz under one top-level folder", Archive(".tgz", "pack")),
    good("pass-zip", "a .zip, files at the root", Archive(".zip")),
    good("pass-zip-top", "a .zip under one top-level folder", Archive(".zip", "pack")),
    # -- names --
    refused(
        "traversal-tar",
        "a .tar entry named ../x.json (outside the pack)",
        Archive(".tar", entries=adding(Entry("../x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "traversal-zip",
        "a .zip entry named artifacts/../../x.json",
        Archive(".zip", entries=adding(Entry("artifacts/../../x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "absolute-tar",
        "a .tar entry with an absolute name",
        Archive(".tar", entries=adding(Entry("/tmp/x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "absolute-zip",
        "a .zip entry with an absolute name",
        Archive(".zip", entries=adding(Entry("/tmp/x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "backslash-zip",
        "a .zip entry whose name holds a backslash",
        Archive(".zip", entries=adding(Entry("artifacts\\x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "drive-letter-zip",
        "a .zip entry whose name starts with a drive letter",
        Archive(".zip", entries=adding(Entry("C:/x.json", "file", b"{}"))),
        [ENTRY],
    ),
    refused(
        "duplicate-nfc-tar",
        "two .tar entries equal after Unicode NFC normalisation (café composed and not)",
        Archive(
            ".tar",
            entries=adding(Entry(CAFE_NFC, "file", b"{}"), Entry(CAFE_NFD, "file", b"[]")),
        ),
        [ENTRY],
    ),
    refused(
        "duplicate-nfc-zip",
        "two .zip entries equal after Unicode NFC normalisation",
        Archive(
            ".zip",
            entries=adding(Entry(CAFE_NFD, "file", b"{}"), Entry(CAFE_NFC, "file", b"[]")),
        ),
        [ENTRY],
    ),
    refused(
        "duplicate-case-tar",
        "two .tar entries equal after case folding (Note.txt, note.txt)",
        Archive(
            ".tar",
            entries=adding(
                Entry("artifacts/Note.txt", "file", b"a\n"),
                Entry("artifacts/note.txt", "file", b"b\n"),
            ),
        ),
        [ENTRY],
    ),
    refused(
        "duplicate-case-zip",
        "a .zip entry and a folder of another equal after case folding (MANIFEST.JSON/x.txt)",
        Archive(".zip", entries=adding(Entry("MANIFEST.JSON/x.txt", "file", b"a\n"))),
        [ENTRY],
    ),
    refused(
        "duplicate-name-tar",
        "the same .tar entry name twice (the second would overwrite the first)",
        Archive(".tar", entries=adding(Entry("manifest.json", "file", b"{}"))),
        [ENTRY],
    ),
    # -- kinds --
    refused(
        "symlink-tar",
        "a symbolic link in a .tar",
        Archive(
            ".tar", entries=adding(Entry("artifacts/link.json", "symlink", target="/etc/passwd"))
        ),
        [ENTRY],
    ),
    refused(
        "symlink-zip",
        "a symbolic link in a .zip (unix mode S_IFLNK)",
        Archive(".zip", entries=adding(Entry("artifacts/link.json", "symlink", target="../../x"))),
        [ENTRY],
    ),
    refused(
        "hardlink-tgz",
        "a hard link in a .tgz",
        Archive(
            ".tgz", entries=adding(Entry("artifacts/copy.json", "hardlink", target="manifest.json"))
        ),
        [ENTRY],
    ),
    refused(
        "device-tar",
        "a character device in a .tar",
        Archive(".tar", entries=adding(Entry("artifacts/null.txt", "chardev"))),
        [ENTRY],
    ),
    refused(
        "device-zip",
        "a character device in a .zip (unix mode S_IFCHR)",
        Archive(".zip", entries=adding(Entry("artifacts/null.txt", "chardev"))),
        [ENTRY],
    ),
    refused(
        "fifo-tar-gz",
        "a FIFO in a .tar.gz",
        Archive(".tar.gz", entries=adding(Entry("artifacts/pipe.txt", "fifo"))),
        [ENTRY],
    ),
    refused(
        "fifo-zip",
        "a FIFO in a .zip (unix mode S_IFIFO)",
        Archive(".zip", entries=adding(Entry("artifacts/pipe.txt", "fifo"))),
        [ENTRY],
    ),
    refused(
        "file-as-folder-tar",
        "a .tar whose trace is a file while trace/events.ndjson needs it as a folder",
        Archive(".tar", entries=file_as_folder),
        [ENTRY],
    ),
    refused(
        "folder-as-file-zip",
        "a .zip holding manifest.json both as a file and as a folder",
        Archive(".zip", entries=folder_as_file),
        [ENTRY],
    ),
    # -- sizes and damage --
    refused(
        "bomb-tgz",
        "a .tgz entry of 1 MiB of zeros (about 1000:1, over the 200:1 bound)",
        Archive(".tgz", entries=adding(ZEROS)),
        [BOMB],
    ),
    refused(
        "bomb-zip",
        "a .zip entry declaring 1 MiB from about 1 KiB compressed (refused before inflating)",
        Archive(".zip", entries=adding(ZEROS)),
        [BOMB],
    ),
    refused(
        "size-lies-zip",
        "a .zip entry declaring 100 bytes that decompresses to more (its CRC is right)",
        Archive(".zip", raw=zip_declares("trace/events.ndjson", 100)),
        [BOMB],
    ),
    refused(
        "truncated-tar",
        "a .tar cut off inside a header (tarfile alone would end there quietly)",
        Archive(".tar", raw=truncated(lambda n: 2600)),
        [CORRUPT],
    ),
    refused(
        "truncated-tar-data",
        "a .tar cut off inside an entry's data",
        Archive(".tar", raw=truncated(lambda n: 3200)),
        [CORRUPT],
    ),
    refused(
        "size-lies-tar",
        "a .tar entry declaring more bytes than the archive holds",
        Archive(".tar", raw=tar_declares("trace/events.ndjson", 1 << 20)),
        [CORRUPT],
    ),
    refused(
        "truncated-tgz",
        "a .tgz cut off half way through its compressed stream",
        Archive(".tgz", raw=truncated(lambda n: n // 2)),
        [CORRUPT],
    ),
    refused(
        "truncated-zip",
        "a .zip without its end (the central directory is lost)",
        Archive(".zip", raw=truncated(lambda n: n - 40)),
        [CORRUPT],
    ),
    refused(
        "not-an-archive-zip",
        "a file named pack.zip that is not a zip archive",
        Archive(".zip", raw=lambda data: b"this is not a zip archive\n"),
        [CORRUPT],
    ),
    refused(
        "too-many-files-zip",
        "a .zip that would unpack to more files than --max-files 3",
        Archive(".zip"),
        ["SECURITY-TOO-MANY-FILES"],
        max_files=3,
    ),
    refused(
        "file-too-large-tgz",
        "a .tgz whose event log declares more bytes than --max-file-bytes 600",
        Archive(".tgz"),
        ["SECURITY-FILE-TOO-LARGE"],
        max_file_bytes=600,
    ),
]
