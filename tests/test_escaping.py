"""Issue 11: pack strings are data in every human output (vlab.core.escape).

A FAIL pack whose ``run_id``, ``manifest.substrate.type`` and one event field (quoted in
a detail message) carry a forged ``# vlab ruling: PASS`` heading, terminal escape
sequences, bidi controls, Markdown and rich markup must come out of every human rendering
with no raw control or bidi character and no second heading; a pack file with such a
name must give one-line errors. JSON output is not concerned (JSON escapes them).
"""

from __future__ import annotations

import copy
import json
import re
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from markdown_it import MarkdownIt  # rich's own Markdown parser (CommonMark)

from packs import EVENTS, good_pack
from vlab.core.escape import human, md_code, md_fence, md_text, scrub

if TYPE_CHECKING:
    from conftest import InProcessRunner

FORGED = "\n# vlab ruling: PASS\n"
EVIL = (
    "run-1"
    + FORGED
    + "\r\x1b]0;owned\x07\x1b[2J\x1b[1;32mPASS\x1b[0m\u202eSSAP\u2066i\u2069\u200f\u2028\u2029"
    + "\x85\x00\t|`code`*em*_u_~~s~~[link](http://x)<b>bold</b>&#x202E;$x$\\"
    + " [bold red]PASS[/] :white_check_mark:"
)
# What must never be sent raw: controls, format characters (bidi among them), line and
# paragraph separators, lone surrogates.
UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs"}


def raw_unsafe(text: str, allowed: str = "\n") -> list[str]:
    return sorted({ch for ch in text if ch not in allowed and unicodedata.category(ch) in UNSAFE})


_ESCAPE = re.compile(r"\\(\\|n|r|t|x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8})")


def unescape(text: str) -> str:
    """The inverse of ``human``: it is what makes the escaping unambiguous."""
    named = {"\\": "\\", "n": "\n", "r": "\r", "t": "\t"}
    return _ESCAPE.sub(
        lambda m: named.get(m.group(1)) or chr(int(m.group(1)[1:], 16)),
        text,
    )


# -- the functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("\n", "\\n"),
        ("\r", "\\r"),
        ("\t", "\\t"),
        ("\x00", "\\x00"),
        ("\x1b", "\\x1b"),
        ("\x7f", "\\x7f"),
        ("\x85", "\\x85"),  # C1 NEL: a line break to some terminals
        ("\u202e", "\\u202e"),
        ("\u202a", "\\u202a"),
        ("\u2066", "\\u2066"),
        ("\u2069", "\\u2069"),
        ("\u200e", "\\u200e"),
        ("\u200f", "\\u200f"),
        ("\u061c", "\\u061c"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
        ("\ufeff", "\\ufeff"),
        ("\U000e0041", "\\U000e0041"),  # a tag character (category Cf)
        ("\udcff", "\\udcff"),  # a lone surrogate: a file name that is not UTF-8
        ("\uffff", "\\uffff"),  # a noncharacter, invalid in XML 1.0
        ("\\", "\\\\"),
        ("\\x1b", "\\\\x1b"),  # the text of an escape is not the character
    ],
)
def test_human_shows_unsafe_characters_as_escapes(raw: str, shown: str) -> None:
    assert human(raw) == shown
    assert human(f"a{raw}b") == f"a{shown}b"


def test_human_leaves_ordinary_text_alone() -> None:
    for text in ("run-001", "évènement 中文 😀 ok", "a b  c", "[x] <y> *z* `w` | # $"):
        assert human(text) == text
    assert human(None) == "None" and human(3) == "3"


def test_human_is_one_line_safe_and_reversible() -> None:
    everything = "".join(chr(c) for c in range(0x3000)) + "\U0001f600\U000e0001\U0010ffff"
    for text in (everything, EVIL, "\\n is not \n", "\\\\x1b\x1b"):
        shown = human(text)
        assert raw_unsafe(shown, allowed="") == []
        assert unescape(shown) == text


def test_scrub_escapes_characters_but_not_backslashes() -> None:
    assert scrub("a\\nb\x1b\u202e\nc") == "a\\nb\\x1b\\u202e\\nc"
    assert scrub("a\\nb\x1b\u202e\nc", keep_newlines=True) == "a\\nb\\x1b\\u202e\nc"
    assert scrub(human(EVIL)) == human(EVIL)  # a no-op on escaped text


MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
SAMPLES = [
    EVIL,
    FORGED,
    "x|y",
    "x\\|y",
    "a\\",
    "`a`",
    "``",
    "tests/**",
    "__init__",
    "not_declared",
    "[a](b)",
    "![i](x)",
    "<b>&amp;&#10;",
    "$x$",
    "~~s~~",
    "a # b #",
]


def _inline_text(children: Any) -> str:
    return "".join(c.content for c in children)


@pytest.mark.parametrize("text", SAMPLES, ids=range(len(SAMPLES)))
def test_markdown_escapes_render_as_the_human_form(text: str) -> None:
    """Through a CommonMark parser (with GFM tables and strikethrough): running text and
    code spans show exactly ``human(text)``, as one text or code node, in a list item, a
    table cell (the row keeps its cells) and a heading."""
    src = "\n".join(
        [
            f"- item {md_text(text)} and {md_code(text)}",
            "",
            "| a | b |",
            "|---|---|",
            f"| {md_text(text)} | {md_code(text, table=True)} |",
            "",
            f"## title {md_text(text)}",
            "",
        ]
    )
    tokens = MD.parse(src)
    assert [t.type for t in tokens if t.type.endswith("_open")].count("heading_open") == 1
    inline = [t for t in tokens if t.type == "inline"]
    item, _, _, cell_text, cell_code, heading = inline
    assert [c.type for c in item.children] == ["text", "code_inline"] or [
        c.type for c in item.children
    ] == ["text", "code_inline", "text"]
    assert item.children[0].content == f"item {human(text)} and "
    assert item.children[1].content == human(text)
    assert [c.type for c in cell_text.children] == ["text"]
    assert cell_text.children[0].content == human(text).strip(" ")
    assert [c.type for c in cell_code.children] == ["code_inline"]
    assert cell_code.children[0].content == human(text)
    assert _inline_text(heading.children) == f"title {human(text)}".rstrip(" ")
    assert [c.type for c in heading.children] == ["text"]


def test_a_fence_is_longer_than_any_backtick_run() -> None:
    text = "a\n```\n# vlab ruling: PASS\n````x"
    fence = md_fence(text)
    assert fence == "`" * 5
    tokens = MD.parse(f"{fence}text\n{text}\n{fence}\n")
    assert [t.type for t in tokens] == ["fence"] and tokens[0].content == text + "\n"
    assert md_fence("no backticks") == "```"


# -- the outputs ------------------------------------------------------------------------


@pytest.fixture
def evil_pack(tmp_path: Path) -> Path:
    events = copy.deepcopy(EVENTS)
    events[1]["to_state"] = EVIL  # quoted by CL-D2-01's FAIL detail
    return good_pack(tmp_path, events=events, run_id=EVIL, substrate={"type": EVIL})


def cell_count(row: str) -> int:
    """Cells of a GFM table row, split as GitHub splits them (``\\x`` pairs first)."""
    pipes, i = 0, 0
    while i < len(row):
        if row[i] == "\\":
            i += 2
            continue
        pipes += row[i] == "|"
        i += 1
    return pipes - 1


def _one_fail_heading(text: str, heading: str) -> list[str]:
    """Checks every Markdown output of the forged pack; returns the text of each inline
    node sequence (what a reader sees, line by line)."""
    assert raw_unsafe(text) == [], raw_unsafe(text)
    lines = text.splitlines()
    assert lines[0] == heading
    assert [line for line in lines if line.lstrip().startswith("# ")] == [heading]
    tokens = MD.parse(text)
    h1 = [t for t in tokens if t.type == "heading_open" and t.tag == "h1"]
    assert len(h1) == 1
    # No data turned into a link, raw HTML, emphasis or strikethrough.
    kinds = {c.type for t in tokens if t.type == "inline" for c in t.children or []}
    assert not kinds & {"link_open", "image", "html_inline", "em_open", "s_open"}, kinds
    assert not {t.type for t in tokens} & {"html_block"}
    # Each table row keeps the cells of its table's header.
    header = 0
    for line in lines:
        if line.startswith("|") and not line.startswith("|---"):
            if header == 0:
                header = cell_count(line)
            assert cell_count(line) == header, line
        elif not line.startswith("|"):
            header = 0
    return [_inline_text(t.children) for t in tokens if t.type == "inline"]


def test_markdown_ruling_of_a_forged_pack(
    evil_pack: Path, vlab_in_process: InProcessRunner, tmp_path: Path
) -> None:
    code, out, err = vlab_in_process("adjudicate", evil_pack, "--format", "md")
    assert code == 1, err
    text = out.decode("utf-8")
    seen = _one_fail_heading(text, "# vlab ruling: FAIL")
    assert f"substrate: {human(EVIL)}" in seen  # a reader sees the escaped form, whole
    assert f"pack: pack-good-001, run {human(EVIL)}, digest " in "".join(seen)
    assert len([line for line in text.splitlines() if line.startswith("| CL-")]) == 4


def test_step_summary_of_a_forged_pack(
    evil_pack: Path,
    vlab_in_process: InProcessRunner,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    summary = tmp_path / "summary.md"
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, _, err = vlab_in_process("adjudicate", evil_pack, "--format", "json")
    assert code == 1, err
    _one_fail_heading(summary.read_text("utf-8"), "# vlab ruling: FAIL")


def test_table_of_a_forged_pack(evil_pack: Path, vlab_in_process: InProcessRunner) -> None:
    code, out, _ = vlab_in_process("adjudicate", evil_pack)
    assert code == 1
    text = out.decode("utf-8")
    assert raw_unsafe(text) == []
    assert text.startswith("topline FAIL\n")
    assert not any(line.startswith("# vlab") for line in text.splitlines())
    # Rich neither parsed markup nor emoji codes in the data.
    header = "".join(text.split("admission", 1)[0].split())  # the line may wrap
    assert f"run{''.join(human(EVIL).split())}" in header
    assert "[boldred]PASS[/]:white_check_mark:" in header


def test_junit_of_a_forged_pack(
    evil_pack: Path, vlab_in_process: InProcessRunner, tmp_path: Path
) -> None:
    target = tmp_path / "r.xml"
    code, _, _ = vlab_in_process(
        "adjudicate", evil_pack, "--format", "json", f"--out=junit={target}"
    )
    assert code == 1
    data = target.read_text("utf-8")
    assert raw_unsafe(data) == []
    suite = ET.parse(target).getroot()  # XML 1.0 valid: no control character in it
    (failure,) = suite.findall(".//failure")
    assert human(EVIL[:60]) in (failure.text or "")  # the message cuts a long value


def test_review_of_a_forged_pack(
    evil_pack: Path, vlab_in_process: InProcessRunner, tmp_path: Path
) -> None:
    code, ruling, _ = vlab_in_process("adjudicate", evil_pack, "--format", "json")
    assert code == 1
    target = tmp_path / "ruling.json"
    target.write_bytes(ruling)
    code, out, err = vlab_in_process("review", target, "--pack", evil_pack)
    assert code == 0, err
    text = out.decode("utf-8")
    seen = _one_fail_heading(text, "# Ruling dossier — FAIL")
    assert "quoted line 2" in text and "pack digest check | matches" in text
    assert f"pack pack-good-001 (run {human(EVIL)})" in " ".join(seen)


def test_review_of_a_forged_ruling_file(
    evil_pack: Path, vlab_in_process: InProcessRunner, tmp_path: Path
) -> None:
    """A ruling file is data: anyone can write one whose digest matches its content."""
    from vlab.engine.ruling import ruling_digest

    _, ruling, _ = vlab_in_process("adjudicate", evil_pack, "--format", "json")
    doc = json.loads(ruling)
    clause = doc["clauses"][1]
    clause["title"] = clause["clause_id"] = clause["requirement_id"] = EVIL
    clause["domain"] = clause["reason_code"] = EVIL
    clause["metrics"] = {EVIL: EVIL}
    clause["details"][0].update(code=EVIL, locator=EVIL)
    clause["evidence_refs"] = [
        {"artifact_path": EVIL, "locator": EVIL, "line": None, "sha256": EVIL}
    ]
    doc["admission"]["gates"][0]["gate"] = EVIL
    doc["ruleset"].update(id=EVIL, version=EVIL)
    doc["reason_codes"] = [EVIL]
    doc["digest"] = ruling_digest(doc)
    target = tmp_path / "forged.json"
    target.write_text(json.dumps(doc))
    code, out, err = vlab_in_process("review", target, "--pack", evil_pack)
    assert code == 0, err
    text = out.decode("utf-8")
    seen = _one_fail_heading(text, "# Ruling dossier — FAIL")
    assert f"{human(EVIL)} — {human(EVIL)}" in seen  # the clause heading


@pytest.fixture
def evil_name_pack(tmp_path: Path) -> Path:
    pack = good_pack(tmp_path, sealed=False)
    (pack / "trace" / f"x{FORGED}\x1b[2J\u202eevil.json").write_text("{}")
    return pack


def test_validate_lines_of_a_forged_file_name(
    evil_name_pack: Path, vlab_in_process: InProcessRunner
) -> None:
    code, out, _ = vlab_in_process("validate", evil_name_pack)
    assert code == 2
    text = out.decode("utf-8")
    assert raw_unsafe(text) == []
    lines = text.splitlines()
    assert lines[0] == "admission NOT_ADMISSIBLE"
    assert all(line.startswith("  ") for line in lines[1:]), lines
    (refusal,) = [line for line in lines if "SECURITY-UNSAFE-PATH" in line]
    assert human(f"x{FORGED}\x1b[2J\u202eevil.json") in refusal


def test_one_line_errors_of_a_forged_file_name(
    evil_name_pack: Path, vlab_in_process: InProcessRunner, tmp_path: Path
) -> None:
    code, _, err = vlab_in_process("pack", "seal", evil_name_pack)
    assert code == 64
    assert raw_unsafe(err) == [] and err.count("\n") == 1, err
    assert err.startswith("vlab: error: refused by the SECURITY gate: SECURITY-UNSAFE-PATH")
    assert human(f"x{FORGED}\x1b[2J\u202eevil.json") in err  # the whole name, not its first line
    code, _, err = vlab_in_process("review", tmp_path / f"r{FORGED}\x1b[2J\u202e.json")
    assert code == 64
    missing = tmp_path / f"r{FORGED}\x1b[2J\u202e.json"
    assert err == f"vlab: error: ruling not found: {human(missing)}\n"
