"""`vlab import hal0` on hal0's real output (fixtures/native/hal0/runs, written by hal0's
own code at 600b56b): every recorded check is agreed or carries the ruleset-1.3 code that
explains the difference; packs are byte-identical however often and from wherever they
are imported; what is not a hal0 state folder is refused (65); a damaged ledger is
imported as it is and judged, never a crash."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.core.errors import UsageError
from vlab.importers import import_pack
from vlab.importers.base import ImportRefused
from vlab.importers.hal0 import NO_CHECKS_NOTE

if TYPE_CHECKING:
    from conftest import InProcessRunner, Judge
    from vlab.ruleset.catalog import Catalog

RUNS = Path(__file__).resolve().parent.parent / "fixtures" / "native" / "hal0" / "runs"
RUN_NAMES = sorted(p.name for p in RUNS.iterdir())
PERSONA = "agents/hermes/personas/analyst.toml"
LEDGER = "agents/hermes/personas/analyst/spend.jsonl"
LOG = "trace/events.ndjson"
D13 = "CL-D1-03"
# Codes that speak about one recorded check (a detail on its line of the event log).
CHECK_CODES = {"LEDGER-DECISION-MISMATCH", "LEDGER-DECISION-STRICTER", "LEDGER-CHECK-INVALID"}
# Every recorded check of the real runs that is not agreed, with the code that says why.
NOT_AGREED = {("float-edge", "req_float-edge_02"): "LEDGER-DECISION-STRICTER"}


def imported(
    root: Path, out: Path, catalog: Catalog, *, checks: bool = True, **options: Any
) -> Path:
    if checks:
        options["checks"] = str(root / "checks.jsonl")
    import_pack("hal0", [root], out, catalog=catalog, **options)
    return out


def clause(ruling: dict[str, Any]) -> dict[str, Any]:
    found = [c for c in ruling["clauses"] if c["clause_id"] == D13]
    assert len(found) == 1
    return found[0]


def files(pack: Path) -> dict[str, bytes]:
    return {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted(pack.rglob("*"))
        if p.is_file()
    }


# -- every recorded check of the real runs ------------------------------------------------------


def test_every_recorded_check_is_agreed_or_explained(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    tally: Counter[str] = Counter()
    seen: dict[tuple[str, str], str] = {}
    for name in RUN_NAMES:
        pack = imported(RUNS / name, tmp_path / name, catalog)
        ruling = judge(pack)
        assert ruling["admission"]["status"] == "ADMISSIBLE", name
        details = clause(ruling)["details"]
        events = [json.loads(x) for x in (pack / LOG).read_text("utf-8").splitlines()]
        native = (RUNS / name / "checks.jsonl").read_text("utf-8").splitlines()
        assert len(events) == len(native) and all(e["event_type"] == "budget.check" for e in events)
        for line, event in enumerate(events, 1):
            about = [
                d["code"]
                for d in details
                if d["artifact_path"] == LOG and d["line"] == line and d["code"] in CHECK_CODES
            ]
            assert len(about) <= 1, (name, line, about)
            verdict = about[0] if about else "agreed"
            tally[verdict] += 1
            if about:
                seen[(name, event["call_id"])] = verdict
        for d in details:  # no other detail is about a check
            assert d["artifact_path"] != LOG or d["code"] in CHECK_CODES, d
    assert seen == NOT_AGREED
    assert tally == Counter({"agreed": sum(tally.values()) - 1, "LEDGER-DECISION-STRICTER": 1})
    print("hal0 recorded checks:", dict(sorted(tally.items())))


def test_the_stricter_check_names_binary_floating_point(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    pack = imported(RUNS / "float-edge", tmp_path / "p", catalog)
    (detail,) = clause(judge(pack))["details"]
    assert detail["code"] == "LEDGER-DECISION-STRICTER" and detail["advisory"] is True
    assert "recorded DENY, expected ALLOW in exact decimal" in detail["message"]
    assert (
        "binary floating-point arithmetic on the same numbers gives the recorded DENY"
        in (detail["message"])
    )
    # hal0's own response says the same thing: 0.19999999999999998 left against 0.2.
    response = json.loads((pack / LOG).read_text("utf-8").splitlines()[1])["response"]
    assert response["remaining_usd"] == {"daily": "0.19999999999999998"}


# -- what the importer derives -----------------------------------------------------------------


def test_derived_files_follow_the_native_ones(tmp_path: Path, catalog: Catalog) -> None:
    pack = imported(RUNS / "day-boundary-percall", tmp_path / "p", catalog)
    budget = json.loads((pack / "artifacts/budget/persona_budget.json").read_text("utf-8"))
    assert budget == {
        "agent_id": "hermes",
        "persona_id": "analyst",
        "source": {"artifact_path": f"native/hal0/{PERSONA}", "jsonptr": "/persona/budget"},
        "daily_usd": "1.0",
        "per_call_usd": "0.5",
        "hard_cap": True,
    }
    ledger = [
        json.loads(x) for x in (pack / "artifacts/budget/spend.jsonl").read_text().splitlines()
    ]
    assert ledger[3] == {
        "entry_id": "hal0:4",
        "ts": "2026-05-30T00:10:05+00:00",
        "amount_usd": "0.55",
        "call_id": "req_day-boundary-percall_06",
        "source": {"artifact_path": f"native/hal0/{LEDGER}", "line": 4},
    }
    events = [json.loads(x) for x in (pack / LOG).read_text().splitlines()]
    assert [e["decision_outcome"] for e in events] == [
        "ALLOW",
        "DENY",
        "ALLOW",
        "DENY",
        "ALLOW",
        "ALLOW",
    ]
    assert (
        events[1]["estimate_usd"] == "0.6" and events[1]["call_id"] == "req_day-boundary-percall_02"
    )
    assert (pack / "native/hal0/checks.jsonl").read_bytes() == (
        RUNS / "day-boundary-percall/checks.jsonl"
    ).read_bytes()
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["options"]["checks"] == "checks.jsonl"
    assert record["evidence"] == {
        "checks_recorded": True,
        "ledger": f"native/hal0/{LEDGER}",
        "persona": f"native/hal0/{PERSONA}",
    }
    scenario = json.loads((pack / "bundle.manifest.json").read_text("utf-8"))["scenario_meta"]
    assert scenario == {
        "budget_decision": False,
        "lifecycle": False,
        "privileged_action": False,
        "termination_case": False,
        "settlement_expected": False,
        "spend_cap": True,
        "eval_matrix": False,
        "mission_policy": False,
    }
    manifest = json.loads((pack / "manifest.json").read_text("utf-8"))
    assert manifest["created_at"] == "2026-05-29T22:00:00+00:00"  # the first check
    assert manifest["pack_id"] == "hal0-hermes-analyst"


def test_without_checks_the_log_is_empty_and_the_note_says_why(
    tmp_path: Path, catalog: Catalog, vlab_in_process: InProcessRunner
) -> None:
    code, out, _ = vlab_in_process("import", "hal0", RUNS / "warn-only", "--out", tmp_path / "p")
    assert code == 0 and NO_CHECKS_NOTE in out.decode("utf-8")
    assert (tmp_path / "p" / LOG).read_bytes() == b""
    record = json.loads((tmp_path / "p" / "import.json").read_text("utf-8"))
    assert record["evidence"]["checks_recorded"] is False and record["notes"] == [NO_CHECKS_NOTE]
    assert "checks" not in record["options"]
    assert not (tmp_path / "p/native/hal0/checks.jsonl").exists()
    code, out, _ = vlab_in_process("adjudicate", tmp_path / "p")
    assert code == 0


# -- determinism -------------------------------------------------------------------------------


@pytest.mark.parametrize("checks", [True, False])
def test_importing_twice_or_from_elsewhere_gives_the_same_bytes(
    tmp_path: Path, catalog: Catalog, checks: bool
) -> None:
    first = files(imported(RUNS / "race-over-cap", tmp_path / "a", catalog, checks=checks))
    again = files(imported(RUNS / "race-over-cap", tmp_path / "b", catalog, checks=checks))
    copy = tmp_path / "somewhere" / "else" / "state"
    shutil.copytree(RUNS / "race-over-cap", copy)
    moved = files(imported(copy, tmp_path / "c", catalog, checks=checks))
    assert first == again == moved
    text = b"".join(first.values())
    assert str(RUNS).encode() not in text and str(tmp_path).encode() not in text


# -- choosing the agent and persona; refusals ----------------------------------------------------


def _state(tmp_path: Path, *names: tuple[str, str]) -> Path:
    """A state folder holding the real analyst persona (and ledger) under other names."""
    root = tmp_path / "state"
    src = RUNS / "float-edge"
    for agent, persona in names:
        folder = root / "agents" / agent / "personas"
        folder.mkdir(parents=True, exist_ok=True)
        text = (src / PERSONA).read_text("utf-8").replace('id = "analyst"', f'id = "{persona}"')
        (folder / f"{persona}.toml").write_text(text, "utf-8")
        (folder / persona).mkdir()
        shutil.copyfile(src / LEDGER, folder / persona / "spend.jsonl")
    return root


def test_several_agents_or_personas_need_naming(tmp_path: Path, catalog: Catalog) -> None:
    root = _state(tmp_path, ("hermes", "analyst"), ("hermes", "coder"), ("zeus", "analyst"))
    with pytest.raises(UsageError, match=r"several agents \(hermes, zeus\)"):
        import_pack("hal0", [root], tmp_path / "p", catalog=catalog)
    with pytest.raises(UsageError, match=r"several personas \(analyst, coder\)"):
        import_pack("hal0", [root], tmp_path / "p", catalog=catalog, agent="hermes")
    with pytest.raises(UsageError, match=r"no agent 'apollo'.*hermes, zeus"):
        import_pack("hal0", [root], tmp_path / "p", catalog=catalog, agent="apollo")
    import_pack("hal0", [root], tmp_path / "p", catalog=catalog, agent="zeus")
    record = json.loads((tmp_path / "p/import.json").read_text("utf-8"))
    assert record["options"]["agent"] == "zeus" and record["options"]["persona"] == "analyst"
    import_pack("hal0", [root], tmp_path / "q", catalog=catalog, agent="hermes", persona="coder")
    assert (tmp_path / "q/native/hal0/agents/hermes/personas/coder.toml").is_file()
    native = sorted(p.name for p in (tmp_path / "q/native/hal0").rglob("*") if p.is_file())
    assert native == ["coder.toml", "spend.jsonl"]  # only the chosen persona is read


@pytest.mark.parametrize(
    "make",
    [
        lambda root: root.mkdir(),  # no agents/ at all
        lambda root: (root / "agents" / "hermes" / "personas").mkdir(parents=True),  # no persona
        lambda root: (root.parent / "state").write_text("a file"),
    ],
    ids=["empty-folder", "no-persona", "a-file"],
)
def test_not_a_hal0_state_folder_is_refused(
    tmp_path: Path, vlab_in_process: InProcessRunner, make: Any
) -> None:
    root = tmp_path / "state"
    make(root)
    code, _, err = vlab_in_process("import", "hal0", root, "--out", tmp_path / "p")
    assert code == 65 and "agents/<agent>/personas/<persona>.toml" in err
    assert not (tmp_path / "p").exists() or not any((tmp_path / "p").iterdir())


def test_the_api_refuses_an_agentplane_receipt(tmp_path: Path, catalog: Catalog) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text('{"schemaVersion": "agentplane.budget-settlement-receipt.v0.1"}')
    with pytest.raises(ImportRefused, match=r"agents/<agent>/personas/<persona>\.toml"):
        import_pack("hal0", [receipt], tmp_path / "p", catalog=catalog)
    with pytest.raises(UsageError, match="one SOURCE"):
        import_pack("hal0", [RUNS / "no-cap", RUNS / "warn-only"], tmp_path / "p", catalog=catalog)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("[persona\nid = 1", "not TOML"),
        ('[other]\nid = "analyst"\n', "no [persona] table"),
        (b"\xff\xfe[persona]\n", "not TOML"),
    ],
)
def test_a_persona_file_that_is_not_a_hal0_persona_is_refused(
    tmp_path: Path, vlab_in_process: InProcessRunner, text: str | bytes, why: str
) -> None:
    root = _state(tmp_path, ("hermes", "analyst"))
    toml = root / PERSONA
    toml.write_bytes(text if isinstance(text, bytes) else text.encode())
    code, _, err = vlab_in_process("import", "hal0", root, "--out", tmp_path / "p")
    assert code == 65 and why in err


def test_unknown_options_and_missing_checks_are_usage_errors(
    tmp_path: Path, catalog: Catalog
) -> None:
    with pytest.raises(UsageError, match="--checks"):
        import_pack(
            "hal0",
            [RUNS / "no-cap"],
            tmp_path / "p",
            catalog=catalog,
            checks=str(tmp_path / "nope"),
        )
    with pytest.raises(UsageError, match="unknown option"):
        import_pack("hal0", [RUNS / "no-cap"], tmp_path / "p", catalog=catalog, eval="x.yaml")


def test_a_persona_without_a_ledger_is_imported(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    root = _state(tmp_path, ("hermes", "analyst"))
    (root / LEDGER).unlink()
    pack = imported(root, tmp_path / "p", catalog, checks=False)
    assert (pack / "artifacts/budget/spend.jsonl").read_bytes() == b""
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["evidence"]["ledger"] is None
    assert any("no spend.jsonl" in n for n in record["notes"])
    assert record["sources"] == [
        {"path": f"native/hal0/{PERSONA}", "sha256": record["sources"][0]["sha256"]}
    ]
    assert clause(judge(pack))["status"] == "PASS"
    assert json.loads((pack / "manifest.json").read_text())["created_at"] == "1970-01-01T00:00:00Z"


# -- damaged native evidence: imported as it is, judged ----------------------------------------


def _damaged(
    tmp_path: Path, catalog: Catalog, judge: Judge, tail: bytes
) -> tuple[Path, dict[str, Any]]:
    root = _state(tmp_path, ("hermes", "analyst"))
    with open(root / LEDGER, "ab") as fh:
        fh.write(tail)
    pack = imported(root, tmp_path / "p", catalog, checks=False)
    assert (pack / "native/hal0" / LEDGER).read_bytes() == (root / LEDGER).read_bytes()
    ruling = judge(pack)
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    return pack, clause(ruling)


ROW = (
    b'{"ts":"2026-05-29T09:04:05+00:00","persona_id":"analyst","surface":"openrouter",'
    b'"model":"m","cost_usd":0.01,"request_id":"r5"}\n'
)


@pytest.mark.parametrize(
    ("tail", "reason"),
    [
        (b'{"ts":"2026-05-29T09:04:05+00:00","cost_usd":0.1\xff\xfe}\n' + ROW, "not UTF-8"),
        (b"x" * (1 << 20) + b"\n" + ROW, "not JSON"),
        (b'{"ts":"2026-05-29T09:04:05+00:00","cost_usd":NaN}\n' + ROW, "not JSON"),
        (ROW.replace(b'"cost_usd":0.01,', b'"cost_usd":0.01,"cost_usd":9,') + ROW, "not JSON"),
        (b"[" * 5000 + b"]" * 5000 + b"\n" + ROW, "not JSON"),
        (ROW.replace(b"0.01", b"9" * 5000) + ROW, "not JSON"),  # past Python's int limit
        (b"[1, 2]\n" + ROW, "not a JSON object"),
        (ROW.replace(b'"persona_id":"analyst",', b"") + ROW, "hal0 skips it: no persona_id"),
    ],
    ids=["not-utf8", "huge-line", "nan", "repeated-key", "deep", "long-int", "array", "missing"],
)
def test_a_damaged_line_is_imported_and_judged_unparseable(
    tmp_path: Path, catalog: Catalog, judge: Judge, tail: bytes, reason: str
) -> None:
    pack, result = _damaged(tmp_path, catalog, judge, tail)
    derived = [
        json.loads(x) for x in (pack / "artifacts/budget/spend.jsonl").read_text().splitlines()
    ]
    assert derived[3]["unparseable"] == "invalid" and reason in derived[3]["reason"]
    assert derived[4]["entry_id"] == "hal0:5" and derived[4]["amount_usd"] == "0.01"
    assert result["status"] == "FAIL"
    assert [d["code"] for d in result["details"]] == [
        "LEDGER-UNPARSEABLE",
        "LEDGER-CHECKS-NOT-RECORDED",
    ]
    assert result["details"][0]["line"] == 4 and "'hal0:4'" in result["details"][0]["message"]


@pytest.mark.parametrize(
    "tail", [ROW[:40], ROW[:-1].replace(b'"model":"m"', '"model":"é"'.encode())[:-20] + b"\xc3"]
)
def test_a_torn_final_line_is_advisory(
    tmp_path: Path, catalog: Catalog, judge: Judge, tail: bytes
) -> None:
    pack, result = _damaged(tmp_path, catalog, judge, tail)
    derived = [
        json.loads(x) for x in (pack / "artifacts/budget/spend.jsonl").read_text().splitlines()
    ]
    assert derived[-1]["unparseable"] == "torn_tail"
    assert result["status"] == "PASS"
    assert [d["code"] for d in result["details"]] == [
        "LEDGER-CHECKS-NOT-RECORDED",
        "LEDGER-TORN-TAIL",
    ]


@pytest.mark.parametrize(
    ("cost", "shown"),
    [
        (b"1e999999999", "1E+999999999"),
        (b"9" * 4000, f"<integer of {int('9' * 4000).bit_length()} bits>"),
        (b'"0.05"', "0.05"),
        (b"true", True),
        (b"-0.5", "-0.5"),
    ],
)
def test_odd_amounts_are_imported_without_laundering(
    tmp_path: Path, catalog: Catalog, judge: Judge, cost: bytes, shown: Any
) -> None:
    pack, result = _damaged(tmp_path, catalog, judge, ROW.replace(b"0.01", cost))
    derived = [
        json.loads(x) for x in (pack / "artifacts/budget/spend.jsonl").read_text().splitlines()
    ]
    assert derived[3]["amount_usd"] == shown
    codes = [d["code"] for d in result["details"]]
    if shown == "0.05":  # hal0 float()s a string too: a charge like any other
        assert codes == ["LEDGER-CHECKS-NOT-RECORDED"]
    elif shown == "-0.5":
        assert codes == ["LEDGER-NEGATIVE-AMOUNT", "LEDGER-CHECKS-NOT-RECORDED"]
    else:
        assert codes == ["LEDGER-UNPARSEABLE", "LEDGER-CHECKS-NOT-RECORDED"]


def test_blank_lines_are_skipped_as_hal0_skips_them(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    pack, result = _damaged(tmp_path, catalog, judge, b"\n   \r\n" + ROW)
    derived = [
        json.loads(x) for x in (pack / "artifacts/budget/spend.jsonl").read_text().splitlines()
    ]
    assert [r["entry_id"] for r in derived] == ["hal0:1", "hal0:2", "hal0:3", "hal0:6"]
    assert [d["code"] for d in result["details"]] == ["LEDGER-CHECKS-NOT-RECORDED"]


# -- budgets hal0 would read differently ---------------------------------------------------------


@pytest.mark.parametrize(
    ("lines", "expected", "message"),
    [
        ("weekly_usd = 2.0", {"weekly_usd": "2.0"}, "unknown budget key 'weekly_usd'"),
        (
            "per_call_usd = 0.1",
            {"[persona.budget].per_call_usd": "0.1"},
            "unknown budget key '[persona.budget].per_call_usd'",
        ),
        (
            'monthly_usd = "5"',
            {"monthly_usd": {"toml_value": "5", "toml_type": "string"}},
            "monthly_usd is not money",
        ),
        ("lifetime_usd = inf", {"lifetime_usd": "Infinity"}, "lifetime_usd is not money"),
        ("monthly_usd = -1", {"monthly_usd": "-1"}, "monthly_usd is negative"),
        ("when = 2026-05-29T00:00:00Z", {"when": "2026-05-29T00:00:00+00:00"}, "'when'"),
    ],
)
def test_budget_keys_hal0_would_ignore_or_refuse_are_errors(
    tmp_path: Path,
    catalog: Catalog,
    judge: Judge,
    lines: str,
    expected: dict[str, Any],
    message: str,
) -> None:
    root = _state(tmp_path, ("hermes", "analyst"))
    text = (root / PERSONA).read_text("utf-8")
    (root / PERSONA).write_text(text.replace("\nhard_cap = true", f"\n{lines}\nhard_cap = true"))
    pack = imported(root, tmp_path / "p", catalog, checks=False)
    budget = json.loads((pack / "artifacts/budget/persona_budget.json").read_text("utf-8"))
    assert {k: budget[k] for k in expected} == expected
    result = clause(judge(pack))
    assert result["status"] == "FAIL"
    invalid = [d for d in result["details"] if d["code"] == "LEDGER-BUDGET-INVALID"]
    assert len(invalid) == 1 and message in invalid[0]["message"]


def test_a_budget_that_is_not_a_table_is_named(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    root = _state(tmp_path, ("hermes", "analyst"))
    text = (root / PERSONA).read_text("utf-8").split("[persona.budget]")[0]
    (root / PERSONA).write_text(text.replace("[persona]\n", "[persona]\nbudget = 5\n"))
    pack = imported(root, tmp_path / "p", catalog, checks=False)
    result = clause(judge(pack))
    assert result["status"] == "FAIL"
    assert "'[persona.budget]'" in result["details"][0]["message"]


# -- the CONTRACT gate re-derives the pack from native/ -------------------------------------------


def test_an_edited_derived_file_is_not_reproducible(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    from vlab.pack.seal import seal

    pack = imported(RUNS / "ignored-deny", tmp_path / "p", catalog)
    log = pack / LOG
    log.write_text(log.read_text("utf-8").replace('"DENY"', '"ALLOW"'), "utf-8")
    seal(pack)
    ruling = judge(pack)
    assert ruling["admission"]["status"] == "NOT_ADMISSIBLE"
    assert "CONTRACT-IMPORT-NOT-REPRODUCIBLE" in json.dumps(ruling["admission"])
