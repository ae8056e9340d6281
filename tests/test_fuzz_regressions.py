"""Regressions found by mutation fuzzing of evidence packs (adjudicate, receipt check).

The engine's promise: bad input never crashes. Each test builds one small hostile pack,
adjudicates it in-process and requires a ruling (never an exception escaping
``adjudicate()``, which the CLI turns into exit 70). Every crash the fuzzer found is fixed;
these keep it that way.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import vlab.core.paths
import vlab.domains.run_budget
import vlab.domains.spending_cap
from packs import good_pack, read_json, write, write_json
from vlab.engine.pipeline import adjudicate
from vlab.engine.ruling import Ruling
from vlab.pack.seal import seal
from vlab.ruleset.catalog import Catalog

EVIDENCE = Path(__file__).resolve().parents[1] / "evidence_packs"
VLAB = (sys.executable, "-m", "vlab")
TOPLINES = {"PASS", "FAIL", "NOT_EVALUATED", "NOT_ADMISSIBLE"}
LEDGER_SEED = "r12-d1-03/pass-overspend-tolerated"
MATRIX_SEED = "r12-d1-04/pass-cap-reached-surfaced"
SETTLED_SEED = "r12-d1-02/pass-settled"
MISSION_SEED = "r12-d5-01/pass-verified-strong"
EVENTS = "trace/events.ndjson"
LEDGER = "artifacts/budget/spend.jsonl"
SETTLEMENT = "artifacts/budget/settlement_receipt.json"
POLICY = "artifacts/mission/policy.yaml"


def _judged(pack: Path) -> Ruling:
    """The ruling model of one in-process adjudication (it must be a ruling, never a crash)."""
    ruling = adjudicate(pack, Catalog())
    assert ruling.topline in TOPLINES
    return ruling


def _ruling(pack: Path) -> dict[str, Any]:
    """The ruling document (``--format json``) of one in-process adjudication."""
    return _judged(pack).to_json()


# -- counting work (no wall clock: boundedness is a count a blow-up would break) ------------


class _OverBudget(BaseException):
    """More work than the bound allows, raised by the counter at the step that exceeds it,
    so a blow-up fails at once instead of running on (a BaseException: no handler in the
    engine can swallow it)."""


@dataclass
class _Count:
    calls: int = 0
    cells: int = 0  # dynamic-programming cells, where the counted function is a DP
    max_calls: int | None = None
    max_cells: int | None = None


def _count(
    monkeypatch: pytest.MonkeyPatch,
    owner: Any,
    name: str,
    *,
    cells: Callable[..., int] | None = None,
    max_calls: int | None = None,
    max_cells: int | None = None,
) -> _Count:
    """Replace ``owner.name`` (where callers look it up) by a wrapper that counts its calls
    (and, given ``cells``, the DP cells of each call), raises _OverBudget past a bound, and
    calls through to the original."""
    original = getattr(owner, name)
    count = _Count(max_calls=max_calls, max_cells=max_cells)

    def counting(*args: Any, **kwargs: Any) -> Any:
        count.calls += 1
        if cells is not None:
            count.cells += cells(*args, **kwargs)
        if max_calls is not None and count.calls > max_calls:
            raise _OverBudget(f"{name}: more than {max_calls} calls")
        if max_cells is not None and count.cells > max_cells:
            raise _OverBudget(f"{name}: more than {max_cells} DP cells")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counting)
    return count


@dataclass
class _PatternWork:
    paths: _Count  # _path_matches: at most one call per (pattern, path) pair
    segments: _Count  # _segment_matches: calls, and len(pat) * len(name) cells each

    def assert_bounded(self) -> None:
        """Matching ran (the counters see it) and stayed within the bounds."""
        for count in (self.paths, self.segments):
            assert 0 < count.calls <= (count.max_calls or 0), count
            assert count.cells <= (count.max_cells or 0), count


def _pattern_work(
    monkeypatch: pytest.MonkeyPatch, patterns: list[str], changed: list[str]
) -> _PatternWork:
    """Count path-pattern matching (``matches`` calls ``_path_matches``, which calls
    ``_segment_matches``, both by module global), bounded by the work of a DP linear in
    patterns x paths x segments: one ``_path_matches`` per (pattern, path) pair; over all
    pairs at most one ``_segment_matches`` per (pattern segment, path segment) and
    len(pattern) * len(path) cells. Exponential backtracking or re-matching breaks these."""
    segment_pairs = sum(p.count("/") + 1 for p in patterns) * sum(c.count("/") + 1 for c in changed)
    module = vlab.core.paths
    return _PatternWork(
        paths=_count(monkeypatch, module, "_path_matches", max_calls=len(patterns) * len(changed)),
        segments=_count(
            monkeypatch,
            module,
            "_segment_matches",
            cells=lambda pat, name: len(pat) * len(name),
            max_calls=segment_pairs,
            max_cells=sum(map(len, patterns)) * sum(map(len, changed)),
        ),
    )


def _seed(tmp_path: Path, seed: str) -> Path:
    """A sealed copy of one evidence_packs/<group>/<case>/pack."""
    pack = tmp_path / "pack"
    shutil.copytree(EVIDENCE / seed / "pack", pack)
    return pack


def _edit(pack: Path, rel: str, old: str, new: str, *, count: int = 1) -> None:
    """Replace ``old`` by ``new`` (raw text, so JSON escapes stay escapes) and reseal."""
    text = (pack / rel).read_text(encoding="utf-8")
    assert old in text, old
    write(pack, rel, text.replace(old, new, count), reseal=True)


def _messages(ruling: dict[str, Any]) -> list[str]:
    return [d["message"] for c in ruling["clauses"] for d in c["details"]]


# -- lone surrogates: strictjson accepts "\ud800"; canonical output cannot encode it --------


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        ("bundle.manifest.json", '"run_id": "run-001"', '"run_id": "\\ud800"'),
        ("manifest.json", '"pack_id"', '"substrate": {"type": "\\ud800"}, "pack_id"'),
        ("evidence_pointers.json", "event_id:evt-budget-001", "event_id:\\ud800"),
        (EVENTS, '"decision_kind":"budget"', '"decision_kind":"\\ud800"'),
    ],
    ids=["bundle-run_id", "manifest-substrate-type", "pointer-locator", "event-decision_kind"],
)
def test_lone_surrogate_escape_gives_a_ruling(tmp_path: Path, rel: str, old: str, new: str) -> None:
    pack = good_pack(tmp_path, contract_version="1.1")
    _edit(pack, rel, old, new)
    _ruling(pack)


def test_lone_surrogate_in_settlement_receipt(tmp_path: Path) -> None:
    pack = _seed(tmp_path, SETTLED_SEED)
    _edit(pack, SETTLEMENT, '"cost_usd_over": "0"', '"cost_usd_over": "\\ud800"')
    _ruling(pack)


def test_receipt_check_table_with_lone_surrogate(tmp_path: Path) -> None:
    receipt = EVIDENCE / SETTLED_SEED / "pack" / SETTLEMENT
    text = receipt.read_text(encoding="utf-8")
    target = tmp_path / "receipt.json"
    target.write_text(text.replace('"cost_usd_over": "0"', '"cost_usd_over": "\\ud800"'))
    proc = subprocess.run(
        [*VLAB, "receipt", "check", str(target), "--ruleset", "ruleset-1.2", "--format", "table"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1, proc.stderr


# -- a control file that is JSON null -------------------------------------------------------


def test_manifest_json_null_is_not_admissible(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    write(pack, "manifest.json", "null\n", reseal=True)
    assert _ruling(pack)["topline"] == "NOT_ADMISSIBLE"


def test_evidence_pointers_json_null_is_not_admissible(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    write(pack, "evidence_pointers.json", "null\n", reseal=True)
    assert _ruling(pack)["topline"] == "NOT_ADMISSIBLE"


# -- unhashable JSON values where the replays expect ids -------------------------------------


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        (LEDGER, '"call_id":"c1"', '"call_id":[1]'),
        (EVENTS, '"call_id":"c3"', '"call_id":{"a":1}'),  # the DENY check
    ],
    ids=["ledger-charge", "denied-check"],
)
def test_ledger_unhashable_call_id(tmp_path: Path, rel: str, old: str, new: str) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    _edit(pack, rel, old, new)
    _ruling(pack)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('"trial_id":"model-a/t1/1","target"', '"trial_id":["x"],"target"'),
        ('"trial_id":"model-a/t1/1","cost_usd"', '"trial_id":{"a":1},"cost_usd"'),
        ('"test":"t1","trial":1}', '"test":"t1","trial":[1]}'),
        ('"test":"t1","trial":1,"reason"', '"test":"t1","trial":[1],"reason"'),
    ],
    ids=["dispatched-trial_id", "completed-trial_id", "dispatched-trial", "skipped-trial"],
)
def test_runbudget_unhashable_trial(tmp_path: Path, old: str, new: str) -> None:
    pack = _seed(tmp_path, MATRIX_SEED)
    _edit(pack, EVENTS, old, new)
    _ruling(pack)


# -- money beyond the decimal context: Overflow, huge text -----------------------------------


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new", "count"),
    [
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":9e999999', 2),
        (LEDGER_SEED, EVENTS, '"estimate_usd":"0.45"', '"estimate_usd":-1e9999999', 1),
        (MATRIX_SEED, EVENTS, '"cost_usd":"0.30"', '"cost_usd":1e9999999', 1),
        (SETTLED_SEED, SETTLEMENT, '"cost_usd": "0.4213"', '"cost_usd": 1e9999999', 1),
    ],
    ids=["ledger-charges", "ledger-check-estimate", "runbudget-cost", "settlement-actual"],
)
def test_money_exponent_overflow(
    tmp_path: Path, seed: str, rel: str, old: str, new: str, count: int
) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new, count=count)
    _ruling(pack)


def test_receipt_findings_money_exponent_overflow() -> None:
    from vlab.core import strictjson
    from vlab.domains.settlement import receipt_findings

    text = (EVIDENCE / SETTLED_SEED / "pack" / SETTLEMENT).read_text(encoding="utf-8")
    receipt = strictjson.loads(
        text.replace('"cost_usd": "0.4213"', '"cost_usd": 1e9999999').encode()
    )
    schema = Catalog().get("ruleset-1.2").extra_schemas["budget_settlement_receipt"]
    receipt_findings(receipt, schema)


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new"),
    [
        (
            MISSION_SEED,
            POLICY,
            "mission_hard_limit_usd: 10 ",
            "mission_hard_limit_usd: -1e9999999 ",
        ),
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":-9e999999'),
    ],
    ids=["mission-policy-limit", "ledger-negative-charge"],
)
def test_huge_exponent_money_message_is_bounded(
    tmp_path: Path, seed: str, rel: str, old: str, new: str
) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new)
    ruling = _ruling(pack)
    assert max(map(len, _messages(ruling))) < 10_000


@pytest.mark.parametrize(
    ("stamp", "offset"),
    [("0001-01-01T00:00:0", "+00:01"), ("9999-12-31T23:59:5", "-23:59")],
    ids=["before-year-1", "after-year-9999"],
)
def test_ledger_day_out_of_calendar(tmp_path: Path, stamp: str, offset: str) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    ledger = (pack / LEDGER).read_text(encoding="utf-8")
    ledger = ledger.replace("2026-05-29T10:00:0", stamp).replace('Z"', f'{offset}"')
    write(pack, LEDGER, ledger)
    _edit(pack, EVENTS, '"decision_outcome":"DENY"', '"decision_outcome":"ALLOW"')
    _ruling(pack)


# -- mission policy YAML ---------------------------------------------------------------------


def test_deeply_nested_policy_yaml(tmp_path: Path) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    write(pack, POLICY, "budget: " + "[" * 1000 + "]" * 1000 + "\n", reseal=True)
    _ruling(pack)


# -- a tiny pack that plans an unbounded matrix ----------------------------------------------


def _run_budget_work(
    monkeypatch: pytest.MonkeyPatch, max_lines: int
) -> Callable[[Path], tuple[int, ...]]:
    """Adjudicate a pack, counting the run-wide replay's work: records it reads, ``key``
    calls (every id and tuple it hashes), membership tests against the planned matrix, and
    lines executed in vlab/domains/run_budget.py (any Python loop over the matrix, in a
    comprehension or generator too, adds lines per trial; past ``max_lines`` the tracer
    raises _OverBudget)."""
    module = vlab.domains.run_budget
    records = _Count()
    replay = module.replay

    def counting_replay(events: Iterable[Any], **kwargs: Any) -> Any:
        def counted() -> Iterator[Any]:
            for record in events:
                records.calls += 1
                yield record

        return replay(counted(), **kwargs)

    monkeypatch.setattr(module, "replay", counting_replay)  # _run_budget_v1 looks it up
    keys = _count(monkeypatch, module, "key")
    member = _count(monkeypatch, module._Plan, "__contains__")

    def measure(pack: Path) -> tuple[int, ...]:
        counts = (records.calls, keys.calls, member.calls)
        lines = _Count()

        def line(frame: Any, event: str, arg: Any) -> Any:
            lines.calls += event == "line"
            if lines.calls > max_lines:
                raise _OverBudget(f"more than {max_lines} lines run in {module.__name__}")
            return line

        def call(frame: Any, event: str, arg: Any) -> Any:
            # trace only this module's frames: the rest of adjudication runs untraced
            return line if frame.f_code.co_filename == module.__file__ else None

        previous = sys.gettrace()
        sys.settrace(call)
        try:
            _ruling(pack)
        finally:
            sys.settrace(previous)
        now = (records.calls, keys.calls, member.calls)
        return (*(b - a for a, b in zip(counts, now, strict=True)), lines.calls)

    return measure


def test_runbudget_huge_trial_count_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a 17-record log: about 500 lines of replay, whatever the matrix size. The general
    # replay (the compact pass, decision 258, is bounded by MAX_COMPACT_CELLS: next test)
    monkeypatch.setattr(vlab.domains.run_budget, "MAX_COMPACT_CELLS", 0)
    measure = _run_budget_work(monkeypatch, max_lines=20_000)
    seen: dict[int, tuple[int, ...]] = {}
    # Small sizes first, each checked at once: work that scales with trials fails at 2000,
    # before 10^9 could hang.
    for trials in (1000, 2000, 1000000000):
        pack = _seed(tmp_path / str(trials), MATRIX_SEED)
        _edit(pack, EVENTS, '"trials":2', f'"trials":{trials}')
        seen[trials] = measure(pack)
        assert min(seen[trials]) > 0, seen
        assert seen[trials] == seen[1000], f"(records, keys, memberships, lines) grow: {seen}"


def test_runbudget_compact_pass_work_does_not_grow_with_the_plan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The compact pass keeps a byte per planned trial (C passes over it, no Python loop):
    # its Python work is the log's, and a plan past MAX_COMPACT_CELLS goes to the general
    # replay, which the test above bounds.
    measure = _run_budget_work(monkeypatch, max_lines=20_000)
    seen: dict[int, tuple[int, ...]] = {}
    for trials in (1000, 2000, 1000000000):
        pack = _seed(tmp_path / str(trials), MATRIX_SEED)
        _edit(pack, EVENTS, '"trials":2', f'"trials":{trials}')
        seen[trials] = measure(pack)
        assert seen[trials][0] > 0 and seen[trials][3] > 0, seen
    assert seen[2000] == seen[1000], f"(records, keys, memberships, lines) grow: {seen}"
    assert seen[1000000000][3] < 20_000, seen


# -- hostile inputs that already work (keep them working) ------------------------------------


BILLION_LAUGHS = "\n".join(
    [
        "a: &a ['lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol', 'lol']",
        *(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]"
            for p, n in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "budget: {mission_hard_limit_usd: 10}",
        "verification: {command: x, protect: *i, allow: *i}",
        "",
    ]
)


@pytest.mark.parametrize(
    "policy",
    [
        BILLION_LAUGHS,
        "!!python/object/apply:os.system ['echo pwned']\n",
        "budget: !!python/object:builtins.dict {mission_hard_limit_usd: 10}\n",
    ],
    ids=["billion-laughs", "python-object-apply", "python-object-tag"],
)
def test_hostile_policy_yaml_is_a_ruling(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, policy: str
) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    write(pack, POLICY, policy, reseal=True)
    work = _pattern_work(monkeypatch, [], [])  # a budget of no matching at all
    ruling = _ruling(pack)
    assert ruling["topline"] == "FAIL"
    # refused as a policy: the (aliased, 9^9-long) lists are never matched nor quoted
    codes = [d["code"] for c in ruling["clauses"] for d in c["details"]]
    assert "MISSION-POLICY-INVALID" in codes
    assert work.paths.calls == 0 and work.segments.calls == 0, work
    assert max(map(len, _messages(ruling))) < 10_000


@pytest.mark.parametrize(
    ("seed", "rel", "old", "new"),
    [
        (SETTLED_SEED, SETTLEMENT, '"cost_usd": "0.4213"', '"cost_usd": 1e400'),
        (LEDGER_SEED, LEDGER, '"amount_usd":"0.55"', '"amount_usd":1e400'),
        (MATRIX_SEED, EVENTS, '"trials":2', '"trials":2.0'),
    ],
    ids=["settlement-1e400", "ledger-1e400", "matrix-trials-float"],
)
def test_odd_numbers_are_a_ruling(tmp_path: Path, seed: str, rel: str, old: str, new: str) -> None:
    pack = _seed(tmp_path, seed)
    _edit(pack, rel, old, new)
    _ruling(pack)


def test_integer_beyond_digit_limit_is_contract_invalid(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    pointers = read_json(pack, "evidence_pointers.json")
    write_json(pack, "evidence_pointers.json", pointers)
    text = (pack / "evidence_pointers.json").read_text(encoding="utf-8")
    write(pack, "evidence_pointers.json", text.replace("{", '{"n": 1' + "0" * 5000 + ",", 1))
    seal(pack)
    ruling = _ruling(pack)
    assert ruling["topline"] == "NOT_ADMISSIBLE"
    assert json.dumps(ruling["admission"]).count("CONTRACT-JSON-INVALID") >= 1


# == Round 2 (second mutation-fuzzing round) =================================================
#
# Each test below reproduces one crash class the second round found (all fixed).
# The CLI is driven in-process through its parser, mapping a usage
# error to 64 exactly as ``vlab.cli.main`` does; any other exception escaping is what
# ``main`` turns into exit 70.

RULESET_12 = Path(__file__).resolve().parents[1] / "rulesets" / "ruleset-1.2"
VECTOR_SEED = "d1-01/pass-event-id"
BLANK_PAD = b"\n" * 300_000  # blank lines: push an NDJSON artifact past 256 KiB (orjson path)
MISSION_RECEIPT = "artifacts/mission/outcome_receipt.json"


def _cli(*argv: Any) -> int:
    """Run one ``vlab`` command in-process; a UsageError is exit 64 as in ``main``."""
    from vlab.cli import build_parser
    from vlab.core.errors import UsageError

    args = build_parser().parse_args([str(a) for a in argv])
    try:
        code: int = args.run(args)
    except UsageError:
        return 64
    return code


# -- JSON numbers whose exponent Decimal cannot hold ----------------------------------------


@pytest.mark.parametrize(
    ("rel", "old", "new"),
    [
        (
            "bundle.manifest.json",
            '"run_id": "run-001"',
            '"run_id": "r", "x": 1e9999999999999999999',
        ),
        ("manifest.json", '"pack_id"', '"x": 1e-9999999999999999999, "pack_id"'),
        (EVENTS, '"decision_kind":"budget"', '"decision_kind":1e9999999999999999999'),
    ],
    ids=["bundle", "manifest", "event-line"],
)
def test_exponent_beyond_decimal_range_gives_a_ruling(
    tmp_path: Path, rel: str, old: str, new: str
) -> None:
    pack = good_pack(tmp_path)
    _edit(pack, rel, old, new)
    assert _ruling(pack)["topline"] == "NOT_ADMISSIBLE"


def test_receipt_check_exponent_beyond_decimal_range(tmp_path: Path) -> None:
    receipt = tmp_path / "receipt.json"
    receipt.write_text('{"schema": "BudgetSettlementReceipt/v0.1", "x": 1e9999999999999999999}')
    assert _cli("receipt", "check", receipt) == 1


# -- the table rendering reads pack strings as rich markup ----------------------------------


@pytest.mark.parametrize(
    ("rel", "old", "shown"),
    [
        ("bundle.manifest.json", "run-001", "[/x]"),
        (EVENTS, "budget", "[/bold]"),
        ("evidence_pointers.json", "evt-budget-001", "[/]"),
    ],
    ids=["run_id", "detail-message", "evidence-locator"],
)
def test_table_rendering_of_markup_like_strings(
    tmp_path: Path, rel: str, old: str, shown: str
) -> None:
    from vlab.render import render

    pack = good_pack(tmp_path)
    # the first "budget" in the log is the event id; the decision_kind is the second one
    where = {EVENTS: '"decision_kind":"'}.get(rel, "")
    _edit(pack, rel, where + old, where + shown)
    text = render(_judged(pack), "table").decode("utf-8")  # table cells may fold a long value
    assert rel != "bundle.manifest.json" or f"run {shown}" in text


# -- quoting a composite value that has no RFC 8785 form ------------------------------------


@pytest.mark.parametrize(
    "value",
    ["[9007199254740993]", "[1e400]", '{"a":1e400}'],
    ids=["int-beyond-2**53", "list-1e400", "object-1e400"],
)
def test_message_quoting_a_non_canonical_value(tmp_path: Path, value: str) -> None:
    pack = good_pack(tmp_path)
    _edit(pack, EVENTS, '"decision_kind":"budget"', f'"decision_kind":{value}')
    assert _ruling(pack)["topline"] == "FAIL"


# -- locator numbers beyond Python's int-string digit limit ---------------------------------


def test_line_locator_beyond_int_digit_limit(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    _edit(pack, "evidence_pointers.json", "event_id:evt-budget-001", "line:1" + "0" * 4300)
    assert _ruling(pack)["topline"] == "FAIL"


def test_jsonptr_index_beyond_int_digit_limit(tmp_path: Path) -> None:
    pack = good_pack(tmp_path, extra_files={"artifacts/d.json": b'{"a": [{}]}\n'})
    pointers = read_json(pack, "evidence_pointers.json")
    pointers["pointers"][0].update(
        artifact_path="artifacts/d.json", locator="jsonptr:/a/1" + "0" * 4300
    )
    write_json(pack, "evidence_pointers.json", pointers, reseal=True)
    assert _ruling(pack)["topline"] == "FAIL"


# -- large NDJSON artifacts: the orjson path refuses numbers the strict parser admitted -----


@pytest.mark.parametrize("rel", [LEDGER, EVENTS], ids=["ledger-replay", "first-execution-after"])
def test_large_ndjson_with_number_beyond_double(tmp_path: Path, rel: str) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    line = b'{"event_id":"zz","entry_id":"zz","event_type":"tool.call","n":1e400}\n'
    write(pack, rel, (pack / rel).read_bytes() + line + BLANK_PAD, reseal=True)
    _ruling(pack)


# -- run-wide replay: a matrix size with more digits than str() allows ----------------------


def test_runbudget_trials_with_4300_digits(tmp_path: Path) -> None:
    pack = _seed(tmp_path, MATRIX_SEED)
    _edit(pack, EVENTS, '"trials":2', '"trials":' + "9" * 4300)
    assert _ruling(pack)["topline"] == "FAIL"


# -- mission path patterns: unbounded matching cost -----------------------------------------


def test_mission_pattern_backtracking_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    protect, path = "**/" * 12 + "x", "/".join(["a"] * 26)
    _edit(pack, POLICY, 'protect: ["tests/**", "package.json"]', f'protect: ["{protect}"]')
    _edit(pack, MISSION_RECEIPT, '"src/checkout/sum.mjs"', f'"{path}"')
    work = _pattern_work(monkeypatch, [protect, "src/checkout/**"], [path])
    _ruling(pack)
    work.assert_bounded()


def test_mission_many_patterns_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pack = _seed(tmp_path, MISSION_SEED)
    allow = [f"p{i}/**/x" for i in range(1100)]
    changed = [f"q{i}/a/b/c" for i in range(300)]
    _edit(pack, POLICY, 'allow: ["src/checkout/**"]', f"allow: {json.dumps(allow)}")
    _edit(pack, MISSION_RECEIPT, '"src/checkout/sum.mjs"', ", ".join(map(json.dumps, changed)))
    work = _pattern_work(monkeypatch, ["tests/**", "package.json", *allow], changed)
    _ruling(pack)
    work.assert_bounded()


# -- every duplicate pointer re-runs the whole replay ---------------------------------------


def test_duplicate_pointers_do_not_multiply_replays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pack = _seed(tmp_path, LEDGER_SEED)
    pointers = read_json(pack, "evidence_pointers.json")
    ledger = [p for p in pointers["pointers"] if p["requirement_id"] == "RQ-D1-03"]
    assert len(ledger) == 1
    pointers["pointers"] += ledger * 1000
    write_json(pack, "evidence_pointers.json", pointers)
    write(pack, EVENTS, (pack / EVENTS).read_bytes() + BLANK_PAD, reseal=True)
    # _spending_cap_v1 (spending_cap@1) looks the replay up as a module global
    replays = _count(monkeypatch, vlab.domains.spending_cap, "replay", max_calls=1)
    _ruling(pack)
    assert replays.calls == 1, f"1001 identical pointers replayed the ledger {replays.calls} times"


# -- vlab rulesets lint (and every --ruleset PATH) on hostile ruleset files -----------------

APPLIES = '"scenario.settlement_expected != `false`"'
LAUGHS = "".join(
    f"l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]\n" if i else "l0: &l0 [x,x,x]\n"
    for i in range(9)
)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (APPLIES, '"' + "(" * 3000 + "scenario" + ")" * 3000 + '"', "recursion"),
        (APPLIES, '"scenario.x == `' + "[" * 3000 + "]" * 3000 + '`"', "recursion"),
        ("tables:\n", "x: " + "[" * 2000 + "]" * 2000 + "\ntables:\n", "recursion"),
        ("tables:\n", "cyc: &c [*c]\ntables:\n", "anchors and aliases"),
        ("tables:\n", "? [a, b]\n: 1\ntables:\n", "mapping keys"),
        ("tables:\n", LAUGHS + "tables:\n", "anchors and aliases"),
        ("format: 1", "format: 1" + "0" * 5000, "digits"),
        ("extends: ruleset-1.1", "extends: ruleset-9", "unknown ruleset"),
    ],
    ids=[
        "deep-jmespath",
        "deep-jmespath-literal",
        "deep-yaml",
        "recursive-anchor",
        "sequence-as-key",
        "billion-laughs",
        "int-beyond-digit-limit",
        "unknown-extends-has-no-line",
    ],
)
def test_lint_reports_hostile_ruleset_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, says: str
) -> None:
    folder = tmp_path / "rs"
    shutil.copytree(RULESET_12, folder)
    target = folder / "ruleset.yaml"
    text = target.read_text(encoding="utf-8")
    assert old in text, old
    target.write_text(text.replace(old, new, 1), encoding="utf-8")
    code = _cli("rulesets", "lint", target)
    assert code == 1
    out = capsys.readouterr().out
    assert f"error: {target}:" in out
    # the depth or the alias is refused as such (nothing expanded, no recursion escaped)
    assert says in out.lower(), out


# -- vlab regress / diff on hostile corpora -------------------------------------------------


def _vector(corpus: Path, name: str | bytes = "v") -> Path:
    folder = corpus / (name if isinstance(name, str) else name.decode("utf-8", "surrogateescape"))
    shutil.copytree(EVIDENCE / VECTOR_SEED, folder)
    return folder


@pytest.mark.parametrize(
    "text",
    ["[" * 5000 + "]" * 5000, '{"description": 1' + "0" * 5000 + "}"],
    ids=["deep-nesting", "int-beyond-digit-limit"],
)
def test_regress_malformed_expectation_is_usage_error(tmp_path: Path, text: str) -> None:
    corpus = tmp_path / "corpus"
    (_vector(corpus) / "expected.json").write_text(text)
    assert _cli("regress", corpus) == 64


def test_regress_junit_with_non_utf8_vector_name(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    _vector(corpus, b"v\xff")
    assert _cli("regress", corpus, "--out", f"junit={tmp_path / 'j.xml'}") == 0


@pytest.mark.parametrize("command", ["diff", "regress"])
def test_deeply_nested_corpus(tmp_path: Path, command: str) -> None:
    corpus = deep = tmp_path / "c"
    corpus.mkdir()
    for _ in range(1200):  # one level at a time: Path.mkdir(parents=True) itself recurses
        deep = deep / "d"
        deep.mkdir()
    argv = ["diff", "--from", "ruleset-1.1", "--to", "ruleset-1.2"] if command == "diff" else []
    try:
        assert _cli(*(argv or ["regress"]), corpus) == 64
    finally:
        while deep != corpus:  # bottom-up, so no recursive rmtree meets the depth either
            deep.rmdir()
            deep = deep.parent


# -- vlab review of hostile rulings ---------------------------------------------------------


def _ruling_file(tmp_path: Path, edit: Any) -> tuple[Path, Path]:
    from vlab.engine.ruling import ruling_digest

    pack = _seed(tmp_path, LEDGER_SEED)
    ruling = json.loads(json.dumps(adjudicate(pack, Catalog()).to_json(), default=str))
    edit(ruling)
    with contextlib.suppress(ValueError):  # no canonical form: the digest stays stale
        ruling["digest"] = ruling_digest(ruling)
    target = tmp_path / "ruling.json"
    target.write_text(json.dumps(ruling))
    return target, pack


@pytest.mark.parametrize(
    ("edit", "codes"),
    [
        (lambda r: r.__setitem__("topline", float("nan")), (64,)),
        (lambda r: r["pack"].__setitem__("run_id", 2**60), (64,)),
        (lambda r: r.__setitem__("pack", []), (64,)),
        (lambda r: r["admission"].pop("gates"), (64,)),
        (
            lambda r: r["clauses"][0]["details"].append(
                {"code": "X", "message": "m", "artifact_path": EVENTS, "line": "1"}
            ),
            (0, 64),
        ),
    ],
    ids=["nan", "int-beyond-2**53", "pack-not-object", "gates-missing", "detail-line-text"],
)
def test_review_hostile_ruling_is_usage_error(
    tmp_path: Path, edit: Any, codes: tuple[int, ...]
) -> None:
    target, pack = _ruling_file(tmp_path, edit)
    assert _cli("review", target, "--pack", pack) in codes


# -- round 2, not crashes: what the engine shows and what it lets through -------------------


def test_escape_sequences_in_evidence_are_not_sent_to_the_terminal(tmp_path: Path) -> None:
    from vlab.render import render

    pack = good_pack(tmp_path)
    _edit(pack, "bundle.manifest.json", "run-001", "run\\u001b]0;x\\u0007\\u001b[2J")
    ruling = _judged(pack)
    for fmt in ("table", "md"):
        text = render(ruling, fmt).decode("utf-8")
        assert "\x1b" not in text and "\x07" not in text
        assert "\\x1b" in text


def test_duplicate_key_in_expectation_is_usage_error(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    expected = _vector(corpus) / "expected.json"
    text = expected.read_text()
    expected.write_text(text.replace('"topline":', '"topline": "PASS", "topline":', 1))
    assert _cli("regress", corpus) == 64


def test_schema_dollar_does_not_accept_a_trailing_newline(tmp_path: Path) -> None:
    pack = good_pack(tmp_path)
    _edit(pack, "manifest.json", '"pack_id": "', '"pack_id": "p\\n')
    ruling = _ruling(pack)
    codes = [d["code"] for g in ruling["admission"]["gates"] for d in g["details"]]
    assert ruling["topline"] == "NOT_ADMISSIBLE" and codes == ["CONTRACT-SCHEMA-INVALID"]
