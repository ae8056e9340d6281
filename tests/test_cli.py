"""The command line as a user runs it: ``python -m vlab ...`` in a subprocess.

Exit statuses (adjudication.md §5), ``rulesets show --format json``, ``pack seal``, shadow
runs, ``--out`` files and canonical JSON output. No run may print a Python traceback.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import rfc8785

from packs import (
    CLAUSE_IDS,
    EVENTS,
    EVENTS_PATH,
    RULESET_ID,
    SUMS_PATH,
    good_pack,
    schema_bundle_sha256,
    write,
)

if TYPE_CHECKING:
    from conftest import Runner

REPO = Path(__file__).resolve().parent.parent
HEX64 = re.compile(r"[0-9a-f]{64}")
TOPLINE_EXIT = {"PASS": 0, "FAIL": 1, "NOT_ADMISSIBLE": 2, "NOT_EVALUATED": 3}


def ruling_of(proc: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict)
    return doc


# -- packs for each topline ----------------------------------------------------------


def pass_pack(tmp_path: Path) -> Path:
    return good_pack(tmp_path, name="pass")


def fail_pack(tmp_path: Path) -> Path:
    events = [dict(e) for e in EVENTS]
    events[0]["decision_kind"] = "authz"  # not a budget kind: CL-D1-01 FAIL
    return good_pack(tmp_path, name="fail", events=events)


def not_admissible_pack(tmp_path: Path) -> Path:
    pack = good_pack(tmp_path, name="not-admissible")
    write(pack, "artifacts/late.json", b"{}")  # not listed in the integrity file
    return pack


def shadow_ruleset(
    tmp_path: Path, *, keep: tuple[str, ...] = CLAUSE_IDS, **accepts: list[str]
) -> Path:
    """A copy of ruleset-1.1 (as a folder given to --ruleset by path) with only the
    clauses in ``keep`` and, optionally, different ``accepts`` lists."""
    from ruamel.yaml import YAML

    target = tmp_path / "shadow-ruleset"
    shutil.copytree(REPO / "rulesets" / RULESET_ID, target)
    doc = YAML(typ="safe", pure=True).load((target / "ruleset.yaml").read_text("utf-8"))
    doc["id"] = "ruleset-shadow"
    doc["status"] = "draft"
    doc["clauses"] = [c for c in doc["clauses"] if c["clause_id"] in keep]
    doc["accepts"].update(accepts)
    (target / "ruleset.yaml").write_text(json.dumps(doc, indent=1), "utf-8")  # JSON is YAML
    return target


def not_evaluated_case(tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    """Under ruleset-1.1 CL-D1-01 always applies, so a NOT_EVALUATED topline needs a
    shadow ruleset whose only clause is CL-D4-01 (not a termination case here)."""
    ruleset = shadow_ruleset(tmp_path, keep=("CL-D4-01",))
    return good_pack(tmp_path, name="not-evaluated"), ("--ruleset", ruleset)


def topline_case(name: str, tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    if name == "NOT_EVALUATED":
        return not_evaluated_case(tmp_path)
    build = {"PASS": pass_pack, "FAIL": fail_pack, "NOT_ADMISSIBLE": not_admissible_pack}
    return build[name](tmp_path), ()


# -- adjudicate: exit status by topline ----------------------------------------------


@pytest.mark.parametrize("topline", list(TOPLINE_EXIT))
def test_adjudicate_exit_status_by_topline_in_every_format(
    topline: str, tmp_path: Path, vlab: Runner
) -> None:
    pack, flags = topline_case(topline, tmp_path)
    proc = vlab("adjudicate", pack, "--format", "json", *flags)
    out = proc.stdout
    # --format json: RFC 8785 canonical form, exactly one trailing newline
    assert out.endswith(b"\n") and not out.endswith(b"\n\n")
    assert out.count(b"\n") == 1
    ruling = json.loads(out)
    assert out == rfc8785.dumps(ruling) + b"\n"
    body = {k: v for k, v in ruling.items() if k not in ("digest", "engine")}
    assert ruling["digest"] == "sha256:" + hashlib.sha256(rfc8785.dumps(body)).hexdigest()
    assert ruling["topline"] == topline
    assert proc.returncode == TOPLINE_EXIT[topline]
    if topline == "FAIL":
        clause = ruling["clauses"][0]
        assert (clause["clause_id"], clause["status"]) == ("CL-D1-01", "FAIL")
        assert ruling["reason_codes"] == ["EVAL-NOT-APPLICABLE-RQ-D4-01", "REQ-FAIL-RQ-D1-01"]
    # the exit status is the same whatever the output format (table is the default)
    for fmt in (("--format", "md"), ()):
        other = vlab("adjudicate", pack, *fmt, *flags)
        assert other.returncode == TOPLINE_EXIT[topline], fmt
        assert other.stdout.strip()
        assert topline.encode() in other.stdout


def test_table_output_has_no_colour_when_stdout_is_not_a_terminal(
    tmp_path: Path, vlab: Runner
) -> None:
    proc = vlab("adjudicate", fail_pack(tmp_path), no_color=False)
    assert proc.returncode == 1
    assert b"\x1b[" not in proc.stdout
    assert b"CL-D1-01" in proc.stdout


def test_validate_exit_statuses(tmp_path: Path, vlab: Runner) -> None:
    assert vlab("validate", pass_pack(tmp_path), "--format", "json").returncode == 0
    assert vlab("validate", fail_pack(tmp_path)).returncode == 0  # FAIL is still admissible
    bad = not_admissible_pack(tmp_path)
    proc = vlab("validate", bad, "--format", "json")
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["reason_code"] == "ADM-GATE-INTEGRITY-FAIL"
    assert vlab("validate", bad).returncode == 2


# -- usage errors: 64 ----------------------------------------------------------------


USAGE_ERRORS = {
    "adjudicate-missing-pack": ("adjudicate", "{tmp}/no-such-pack"),
    "adjudicate-regular-file": ("adjudicate", "{tmp}/pass/manifest.json"),
    # archive packs are .tar, .tar.gz/.tgz and .zip (tests/test_archive.py); others are not
    "adjudicate-other-archive": ("adjudicate", "{tmp}/pack.rar"),
    "adjudicate-no-pack-argument": ("adjudicate",),
    "adjudicate-unknown-ruleset-id": ("adjudicate", "{tmp}/pass", "--ruleset", "ruleset-9.9"),
    "adjudicate-unknown-ruleset-path": ("adjudicate", "{tmp}/pass", "--ruleset", "{tmp}/nope/"),
    "adjudicate-bad-format": ("adjudicate", "{tmp}/pass", "--format", "xml"),
    "adjudicate-out-no-equals": ("adjudicate", "{tmp}/pass", "--out", "json"),
    "adjudicate-out-unknown-format": ("adjudicate", "{tmp}/pass", "--out", "xml={tmp}/r.xml"),
    "adjudicate-out-empty-path": ("adjudicate", "{tmp}/pass", "--out", "json="),
    "adjudicate-out-unwritable": (
        "adjudicate",
        "{tmp}/pass",
        "--out",
        "json={tmp}/no-such-dir/r.json",
    ),
    "adjudicate-unknown-flag": ("adjudicate", "{tmp}/pass", "--frobnicate"),
    "adjudicate-max-files-zero": ("adjudicate", "{tmp}/pass", "--max-files", "0"),
    "validate-missing-pack": ("validate", "{tmp}/no-such-pack"),
    "validate-regular-file": ("validate", "{tmp}/pass/manifest.json"),
    "validate-unknown-flag": ("validate", "{tmp}/pass", "--ruleset-typo", "x"),
    "validate-bad-format": ("validate", "{tmp}/pass", "--format", "md"),
    "unknown-command": ("frobnicate",),
    "rulesets-show-unknown": ("rulesets", "show", "nope"),
    "rulesets-show-bad-format": ("rulesets", "show", RULESET_ID, "--format", "yaml"),
    "seal-missing-dir": ("pack", "seal", "{tmp}/no-such-pack"),
    "seal-regular-file": ("pack", "seal", "{tmp}/pass/manifest.json"),
}


@pytest.mark.parametrize("args", list(USAGE_ERRORS.values()), ids=list(USAGE_ERRORS))
def test_usage_errors_exit_64(args: tuple[str, ...], tmp_path: Path, vlab: Runner) -> None:
    pass_pack(tmp_path)
    (tmp_path / "pack.rar").write_bytes(b"Rar!\x1a\x07\x00")
    proc = vlab(*(a.format(tmp=tmp_path) for a in args), cwd=tmp_path)
    assert proc.returncode == 64, proc.stderr
    assert proc.stdout == b""
    assert proc.stderr.strip(), "a usage error says why on stderr"
    assert not (tmp_path / "no-such-dir").exists()


def test_debug_keeps_the_usage_exit_status(tmp_path: Path, vlab: Runner) -> None:
    """--debug may show a traceback, but exit 64 still means usage error (1 means FAIL)."""
    proc = vlab("--debug", "adjudicate", tmp_path / "nope", allow_traceback=True)
    assert proc.returncode == 64


def test_unknown_ruleset_pinned_inside_a_pack_is_not_a_usage_error(
    tmp_path: Path, vlab: Runner
) -> None:
    """adjudication.md §1: an unknown ruleset_ref inside a pack is a PIN failure (exit 2)."""
    pack = good_pack(tmp_path, ruleset_ref="ruleset-9.9")
    proc = vlab("adjudicate", pack, "--format", "json")
    assert proc.returncode == 2
    ruling = ruling_of(proc)
    assert ruling["admission"]["reason_code"] == "ADM-GATE-PIN-FAIL"
    assert [d["code"] for d in ruling["admission"]["gates"][1]["details"]] == [
        "PIN-UNKNOWN-RULESET"
    ]


# -- rulesets ------------------------------------------------------------------------


def test_rulesets_show_json(tmp_path: Path, vlab: Runner) -> None:
    proc = vlab("rulesets", "show", RULESET_ID, "--format", "json")
    assert proc.returncode == 0
    assert proc.stdout.endswith(b"}\n") and not proc.stdout.endswith(b"\n\n")
    doc = json.loads(proc.stdout)
    assert proc.stdout == rfc8785.dumps(doc) + b"\n"
    for key in (
        "id",
        "version",
        "status",
        "sha256",
        "schema_bundle_sha256",
        "protocol_pins",
        "contract_versions",
        "clauses",
    ):
        assert key in doc, key
    assert doc["id"] == RULESET_ID
    assert doc["version"] == "1.1.0"
    assert doc["status"] == "released"
    assert re.fullmatch(r"sha256:[0-9a-f]{64}", doc["sha256"])
    assert HEX64.fullmatch(doc["schema_bundle_sha256"])  # no prefix: what a pack pins
    assert doc["schema_bundle_sha256"] == schema_bundle_sha256()
    assert set(doc["protocol_pins"]) == {"1.0.0", "1.0"}
    assert set(doc["contract_versions"]) == {"1.0", "1.1"}
    assert [c["clause_id"] for c in doc["clauses"]] == list(CLAUSE_IDS)
    for c in doc["clauses"]:
        assert {"clause_id", "requirement_id", "domain", "title"} <= set(c)
        assert c["requirement_id"] == c["clause_id"].replace("CL-", "RQ-")
        assert c["domain"] == c["clause_id"].split("-")[1]
        assert c["title"]
    # the ruleset digest is the one a ruling records
    ruling = ruling_of(vlab("adjudicate", pass_pack(tmp_path), "--format", "json"))
    assert ruling["ruleset"]["sha256"] == doc["sha256"]


def test_rulesets_show_table_and_list(vlab: Runner) -> None:
    show = vlab("rulesets", "show", RULESET_ID)
    assert show.returncode == 0
    assert schema_bundle_sha256().encode() in show.stdout
    listed = vlab("rulesets", "list", "--format", "json")
    assert listed.returncode == 0
    assert RULESET_ID in [r["id"] for r in json.loads(listed.stdout)]
    assert vlab("rulesets", "list").returncode == 0


# -- pack seal -----------------------------------------------------------------------


def _expected_sums(folder: Path) -> bytes:
    files = {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in folder.rglob("*")
        if p.is_file() and p.relative_to(folder).as_posix() != SUMS_PATH
    }
    ordered = sorted(files, key=lambda p: p.encode("utf-8"))
    return "".join(f"{files[p]}  {p}\n" for p in ordered).encode("utf-8")


def test_pack_seal_writes_sums_sorted_by_utf8_path_bytes(tmp_path: Path, vlab: Runner) -> None:
    folder = tmp_path / "loose"
    names = ["b.json", "B.json", "a/z.json", "a.json", "Z/a.json", "ä.json", "z.md", "a b.txt"]
    for i, name in enumerate(names):
        write(folder, name, f'{{"i": {i}}}')
    proc = vlab("pack", "seal", folder, "--allow-incomplete")  # no control files: loose
    assert proc.returncode == 0, proc.stderr
    data = (folder / SUMS_PATH).read_bytes()
    assert data == _expected_sums(folder)
    paths = [line.split("  ", 1)[1] for line in data.decode().splitlines()]
    assert paths == [
        "B.json",
        "Z/a.json",
        "a b.txt",
        "a.json",
        "a/z.json",
        "b.json",
        "z.md",
        "ä.json",
    ]
    assert SUMS_PATH not in paths


def test_pack_seal_makes_a_pack_admissible_and_replaces_an_old_file(
    tmp_path: Path, vlab: Runner
) -> None:
    pack = good_pack(tmp_path, sealed=False)
    assert vlab("validate", pack).returncode == 2  # no integrity file yet
    assert vlab("pack", "seal", pack).returncode == 0
    assert vlab("adjudicate", pack).returncode == 0
    first = (pack / SUMS_PATH).read_bytes()
    # an old, wrong integrity file (stale entries, a self-listing) is replaced, not merged
    write(pack, SUMS_PATH, f"{'0' * 64}  gone.json\n{'1' * 64}  {SUMS_PATH}\nnonsense\n")
    write(pack, "artifacts/new.json", b"[]")
    assert vlab("adjudicate", pack).returncode == 2
    assert vlab("pack", "seal", pack).returncode == 0
    sums = (pack / SUMS_PATH).read_bytes()
    assert sums == _expected_sums(pack)
    assert sums != first and b"gone.json" not in sums
    assert vlab("adjudicate", pack).returncode == 0
    assert not [p for p in (pack / "integrity").iterdir() if p.name != "sha256sums.txt"]


def _symlink(pack: Path) -> None:
    os.symlink("manifest.json", pack / "artifacts-link.json")


def _dir_symlink(pack: Path) -> None:
    os.symlink("trace", pack / "trace-link")


def _fifo(pack: Path) -> None:
    os.mkfifo(pack / "trace" / "pipe.ndjson")


def _exe(pack: Path) -> None:
    write(pack, "tool.exe", b"MZ")


@pytest.mark.parametrize(
    ("make", "code", "already_sealed"),
    [
        (_symlink, "SECURITY-SYMLINK", False),
        (_symlink, "SECURITY-SYMLINK", True),
        (_dir_symlink, "SECURITY-SYMLINK", False),
        (_fifo, "SECURITY-SPECIAL-FILE", False),
        (_exe, "SECURITY-DISALLOWED-ENDING", False),
    ],
    ids=["symlink-file", "symlink-file-resealed", "symlink-dir", "fifo", "disallowed-ending"],
)
def test_pack_seal_refuses_what_security_refuses(
    make: Any, code: str, already_sealed: bool, tmp_path: Path, vlab: Runner
) -> None:
    pack = good_pack(tmp_path, sealed=already_sealed)
    before = (pack / SUMS_PATH).read_bytes() if already_sealed else None
    make(pack)
    proc = vlab("pack", "seal", pack)
    assert proc.returncode == 64
    assert code.encode() in proc.stderr
    if already_sealed:
        assert (pack / SUMS_PATH).read_bytes() == before
    else:
        assert not (pack / SUMS_PATH).exists()


# -- shadow runs ---------------------------------------------------------------------


def test_ruleset_override_is_recorded(tmp_path: Path, vlab: Runner) -> None:
    pack = pass_pack(tmp_path)
    plain = vlab("adjudicate", pack, "--format", "json")
    shadow = vlab("adjudicate", pack, "--format", "json", "--ruleset", RULESET_ID)
    assert (plain.returncode, shadow.returncode) == (0, 0)
    plain_doc, shadow_doc = ruling_of(plain), ruling_of(shadow)
    assert plain_doc["ruleset"]["override"] is False
    assert shadow_doc["ruleset"]["override"] is True
    assert shadow_doc["ruleset"]["id"] == RULESET_ID
    assert shadow_doc["clauses"] == plain_doc["clauses"]
    assert shadow_doc["digest"] != plain_doc["digest"]


def test_shadow_ruleset_admission_uses_the_pinned_ruleset(tmp_path: Path, vlab: Runner) -> None:
    """adjudication.md §5: PIN and CONTRACT are checked against the ruleset the pack pins;
    only the clauses evaluated change."""
    ruleset = shadow_ruleset(
        tmp_path, keep=("CL-D1-01",), protocol_pins=["9.9.9"], contract_versions=["1.0"]
    )
    pack = pass_pack(tmp_path)  # pins ruleset-1.1, protocol 1.0.0, contract 1.1
    proc = vlab("adjudicate", pack, "--format", "json", "--ruleset", ruleset)
    ruling = ruling_of(proc)
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    assert ruling["ruleset"]["override"] is True
    assert ruling["ruleset"]["id"] == "ruleset-shadow"
    assert [c["clause_id"] for c in ruling["clauses"]] == ["CL-D1-01"]
    assert (proc.returncode, ruling["topline"]) == (0, "PASS")


# -- --out and --format json ---------------------------------------------------------


@pytest.mark.parametrize("topline", ["PASS", "FAIL", "NOT_ADMISSIBLE"])
def test_out_files_are_written_and_do_not_change_the_exit_status(
    topline: str, tmp_path: Path, vlab: Runner
) -> None:
    pack, flags = topline_case(topline, tmp_path)
    as_json = vlab("adjudicate", pack, "--format", "json", *flags)
    out_json, out_md, out_table = tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.txt"
    proc = vlab(
        "adjudicate",
        pack,
        *flags,
        "--out",
        f"json={out_json}",
        "--out",
        f"md={out_md}",
        "--out",
        f"table={out_table}",
    )
    assert proc.returncode == as_json.returncode == TOPLINE_EXIT[topline]
    assert out_json.read_bytes() == as_json.stdout
    md = out_md.read_text("utf-8")
    assert md.startswith("# ") and topline in md
    assert out_table.read_bytes().strip()
    if topline == "FAIL":
        again = vlab("adjudicate", pack, "--format", "md", *flags, "--out", f"json={out_json}")
        assert again.returncode == TOPLINE_EXIT[topline]
        assert again.stdout.decode("utf-8") == md


def test_ruling_bytes_do_not_depend_on_where_the_pack_lives(tmp_path: Path, vlab: Runner) -> None:
    pack = shutil.copytree(pass_pack(tmp_path), tmp_path / "qzx-one")
    elsewhere = shutil.copytree(pack, tmp_path / "deeper" / "qzx-two")
    first = vlab("adjudicate", pack, "--format", "json", cwd=tmp_path)
    second = vlab("adjudicate", "qzx-two", "--format", "json", cwd=elsewhere.parent)
    assert first.returncode == second.returncode == 0
    assert first.stdout == second.stdout
    for leak in (str(tmp_path), "qzx", "deeper"):
        assert leak.encode() not in first.stdout
    assert EVENTS_PATH.encode() in first.stdout
