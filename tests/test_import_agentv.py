"""`vlab import agentv` on agentv 4.42.4's real output (fixtures/native/agentv): the
no-budget run passes CL-D1-04, budget-stopped runs are judged (no RUNBUDGET-CONFIG-MISSING,
never NOT_ADMISSIBLE) with every skipped case accounted for; packs are byte-identical
however often and from wherever they are imported and hold no machine path; what is not
agentv's output is refused (65); a damaged index is imported as it is and judged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.core.errors import UsageError
from vlab.importers import import_pack
from vlab.importers.agentv import derive
from vlab.importers.base import ImportRefused

if TYPE_CHECKING:
    from conftest import Judge, Runner
    from vlab.ruleset.catalog import Catalog

REPO = Path(__file__).resolve().parent.parent
AGENTV = REPO / "fixtures" / "native" / "agentv"
LOG = "trace/events.ndjson"
D14 = "CL-D1-04"

# (run folder, eval, options as the run was given them)
RUNS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "nobudget": ("run-nobudget", "evals/nobudget.yaml", {}),
    "budget": ("run-budget", "evals/budget.yaml", {"workers": 1}),
    "runbudget": ("run-runbudget", "evals/runbudget.yaml", {"budget_usd": "0.6", "workers": 1}),
    "matrix-none": ("matrix/run-matrix-nobudget", "matrix/evals/matrix-nobudget.yaml", {}),
    "matrix-suite": (
        "matrix/run-matrix-suitebudget",
        "matrix/evals/matrix-suitebudget.yaml",
        {"workers": 1},
    ),
    "matrix-run": (
        "matrix/run-matrix-runbudget",
        "matrix/evals/matrix-runbudget.yaml",
        {"budget_usd": "1.00", "workers": 1, "exit_code": 1},
    ),
    "probe-budget": ("probe/run-probe-budget", "probe/evals/probe-budget.yaml", {"workers": 1}),
    "onetrial": (
        "onetrial/run-onetrial",
        "onetrial/evals/onetrial.yaml",
        {"budget_usd": "0.5", "workers": 1},
    ),
}
STOPPED = ["budget", "runbudget", "matrix-suite", "matrix-run", "probe-budget", "onetrial"]


def imported(name: str, out: Path, catalog: Catalog, root: Path = AGENTV) -> Path:
    folder, eval_file, options = RUNS[name]
    import_pack("agentv", [root / folder], out, catalog=catalog, eval=root / eval_file, **options)
    return out


def files(pack: Path) -> dict[str, bytes]:
    return {
        p.relative_to(pack).as_posix(): p.read_bytes()
        for p in sorted(pack.rglob("*"))
        if p.is_file()
    }


def events(pack: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (pack / LOG).read_text("utf-8").splitlines()]


def clause(ruling: dict[str, Any]) -> dict[str, Any]:
    (found,) = [c for c in ruling["clauses"] if c["clause_id"] == D14]
    return found


def detail_codes(ruling: dict[str, Any]) -> list[str]:
    return [d["code"] for d in clause(ruling)["details"]]


def index_rows(name: str) -> list[dict[str, Any]]:
    folder = RUNS[name][0]
    text = (AGENTV / folder / "index.jsonl").read_text("utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# -- judged as the spec says ---------------------------------------------------------------------


def test_the_no_budget_run_passes_cl_d1_04(tmp_path: Path, catalog: Catalog, judge: Judge) -> None:
    ruling = judge(imported("nobudget", tmp_path / "pack", catalog))
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    assert clause(ruling)["status"] == "PASS"
    assert detail_codes(ruling) == []
    assert ruling["topline"] == "PASS"
    # Every other clause is not applicable: agentv's files cover CL-D1-04 only.
    others = {c["clause_id"]: c["status"] for c in ruling["clauses"] if c["clause_id"] != D14}
    assert set(others.values()) == {"NOT_EVALUATED"}


def test_the_no_budget_run_passes_through_the_engine_pipeline(
    tmp_path: Path, catalog: Catalog
) -> None:
    from vlab.engine.pipeline import adjudicate

    ruling = adjudicate(imported("nobudget", tmp_path / "pack", catalog), catalog)
    found = [c for c in ruling.clauses if c.clause_id == D14]
    assert [c.status for c in found] == ["PASS"]


@pytest.mark.parametrize("name", STOPPED)
def test_a_budget_stopped_run_is_judged_with_every_skipped_case_accounted_for(
    name: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    pack = imported(name, tmp_path / "pack", catalog)
    ruling = judge(pack)
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    codes = detail_codes(ruling)
    assert "RUNBUDGET-CONFIG-MISSING" not in codes
    assert "RUNBUDGET-TERMINATION-NOT-SURFACED" not in codes
    assert "RUNBUDGET-INCOMPLETE-MATRIX" not in codes
    assert clause(ruling)["status"] == "PASS"
    # Every budget_exceeded row is a case.skipped of that very case, and nothing else is.
    refused = {
        (r["target"], r["test_id"])
        for r in index_rows(name)
        if r.get("failure_reason_code") == "budget_exceeded"
    }
    assert refused
    log = events(pack)
    skips = {(e["target"], e["test"]) for e in log if e["event_type"] == "case.skipped"}
    assert skips == refused
    (report,) = [e for e in log if e["event_type"] == "run.completed"]
    assert report["status"] == "budget_exhausted"
    assert report["cases_skipped"] == len(refused)
    assert any(e["event_type"] == "budget.decision" for e in log)


def test_the_run_budget_run_without_its_cap_is_config_missing(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    folder, eval_file, _ = RUNS["runbudget"]
    out = tmp_path / "pack"
    import_pack("agentv", [AGENTV / folder], out, catalog=catalog, eval=AGENTV / eval_file)
    ruling = judge(out)
    assert detail_codes(ruling) == ["RUNBUDGET-CONFIG-MISSING"]
    assert "0.6000" in clause(ruling)["details"][0]["message"]


def test_case_costs_are_lower_bounds_and_said_so(tmp_path: Path, catalog: Catalog) -> None:
    pack = imported("runbudget", tmp_path / "pack", catalog)
    done = [e for e in events(pack) if e["event_type"] == "case.completed"]
    assert {e["cost_basis"] for e in done} == {"partial"}  # trials.count 2, no samples
    assert [e["cost_usd"] for e in done] == ["0.1", "0.1", "0.25"]  # the exact row text
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["evidence"]["cases_with_partial_cost"] == 3
    assert any("lower bounds" in n for n in record["notes"])
    assert record["options"]["budget_usd"] == "0.6"


# -- the import record ---------------------------------------------------------------------------


def test_the_derived_log_names_its_native_lines(tmp_path: Path, catalog: Catalog) -> None:
    pack = imported("budget", tmp_path / "pack", catalog)
    log = events(pack)
    assert log[0]["event_type"] == "run.config"
    assert log[0]["dispatch_unit"] == "case"
    assert log[0]["order"] == "per_target"
    assert log[0]["budget_scope"] == "target"
    assert log[0]["budget_usd_by_target"] == {"cheap": "0.30", "pricey": "0.30"}
    assert log[0]["total_budget_usd"] is None
    for event in log:
        assert event["source"]["artifact_path"].startswith("native/agentv/")
        assert (pack / event["source"]["artifact_path"]).is_file()
    rows = (pack / "native/agentv/run/index.jsonl").read_bytes().splitlines()
    for event in log[1:-1]:
        assert 1 <= event["source"]["line"] <= len(rows)
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["importer"] == {"system": "agentv", "version": 1}
    covered: set[int] = set()
    for entry in record["derived_from"]:
        source = entry["from"]
        if isinstance(source, dict):  # per kind of row: line ranges, not one entry per row
            assert source["artifact_path"] == "native/agentv/run/index.jsonl"
            for first, last in source["lines"]:
                covered.update(range(first, last + 1))
    assert covered == {e["source"]["line"] for e in log[1:-1]}
    assert len(record["derived_from"]) < len(log)
    assert record["claims"]["exit_status"] is None
    assert any("exit status is not in its files" in n for n in record["notes"])
    assert len(record["claims"]["results"]) == 6
    bundle = json.loads((pack / "bundle.manifest.json").read_text("utf-8"))
    meta = bundle["scenario_meta"]
    assert meta.pop("eval_matrix") is True
    assert set(meta.values()) == {False}


def test_native_files_follow_the_fixed_layout(tmp_path: Path, catalog: Catalog) -> None:
    pack = imported("runbudget", tmp_path / "pack", catalog)
    native = sorted(p for p in files(pack) if p.startswith("native/"))
    assert native == [
        "native/agentv/eval/runbudget.yaml",
        "native/agentv/run/benchmark.json",
        "native/agentv/run/index.jsonl",
        "native/agentv/run/timing.json",
    ]
    assert (pack / native[2]).read_bytes() == (AGENTV / "run-runbudget/index.jsonl").read_bytes()


def test_importing_twice_and_from_another_folder_gives_the_same_bytes(
    tmp_path: Path, catalog: Catalog
) -> None:
    first = files(imported("matrix-run", tmp_path / "one", catalog))
    again = files(imported("matrix-run", tmp_path / "two", catalog))
    copy = tmp_path / "elsewhere" / "deeper"
    shutil.copytree(AGENTV, copy)
    moved = files(imported("matrix-run", tmp_path / "three", catalog, root=copy))
    assert first == again == moved


def test_no_derived_file_holds_a_machine_path(tmp_path: Path, catalog: Catalog) -> None:
    copy = tmp_path / "machine-specific-folder"
    shutil.copytree(AGENTV, copy)
    pack = imported("runbudget", tmp_path / "pack", catalog, root=copy)
    for rel, data in files(pack).items():
        if rel.startswith("native/"):
            continue
        for needle in (str(tmp_path), str(REPO), "machine-specific-folder", "/tmp/"):
            assert needle.encode() not in data, (rel, needle)


# -- refused, and usage errors -------------------------------------------------------------------


def test_a_folder_without_index_jsonl_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    (tmp_path / "run").mkdir()
    with pytest.raises(ImportRefused, match=r"index\.jsonl"):
        import_pack(
            "agentv",
            [tmp_path / "run"],
            tmp_path / "pack",
            catalog=catalog,
            eval=AGENTV / "evals/nobudget.yaml",
        )


def test_an_eval_that_is_not_agentv_yaml_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    bad = tmp_path / "eval.yaml"
    for text in ("- just\n- a list\n", "description: no tests here\n", "a: [unclosed\n"):
        bad.write_text(text, "utf-8")
        with pytest.raises(ImportRefused, match="agentv eval YAML"):
            import_pack(
                "agentv", [AGENTV / "run-nobudget"], tmp_path / "pack", catalog=catalog, eval=bad
            )
    renamed = tmp_path / "old.yaml"
    renamed.write_text("execution:\n  total_budget_usd: 1\ntests: []\n", "utf-8")
    with pytest.raises(ImportRefused, match="renamed"):
        import_pack(
            "agentv", [AGENTV / "run-nobudget"], tmp_path / "pack", catalog=catalog, eval=renamed
        )


def test_another_systems_jsonl_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "index.jsonl").write_text(
        '{"ts": "2026-05-29T10:00:05+00:00", "persona_id": "analyst", "cost_usd": 0.35}\n', "utf-8"
    )
    with pytest.raises(ImportRefused, match="agentv result rows"):
        import_pack(
            "agentv", [run], tmp_path / "pack", catalog=catalog, eval=AGENTV / "evals/budget.yaml"
        )


@pytest.mark.parametrize(
    "options",
    [
        {},  # no --eval
        {"eval": "missing.yaml"},
        {"eval": "evals/budget.yaml", "budget_usd": "-1"},
        {"eval": "evals/budget.yaml", "budget_usd": "0"},
        {"eval": "evals/budget.yaml", "budget_usd": "abc"},
        {"eval": "evals/budget.yaml", "budget_usd": 0.6},  # a binary float is not money
        {"eval": "evals/budget.yaml", "workers": 0},
        {"eval": "evals/budget.yaml", "exit_code": "x"},
    ],
)
def test_bad_options_are_usage_errors(
    options: dict[str, Any], tmp_path: Path, catalog: Catalog
) -> None:
    given = {k: (AGENTV / v if k == "eval" else v) for k, v in options.items()}
    with pytest.raises(UsageError):
        import_pack("agentv", [AGENTV / "run-budget"], tmp_path / "pack", catalog=catalog, **given)


def test_the_cli_exits_65_for_what_is_not_agentv_output(tmp_path: Path, vlab: Runner) -> None:
    (tmp_path / "run").mkdir()
    proc = vlab(
        "import",
        "agentv",
        tmp_path / "run",
        "--eval",
        AGENTV / "evals/nobudget.yaml",
        "--out",
        tmp_path / "pack",
        text=True,
    )
    assert proc.returncode == 65, proc.stderr
    assert "index.jsonl" in proc.stderr
    bad = tmp_path / "e.yaml"
    bad.write_text("nothing: here\n", "utf-8")
    proc = vlab(
        "import",
        "agentv",
        AGENTV / "run-budget",
        "--eval",
        bad,
        "--out",
        tmp_path / "p2",
        text=True,
    )
    assert proc.returncode == 65, proc.stderr


def test_the_cli_imports_and_the_pack_adjudicates(tmp_path: Path, vlab: Runner) -> None:
    proc = vlab(
        "import",
        "agentv",
        AGENTV / "run-runbudget",
        "--eval",
        AGENTV / "evals/runbudget.yaml",
        "--budget-usd",
        "0.6",
        "--out",
        tmp_path / "pack",
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    record = json.loads((tmp_path / "pack" / "import.json").read_text("utf-8"))
    assert record["options"]["budget_usd"] == "0.6"
    proc = vlab("adjudicate", tmp_path / "pack", text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


# -- damaged native evidence ---------------------------------------------------------------------


def damaged_copy(tmp_path: Path) -> Path:
    run = tmp_path / "run"
    shutil.copytree(AGENTV / "run-nobudget", run)
    rows = (run / "index.jsonl").read_bytes().split(b"\n")
    rows[0] = rows[0].replace(b'"Uncategorized"', b'"Unc\xffategorized"', 1)
    rows[5] = rows[5][: len(rows[5]) // 2]  # torn: no newline, half a row
    (run / "index.jsonl").write_bytes(b"\n".join(rows[:6]))
    return run


def test_a_damaged_index_is_imported_as_it_is_and_judged(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    run = damaged_copy(tmp_path)
    pack = tmp_path / "pack"
    import_pack("agentv", [run], pack, catalog=catalog, eval=AGENTV / "evals/nobudget.yaml")
    assert (pack / "native/agentv/run/index.jsonl").read_bytes() == (
        run / "index.jsonl"
    ).read_bytes()
    log = events(pack)
    unreadable = [e for e in log if e["event_type"] == "record.unreadable"]
    assert [e["source"]["line"] for e in unreadable] == [6]
    assert "torn" in unreadable[0]["reason"]
    record = json.loads((pack / "import.json").read_text("utf-8"))
    assert record["evidence"]["unreadable_lines"] == [[6, 6]]
    assert any("not UTF-8 (line 1)" in n for n in record["notes"])
    ruling = judge(pack)
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    assert clause(ruling)["status"] == "FAIL"
    assert detail_codes(ruling) == [
        "RUNBUDGET-SPEND-MISREPORTED",  # the torn line: damage is never silent
        "RUNBUDGET-SPEND-MISREPORTED",
        "RUNBUDGET-INCOMPLETE-MATRIX",
    ]


@pytest.mark.parametrize(
    "index",
    [
        b"",
        b"\n\n",
        b"\xff\xfe\x00garbage",
        b"[1, 2]\n",
        b'{"test_id": "t1", "target": "cheap", "cost_usd": 1e999999999}\n',
        b'{"test_id": "t1", "target": "cheap", "cost_usd": 123456789012345678901234567890}\n',
        b'{"test_id": ["t1"], "target": {"x": 1}, "samples": [1, {"cost_usd": "x"}]}\n',
        b'{"test_id": "t1", "target": "cheap", "test_id": "t2"}\n',
        b'{"test_id": "t1", "target": "cheap", "execution_status": "execution_error", '
        b'"failure_stage": "setup", "failure_reason_code": "budget_exceeded", "error": 7}\n',
        b"[" * 10_000 + b"\n",
    ],
)
def test_hostile_index_bytes_never_crash_the_importer(index: bytes, catalog: Catalog) -> None:
    native = {
        "run/index.jsonl": index,
        "eval/e.yaml": (AGENTV / "evals/budget.yaml").read_bytes(),
    }
    derived = derive(native, {"ruleset_ref": "ruleset-1.3"})
    assert derived.files[LOG].endswith(b"\n")
    for line in derived.files[LOG].splitlines():
        json.loads(line)  # strict JSON, one object a line


def test_samples_of_newer_agentv_give_trial_costs(catalog: Catalog) -> None:
    # agentv 5.3.1 (run-artifacts.ts toTrialArtifacts) adds samples[] with each trial's
    # cost_usd; the row's own cost_usd stays the best trial's.
    rows = (AGENTV / "run-nobudget/index.jsonl").read_bytes().splitlines()
    first = json.loads(rows[0])
    first["samples"] = [
        {"sample": 1, "sample_index": 0, "score": 0, "status": "fail", "cost_usd": 0.1},
        {"sample": 2, "sample_index": 1, "score": 1, "status": "pass", "cost_usd": 0.1},
    ]
    index = json.dumps(first).encode() + b"\n" + b"\n".join(rows[1:]) + b"\n"
    native = {
        "run/index.jsonl": index,
        "eval/e.yaml": (AGENTV / "evals/nobudget.yaml").read_bytes(),
    }
    log = [json.loads(x) for x in derive(native, {}).files[LOG].splitlines()]
    trials = [e for e in log if e["event_type"] == "trial.completed"]
    assert [(t["case_id"], t["trial"], t["cost_usd"]) for t in trials] == [
        ("index.jsonl:1", 1, "0.1"),
        ("index.jsonl:1", 2, "0.1"),
    ]
    done = next(e for e in log if e["event_type"] == "case.completed")
    assert done["cost_basis"] == "trials" and "cost_usd" not in done
    (report,) = [e for e in log if e["event_type"] == "run.completed"]
    assert report["spent_usd"] == "1.15"  # 0.2 (two trials) + 0.1 + 0.1 + 0.25 x 3


# -- the eval and the index as agentv 4.42.4 reads them (hidden-set findings) ---------------------


def _eval(execution: str, tests: str) -> bytes:
    return ("execution:\n" + execution + "tests:\n" + tests).encode("utf-8")


def test_per_test_targets_are_read_from_the_tests_execution_block() -> None:
    # agentv: extractTargetsFromTestCase reads tests[].execution.targets only; a top-level
    # tests[].targets is ignored (the test runs on every suite target).
    from vlab.importers.agentv import read_eval

    plan = read_eval(
        _eval(
            "  targets: [a, b]\n",
            "  - id: t1\n    execution:\n      targets: [b]\n"
            "  - id: t2\n    targets: [a]\n"
            "  - id: t3\n",
        )
    )
    assert plan.cases == [("b", "t1"), ("a", "t2"), ("b", "t2"), ("a", "t3"), ("b", "t3")]
    assert read_eval(_eval("  targets: [a, b]\n", "  - id: t1\n    targets: [a]\n")).cases is None


def test_a_float_trial_count_agentv_takes_as_an_integer_is_taken() -> None:
    # agentv: Number.isInteger(3.0) is true, so trials.count 3.0 runs three trials.
    from vlab.importers.agentv import read_eval

    trials = "  trials:\n    count: {}\n"
    assert read_eval(_eval(trials.format("3.0"), "  - id: t1\n")).trials == 3
    assert read_eval(_eval(trials.format("2.5"), "  - id: t1\n")).trials == 1
    assert read_eval(_eval(trials.format('"3"'), "  - id: t1\n")).trials == 1


def test_a_suite_budget_written_as_a_string_is_ignored_as_agentv_ignores_it() -> None:
    # agentv: extractBudgetUsd takes typeof "number" > 0 only ("Invalid execution.budget_usd:
    # 0.3. Must be a positive number. Ignoring."); budget_usd ?? budgetUsd.
    from vlab.importers.agentv import read_eval

    plan = read_eval(_eval('  budget_usd: "0.3"\n', "  - id: t1\n"))
    assert plan.budget is None
    assert "agentv ignores it" in plan.budget_note
    assert read_eval(_eval("  budget_usd: 0.3\n", "  - id: t1\n")).budget == "0.3"
    assert read_eval(_eval("  budget_usd: null\n  budgetUsd: 2\n", "  - id: t1\n")).budget == "2"


def test_a_large_eval_without_merge_keys_is_read_and_merge_bombs_are_not() -> None:
    from vlab.importers.agentv import read_eval

    tests = "".join(f"  - id: c{i}\n    input: x\n" for i in range(25_000))
    assert len(read_eval(_eval("  targets: [a, b]\n", tests)).tests) == 25_000
    bomb = "b0: &b0 {" + ", ".join(f"k{i}: {i}" for i in range(64)) + "}\n"
    for level in range(1, 12):
        bomb += f"b{level}: &b{level} {{<<: [*b{level - 1}], n{level}: 1}}\n"
        bomb += f"c{level}: [" + ", ".join([f"{{<<: *b{level}}}"] * 200) + "]\n"
    with pytest.raises(ValueError, match="merge keys"):
        read_eval((bomb + "tests:\n  - id: t1\n").encode("utf-8"))


def test_an_index_agentv_appended_a_second_invocation_to_is_refused(
    tmp_path: Path, catalog: Catalog
) -> None:
    # agentv --rerun-failed / --resume appends the rerun cases' rows (JsonlWriter append);
    # its budgets restart, and agentv keeps each (test, target)'s last row.
    run = tmp_path / "run"
    shutil.copytree(AGENTV / "run-nobudget", run)
    rows = (run / "index.jsonl").read_bytes().splitlines()
    (run / "index.jsonl").write_bytes(b"\n".join([*rows, rows[2]]) + b"\n")
    with pytest.raises(ImportRefused, match=r"repeats test .*rerun-failed"):
        import_pack(
            "agentv", [run], tmp_path / "pack", catalog=catalog, eval=AGENTV / "evals/nobudget.yaml"
        )


def test_an_unreadable_line_among_complete_rows_is_damage_not_a_pass(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    run = tmp_path / "run"
    shutil.copytree(AGENTV / "run-nobudget", run)
    data = (run / "index.jsonl").read_bytes()
    (run / "index.jsonl").write_bytes(data + b"\x00" * 1000)
    pack = tmp_path / "pack"
    import_pack("agentv", [run], pack, catalog=catalog, eval=AGENTV / "evals/nobudget.yaml")
    ruling = judge(pack)
    assert clause(ruling)["status"] == "FAIL"
    assert detail_codes(ruling) == ["RUNBUDGET-SPEND-MISREPORTED"]
    assert "unreadable native record" in clause(ruling)["details"][0]["message"]


def test_many_bad_lines_give_a_compact_pack(tmp_path: Path, catalog: Catalog) -> None:
    run = tmp_path / "run"
    shutil.copytree(AGENTV / "run-nobudget", run)
    data = (run / "index.jsonl").read_bytes()
    (run / "index.jsonl").write_bytes(data + b"xxxxxxxxx\n" * 100_000 + b"{}\n" * 100_000)
    pack = tmp_path / "pack"
    import_pack("agentv", [run], pack, catalog=catalog, eval=AGENTV / "evals/nobudget.yaml")
    unreadable = [e for e in events(pack) if e["event_type"] == "record.unreadable"]
    assert [(e["first_line"], e["last_line"]) for e in unreadable] == [
        (7, 100_006),
        (100_007, 200_006),
    ]
    assert (pack / "import.json").stat().st_size < 50_000
    assert (pack / LOG).stat().st_size < 50_000
