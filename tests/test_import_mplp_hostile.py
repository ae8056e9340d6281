"""`vlab import mplp` against hostile run folders (issue 15's attack report, F1-F9, F13,
F14 and its lesser notes): each edit that once passed a tampered trace, hid a refusal,
crashed or cost unbounded memory, and what it gives now. The verdict findings (F10-F12)
are in tests/test_mplp_compat.py; the engine's half of F4 in tests/test_admission_gates.py
and tests/test_format2.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.importers import import_pack
from vlab.importers.base import ImportRefused
from vlab.importers.mplp import MAX_BYTES, _records
from vlab.importers.mplp_js import canonptr, canonptr_index, js_string
from vlab.pack.limits import Limits

if TYPE_CHECKING:
    from conftest import InProcessRunner, Judge, Runner
    from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "fixtures" / "native" / "mplp" / "repo"
ARB_V03 = UPSTREAM / "data/runs/arb-d1-budget-pass-fixture-v0.3"  # its sums list the trace
V05_D3 = UPSTREAM / "data/runs/v05-d3-sk-fail-subject-missing"  # sums: manifest.json, trace
VECTOR = UPSTREAM / "test-vectors/v0.5/D1/PASS/budget-allow-basic"  # no sums at all
SUMS = "integrity/sha256sums.txt"
REFUSED = ("CONTRACT-IMPORT-UPSTREAM-INTEGRITY", False)
UNSEALED = ("CONTRACT-IMPORT-UPSTREAM-UNSEALED", True)


def copied(tmp_path: Path, run: Path = ARB_V03) -> Path:
    target = tmp_path / "run"
    shutil.copytree(run, target)
    return target


def tamper_trace(run: Path) -> None:
    """The edit upstream's sums must catch: the budget decision's amount changed."""
    log = run / "trace" / "events.ndjson"
    data = log.read_bytes()
    assert b'"amount":1000' in data
    log.write_bytes(data.replace(b'"amount":1000', b'"amount":999999'))


def imported(run: Path, tmp_path: Path, catalog: Catalog, **options: Any) -> Path:
    pack = tmp_path / "pack"
    import_pack("mplp", [run], pack, catalog=catalog, **options)
    return pack


def integrity(pack: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((pack / "import.json").read_text("utf-8"))
    found: dict[str, Any] = record["evidence"]["upstream_integrity"]
    return found


def contract(ruling: dict[str, Any]) -> list[dict[str, Any]]:
    gate = next(g for g in ruling["admission"]["gates"] if g["gate"] == "ADM-GATE-CONTRACT")
    details: list[dict[str, Any]] = gate.get("details", [])
    return details


def refused(pack: Path) -> list[str]:
    return [p["path"] for p in integrity(pack)["problems"] if p["effect"] == "refused"]


# -- F1: a placeholder sums file never hides a real one --------------------------------------


def test_a_placeholder_sums_file_in_a_new_pack_root_never_hides_the_real_sums(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """arb v0.3's bundle says pack_root "pack" (upstream flattened it away). Adding pack/
    with a tampered trace and a '# Empty Integrity' sums file made the pack root's
    placeholder the only sums read: PASS, status placeholder. Every sums file is read."""
    run = copied(tmp_path)
    (run / "pack" / "trace").mkdir(parents=True)
    (run / "pack" / "integrity").mkdir()
    data = (run / "trace" / "events.ndjson").read_bytes()
    (run / "pack" / "trace" / "events.ndjson").write_bytes(data.replace(b"allow", b"deny"))
    (run / "pack" / SUMS).write_bytes(b"# Empty Integrity\n")
    pack = imported(run, tmp_path, catalog)
    found = integrity(pack)
    assert found["status"] == "broken"
    assert found["sha256sums"] == [f"native/mplp/{SUMS}"]  # the placeholder is not "read"
    assert refused(pack) == ["native/mplp/pack/trace/events.ndjson"]
    ruling = judge(pack)
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    assert (contract(ruling)[0]["code"], contract(ruling)[0]["advisory"]) == REFUSED


# -- F2: a run of advisories never pushes a refusal out of the ruling ------------------------


def test_twenty_advisories_before_a_refusal_still_refuse(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """Twenty lines for the claim verdict.json (advisories), then the real sums, and the
    trace tampered: the gate cut the problems at 20 before sorting, so only advisories
    reached the ruling (PASS). Refusals come first now, and what is not named is counted."""
    run = copied(tmp_path)
    tamper_trace(run)
    sums = run / SUMS
    sums.write_bytes((b"0" * 64 + b"  verdict.json\n") * 20 + sums.read_bytes())
    pack = imported(run, tmp_path, catalog)
    problems = integrity(pack)["problems"]
    assert len(problems) == 24 and [p["effect"] for p in problems].count("refused") == 1
    ruling = judge(pack)
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    details = contract(ruling)
    assert (details[0]["code"], details[0]["advisory"]) == REFUSED
    assert "native/mplp/trace/events.ndjson: sha256" in details[0]["message"]
    assert len(details) == 21
    assert details[-1]["message"] == "4 more upstream integrity problem(s) in import.json"
    assert (details[-1]["code"], details[-1]["advisory"]) == UNSEALED


# -- F3: every file the derived view reads is evidence ---------------------------------------


def _edit_json(path: Path, **changes: Any) -> None:
    doc = json.loads(path.read_text("utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc, indent=2), "utf-8")


def test_an_unlisted_file_that_shapes_the_view_is_named_on_the_ruling(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """The producer manifest decides the run's domains (its scenario's dN word): d3 -> d4
    changed what is judged while the import said "verified". Unlisted, it is now an
    advisory on the ruling that names it (decision 171: as sealed as a run without sums)."""
    run = copied(tmp_path, V05_D3)
    _edit_json(run / "producer-run.manifest.json", scenario="d4-subject-missing")
    pack = imported(run, tmp_path, catalog)
    found = integrity(pack)
    assert found["status"] == "partial"
    paths = [p["path"] for p in found["problems"]]
    assert "native/mplp/producer-run.manifest.json" in paths
    assert "native/mplp/bundle.manifest.json" in paths
    assert "native/mplp/evidence_pointers.json" in paths
    ruling = judge(pack)
    messages = [d["message"] for d in contract(ruling) if d["advisory"]]
    assert any(m.startswith("native/mplp/producer-run.manifest.json: evidence") for m in messages)


def test_a_listed_file_that_shapes_the_view_and_changed_refuses_the_pack(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    run = copied(tmp_path, V05_D3)
    _edit_json(run / "manifest.json", run_id="someone-else")
    pack = imported(run, tmp_path, catalog)
    assert refused(pack) == ["native/mplp/manifest.json"]
    assert judge(pack)["topline"] == "NOT_ADMISSIBLE"


def test_a_recorded_verdict_that_names_the_upstream_ruleset_is_read_and_named(
    tmp_path: Path, catalog: Catalog
) -> None:
    """With no ruleset_ref anywhere, verdict.json's versions.ruleset names the upstream
    ruleset: a claim file the view reads, so unlisted it is named (as a claim)."""
    run = copied(tmp_path)
    bundle = json.loads((run / "bundle.manifest.json").read_text("utf-8"))
    del bundle["ruleset_ref"]
    (run / "bundle.manifest.json").write_text(json.dumps(bundle), "utf-8")
    sums = run / SUMS
    sums.write_bytes(
        b"".join(ln for ln in sums.read_bytes().splitlines(True) if b"verdict" not in ln)
    )
    pack = imported(run, tmp_path, catalog)
    problems = {p["path"]: p for p in integrity(pack)["problems"]}
    assert "a claim the view reads" in problems["native/mplp/verdict.json"]["problem"]
    assert problems["native/mplp/verdict.json"]["effect"] == "advisory"


# -- F4: a pointer that names another file still addresses upstream's log --------------------


def test_a_pointer_naming_another_ndjson_file_reads_the_log_as_upstream_does(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """artifact_path timeline/events.ndjson (upstream's placeholder log): upstream's
    resolver finds event_id in the run's log whatever artifact_path says. It was a pointer
    into a native NDJSON file no gate indexed, and adjudicate stopped (KeyError, exit 70)."""
    run = copied(tmp_path)
    path = run / "evidence_pointers.json"
    path.write_text(
        path.read_text("utf-8").replace("pack/trace/events.ndjson", "timeline/events.ndjson")
    )
    pack = imported(run, tmp_path, catalog)
    pointers = json.loads((pack / "evidence_pointers.json").read_text("utf-8"))["pointers"]
    assert {(p["artifact_path"], p["locator"]) for p in pointers} == {
        ("trace/events.ndjson", "event_id:evt-budget-001")
    }
    assert "upstream resolves the locator in the run's log" in pointers[0]["note"]
    assert judge(pack)["topline"] == "PASS"


@pytest.mark.parametrize("declared", ["manifest.json", SUMS])
def test_a_manifest_naming_a_file_that_is_no_log_names_no_log(
    declared: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    run = copied(tmp_path)
    (run / "manifest.json").write_text(json.dumps({"trace": declared}), "utf-8")
    pack = imported(run, tmp_path, catalog)
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["evidence"]["log"] == "native/mplp/trace/events.ndjson"
    assert judge(pack)["topline"] == "PASS"


# -- F5, F13: numbers as JavaScript's String() writes them -----------------------------------

# (the amount as written in the log, the digest upstream's canonptr.ts gives: a verbatim
# port run by node 20 on these lines, issue 15's attack report)
AMOUNTS = [
    ("1e21", "e1ee4886"),
    ("1e20", "2a19580c"),
    ("123456789012345678901", "30385264"),
    ("9007199254740993", "ced3774e"),
    ("12345678901234567890", "b871ddf6"),
    ("-0", "d68809fd"),
    ("-0.0", "d68809fd"),
    ("0.1", "32c1702e"),
    ("0.30000000000000004", "a763438d"),
    ("1.0", "83e92646"),
    ("1000.0", "7141c4cc"),
    ("1e-7", "8e04431b"),
    ("0.000001", "72de77f1"),
    ("123e-20", "44c712c6"),
    ("5e-324", "27126025"),
    ("1.7976931348623157e308", "dd4773ea"),
    ("1e999999", "eec9c2e4"),
    ("-1e999999", "d88c6427"),
    ("1" + "0" * 400, "eec9c2e4"),  # JSON.parse: Infinity, as 1e400
    ("-1" + "0" * 400, "d88c6427"),
    ("1e-999999", "d68809fd"),
    ("true", "b979efc1"),
    ("null", "6df4443e"),
    ("[1,[2,3],null]", "ca485e9b"),
    ("[]", "c21bb076"),
    ('{"a":1}', "e9b0214b"),
    ("1E+2", "f6cdd6c1"),
    ("0.1e1", "83e92646"),
    ('[true,{"a":1},"s",1.5]', "5320dc45"),
    ("123456789.123456789", "a0002a71"),
    ("[0,-0]", "470d57d0"),
    ("99999999999999999999999", "b2f8d196"),
]


@pytest.mark.parametrize(("amount", "digest"), AMOUNTS)
def test_canonptr_digests_numbers_as_upstream_does(amount: str, digest: str) -> None:
    """Integers from 2**53 on are doubles in JavaScript (9007199254740993 is ...992 there);
    a 400-digit one is Infinity (it was an OverflowError, exit 70)."""
    fields = '"event_id":"e","decision_kind":"budget","outcome":"allow","resource":"r"'
    line = f'{{{fields},"amount":{amount}}}'
    _, events, damaged = _records(line.encode() + b"\n", "x")
    assert damaged == []
    assert list(canonptr_index(events)) == [f"canonptr:v1:D1:budget:000:{digest}"]


def test_js_string_of_integers_beyond_a_double() -> None:
    assert js_string(2**53) == "9007199254740992"
    assert js_string(2**53 + 1) == "9007199254740992"
    assert js_string(12345678901234567890) == "12345678901234567000"
    assert js_string(10**400) == "Infinity" and js_string(-(10**400)) == "-Infinity"


def test_a_400_digit_number_in_the_log_is_imported_and_judged(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    run = tmp_path / "repo" / "v"
    shutil.copytree(VECTOR, run)
    log = run / "pack" / "trace" / "events.ndjson"
    huge = b'{"event_id":"big","decision_kind":"budget","outcome":"allow","amount":1' + b"0" * 400
    log.write_bytes(log.read_bytes() + huge + b"}\n")
    pack = imported(run, tmp_path, catalog, repo=tmp_path / "repo")
    assert judge(pack)["topline"] in ("PASS", "FAIL")


# upstream's kind -> domain map is a plain object, and JSON.parse keeps a repeated key's last
# value: what canonptr.ts gives this log (node 20)
PROTO_LOG = b"""{"event_id":"p0","decision_kind":"constructor"}
{"event_id":"b1","decision_kind":"budget","outcome":"allow","resource":"r","amount":5}
{"event_id":"p1","decision_kind":["budget"],"outcome":"allow","resource":"r","amount":5}
{"event_id":"b2","decision_kind":"budget","outcome":"allow","resource":"r","amount":5,"amount":6}
{"event_id":"b3","decision_kind":"budget","outcome":"allow","resource":"r","amount":7}
"""
PROTO_POINTERS = [
    ("canonptr:v1:function Object() { [native code] }:constructor:000:8ab4a25d", "p0"),
    ("canonptr:v1:D1:budget:001:b44a9d45", "b1"),
    ("canonptr:v1:D1:budget:002:b44a9d45", "p1"),
    ("canonptr:v1:D1:budget:003:f6359dc2", "b2"),
    ("canonptr:v1:D1:budget:004:c7029af1", "b3"),
]


def test_a_prototype_kind_and_a_repeated_key_advance_the_sequence_as_upstream() -> None:
    records, events, damaged = _records(PROTO_LOG, "x")
    assert damaged == []
    assert [(ptr, eid) for ptr, (_, eid) in canonptr_index(events).items()] == PROTO_POINTERS
    assert records[3]["amount"] == 6
    assert records[3]["upstream_repeated_key"].startswith('duplicate key "amount"')
    assert canonptr({"decision_kind": "toString"}, 7) == (
        "canonptr:v1:function toString() { [native code] }:toString:007:0e2e4b6a"
    )


# -- F6, F8 and the lesser notes: names and sizes a pack cannot hold ---------------------------


def test_a_file_name_that_is_not_utf8_is_a_one_line_refusal(tmp_path: Path, vlab: Runner) -> None:
    run = copied(tmp_path)
    fd = os.open(os.fsencode(run / "artifacts") + b"/\xff.json", os.O_WRONLY | os.O_CREAT)
    os.write(fd, b"{}")
    os.close(fd)
    proc = vlab("import", "mplp", run, "--out", tmp_path / "p", text=True)
    assert proc.returncode == 65, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "\\xff.json: a file name that is not UTF-8" in proc.stderr


def test_two_names_that_are_one_name_once_normalized_are_refused(
    tmp_path: Path, catalog: Catalog
) -> None:
    run = copied(tmp_path)
    (run / "artifacts" / "caf\u00e9.json").write_text("{}", "utf-8")
    (run / "artifacts" / "cafe\u0301.json").write_text("{}", "utf-8")
    with pytest.raises(ImportRefused, match=r"the same name as .* once Unicode-normalized"):
        imported(run, tmp_path, catalog)


def test_a_run_folder_over_upstreams_size_bound_is_refused_before_it_is_read(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream's own bound on a pack (MAX_PACK_SIZE_BYTES); a sparse file costs no disk.
    Nothing is read: the whole 100 MB file used to be read, written and sealed first."""
    run = copied(tmp_path)
    with open(run / "artifacts" / "big.txt", "wb") as fh:
        fh.truncate(MAX_BYTES + 1)
    reads: list[Path] = []
    from vlab.importers import mplp

    real = mplp.read_native
    monkeypatch.setattr(mplp, "read_native", lambda p, w: reads.append(p) or real(p, w))
    with pytest.raises(ImportRefused, match=f"{MAX_BYTES} bytes"):
        imported(run, tmp_path, catalog)
    assert reads == []
    assert not (tmp_path / "pack").exists()


def test_every_native_file_is_read_with_the_bounded_reader(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.importers import mplp

    reads: list[str] = []
    real = mplp.read_native
    monkeypatch.setattr(mplp, "read_native", lambda p, w: reads.append(p.name) or real(p, w))
    imported(copied(tmp_path), tmp_path, catalog)
    assert len(reads) == 13 and "events.ndjson" in reads


# -- F7: sums read as upstream reads them; only the exact placeholder is one ------------------


def _listed_trace(run: Path) -> bytes:
    line = next(ln for ln in (run / SUMS).read_bytes().splitlines() if b"trace" in ln)
    return line


@pytest.mark.parametrize(
    "sums",
    [
        lambda line: b"\xef\xbb\xbf" + line + b"\n",  # a byte order mark (JavaScript trims it)
        lambda line: line.replace(b"  ", "\u00a0".encode()) + b"\n",  # NBSP: a \\s to JS
        lambda line: line + b"\r\n",
        lambda line: b"garbage\n",  # no hash line at all: not upstream's placeholder
        lambda line: b"# Empty Integrity\ngarbage\n",
    ],
    ids=["bom", "nbsp", "crlf", "garbage", "placeholder-and-more"],
)
def test_a_sums_file_is_read_as_upstream_reads_it(
    sums: Any, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """Any sums file without a line matching vlab's pattern was taken for upstream's
    '# Empty Integrity' placeholder: nothing checked, a tampered trace PASSed."""
    run = copied(tmp_path)
    (run / SUMS).write_bytes(sums(_listed_trace(run)))
    tamper_trace(run)
    pack = imported(run, tmp_path, catalog)
    assert integrity(pack)["status"] == "broken"
    assert judge(pack)["topline"] == "NOT_ADMISSIBLE"


def test_upstreams_placeholder_sums_file_is_still_one(tmp_path: Path, catalog: Catalog) -> None:
    run = copied(tmp_path)
    (run / SUMS).write_bytes(b"# Empty Integrity\n")
    found = integrity(imported(run, tmp_path, catalog))
    assert (found["status"], found["problems"], found["sha256sums"]) == ("placeholder", [], [])


# -- F9: what admission would refuse is refused at import, for every importer -----------------


@pytest.mark.parametrize(
    ("system", "source", "options"),
    [
        ("mplp", ARB_V03, {}),
        (
            "hal0",
            ROOT / "fixtures/native/hal0/runs/float-edge",
            {"checks": str(ROOT / "fixtures/native/hal0/runs/float-edge/checks.jsonl")},
        ),
    ],
)
def test_a_derived_document_admission_would_refuse_is_refused_at_import(
    system: str,
    source: Path,
    options: dict[str, Any],
    tmp_path: Path,
    catalog: Catalog,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 200,000-event MPLP log imported (29 s, 540 MB) into a pack admission refused
    (CONTRACT-DOCUMENT-TOO-LARGE): the check is build.py's, so it holds for every system.
    Here with a small value bound standing in for the default one."""
    from vlab.importers import build

    monkeypatch.setattr(build, "Limits", lambda: Limits(max_document_values=40))
    with pytest.raises(ImportRefused, match="more than 40 JSON values"):
        import_pack(system, [source], tmp_path / "p", catalog=catalog, **options)
    assert not (tmp_path / "p").exists()


def test_the_refusal_at_import_is_one_line_exit_65(
    tmp_path: Path, vlab_in_process: InProcessRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.importers import build

    monkeypatch.setattr(build, "Limits", lambda: Limits(max_pointers=1))
    code, _, err = vlab_in_process("import", "mplp", ARB_V03, "--out", tmp_path / "p")
    assert code == 65
    assert len(err.strip().splitlines()) == 1
    assert "it would hold 3 pointers (at most 1 are judged)" in err


def test_refuse_inadmissible_checks_bytes_values_and_depth() -> None:
    from vlab.importers.build import refuse_inadmissible

    pointers = b'{"pointers": []}'
    small = Limits(max_document_bytes=100, max_document_values=10, max_depth=3)
    refuse_inadmissible({"evidence_pointers.json": pointers, "a.json": b"[1, 2]"}, "s", small)
    for doc, why in [
        (b"[" + b"1," * 60 + b"1]", "bytes"),
        (b"[" + b"1," * 20 + b"1]", "more than 10 JSON values"),
        (b"[[[[1]]]]", "nesting deeper than 3"),
    ]:
        with pytest.raises(ImportRefused, match=why):
            refuse_inadmissible({"evidence_pointers.json": pointers, "a.json": doc}, "s", small)


# -- F14: a line upstream calls blank takes no line number ------------------------------------


@pytest.mark.parametrize("blank", ["\u00a0", "\ufeff", "\u2028", " \t", "\u3000"])
def test_a_line_of_javascript_white_space_is_blank(blank: str) -> None:
    """upstream's loader drops lines whose trim() is empty: line:N counts the others."""
    log = b'{"event_id":"a"}\n' + blank.encode() + b'\n{"event_id":"b"}\n'
    records, _, damaged = _records(log, "x")
    assert [r["event_id"] for r in records] == ["a", "b"] and damaged == []
    assert records[1]["source"]["line"] == 3  # its native line; its derived line is 2


# -- lesser: ids vlab makes never collide; an unlisted log never displaces a sealed one ------


def test_a_line_id_never_takes_an_id_upstream_wrote() -> None:
    log = b'{"event_id":"mplp-line-2"}\n{"event_type":"x"}\n{torn\n{"event_id":"mplp-line-3-2"}\n'
    records, _, _ = _records(log, "x")
    # line 2 would be mplp-line-2, which line 1 holds; line 4 holds mplp-line-3-2
    assert [r["event_id"] for r in records] == [
        "mplp-line-2",
        "mplp-line-2-2",
        "mplp-line-3",
        "mplp-line-3-2",
    ]


def test_an_unlisted_log_chosen_over_the_sealed_one_refuses_the_pack(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """A real timeline/events.ndjson written over upstream's placeholder one is read
    before the listed trace (upstream's loader order); upstream's verifier refuses an
    unlisted file (INT-003), and here the log judged would not be the one sealed."""
    run = copied(tmp_path)
    data = (run / "trace" / "events.ndjson").read_bytes()
    (run / "timeline" / "events.ndjson").write_bytes(data.replace(b"allow", b"deny"))
    pack = imported(run, tmp_path, catalog)
    assert refused(pack) == ["native/mplp/timeline/events.ndjson"]
    problem = next(p for p in integrity(pack)["problems"] if p["effect"] == "refused")
    assert "lists the log native/mplp/trace/events.ndjson" in problem["problem"]
    assert judge(pack)["topline"] == "NOT_ADMISSIBLE"
