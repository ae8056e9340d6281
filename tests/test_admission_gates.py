"""Admission gates (adjudication.md §1, evidence-pack.md): one case per failure mode.

Every case runs ``vlab adjudicate PACK --format json`` and ``vlab validate PACK --format
json`` through the CLI entry point (in-process, for speed; tests/test_cli.py runs the
real subprocess) and checks: exit status 2, topline and admission NOT_ADMISSIBLE, the
failed gate's reason code, FAIL on that gate and SKIPPED on every later one, the exact
detail codes (with artifact_path / line / locator where they locate something), every
clause NOT_ADMISSIBLE with the gate's code, and the pack facts each gate guards.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from packs import (
    CLAUSE_IDS,
    EVENTS,
    EVENTS_PATH,
    POINTERS,
    SUMS_PATH,
    good_pack,
    read_json,
    remove,
    schema_bundle_sha256,
    write,
    write_json,
)
from vlab.core.codes import registry
from vlab.pack.reader import PackAccessError, PackReader

if TYPE_CHECKING:
    from conftest import InProcessRunner

SECURITY, PIN, INTEGRITY, CONTRACT = GATES = (
    "ADM-GATE-SECURITY",
    "ADM-GATE-PIN",
    "ADM-GATE-INTEGRITY",
    "ADM-GATE-CONTRACT",
)
BUNDLE = "bundle.manifest.json"
MANIFEST = "manifest.json"
POINTERS_FILE = "evidence_pointers.json"
UNSET: Any = object()  # "do not check this detail field"


# -- running the CLI (in-process: the ``vlab_in_process`` fixture of conftest.py) ------


@pytest.fixture
def cli_judge(vlab_in_process: InProcessRunner) -> Callable[..., tuple[int, Any]]:
    """``adjudicate --format json`` (exit status, ruling); also checks ``validate`` agrees."""

    def run(pack: Path, *limits: Any, ruleset: str | None = None) -> tuple[int, Any]:
        extra = ("--ruleset", ruleset) if ruleset else ()
        code, out, _ = vlab_in_process("adjudicate", pack, "--format", "json", *extra, *limits)
        ruling = json.loads(out)
        vcode, vout, _ = vlab_in_process("validate", pack, "--format", "json", *limits)
        admission = json.loads(vout)
        assert admission == ruling["admission"]
        assert vcode == (0 if admission["status"] == "ADMISSIBLE" else 2)
        return code, ruling

    return run


# -- assertions ----------------------------------------------------------------------


def D(code: str, path: Any = UNSET, line: Any = UNSET, locator: Any = UNSET) -> dict[str, Any]:
    """An expected detail: the code plus whichever location fields the case pins down."""
    want: dict[str, Any] = {"code": code}
    for key, value in (("artifact_path", path), ("line", line), ("locator", locator)):
        if value is not UNSET:
            want[key] = value
    return want


def assert_not_admissible(
    code: int,
    ruling: dict[str, Any],
    gate: str,
    expected: list[dict[str, Any]],
    run_id: str | None = "run-001",
) -> None:
    reason = gate + "-FAIL"
    assert code == 2
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    admission = ruling["admission"]
    assert admission["status"] == "NOT_ADMISSIBLE"
    assert admission["reason_code"] == reason
    assert [g["gate"] for g in admission["gates"]] == list(GATES)
    failed = GATES.index(gate)
    statuses = [g["status"] for g in admission["gates"]]
    assert statuses == ["PASS"] * failed + ["FAIL"] + ["SKIPPED"] * (len(GATES) - failed - 1)
    for g in admission["gates"]:
        if g["status"] != "FAIL":
            assert g["details"] == []
    details = admission["gates"][failed]["details"]
    got = [{k: d[k] for k in want} for d, want in zip(details, expected, strict=False)]
    assert (got, len(details)) == (expected, len(expected)), details
    registered = registry()["detail_codes"]
    for d in details:
        assert set(d) == {"code", "artifact_path", "locator", "line", "message", "advisory"}
        assert d["code"] in registered
        assert d["advisory"] is False
        assert isinstance(d["message"], str) and d["message"]
    # every clause of the ruleset (when it is known) is NOT_ADMISSIBLE with the gate's code
    for clause in ruling["clauses"]:
        assert clause["status"] == "NOT_ADMISSIBLE"
        assert clause["reason_code"] == reason
        assert clause["evidence_refs"] == []
    if gate == SECURITY:
        # nothing inside an unsafe pack is read, so its pinned ruleset is not known
        assert ruling["clauses"] == []
    if gate in (INTEGRITY, CONTRACT):
        assert [c["clause_id"] for c in ruling["clauses"]] == list(CLAUSE_IDS)
        assert ruling["ruleset"]["id"] == "ruleset-1.1"
    assert ruling["reason_codes"] == [reason]
    # pack facts come only from files that passed the gate that checks them
    pack = ruling["pack"]
    assert pack["run_id"] == (run_id if failed > GATES.index(PIN) else None)
    if failed > GATES.index(INTEGRITY):
        assert pack["digest"].startswith("sha256:")
    else:
        assert pack["digest"] is None
    assert pack["pack_id"] is None
    assert pack["substrate"] is None


def assert_admissible(code: int, ruling: dict[str, Any]) -> None:
    admission = ruling["admission"]
    assert admission["status"] == "ADMISSIBLE", admission
    assert admission["reason_code"] is None
    assert [g["status"] for g in admission["gates"]] == ["PASS"] * 4
    assert ruling["topline"] != "NOT_ADMISSIBLE"
    assert code in (0, 1, 3)


# -- pack mutations ------------------------------------------------------------------


def sums_lines(pack: Path) -> list[str]:
    return (pack / SUMS_PATH).read_text("utf-8").splitlines()


def append_sums(pack: Path, line: str) -> None:
    with (pack / SUMS_PATH).open("a", encoding="utf-8") as fh:
        fh.write(line + "\n")


def set_bundle(pack: Path, **changes: Any) -> None:
    """Change (or with value UNSET, delete) bundle.manifest.json fields, then reseal."""
    bundle = read_json(pack, BUNDLE)
    for key, value in changes.items():
        if value is UNSET:
            del bundle[key]
        else:
            bundle[key] = value
    write_json(pack, BUNDLE, bundle, reseal=True)


def set_manifest(pack: Path, **changes: Any) -> None:
    manifest = read_json(pack, MANIFEST)
    for key, value in changes.items():
        if value is UNSET:
            del manifest[key]
        else:
            manifest[key] = value
    write_json(pack, MANIFEST, manifest, reseal=True)


def set_pointer(pack: Path, index: int = 0, **changes: Any) -> None:
    doc = read_json(pack, POINTERS_FILE)
    for key, value in changes.items():
        if value is UNSET:
            del doc["pointers"][index][key]
        else:
            doc["pointers"][index][key] = value
    write_json(pack, POINTERS_FILE, doc, reseal=True)


def event_lines(*records: Any) -> bytes:
    return b"".join(
        (r if isinstance(r, bytes) else json.dumps(r).encode("utf-8")) + b"\n" for r in records
    )


def with_event_line(pack: Path, raw: bytes, *, at: int = 2) -> None:
    """Insert one raw line into trace/events.ndjson so it becomes physical line ``at``."""
    lines = (pack / EVENTS_PATH).read_bytes().split(b"\n")[:-1]
    lines.insert(at - 1, raw)
    write(pack, EVENTS_PATH, b"\n".join(lines) + b"\n", reseal=True)


def nested(depth: int) -> str:
    """A JSON array nested ``depth`` brackets deep."""
    return "[" * depth + "]" * depth


def add_file(rel: str, data: bytes | str, *, reseal: bool = True) -> Callable[[Path], None]:
    return lambda pack: write(pack, rel, data, reseal=reseal)


def symlink(target: str, rel: str) -> Callable[[Path], None]:
    def make(pack: Path) -> None:
        (pack / rel).parent.mkdir(parents=True, exist_ok=True)
        os.symlink(target, pack / rel)

    return make


def fifo(rel: str) -> Callable[[Path], None]:
    return lambda pack: os.mkfifo(pack / rel)


def unix_socket(rel: str) -> Callable[[Path], None]:
    def make(pack: Path) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(str(pack / rel))
        except OSError as exc:  # path too long for AF_UNIX on this machine
            pytest.skip(f"cannot bind a unix socket here: {exc}")
        finally:
            sock.close()

    return make


def raw_name(rel: bytes, data: bytes = b"{}") -> Callable[[Path], None]:
    def make(pack: Path) -> None:
        path = os.fsencode(pack) + b"/" + rel
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)

    return make


def link_outside(pack: Path) -> None:
    """The event log itself is a link to a file outside the pack."""
    outside = pack.parent / "outside-events.ndjson"
    outside.write_bytes((pack / EVENTS_PATH).read_bytes())
    (pack / EVENTS_PATH).unlink()
    os.symlink(outside, pack / EVENTS_PATH)


def _outside_copy(pack: Path) -> Path:
    """A file outside the pack (for a hard link into it)."""
    outside = pack.parent / "outside.json"
    outside.write_bytes(b"{}")
    (pack / "artifacts").mkdir(exist_ok=True)
    return outside


def _grow_before_read(path: str) -> Callable[[pytest.MonkeyPatch], None]:
    """The file grows after the walk listed it, before it is hashed."""
    original = PackReader.seal_read

    def patched(self: PackReader, rel: str, max_line: int | None) -> Any:
        if rel == path:
            with open(self.root / rel, "ab") as fh:
                fh.write(b"\n")
        return original(self, rel, max_line)

    return lambda mp: mp.setattr(PackReader, "seal_read", patched)


# -- the failure-mode table ----------------------------------------------------------


@dataclass
class Case:
    id: str
    gate: str
    mutate: Callable[[Path], None]
    expected: list[dict[str, Any]]
    limits: tuple[str, ...] = ()
    pack: dict[str, Any] = field(default_factory=dict)  # good_pack(...) keyword overrides
    patch: Callable[[pytest.MonkeyPatch], None] | None = None
    run_id: str | None = "run-001"  # what bundle.manifest.json says, reported after PIN


def nothing(pack: Path) -> None:
    return None


def _fail_for(path: str, method: str) -> Callable[[pytest.MonkeyPatch], None]:
    """Make one PackReader method raise for one pack path (a file that vanishes or turns
    unreadable between gates); everything else reads normally."""
    original = getattr(PackReader, method)

    def patched(self: PackReader, rel: str, *args: Any, **kwargs: Any) -> Any:
        if rel == path:
            raise PackAccessError(f"{rel}: Permission denied")
        return original(self, rel, *args, **kwargs)

    return lambda mp: mp.setattr(PackReader, method, patched)


HEX = "ab" * 32
BIG = "artifacts/big.txt"


SECURITY_CASES = [
    Case(
        "symlink-to-file",
        SECURITY,
        symlink("../manifest.json", "artifacts/link.json"),
        [D("SECURITY-SYMLINK", "artifacts/link.json")],
    ),
    Case(
        "symlink-to-dir",
        SECURITY,
        symlink("trace", "tracelink"),
        [D("SECURITY-SYMLINK", "tracelink")],
    ),
    Case(
        "symlink-dangling",
        SECURITY,
        symlink("nowhere.json", "artifacts/dangling.json"),
        [D("SECURITY-SYMLINK", "artifacts/dangling.json")],
    ),
    Case(
        "symlink-event-log-outside-pack",
        SECURITY,
        link_outside,
        [D("SECURITY-SYMLINK", EVENTS_PATH)],
    ),
    Case(
        "fifo",
        SECURITY,
        fifo("trace/pipe.ndjson"),
        [D("SECURITY-SPECIAL-FILE", "trace/pipe.ndjson")],
    ),
    Case("socket", SECURITY, unix_socket("s.json"), [D("SECURITY-SPECIAL-FILE", "s.json")]),
    Case(
        "disallowed-ending-exe",
        SECURITY,
        add_file("artifacts/tool.exe", b"MZ", reseal=False),
        [D("SECURITY-DISALLOWED-ENDING", "artifacts/tool.exe")],
    ),
    Case(
        "disallowed-ending-none",
        SECURITY,
        add_file("artifacts/README", b"hi", reseal=False),
        [D("SECURITY-DISALLOWED-ENDING", "artifacts/README")],
    ),
    Case(
        "disallowed-ending-archive",
        SECURITY,
        add_file("artifacts/x.json.gz", b"\x1f\x8b", reseal=False),
        [D("SECURITY-DISALLOWED-ENDING", "artifacts/x.json.gz")],
    ),
    Case(
        "unsafe-name-backslash",
        SECURITY,
        raw_name(b"artifacts/a\\b.json"),
        [D("SECURITY-UNSAFE-PATH", "artifacts/a\\b.json")],
    ),
    Case(
        "unsafe-folder-name-backslash",
        SECURITY,
        raw_name(b"art\\ifacts/x.json"),
        [D("SECURITY-UNSAFE-PATH", "art\\ifacts")],
    ),
    Case(
        "unsafe-name-control-char",
        SECURITY,
        raw_name(b"artifacts/a\nb.json"),
        [D("SECURITY-UNSAFE-PATH", "artifacts/a\nb.json")],
    ),
    Case(
        "unsafe-name-not-utf8",
        SECURITY,
        raw_name(b"artifacts/\xff.json"),
        [D("SECURITY-UNSAFE-PATH", "artifacts/\ufffd.json")],
    ),
    # the good pack has 5 regular files: 4 + integrity/sha256sums.txt (which counts)
    Case(
        "too-many-files",
        SECURITY,
        nothing,
        [D("SECURITY-TOO-MANY-FILES", None)],
        ("--max-files", "4"),
    ),
    Case(
        "file-too-large",
        SECURITY,
        add_file(BIG, b"x" * 5000),
        [D("SECURITY-FILE-TOO-LARGE", BIG)],
        ("--max-file-bytes", "4999"),
    ),
    Case(
        "pack-too-large",
        SECURITY,
        add_file(BIG, b"x" * 5000),
        [D("SECURITY-PACK-TOO-LARGE", None)],
        ("--max-pack-bytes", "5000"),
    ),
    Case(
        "line-too-long-event-log",
        SECURITY,
        lambda p: with_event_line(p, b'{"event_id":"evt-pad","pad":"' + b"x" * 500 + b'"}'),
        [D("SECURITY-LINE-TOO-LONG", EVENTS_PATH, 2)],
        ("--max-line-bytes", "400"),
    ),
    Case(
        "line-too-long-other-ndjson",
        SECURITY,
        add_file("artifacts/ledger.jsonl", b'{"a":1}\n{"pad":"' + b"y" * 500 + b'"}\n'),
        [D("SECURITY-LINE-TOO-LONG", "artifacts/ledger.jsonl", 2)],
        ("--max-line-bytes", "400"),
    ),
    Case(
        "line-too-long-last-line-unterminated",
        SECURITY,
        add_file("artifacts/ledger.ndjson", b'{"a":1}\n\n{"pad":"' + b"y" * 500 + b'"}'),
        [D("SECURITY-LINE-TOO-LONG", "artifacts/ledger.ndjson", 3)],
        ("--max-line-bytes", "400"),
    ),
    Case(
        "unreadable-file",
        SECURITY,
        nothing,
        [D("SECURITY-UNREADABLE", EVENTS_PATH)],
        patch=_fail_for(EVENTS_PATH, "seal_read"),
    ),
    # the good pack has 2 folders (trace/, integrity/) and 5 entries at its root
    Case(
        "too-many-folders",
        SECURITY,
        nothing,
        [D("SECURITY-TOO-MANY-FOLDERS", None)],
        ("--max-folders", "1"),
    ),
    Case(
        "empty-folders-count",
        SECURITY,
        lambda p: [(p / f"artifacts/e{i}").mkdir(parents=True) for i in range(3)] and None,
        [D("SECURITY-TOO-MANY-FOLDERS", None)],
        ("--max-folders", "5"),
    ),
    Case(
        "too-deep",
        SECURITY,
        add_file("artifacts/a/b/c.json", b"{}"),
        [D("SECURITY-TOO-DEEP", "artifacts/a/b")],
        ("--max-folder-depth", "2"),
    ),
    Case(
        "too-many-entries",
        SECURITY,
        nothing,
        [D("SECURITY-TOO-MANY-ENTRIES", None)],
        ("--max-files", "2", "--max-folders", "1"),
    ),
    Case(
        "hard-link-to-outside",
        SECURITY,
        lambda p: os.link(_outside_copy(p), p / "artifacts/linked.json"),
        [D("SECURITY-HARDLINK", "artifacts/linked.json")],
    ),
    Case(
        "changed-while-read",
        SECURITY,
        nothing,
        [D("INTEGRITY-CHANGED-DURING-READ", EVENTS_PATH)],
        patch=_grow_before_read(EVENTS_PATH),
    ),
]


PIN_MISSING_CASES = [
    Case(
        f"pin-{how}-{name}",
        PIN,
        (lambda n, v: lambda p: set_bundle(p, **{n: v}))(name, value),
        [D("PIN-MISSING", BUNDLE, None, f"jsonptr:/{name}")],
    )
    for name in ("ruleset_ref", "protocol_pin", "schema_bundle_sha256")
    for how, value in (("absent", UNSET), ("empty", ""), ("blank", "  "), ("null", None))
]

PLACEHOLDERS = [
    ("ruleset_ref", "unknown"),
    ("ruleset_ref", "UNKNOWN"),
    ("ruleset_ref", "TBD"),
    ("ruleset_ref", "tbd"),
    ("ruleset_ref", "placeholder"),
    ("ruleset_ref", "my-placeholder-x"),
    ("ruleset_ref", "PLACEHOLDER-ruleset"),
    ("protocol_pin", "unknown"),
    ("protocol_pin", "TBD"),
    ("protocol_pin", "my-placeholder-x"),
    ("schema_bundle_sha256", "TBD"),
    ("schema_bundle_sha256", "unknown"),
    ("schema_bundle_sha256", "placeholder-" + "0" * 52),
]
PIN_PLACEHOLDER_CASES = [
    Case(
        f"pin-placeholder-{name}-{value[:20]}",
        PIN,
        (lambda n, v: lambda p: set_bundle(p, **{n: v}))(name, value),
        [D("PIN-PLACEHOLDER", BUNDLE, None, f"jsonptr:/{name}")],
    )
    for name, value in PLACEHOLDERS
]

PIN_CASES = [
    Case(
        "bundle-missing",
        PIN,
        lambda p: remove(p, BUNDLE, reseal=True),
        [D("PIN-BUNDLE-MISSING", BUNDLE)],
    ),
    Case(
        "bundle-not-json",
        PIN,
        lambda p: write(p, BUNDLE, "ruleset_ref: ruleset-1.1\n", reseal=True),
        [D("PIN-BUNDLE-INVALID", BUNDLE)],
    ),
    Case(
        "bundle-not-object",
        PIN,
        lambda p: write(p, BUNDLE, '["ruleset-1.1"]\n', reseal=True),
        [D("PIN-BUNDLE-INVALID", BUNDLE)],
    ),
    Case(
        "bundle-duplicate-key",
        PIN,
        lambda p: write(
            p,
            BUNDLE,
            '{"run_id":"r","ruleset_ref":"x","ruleset_ref":"ruleset-1.1",'
            f'"protocol_pin":"1.0.0","schema_bundle_sha256":"{schema_bundle_sha256()}"}}',
            reseal=True,
        ),
        [D("PIN-BUNDLE-INVALID", BUNDLE)],
    ),
    *PIN_MISSING_CASES,
    *PIN_PLACEHOLDER_CASES,
    Case(
        "pin-two-failures-in-field-order",
        PIN,
        lambda p: set_bundle(p, ruleset_ref="TBD", protocol_pin=UNSET),
        [
            D("PIN-PLACEHOLDER", BUNDLE, None, "jsonptr:/ruleset_ref"),
            D("PIN-MISSING", BUNDLE, None, "jsonptr:/protocol_pin"),
        ],
    ),
    *[
        Case(
            f"unknown-ruleset-{i}",
            PIN,
            (lambda v: lambda p: set_bundle(p, ruleset_ref=v))(ref),
            [D("PIN-UNKNOWN-RULESET", BUNDLE, None, "jsonptr:/ruleset_ref")],
        )
        for i, ref in enumerate(
            ["ruleset-9.9", "RULESET-1.1", "rulesets/ruleset-1.1", "../ruleset-1.1", "ruleset-1.1 "]
        )
    ],
    *[
        Case(
            f"protocol-not-accepted-{pin}",
            PIN,
            (lambda v: lambda p: set_bundle(p, protocol_pin=v))(pin),
            [D("PIN-PROTOCOL-NOT-ACCEPTED", BUNDLE, None, "jsonptr:/protocol_pin")],
        )
        for pin in ("2.0.0", "1", "1.0.1", "v1.0.0")
    ],
    *[
        Case(
            f"schema-bundle-mismatch-{i}",
            PIN,
            (lambda v: lambda p: set_bundle(p, schema_bundle_sha256=v))(value),
            [D("PIN-SCHEMA-BUNDLE-MISMATCH", BUNDLE, None, "jsonptr:/schema_bundle_sha256")],
        )
        for i, value in enumerate(
            [
                "0" * 64,
                schema_bundle_sha256().upper(),
                "sha256:" + schema_bundle_sha256(),
                schema_bundle_sha256()[:-1],
            ]
        )
    ],
    Case(
        "protocol-and-schema-bundle-both-wrong",
        PIN,
        lambda p: set_bundle(p, protocol_pin="9", schema_bundle_sha256="1" * 64),
        [
            D("PIN-PROTOCOL-NOT-ACCEPTED", BUNDLE, None, "jsonptr:/protocol_pin"),
            D("PIN-SCHEMA-BUNDLE-MISMATCH", BUNDLE, None, "jsonptr:/schema_bundle_sha256"),
        ],
    ),
]


def _replace_sums_line(index: int, transform: Callable[[str], str]) -> Callable[[Path], None]:
    def make(pack: Path) -> None:
        lines = sums_lines(pack)
        lines[index] = transform(lines[index])
        write(pack, SUMS_PATH, "\n".join(lines) + "\n")

    return make


def _first_listed(pack: Path) -> str:
    return sums_lines(pack)[0].split("  ", 1)[1]


INTEGRITY_CASES = [
    Case(
        "sums-missing",
        INTEGRITY,
        nothing,
        [D("INTEGRITY-MANIFEST-MISSING", SUMS_PATH)],
        pack={"sealed": False},
    ),
    *[
        Case(
            f"sums-malformed-{i}",
            INTEGRITY,
            (lambda line: lambda p: append_sums(p, line))(bad),
            [D("INTEGRITY-MALFORMED", SUMS_PATH, 5)],
        )
        for i, bad in enumerate(
            [
                "this is not a sums line",
                f"{HEX} manifest.json",  # one space, no '*'
                f"{HEX}\tmanifest.json",
                f"{HEX[:-1]}  manifest.json",
                f"{HEX}0  manifest.json",
                f"{HEX}  ",
                f"sha256:{HEX}  manifest.json",
            ]
        )
    ],
    Case(
        "sums-uppercase-hex",
        INTEGRITY,
        _replace_sums_line(1, lambda line: line[:64].upper() + line[64:]),
        # the uppercase line is malformed, so the file it named is not validly listed
        [D("INTEGRITY-MALFORMED", SUMS_PATH, 2), D("INTEGRITY-UNLISTED-FILE", POINTERS_FILE)],
    ),
    Case(
        "sums-empty",
        INTEGRITY,
        lambda p: write(p, SUMS_PATH, b""),
        [
            D("INTEGRITY-MALFORMED", SUMS_PATH),
            D("INTEGRITY-UNLISTED-FILE", BUNDLE),
            D("INTEGRITY-UNLISTED-FILE", POINTERS_FILE),
            D("INTEGRITY-UNLISTED-FILE", MANIFEST),
            D("INTEGRITY-UNLISTED-FILE", EVENTS_PATH),
        ],
    ),
    Case(
        "sums-not-utf8",
        INTEGRITY,
        lambda p: write(p, SUMS_PATH, (p / SUMS_PATH).read_bytes() + b"\xff\xfe  x.json\n"),
        [D("INTEGRITY-MALFORMED", SUMS_PATH)] + [D("INTEGRITY-UNLISTED-FILE")] * 4,
    ),
    *[
        Case(
            f"sums-unsafe-path-{i}",
            INTEGRITY,
            (lambda line: lambda p: append_sums(p, line))(f"{HEX}  {path}"),
            [D("INTEGRITY-UNSAFE-PATH", SUMS_PATH, 5)],
        )
        for i, path in enumerate(
            ["../x.json", "/etc/passwd", "a\\b.json", "trace/../manifest.json", "./x.json", "a//b"]
        )
    ],
    Case(
        "sums-self-listed",
        INTEGRITY,
        lambda p: append_sums(p, f"{HEX}  {SUMS_PATH}"),
        [D("INTEGRITY-SELF-LISTED", SUMS_PATH, 5)],
    ),
    Case(
        "sums-duplicate-entry",
        INTEGRITY,
        lambda p: append_sums(p, sums_lines(p)[0]),
        [D("INTEGRITY-DUPLICATE-ENTRY", SUMS_PATH, 5)],
    ),
    Case(
        "sums-duplicate-entry-other-hash",
        INTEGRITY,
        lambda p: append_sums(p, f"{HEX}  {_first_listed(p)}"),
        [D("INTEGRITY-DUPLICATE-ENTRY", SUMS_PATH, 5)],
    ),
    Case(
        "listed-file-missing",
        INTEGRITY,
        lambda p: append_sums(p, f"{HEX}  artifacts/gone.json"),
        [D("INTEGRITY-MISSING-FILE", "artifacts/gone.json")],
    ),
    Case(
        "listed-file-deleted-after-seal",
        INTEGRITY,
        lambda p: remove(p, "artifacts/report.json"),
        [D("INTEGRITY-MISSING-FILE", "artifacts/report.json")],
        pack={"extra_files": {"artifacts/report.json": b"{}"}},
    ),
    Case(
        "hash-mismatch-event-log",
        INTEGRITY,
        lambda p: write(p, EVENTS_PATH, (p / EVENTS_PATH).read_bytes().replace(b"allow", b"deny!")),
        [D("INTEGRITY-HASH-MISMATCH", EVENTS_PATH)],
    ),
    Case(
        "hash-mismatch-manifest",
        INTEGRITY,
        lambda p: write(p, MANIFEST, (p / MANIFEST).read_bytes() + b"\n"),
        [D("INTEGRITY-HASH-MISMATCH", MANIFEST)],
    ),
    Case(
        "unlisted-file",
        INTEGRITY,
        lambda p: write(p, "artifacts/late.json", b"{}"),
        [D("INTEGRITY-UNLISTED-FILE", "artifacts/late.json")],
    ),
]


def _ndjson_case(name: str, raw: bytes, code: str, line: int = 2, path: str = EVENTS_PATH) -> Case:
    if path == EVENTS_PATH:
        mutate: Callable[[Path], None] = lambda p: with_event_line(p, raw, at=line)  # noqa: E731
    else:
        mutate = add_file(path, b'{"a": 1}\n' * (line - 1) + raw + b"\n")
    return Case(name, CONTRACT, mutate, [D(code, path, line)])


def _json_case(name: str, path: str, data: bytes | str, code: str) -> Case:
    return Case(name, CONTRACT, add_file(path, data), [D(code, path, None)])


ARTIFACT = "artifacts/report.json"
BOM = b"\xef\xbb\xbf"
BAD_LOCATORS = [
    "line:0",
    "line:abc",
    "line:01",
    "line:-1",
    "line:",
    "line:1.5",
    "evt:1",
    "file:x",
    "jsonptr:a",
    "jsonptr:/a~2",
    "event_id:",
    "event_id",
    "EVENT_ID:evt-budget-001",
    " event_id:evt-budget-001",
]
UNSAFE_ARTIFACT_PATHS = [
    "../x",
    "/abs",
    "a\\b",
    "trace/../trace/events.ndjson",
    "./trace/events.ndjson",
    "trace//events.ndjson",
    "trace/events.ndjson/",
]


def _schema_manifest(name: str, **changes: Any) -> Case:
    return Case(
        f"schema-manifest-{name}",
        CONTRACT,
        lambda p: set_manifest(p, **changes),
        [D("CONTRACT-SCHEMA-INVALID", MANIFEST)],
    )


def _schema_bundle(name: str, **changes: Any) -> Case:
    run_id = changes.get("run_id", "run-001")
    return Case(
        f"schema-bundle-{name}",
        CONTRACT,
        lambda p: set_bundle(p, **changes),
        [D("CONTRACT-SCHEMA-INVALID", BUNDLE)],
        run_id=None if run_id is UNSET else run_id,
    )


def _schema_pointer(name: str, **changes: Any) -> Case:
    return Case(
        f"schema-pointers-{name}",
        CONTRACT,
        lambda p: set_pointer(p, **changes),
        [D("CONTRACT-SCHEMA-INVALID", POINTERS_FILE)],
    )


def _duplicate_at_line_7(pack: Path) -> None:
    records = [dict(e) for e in EVENTS] + [
        {"event_id": f"evt-extra-{i}", "event_type": "note"} for i in range(3)
    ]
    records.append({"event_id": "evt-budget-001", "event_type": "note"})
    write(pack, EVENTS_PATH, event_lines(*records), reseal=True)


CONTRACT_CASES = [
    Case(
        "manifest-missing",
        CONTRACT,
        lambda p: remove(p, MANIFEST, reseal=True),
        [D("CONTRACT-FILE-MISSING", MANIFEST)],
    ),
    Case(
        "pointers-missing",
        CONTRACT,
        lambda p: remove(p, POINTERS_FILE, reseal=True),
        [D("CONTRACT-FILE-MISSING", POINTERS_FILE)],
    ),
    Case(
        "manifest-invalid-json",
        CONTRACT,
        lambda p: write(p, MANIFEST, '{"pack_id": "x",}', reseal=True),
        [D("CONTRACT-JSON-INVALID", MANIFEST)],
    ),
    Case(
        "pointers-invalid-json",
        CONTRACT,
        lambda p: write(p, POINTERS_FILE, "{'pointers': []}", reseal=True),
        [D("CONTRACT-JSON-INVALID", POINTERS_FILE)],
    ),
    _json_case("artifact-invalid-json", ARTIFACT, b'{"a": 1', "CONTRACT-JSON-INVALID"),
    _json_case("artifact-empty-json", ARTIFACT, b"", "CONTRACT-JSON-INVALID"),
    _ndjson_case("ndjson-invalid-json", b'{"event_id": "e", }', "CONTRACT-JSON-INVALID"),
    Case(
        "manifest-duplicate-key",
        CONTRACT,
        lambda p: write(
            p,
            MANIFEST,
            (p / MANIFEST).read_text().replace('"pack_id"', '"pack_id": "a", "pack_id"'),
            reseal=True,
        ),
        [D("CONTRACT-DUPLICATE-KEY", MANIFEST)],
    ),
    _json_case(
        "artifact-duplicate-key", ARTIFACT, b'{"a": {"b": 1, "b": 1}}', "CONTRACT-DUPLICATE-KEY"
    ),
    _ndjson_case(
        "ndjson-duplicate-key",
        b'{"event_id": "e9", "event_id": "e10"}',
        "CONTRACT-DUPLICATE-KEY",
    ),
    _ndjson_case(
        "ndjson-nested-duplicate-key",
        b'{"event_id": "e9", "t": {"id": 1, "id": 1}}',
        "CONTRACT-DUPLICATE-KEY",
    ),
    _json_case("artifact-nan", ARTIFACT, b'{"cost": NaN}', "CONTRACT-NONFINITE-NUMBER"),
    _json_case("artifact-infinity", ARTIFACT, b"[Infinity]", "CONTRACT-NONFINITE-NUMBER"),
    _json_case(
        "artifact-minus-infinity", ARTIFACT, b'{"x": -Infinity}', "CONTRACT-NONFINITE-NUMBER"
    ),
    _ndjson_case("ndjson-nan", b'{"event_id": "e9", "cost": NaN}', "CONTRACT-NONFINITE-NUMBER"),
    _json_case("artifact-depth-65", ARTIFACT, nested(65), "CONTRACT-DEPTH-EXCEEDED"),
    _ndjson_case(
        "ndjson-depth-65",
        ('{"event_id": "e9", "x": ' + nested(64) + "}").encode(),
        "CONTRACT-DEPTH-EXCEEDED",
    ),
    Case(
        "manifest-depth-65",
        CONTRACT,
        lambda p: set_manifest(p, substrate={"type": "x", "deep": json.loads(nested(63))}),
        [D("CONTRACT-DEPTH-EXCEEDED", MANIFEST)],
    ),
    Case(
        "manifest-bom",
        CONTRACT,
        lambda p: write(p, MANIFEST, BOM + (p / MANIFEST).read_bytes(), reseal=True),
        [D("CONTRACT-BOM", MANIFEST)],
    ),
    Case(
        "pointers-bom",
        CONTRACT,
        lambda p: write(p, POINTERS_FILE, BOM + (p / POINTERS_FILE).read_bytes(), reseal=True),
        [D("CONTRACT-BOM", POINTERS_FILE)],
    ),
    _json_case("artifact-bom", ARTIFACT, BOM + b"{}", "CONTRACT-BOM"),
    Case(
        "ndjson-bom",
        CONTRACT,
        lambda p: write(p, EVENTS_PATH, BOM + (p / EVENTS_PATH).read_bytes(), reseal=True),
        [D("CONTRACT-BOM", EVENTS_PATH, 1)],
    ),
    Case(
        "manifest-invalid-utf8",
        CONTRACT,
        lambda p: write(
            p,
            MANIFEST,
            (p / MANIFEST).read_bytes().replace(b"pack-good", b"pack\xffgood"),
            reseal=True,
        ),
        [D("CONTRACT-ENCODING", MANIFEST)],
    ),
    _json_case("artifact-invalid-utf8", ARTIFACT, b'{"a": "\xc3\x28"}', "CONTRACT-ENCODING"),
    _ndjson_case("ndjson-invalid-utf8", b'{"event_id": "e\xff9"}', "CONTRACT-ENCODING"),
    _ndjson_case(
        "ndjson-invalid-utf8-other-artifact",
        b'{"note": "\xed\xa0\x80"}',  # an encoded surrogate is not UTF-8
        "CONTRACT-ENCODING",
        path="artifacts/ledger.ndjson",
    ),
    _schema_manifest("pack-id-missing", pack_id=UNSET),
    _schema_manifest("pack-id-bad-chars", pack_id="bad id!"),
    _schema_manifest("pack-id-too-long", pack_id="a" * 201),
    _schema_manifest("pack-id-empty", pack_id=""),
    _schema_manifest("protocol-version-missing", protocol_version=UNSET),
    _schema_manifest("created-at-missing", created_at=UNSET),
    _schema_manifest("created-at-not-rfc3339", created_at="yesterday"),
    _schema_manifest("contract-version-number", contract_version=1.1),
    _schema_manifest("contract-version-missing", contract_version=UNSET),
    _schema_manifest("substrate-not-object", substrate="langgraph"),
    _schema_bundle("run-id-missing", run_id=UNSET),
    _schema_bundle("run-id-empty", run_id=""),
    _schema_bundle("scenario-meta-not-object", scenario_meta=[]),
    _schema_bundle("scenario-meta-known-key-not-boolean", scenario_meta={"termination_case": 1}),
    _schema_pointer("status-unknown", status="MAYBE"),
    _schema_pointer("locator-missing", locator=UNSET),
    _schema_pointer("requirement-missing", requirement_id=UNSET),
    _schema_pointer("content-hash-not-sha256", content_hash="md5:abc"),
    _schema_pointer("artifact-path-empty", artifact_path=""),
    Case(
        "schema-pointers-not-a-list",
        CONTRACT,
        lambda p: write_json(p, POINTERS_FILE, {"pointers": {}}, reseal=True),
        [D("CONTRACT-SCHEMA-INVALID", POINTERS_FILE)],
    ),
    Case(
        "schema-pointers-document-is-list",
        CONTRACT,
        lambda p: write_json(p, POINTERS_FILE, POINTERS, reseal=True),
        [D("CONTRACT-SCHEMA-INVALID", POINTERS_FILE)],
    ),
    *[
        Case(
            f"contract-version-{v}",
            CONTRACT,
            (lambda cv: lambda p: set_manifest(p, contract_version=cv))(v),
            [D("CONTRACT-VERSION-NOT-ACCEPTED", MANIFEST, None, "jsonptr:/contract_version")],
        )
        for v in ("2.0", "1.2", "0.9", "1.10")
    ],
    *[
        _ndjson_case(f"ndjson-not-object-{i}", raw, "CONTRACT-NDJSON-NOT-OBJECT")
        for i, raw in enumerate([b"[1, 2]", b'"evt-budget-001"', b"42", b"null", b"true"])
    ],
    _ndjson_case(
        "ndjson-not-object-other-artifact",
        b"[]",
        "CONTRACT-NDJSON-NOT-OBJECT",
        line=3,
        path="artifacts/ledger.ndjson",
    ),
    *[
        _ndjson_case(f"event-id-missing-{i}", raw, "CONTRACT-EVENT-ID-MISSING", line=3)
        for i, raw in enumerate(
            [
                b'{"event_type": "decision"}',
                b'{"event_id": "", "event_type": "decision"}',
                b'{"event_id": 7}',
                b'{"event_id": null}',
                b'{"event_id": ["evt-x"]}',
            ]
        )
    ],
    _ndjson_case(
        "event-id-missing-other-event-log",
        b'{"event_type": "tick"}',
        "CONTRACT-EVENT-ID-MISSING",
        line=1,
        path="trace/tools.jsonl",
    ),
    Case(
        "duplicate-event-id-line-7",
        CONTRACT,
        _duplicate_at_line_7,
        [D("CONTRACT-DUPLICATE-EVENT-ID", EVENTS_PATH, 7)],
    ),
    *[
        Case(
            f"locator-invalid-{i}",
            CONTRACT,
            (lambda v: lambda p: set_pointer(p, 1, locator=v))(loc),
            [D("CONTRACT-LOCATOR-INVALID", POINTERS_FILE, None, "jsonptr:/pointers/1/locator")],
        )
        for i, loc in enumerate(BAD_LOCATORS)
    ],
    Case(
        "locator-invalid-unknown-requirement",
        CONTRACT,
        lambda p: set_pointer(p, 2, requirement_id="RQ-ZZ-99", locator="line:0"),
        [D("CONTRACT-LOCATOR-INVALID", POINTERS_FILE, None, "jsonptr:/pointers/2/locator")],
    ),
    *[
        Case(
            f"artifact-path-unsafe-{i}",
            CONTRACT,
            (lambda v: lambda p: set_pointer(p, 0, artifact_path=v))(path),
            [
                D(
                    "CONTRACT-UNSAFE-PATH",
                    POINTERS_FILE,
                    None,
                    "jsonptr:/pointers/0/artifact_path",
                )
            ],
        )
        for i, path in enumerate(UNSAFE_ARTIFACT_PATHS)
    ],
    Case(
        "unreadable-event-log-during-contract",
        CONTRACT,
        nothing,
        [D("CONTRACT-FILE-UNREADABLE", EVENTS_PATH)],
        patch=_fail_for(EVENTS_PATH, "source"),
    ),
    Case(
        "unreadable-artifact-during-contract",
        CONTRACT,
        nothing,
        [D("CONTRACT-FILE-UNREADABLE", ARTIFACT)],
        pack={"extra_files": {ARTIFACT: b"{}"}},
        patch=_fail_for(ARTIFACT, "read_bytes"),
    ),
    Case(
        "too-many-pointers",
        CONTRACT,
        nothing,
        [D("CONTRACT-TOO-MANY-POINTERS", POINTERS_FILE, None, "jsonptr:/pointers")],
        ("--max-pointers", "2"),
    ),
    Case(
        "document-too-large",
        CONTRACT,
        add_file(ARTIFACT, b"[" + b"0," * 200 + b"0]"),
        [D("CONTRACT-DOCUMENT-TOO-LARGE", ARTIFACT)],
        ("--max-document-values", "60"),
    ),
    # import.json is reserved whatever the contract version (decision 156): a pack that
    # carries one is re-imported, so a hand-made one cannot vouch for itself.
    Case(
        "import-record-unknown-importer",
        CONTRACT,
        add_file(
            "import.json", json.dumps({"importer": {"system": "nope", "version": 1}, "options": {}})
        ),
        [D("CONTRACT-IMPORTER-UNKNOWN", "import.json", None, "jsonptr:/importer")],
    ),
    Case(
        "import-record-not-reproducible",
        CONTRACT,
        add_file(
            "import.json",
            json.dumps({"importer": {"system": "agentplane", "version": 1}, "options": {}}),
        ),
        [D("CONTRACT-IMPORT-NOT-REPRODUCIBLE", "import.json")],
    ),
]

ALL_CASES = SECURITY_CASES + PIN_CASES + INTEGRITY_CASES + CONTRACT_CASES


@pytest.mark.parametrize("case", [pytest.param(c, id=c.id) for c in ALL_CASES])
def test_gate_failure(
    case: Case,
    tmp_path: Path,
    cli_judge: Callable[..., tuple[int, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pack = good_pack(tmp_path, **case.pack)
    case.mutate(pack)
    if case.patch is not None:
        case.patch(monkeypatch)
    code, ruling = cli_judge(pack, *case.limits)
    assert_not_admissible(code, ruling, case.gate, case.expected, case.run_id)


def test_cases_cover_every_gate_detail_code() -> None:
    """Every registered SECURITY-/PIN-/INTEGRITY-/CONTRACT- detail code has a case here."""
    prefixes = ("SECURITY-", "PIN-", "INTEGRITY-", "CONTRACT-")
    registered = {c for c in registry()["detail_codes"] if c.startswith(prefixes)}
    exercised = {d["code"] for case in ALL_CASES for d in case.expected}
    # A system's own integrity record needs that system's real output: these two are
    # exercised by tests/test_import_mplp.py (refused and advisory) and i15-mplp vectors.
    exercised |= {"CONTRACT-IMPORT-UPSTREAM-INTEGRITY", "CONTRACT-IMPORT-UPSTREAM-UNSEALED"}
    # Archive packs' own codes: tests/test_archive.py (every evidence_packs/archive vector
    # and the cases built there).
    exercised |= {"SECURITY-ARCHIVE-ENTRY", "SECURITY-ARCHIVE-BOMB", "SECURITY-ARCHIVE-CORRUPT"}
    assert registered - exercised == set()
    assert exercised - registered == set()


def test_good_pack_is_admissible_and_passes(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    code, ruling = cli_judge(good_pack(tmp_path))
    assert_admissible(code, ruling)
    assert (code, ruling["topline"]) == (0, "PASS")
    assert ruling["pack"]["run_id"] == "run-001"
    assert ruling["pack"]["pack_id"] == "pack-good-001"
    assert ruling["pack"]["digest"].startswith("sha256:")


# -- limits: the boundary itself is allowed ------------------------------------------


def _sizes(pack: Path) -> dict[str, int]:
    return {
        p.relative_to(pack).as_posix(): p.stat().st_size for p in pack.rglob("*") if p.is_file()
    }


def test_limits_at_the_boundary_are_admissible(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path, extra_files={BIG: b"x" * 5000})
    sizes = _sizes(pack)
    longest = max(len(line) for line in (pack / EVENTS_PATH).read_bytes().splitlines())
    assert len(sizes) == 6
    for flags in (
        ("--max-files", "6"),  # integrity/sha256sums.txt counts, folders do not
        ("--max-file-bytes", str(max(sizes.values()))),
        ("--max-pack-bytes", str(sum(sizes.values()))),
        ("--max-line-bytes", str(longest)),
    ):
        code, ruling = cli_judge(pack, *flags)
        assert_admissible(code, ruling)
    code, ruling = cli_judge(pack, "--max-files", "5")
    assert_not_admissible(code, ruling, SECURITY, [D("SECURITY-TOO-MANY-FILES")])
    code, ruling = cli_judge(pack, "--max-pack-bytes", str(sum(sizes.values()) - 1))
    assert_not_admissible(code, ruling, SECURITY, [D("SECURITY-PACK-TOO-LARGE")])
    code, ruling = cli_judge(pack, "--max-line-bytes", str(longest - 1))
    assert_not_admissible(code, ruling, SECURITY, [D("SECURITY-LINE-TOO-LONG", EVENTS_PATH)])


MIB = 1 << 20


def _record(i: int, size: int) -> bytes:
    """One event-log line of exactly ``size`` bytes."""
    head, tail = f'{{"event_id":"big-{i}","pad":"'.encode(), b'"}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


@pytest.mark.parametrize(
    ("sizes", "final_newline"),
    [
        ([2 * MIB, 4 * MIB], True),  # a too-long line straddles the 4 MiB read boundary
        ([3 * MIB, 3 * MIB, 3 * MIB], True),  # every line exactly at the limit
        ([MIB // 2] * 9 + [3 * MIB + 1], True),  # too long, wholly inside the 2nd read
        ([MIB, 3 * MIB + 1], False),  # too long and unterminated
        ([MIB, 3 * MIB], False),  # at the limit and unterminated
    ],
    ids=["straddles-read", "all-at-limit", "inside-second-read", "last-unterminated", "last-ok"],
)
def test_line_limit_across_large_files(
    sizes: list[int], final_newline: bool, tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    limit = 3 * MIB
    lines = [json.dumps(e).encode() for e in EVENTS] + [_record(i, n) for i, n in enumerate(sizes)]
    data = b"\n".join(lines) + (b"\n" if final_newline else b"")
    pack = good_pack(tmp_path)
    write(pack, EVENTS_PATH, data, reseal=True)
    too_long = next((n for n, line in enumerate(lines, 1) if len(line) > limit), None)
    code, ruling = cli_judge(pack, "--max-line-bytes", str(limit))
    if too_long is None:
        assert_admissible(code, ruling)
        assert code == 0
    else:
        expected = [D("SECURITY-LINE-TOO-LONG", EVENTS_PATH, too_long)]
        assert_not_admissible(code, ruling, SECURITY, expected)


def _crlf_pack(tmp_path: Path) -> tuple[Path, int]:
    pack = good_pack(tmp_path)
    data = (pack / EVENTS_PATH).read_bytes()
    write(pack, EVENTS_PATH, data.replace(b"\n", b"\r\n"), reseal=True)
    return pack, max(len(line) for line in data.splitlines())


def test_crlf_event_log_is_admissible(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack, longest = _crlf_pack(tmp_path)
    code, ruling = cli_judge(pack, "--max-line-bytes", str(longest + 1))
    assert_admissible(code, ruling)
    assert code == 0


def test_line_limit_does_not_count_the_crlf_carriage_return(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    """evidence-pack.md: "\\r\\n is accepted and the \\r is not part of the line"."""
    pack, longest = _crlf_pack(tmp_path)
    code, ruling = cli_judge(pack, "--max-line-bytes", str(longest))
    assert_admissible(code, ruling)
    assert code == 0


def test_depth_64_is_admissible(tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]) -> None:
    pack = good_pack(
        tmp_path,
        extra_files={
            ARTIFACT: nested(64).encode(),
            # brackets inside strings are not nesting
            "artifacts/strings.json": json.dumps({"s": "[" * 200 + "{" * 200}).encode(),
        },
    )
    with_event_line(pack, ('{"event_id": "e9", "x": ' + nested(63) + "}").encode(), at=4)
    code, ruling = cli_judge(pack)
    assert_admissible(code, ruling)
    assert code == 0


def test_admissible_edge_cases(tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]) -> None:
    """Things the contract allows, each of which a too-strict gate might refuse."""
    odd_pointers = [
        *POINTERS,
        # pointers naming a requirement the ruleset lacks are ignored, but well-formed
        *[
            {
                "requirement_id": "RQ-ZZ-99",
                "artifact_path": path,
                "locator": loc,
                "status": "PRESENT",
            }
            for path, loc in [
                (EVENTS_PATH, "line:1"),
                (EVENTS_PATH, "line:10"),
                (EVENTS_PATH, "file:"),
                (EVENTS_PATH, "event_id:id:with:colons"),
                (ARTIFACT, "jsonptr:"),
                (ARTIFACT, "jsonptr:/a~0b~1c/0"),
                ("snapshots/missing.json", "jsonptr:/x"),
            ]
        ],
    ]
    pack = good_pack(
        tmp_path,
        pointers=odd_pointers,
        scenario_meta={"domain": "ops", "unknown_key": {"x": 1}},
        extra_files={
            ARTIFACT: b'{"a~b/c": [1]}',
            # non-event-log NDJSON needs no event_id; blank lines are fine
            "artifacts/ledger.ndjson": b'{"amount": 1.5}\n\n   \n{"amount": 2}',
            # the same event_id in another event log is not a duplicate
            "trace/tools.ndjson": b'{"event_id": "evt-budget-001"}\n',
            "trace/empty.ndjson": b"",
            "notes.md": b"# notes\n",
            "policy.yaml": b"a: 1\n",
            "table.csv": b"a,b\n",
            "run.txt": b"x",
            "more.yml": b"b: 2\n",
        },
    )
    code, ruling = cli_judge(pack)
    assert_admissible(code, ruling)
    assert code == 0


@pytest.mark.parametrize("locator", ["event_id:evt-budget-001", "line:1"])
def test_a_pointer_into_a_native_ndjson_file_is_unresolvable_never_a_crash(
    locator: str, tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    """A native/ file is its importer's to parse: admission indexes no NDJSON under
    native/, so a pointer into one resolves nothing (POINTER-UNRESOLVABLE, the clause
    FAILs) instead of stopping the adjudication (it was a KeyError, exit 70). ``file:``:
    tests/test_format2.py."""
    pointers = [
        {**p, "artifact_path": "native/tool/events.ndjson", "locator": locator}
        if p["requirement_id"] == "RQ-D1-01"
        else p
        for p in POINTERS
    ]
    pack = good_pack(
        tmp_path,
        pointers=pointers,
        extra_files={"native/tool/events.ndjson": event_lines(*EVENTS)},
    )
    code, ruling = cli_judge(pack)
    assert code == 1 and ruling["admission"]["status"] == "ADMISSIBLE"
    clause = next(c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-01")
    assert clause["status"] == "FAIL"
    [detail] = clause["details"]
    assert detail["code"] == "POINTER-UNRESOLVABLE"
    assert (
        "native/tool/events.ndjson is not an NDJSON artifact admission read" in (detail["message"])
    )


def test_contract_1_0_pack_with_substrate_is_admissible(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path, contract_version="1.0", substrate={"type": "langgraph"})
    code, ruling = cli_judge(pack)
    assert_admissible(code, ruling)
    assert ruling["pack"]["substrate"] == "not_declared"


def test_sums_star_separator_and_any_line_order_are_accepted(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path)
    _, before = cli_judge(pack)
    lines = sums_lines(pack)
    lines = [line.replace("  ", " *", 1) for line in reversed(lines)]
    write(pack, SUMS_PATH, "\n".join(lines) + "\n")
    code, ruling = cli_judge(pack)
    assert_admissible(code, ruling)
    assert ruling["pack"]["digest"] == before["pack"]["digest"]
    listed = {
        line.split("  ")[1]: line.split("  ")[0]
        for line in sums_lines(good_pack(tmp_path, name="b"))
    }
    expected = "".join(f"{listed[p]}  {p}\n" for p in sorted(listed, key=str.encode))
    assert before["pack"]["digest"] == "sha256:" + hashlib.sha256(expected.encode()).hexdigest()


# -- order: the first failing gate is the only one reported --------------------------


def _every_problem(pack: Path) -> None:
    """Break CONTRACT, INTEGRITY and PIN at once (no reseal)."""
    set_manifest(pack, contract_version="2.0")  # reseals: CONTRACT
    write(pack, "artifacts/late.json", b"{}")  # unlisted: INTEGRITY
    bundle = read_json(pack, BUNDLE)
    bundle["ruleset_ref"] = "TBD"  # PIN (and a hash mismatch)
    write_json(pack, BUNDLE, bundle)


def test_order_security_first(tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]) -> None:
    pack = good_pack(tmp_path)
    _every_problem(pack)
    os.symlink("manifest.json", pack / "link.json")
    code, ruling = cli_judge(pack)
    assert_not_admissible(code, ruling, SECURITY, [D("SECURITY-SYMLINK", "link.json")])


def test_order_security_before_parsing_a_missing_or_broken_bundle(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path)
    write(pack, BUNDLE, b"\xff not json")
    remove(pack, MANIFEST)
    write(pack, "artifacts/x.bin", b"\x00")
    code, ruling = cli_judge(pack)
    assert_not_admissible(
        code, ruling, SECURITY, [D("SECURITY-DISALLOWED-ENDING", "artifacts/x.bin")]
    )


def test_order_pin_before_integrity_and_contract(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path)
    _every_problem(pack)
    code, ruling = cli_judge(pack)
    assert_not_admissible(
        code, ruling, PIN, [D("PIN-PLACEHOLDER", BUNDLE, None, "jsonptr:/ruleset_ref")]
    )


def test_order_integrity_before_contract(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path)
    _every_problem(pack)
    set_bundle(pack, ruleset_ref="ruleset-1.1")  # reseal: PIN and INTEGRITY pass again
    write(pack, "artifacts/late2.json", b"{}")
    code, ruling = cli_judge(pack)
    assert_not_admissible(
        code, ruling, INTEGRITY, [D("INTEGRITY-UNLISTED-FILE", "artifacts/late2.json")]
    )


def test_security_reports_every_refusal(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    pack = good_pack(tmp_path)
    os.symlink("trace", pack / "a-link")
    os.mkfifo(pack / "b-fifo.json")
    write(pack, "c.exe", b"")
    code, ruling = cli_judge(pack)
    assert_not_admissible(
        code,
        ruling,
        SECURITY,
        [
            D("SECURITY-SYMLINK", "a-link"),
            D("SECURITY-SPECIAL-FILE", "b-fifo.json"),
            D("SECURITY-DISALLOWED-ENDING", "c.exe"),
        ],
    )


def test_shadow_ruleset_does_not_change_admission(
    tmp_path: Path, cli_judge: Callable[..., tuple[int, Any]]
) -> None:
    """--ruleset is a shadow run: PIN is still checked against what the pack pins."""
    pack = good_pack(tmp_path, ruleset_ref="ruleset-9.9")
    code, ruling = cli_judge(pack, ruleset="ruleset-1.1")
    assert ruling["ruleset"]["override"] is True
    assert_not_admissible(
        code, ruling, PIN, [D("PIN-UNKNOWN-RULESET", BUNDLE, None, "jsonptr:/ruleset_ref")]
    )
    # the override ruleset is known, so its clauses are listed, all NOT_ADMISSIBLE
    assert [c["clause_id"] for c in ruling["clauses"]] == list(CLAUSE_IDS)


# -- vlab validate -------------------------------------------------------------------


def test_validate_exit_0_and_json(tmp_path: Path, vlab_in_process: InProcessRunner) -> None:
    code, out, _ = vlab_in_process("validate", good_pack(tmp_path), "--format", "json")
    assert code == 0
    assert out.endswith(b"}\n")
    doc = json.loads(out)
    assert doc == {
        "status": "ADMISSIBLE",
        "reason_code": None,
        "gates": [{"gate": g, "status": "PASS", "details": []} for g in GATES],
    }


def test_validate_exit_2_and_json(tmp_path: Path, vlab_in_process: InProcessRunner) -> None:
    pack = good_pack(tmp_path)
    write(pack, EVENTS_PATH, (pack / EVENTS_PATH).read_bytes() + b"\n")
    code, out, _ = vlab_in_process("validate", pack, "--format", "json")
    assert code == 2
    doc = json.loads(out)
    assert doc["status"] == "NOT_ADMISSIBLE"
    assert doc["reason_code"] == "ADM-GATE-INTEGRITY-FAIL"
    assert [g["status"] for g in doc["gates"]] == ["PASS", "PASS", "FAIL", "SKIPPED"]
    assert [(d["code"], d["artifact_path"]) for d in doc["gates"][2]["details"]] == [
        ("INTEGRITY-HASH-MISMATCH", EVENTS_PATH)
    ]


def test_validate_table_output_exit_statuses(
    tmp_path: Path, vlab_in_process: InProcessRunner
) -> None:
    pack = good_pack(tmp_path)
    code, out, _ = vlab_in_process("validate", pack)
    assert code == 0
    assert b"ADMISSIBLE" in out
    os.symlink("manifest.json", pack / "l.json")
    code, out, _ = vlab_in_process("validate", pack)
    assert code == 2
    assert b"SECURITY-SYMLINK" in out
