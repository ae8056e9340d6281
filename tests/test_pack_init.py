"""``vlab pack init``: the skeleton it writes (pins, empty log and pointers, NOTES.md), what
it refuses, what the empty pack is judged; and the README's "Judge your own agent run",
whose ``sh`` and ``python`` blocks are run here exactly as written, reaching PASS."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.core.errors import UsageError
from vlab.pack.seal import seal
from vlab.tools.init import NOTES, init_pack

if TYPE_CHECKING:
    from conftest import Judge, Runner
    from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
ACME = ROOT / "examples" / "acme-rulesets"
WALKTHROUGH = "## Judge your own agent run"
FILES = [
    "manifest.json",
    "bundle.manifest.json",
    "evidence_pointers.json",
    "trace/events.ndjson",
    NOTES,
]
STAMP = "2026-05-29T10:00:00Z"


def _json(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


# -- the skeleton ------------------------------------------------------------------------------


@pytest.mark.parametrize("ruleset_id", ["ruleset-1.1", "ruleset-1.2"])
def test_the_skeleton_pins_the_ruleset(tmp_path: Path, catalog: Catalog, ruleset_id: str) -> None:
    ruleset = catalog.get(ruleset_id)
    assert ruleset is not None
    pack = tmp_path / "my-run"
    written = init_pack(pack, ruleset_id, "run-42", catalog=catalog, created_at=STAMP)
    assert written == FILES
    assert sorted(p.relative_to(pack).as_posix() for p in pack.rglob("*") if p.is_file()) == sorted(
        FILES
    )
    assert _json(pack / "manifest.json") == {
        "pack_id": "my-run",
        "contract_version": "1.1",
        "protocol_version": "1.0.0",
        "created_at": STAMP,
    }
    assert _json(pack / "bundle.manifest.json") == {
        "run_id": "run-42",
        "ruleset_ref": ruleset_id,
        "protocol_pin": ruleset.protocol_pins[0],
        "schema_bundle_sha256": ruleset.schema_bundle_sha256,
        "scenario_meta": {},
    }
    assert _json(pack / "evidence_pointers.json") == {"pointers": []}
    assert (pack / "trace/events.ndjson").read_bytes() == b""


def test_run_id_and_pack_id_default_to_the_folder_name(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "nightly run #7"
    init_pack(pack, "ruleset-1.1", None, catalog=catalog, created_at=STAMP)
    assert _json(pack / "manifest.json")["pack_id"] == "nightly-run-7"
    assert _json(pack / "bundle.manifest.json")["run_id"] == "nightly-run-7"


def test_created_at_defaults_to_now(tmp_path: Path, catalog: Catalog) -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    init_pack(tmp_path / "p", "ruleset-1.1", None, catalog=catalog)
    after = datetime.now(timezone.utc)
    stamp = _json(tmp_path / "p" / "manifest.json")["created_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", stamp)
    assert before <= datetime.fromisoformat(stamp.replace("Z", "+00:00")) <= after


def test_an_existing_empty_folder_is_used(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "empty").mkdir()
    assert init_pack(tmp_path / "empty", "ruleset-1.1", "r", catalog=catalog) == FILES


@pytest.mark.parametrize("ruleset_id", ["ruleset-1.1", "ruleset-1.2"])
def test_notes_say_what_each_clause_needs(
    tmp_path: Path, catalog: Catalog, ruleset_id: str
) -> None:
    ruleset = catalog.get(ruleset_id)
    assert ruleset is not None
    init_pack(tmp_path / "p", ruleset_id, "r", catalog=catalog, created_at=STAMP)
    text = (tmp_path / "p" / NOTES).read_text("utf-8")
    sections = re.split(r"(?m)^## ", text)[1:]
    assert [s.split(":", 1)[0] for s in sections] == [c.clause_id for c in ruleset.clauses]
    docs = {c["clause_id"]: c for c in ruleset.document["clauses"]}
    for clause, section in zip(ruleset.clauses, sections, strict=True):
        assert f"- requirement: `{clause.requirement_id}`" in section
        for kind in clause.locators:
            assert f"`{kind}:" in section, (clause.clause_id, kind)
        note = docs[clause.clause_id].get("evidence", {}).get("note")
        if note:  # Markdown-escaped, so compare letters and digits only
            assert re.sub(r"\W", "", note) in re.sub(r"\W", "", section)
        applies = docs[clause.clause_id].get("applies_when")
        if applies:
            assert " ".join(applies.split()) in section
        else:
            assert "- applies to every run" in section
        assert f"FAIL `{clause.codes.pointer_missing}`" in section
    # The same ruleset, the same notes.
    init_pack(tmp_path / "again" / "p", ruleset_id, "r", catalog=catalog, created_at=STAMP)
    assert (tmp_path / "again" / "p" / NOTES).read_text("utf-8") == text


def test_notes_of_ruleset_1_1_in_full(tmp_path: Path, catalog: Catalog) -> None:
    """One clause as a reader sees it (a guard on the wording, not only its parts)."""
    init_pack(tmp_path / "p", "ruleset-1.1", "r", catalog=catalog)
    text = (tmp_path / "p" / NOTES).read_text("utf-8")
    d3 = text.split("## CL-D3-01: ", 1)[1].split("\n## ", 1)[0]
    assert d3.splitlines()[:7] == [
        "An authorization decision is recorded for the privileged action",
        "",
        "- requirement: `RQ-D3-01` (the pointer's `requirement_id`)",
        "- locators it accepts: `event_id:<event_id>`, `jsonptr:/<path>`, `line:<N>`",
        "- applies when `` scenario.privileged_action != `false` ``; otherwise NOT_EVALUATED "
        "(`EVAL-NOT-APPLICABLE-RQ-D3-01`)",
        "- without a pointer: FAIL `BUNDLE-POINTER-MISSING-RQ-D3-01`",
        "- what is checked, in order:",
    ]
    assert "- table `authz_kinds`: `access_control`, `authorization`, `authz`, `permission`" in d3


def test_an_added_ruleset_through_its_catalog(tmp_path: Path) -> None:
    from vlab.ruleset.catalog import Catalog

    acme = Catalog(extra_dirs=[ACME])
    ruleset = acme.get("acme-budget-1.0")
    assert ruleset is not None
    init_pack(tmp_path / "p", "acme-budget-1.0", "r", catalog=acme)
    pins = _json(tmp_path / "p" / "bundle.manifest.json")
    assert pins["schema_bundle_sha256"] == ruleset.schema_bundle_sha256
    assert "## CL-ACME-02: " in (tmp_path / "p" / NOTES).read_text("utf-8")


# -- refusals ------------------------------------------------------------------------------------


def test_refuses_a_folder_that_is_not_empty(tmp_path: Path, catalog: Catalog) -> None:
    pack = tmp_path / "p"
    pack.mkdir()
    (pack / "keep.txt").write_bytes(b"mine")
    with pytest.raises(UsageError, match="not empty"):
        init_pack(pack, "ruleset-1.1", "r", catalog=catalog)
    assert [p.name for p in pack.iterdir()] == ["keep.txt"]  # nothing written


def test_refuses_a_file(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "f").write_bytes(b"")
    with pytest.raises(UsageError, match="not a folder"):
        init_pack(tmp_path / "f", "ruleset-1.1", "r", catalog=catalog)


def test_refuses_an_unknown_ruleset_naming_the_known_ones(tmp_path: Path, catalog: Catalog) -> None:
    known = (
        r"unknown ruleset 'ruleset-9\.9' "
        r"\(known: mplp-compat-1\.3, ruleset-1\.1, ruleset-1\.2, ruleset-1\.3\)"
    )
    with pytest.raises(UsageError, match=known):
        init_pack(tmp_path / "p", "ruleset-9.9", "r", catalog=catalog)
    assert not (tmp_path / "p").exists()


def test_refuses_an_empty_run_id(tmp_path: Path, catalog: Catalog) -> None:
    with pytest.raises(UsageError, match="run-id"):
        init_pack(tmp_path / "p", "ruleset-1.1", " ", catalog=catalog)
    assert not (tmp_path / "p").exists()


def test_the_command_line_refusals_are_usage_errors(tmp_path: Path, vlab: Runner) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.json").write_bytes(b"{}")
    proc = vlab("pack", "init", tmp_path / "full", "--ruleset", "ruleset-1.1", text=True)
    assert (proc.returncode, proc.stdout) == (64, "")
    assert "not empty" in proc.stderr
    proc = vlab("pack", "init", tmp_path / "new", "--ruleset", "nope", text=True)
    assert proc.returncode == 64
    assert "known: mplp-compat-1.3, ruleset-1.1, ruleset-1.2" in proc.stderr
    assert not (tmp_path / "new").exists()


# -- the empty pack, judged ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ruleset_id", "missing"),
    [
        ("ruleset-1.1", ["CL-D1-01", "CL-D2-01", "CL-D3-01"]),
        ("ruleset-1.2", ["CL-D1-01", "CL-D2-01", "CL-D3-01", "CL-D1-02"]),
    ],
)
def test_the_sealed_skeleton_is_admissible_and_fails_for_want_of_pointers(
    tmp_path: Path, catalog: Catalog, judge: Judge, ruleset_id: str, missing: list[str]
) -> None:
    pack = tmp_path / "p"
    init_pack(pack, ruleset_id, None, catalog=catalog, created_at=STAMP)
    seal(pack)
    assert f"  {NOTES}\n" in (pack / "integrity" / "sha256sums.txt").read_text("utf-8")
    ruling = judge(pack)
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    assert ruling["topline"] == "FAIL"
    by_id = {c["clause_id"]: c for c in ruling["clauses"]}
    for clause_id, clause in by_id.items():
        if clause_id in missing:
            rq = clause_id.replace("CL-", "RQ-")
            assert (clause["status"], clause["reason_code"]) == (
                "FAIL",
                f"BUNDLE-POINTER-MISSING-{rq}",
            )
        else:  # applies only when a scenario_meta key says so
            assert clause["status"] == "NOT_EVALUATED", clause_id
            assert clause["reason_code"].startswith("EVAL-NOT-APPLICABLE-"), clause_id


# -- the README walk-through -------------------------------------------------------------------


def walkthrough_blocks(readme: str) -> list[tuple[str, str]]:
    """The fenced ``sh`` and ``python`` blocks of the README's walk-through, in order, as
    (language, text); other blocks are illustrations."""
    start = readme.index(WALKTHROUGH + "\n")
    end = readme.find("\n## ", start + len(WALKTHROUGH))
    section = readme[start : end if end != -1 else len(readme)]
    blocks = re.findall(r"(?ms)^```(\w*)\n(.*?)^```$", section)
    return [(lang, text) for lang, text in blocks if lang in ("sh", "python")]


def test_the_block_extractor_keeps_order_and_skips_illustrations() -> None:
    text = (
        f"intro\n```sh\nno\n```\n{WALKTHROUGH}\n\n```sh\na\n```\nx\n```json\n{{}}\n```\n"
        "```python\n# f.py\nb\n```\n## Next\n```sh\nc\n```\n"
    )
    assert walkthrough_blocks(text) == [("sh", "a\n"), ("python", "# f.py\nb\n")]


def test_the_readme_walkthrough_reaches_pass(tmp_path: Path, vlab: Runner) -> None:
    from conftest import clean_env

    blocks = walkthrough_blocks(README.read_text("utf-8"))
    assert [lang for lang, _ in blocks] == ["sh", "python", "sh"]
    bin_dir = str(Path(sys.executable).parent)  # this venv's vlab and python
    env = clean_env({"PATH": bin_dir + ":" + clean_env().get("PATH", "")})
    for lang, text in blocks:
        if lang == "python":
            named = re.match(r"# ([\w.-]+\.py)\b", text)
            assert named, "a python block starts with '# NAME.py'"
            (tmp_path / named.group(1)).write_text(text, "utf-8")
            continue
        proc = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", text],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert proc.returncode == 0, (text, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
    pack = tmp_path / "my-run"
    proc = vlab("adjudicate", pack, "--format", "json", text=True)
    assert proc.returncode == 0, proc.stderr
    ruling = json.loads(proc.stdout)
    assert ruling["topline"] == "PASS"
    assert {c["clause_id"]: c["status"] for c in ruling["clauses"]} == {
        "CL-D1-01": "PASS",
        "CL-D2-01": "PASS",
        "CL-D3-01": "PASS",
        "CL-D4-01": "NOT_EVALUATED",
    }
    assert _json(pack / "bundle.manifest.json")["run_id"] == "run-001"


# -- the README's exit-status table -------------------------------------------------------------


def _cli_commands() -> set[str]:
    """Every command of the command line, groups' subcommands as ``group sub``."""
    from typer.main import get_command

    from vlab.cli.app import build

    root: Any = get_command(build())
    names: set[str] = set()
    for name, command in root.commands.items():
        subs = getattr(command, "commands", None)
        if subs:
            names |= {f"{name} {sub}" for sub in subs}
        else:
            names.add(name)
    return names


def _table_commands(readme: str) -> set[str]:
    section = readme.split("### Exit statuses", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"(?m)^\| ((?:`[^`]+`(?:, )?)+) \|", section)
    return {name for row in rows for name in re.findall(r"`([^`]+)`", row)}


def test_the_readme_exit_status_table_lists_every_command() -> None:
    assert _table_commands(README.read_text("utf-8")) == _cli_commands()
