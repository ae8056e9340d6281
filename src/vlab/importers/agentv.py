"""Importer for agentv (importers.md §3): an eval run's index.jsonl, judged by CL-D1-04.

``vlab import agentv RUN_DIR --eval FILE [--budget-usd X] [--workers N] [--exit-code N]``.
RUN_DIR is the folder ``agentv eval ... --output RUN_DIR`` wrote (agentv 4.42.4:
``index.jsonl``, ``benchmark.json``, ``timing.json`` and a folder per test); FILE is the
eval YAML the run used. agentv records neither ``--budget-usd`` (one cap the whole run
shares), nor ``--workers`` (how many cases of a target run at once), nor its exit status:
give them again, as they were given to agentv.

Native layout (``native/agentv/``), fixed: ``run/index.jsonl``, ``run/benchmark.json`` and
``run/timing.json`` (each when RUN_DIR has it) byte for byte, and ``eval/<FILE's name>``.
The per-test folders are not read.

What agentv does (4.42.4, read from its source, governance/: the row → event table):

- targets run concurrently; each target's cases are dispatched in the eval's test order,
  ``workers`` at a time (default 3); a case that starts runs all its trials;
- the per-suite cap ``execution.budget_usd`` is kept per eval file and target, the
  ``--budget-usd`` cap across everything; both are checked when a case starts and grow
  by the case's cost (the sum of its trials) when it completes;
- a case refused by a cap is a row with ``failure_reason_code: budget_exceeded`` and
  ``error: "Suite budget exceeded ($S / $C)"`` or ``"Run budget exceeded ($S / $C)"``;
- index.jsonl is written when the run ends, in plan order (target, then test), with one
  row per case; its ``cost_usd`` is the best-scoring trial's cost, not the case's. Newer
  versions (5.3.1) add ``samples``, each trial with its ``cost_usd``.

Derived: ``trace/events.ndjson`` in CL-D1-04's case vocabulary (run_budget@2): a
``run.config`` (``dispatch_unit: case``, ``order: per_target``), then per row in index
order ``case.dispatched`` + (``trial.completed`` per sample) + ``case.completed``, or
``case.skipped`` (+ a ``budget.decision`` before the first skip of each cap), and a
``run.completed`` derived from the rows. Every record names its native line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.errors import UsageError
from vlab.core.memo import parse_once
from vlab.core.money import bounded, fmt, money
from vlab.core.timestamps import utc_micros
from vlab.importers.base import (
    EPOCH,
    JSON,
    Collected,
    Derived,
    Importer,
    ImportRefused,
    lines,
    load_json,
    native_path,
    ndjson_bytes,
    scenario,
    source,
)

SYSTEM = "agentv"
AGENTV_VERSION = "4.42.4"
INDEX = "run/index.jsonl"
RUN_FILES = ("index.jsonl", "benchmark.json", "timing.json")
EVAL_DIR = "eval/"
LOG = "trace/events.ndjson"
EXHAUSTED = "run_budget_exhausted"
# Rows agentv writes for a case it never dispatched (failure_stage "setup"): its budget
# caps, --fail-on-error halting, a failed dependency, an eval file that failed whole.
NOT_DISPATCHED = ("budget_exceeded", "error_threshold_exceeded", "dependency_failed", "setup_error")
_BUDGET_MESSAGE = re.compile(
    r"(Run|Suite) budget exceeded \(\$([0-9]+(?:\.[0-9]+)?) / \$([0-9]+(?:\.[0-9]+)?)\)"
)
_DECIMAL_TEXT = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,18})?")
MAX_EVAL_WORK = 1_000_000  # tests x targets an eval may plan (far beyond a real matrix)
MAX_FLATTENED_ENTRIES = 100_000


# -- collect -----------------------------------------------------------------------------------


def collect(sources: Sequence[Path], options: Mapping[str, Any]) -> Collected:
    if len(sources) != 1:
        raise UsageError("vlab import agentv takes one RUN_DIR (the folder agentv --output wrote)")
    run_dir = sources[0]
    if not run_dir.is_dir():
        raise ImportRefused(str(run_dir), "expected agentv's run folder (with index.jsonl)")
    if not (run_dir / "index.jsonl").is_file():
        raise ImportRefused(str(run_dir / "index.jsonl"), "missing: expected agentv's run index")
    eval_option = options.get("eval")
    if eval_option is None:
        raise UsageError("vlab import agentv needs --eval FILE (the eval YAML the run used)")
    eval_path = Path(str(eval_option))
    if not eval_path.is_file():
        raise UsageError(f"no such eval file: {eval_path}")
    native: dict[str, bytes] = {}
    for name in RUN_FILES:
        path = run_dir / name
        if path.is_file():
            native[f"run/{name}"] = path.read_bytes()
    if not eval_path.name.endswith((".yaml", ".yml")) or "/" in eval_path.name:
        raise ImportRefused(str(eval_path), "expected agentv eval YAML (.yaml or .yml)")
    native[EVAL_DIR + eval_path.name] = eval_path.read_bytes()
    try:
        read_eval(native[EVAL_DIR + eval_path.name])
    except ValueError as exc:
        raise ImportRefused(str(eval_path), f"expected agentv eval YAML: {exc}") from None
    if not _looks_like_agentv_index(native[INDEX]):
        raise ImportRefused(
            str(run_dir / "index.jsonl"),
            "expected agentv result rows (JSON objects with test_id and target)",
        )
    recorded: JSON = {}
    if options.get("budget_usd") is not None:
        recorded["budget_usd"] = _budget_text(options["budget_usd"])
    if options.get("workers") is not None:
        recorded["workers"] = _integer("workers", options["workers"], 1, 50)
    if options.get("exit_code") is not None:
        recorded["exit_code"] = _integer("exit_code", options["exit_code"], 0, 255)
    return Collected(native, recorded)


def _budget_text(value: Any) -> str:
    """--budget-usd as agentv took it (a positive number), kept as its exact decimal text."""
    text = fmt(value) if isinstance(value, Decimal) and value.is_finite() else value
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
    if not isinstance(text, str) or not _DECIMAL_TEXT.fullmatch(text.strip()):
        raise UsageError(f"--budget-usd {value!r} is not decimal text (e.g. 0.60)")
    if Decimal(text.strip()) <= 0:
        raise UsageError("--budget-usd must be positive (agentv refuses anything else)")
    return text.strip()


def _integer(name: str, value: Any, low: int, high: int) -> int:
    number: Any = value
    if isinstance(value, str) and value.strip().isdigit():
        number = int(value.strip())
    if type(number) is not int or not low <= number <= high:
        raise UsageError(f"--{name.replace('_', '-')} {value!r} is not an integer {low}..{high}")
    return int(number)


def _looks_like_agentv_index(data: bytes) -> bool:
    """False when the file holds JSON objects and none is an agentv result row: some other
    system's JSONL. A torn or empty index is agentv's, damaged: judged, not refused."""
    objects = 0
    for _, row, why in _each_row(data):
        if isinstance(row, dict):
            return True
        objects += why.startswith("a JSON object that is no result row")
    return objects == 0


# -- the eval YAML -----------------------------------------------------------------------------


class Plan:
    """What the eval planned, as agentv reads it (config-loader.ts, yaml-parser.ts)."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.tests: list[Any] = []
        self.tests_listed = False  # False: tests live in another file (not imported)
        self.trials = 1
        self.trials_note = ""
        self.budget: str | None = None  # execution.budget_usd as exact decimal text
        self.budget_note = ""
        self.cases: list[tuple[str, Any]] | None = None  # when tests name their own targets
        self.workers: int | None = None  # execution.workers (--workers overrides it)


def read_eval(data: bytes) -> Plan:
    """The eval's plan; ValueError when the bytes are not an agentv eval YAML."""
    doc = _load_yaml(data)
    if not isinstance(doc, dict):
        raise ValueError("not a YAML mapping")
    tests = next((doc[k] for k in ("tests", "eval_cases", "evalcases") if k in doc), None)
    if tests is None:
        raise ValueError("no tests")
    plan = Plan()
    execution = doc.get("execution")
    if not isinstance(execution, dict):
        execution = {}
    if "total_budget_usd" in execution or "totalBudgetUsd" in execution:
        raise ValueError(
            "execution.total_budget_usd (agentv refuses it: renamed to execution.budget_usd)"
        )
    plan.targets = _targets(execution)
    per_test: list[tuple[Any, list[str] | None]] = []
    if isinstance(tests, list):
        plan.tests_listed = True
        for item in tests:
            if not isinstance(item, dict):
                continue
            test_id = item.get("id")
            if isinstance(test_id, (int, Decimal)) and not isinstance(test_id, bool):
                test_id = str(test_id)
            if not isinstance(test_id, str):
                continue
            # agentv reads a test's targets from its execution block only
            # (extractTargetsFromTestCase); a top-level tests[].targets is ignored.
            case_execution = item.get("execution")
            names = case_execution.get("targets") if isinstance(case_execution, dict) else None
            subset = (
                [t.strip() for t in names if isinstance(t, str) and t.strip()]
                if isinstance(names, list) and names
                else None
            )
            per_test.append((test_id, subset))
            if len(per_test) * max(1, len(plan.targets)) > MAX_EVAL_WORK:
                raise ValueError("plans more cases than any real run")
    plan.tests = [t for t, _ in per_test]
    if len(plan.targets) > 1 and any(subset is not None for _, subset in per_test):
        plan.cases = [
            (target, test)
            for test, subset in per_test
            for target in plan.targets
            if subset is None or target in subset
        ]
    trials = execution.get("trials")
    if isinstance(trials, dict) and "count" in trials and trials["count"] is not None:
        count = _js_integer(trials["count"])
        if count is not None and count >= 1:
            plan.trials = count
        else:
            plan.trials_note = (
                f"trials.count {_shown(count)} is not a positive integer: agentv ignores it"
            )
    raw = execution.get("budget_usd")
    if raw is None:  # agentv: budget_usd ?? budgetUsd (a null falls through)
        raw = execution.get("budgetUsd")
    # agentv takes a YAML number > 0 only (typeof "number"); a string is warned about, ignored
    number = isinstance(raw, (int, Decimal)) and not isinstance(raw, bool)
    cap = money(raw) if number else None
    if raw is not None:
        if cap is not None and cap > 0:
            plan.budget = fmt(cap)
        else:
            plan.budget_note = (
                f"execution.budget_usd {_shown(raw)} is not a positive number: agentv ignores it"
            )
    workers = execution.get("workers")
    if type(workers) is int and 1 <= workers <= 50:
        plan.workers = workers
    return plan


def _js_integer(value: Any) -> int | None:
    """A YAML number agentv's ``Number.isInteger`` accepts (3 and 3.0 alike), as an int;
    None for anything else (and for counts past any real run)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    number = Decimal(value)
    if not number.is_finite() or number != number.to_integral_value() or abs(number) > 10**9:
        return None
    return int(number)


def _targets(execution: dict[str, Any]) -> list[str]:
    """execution.targets (names or {name}), else execution.target; in the eval's order."""
    found: list[str] = []
    raw = execution.get("targets")
    if isinstance(raw, list):
        for item in raw:
            name = item.get("name") if isinstance(item, dict) else item
            if isinstance(name, str) and name.strip() and name.strip() not in found:
                found.append(name.strip())
    elif isinstance(execution.get("target"), str) and execution["target"].strip():
        found.append(execution["target"].strip())
    return found


def _load_yaml(data: bytes) -> Any:
    """YAML with floats as the exact decimals of their text; ValueError when unreadable
    (parsed once per process for the same bytes: core/memo.py)."""
    return parse_once("agentv yaml", data, _parse_yaml)


def _parse_yaml(data: bytes) -> Any:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 at byte {exc.start}") from None
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    yaml = YAML(typ="safe", pure=True)
    yaml.Constructor = _exact_constructor()
    try:
        return yaml.load(text)
    except YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise ValueError(f"not YAML ({first})") from None
    except (RecursionError, KeyError, IndexError, TypeError, AttributeError, ArithmeticError):
        raise ValueError("not YAML agentv can read") from None


@lru_cache(maxsize=1)
def _exact_constructor() -> Any:
    from ruamel.yaml.constructor import ConstructorError, SafeConstructor

    class Exact(SafeConstructor):
        flattened = 0

        def construct_document(self, node: Any) -> Any:
            self.flattened = 0
            return super().construct_document(node)

        def flatten_mapping(self, node: Any) -> Any:
            merges = sum(1 for k, _ in node.value if k.tag == "tag:yaml.org,2002:merge")
            before = len(node.value) - merges
            super().flatten_mapping(node)
            if merges:  # count only the entries merge keys add (they can multiply)
                self.flattened += len(node.value) - before
                if self.flattened > MAX_FLATTENED_ENTRIES:
                    raise ConstructorError(problem="merge keys expand past any real eval")

    def exact_float(loader: Any, node: Any) -> Any:
        text = str(node.value).replace("_", "")
        try:
            value = Decimal(text)
        except ArithmeticError:
            return text
        return value if value.is_finite() else text

    Exact.add_constructor("tag:yaml.org,2002:float", exact_float)
    return Exact


# -- the index ---------------------------------------------------------------------------------


def _rows(data: bytes) -> list[tuple[int, Any, str, int]]:
    """The lines of _each_row with consecutive unreadable lines of one kind grouped (memory
    per bad line stays nil): (first line, row or None, what was wrong, last line)."""
    out: list[tuple[int, Any, str, int]] = []
    for number, row, why in _each_row(data):
        if row is None and out and out[-1][1] is None and out[-1][2] == why:
            out[-1] = (out[-1][0], None, why, number)
        else:
            out.append((number, row, why, number))
    return out


def _each_row(data: bytes) -> Iterator[tuple[int, Any, str]]:
    """Every non-blank line as agentv reads it (UTF-8 with invalid bytes replaced, blank
    lines skipped): (line, parsed row or None, what was wrong with it, or "")."""
    for number, raw, terminated in lines(data):
        try:
            text = raw.decode("utf-8")
            problem = ""
        except UnicodeDecodeError as exc:
            text = raw.decode("utf-8", errors="replace")
            problem = f"not UTF-8 at byte {exc.start} (read with U+FFFD, as agentv reads it)"
        if not text.strip():
            continue
        try:
            row = load_json(text.encode("utf-8"))
        except strictjson.StrictJSONError as exc:
            why = {
                "CONTRACT-DUPLICATE-KEY": f"a JSON object with a {exc.message}",
                "CONTRACT-DEPTH-EXCEEDED": "JSON nested past any result row",
                "CONTRACT-DOCUMENT-TOO-LARGE": "JSON with more values than any result row",
            }.get(exc.code, "not JSON")
            if not terminated and exc.code == "CONTRACT-JSON-INVALID":
                why = "not JSON: the final line, without terminator (a torn write)"
            yield number, None, why
            continue
        if not isinstance(row, dict):
            yield number, None, "not a JSON object"
            continue
        if "test_id" not in row and "target" not in row:
            yield number, None, "a JSON object that is no result row (no test_id, no target)"
            continue
        yield number, row, problem


def _amount(value: Any) -> Any:
    """A native number as exact decimal text; out of any money bound, its plain text (a
    clause refuses it); anything else as it is."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
        return fmt(number) if bounded(number) is not None else str(value)
    if isinstance(value, str):
        return value
    return None


def _scalar(value: Any) -> Any:
    """A claim value: strings, booleans, None and numbers (as decimal text) only."""
    if isinstance(value, (str, bool)) or value is None:
        return value
    if isinstance(value, (int, Decimal)):
        return _amount(value)
    return None


def _shown(value: Any) -> str:
    """A YAML value in a note: numbers as their decimal text, the rest as Python shows it."""
    text = str(value) if isinstance(value, Decimal) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _count(value: Any) -> Any:
    """A trial number as the integer it is (anything else as a claim value)."""
    if type(value) is int and abs(value) < 2**53:
        return value
    return _scalar(value)


def _text(value: Any) -> Any:
    return value if isinstance(value, str) or value is None else _scalar(value)


# -- derive ------------------------------------------------------------------------------------


def derive(native: Mapping[str, bytes], options: Mapping[str, Any]) -> Derived:
    if INDEX not in native:
        raise ImportRefused(native_path(SYSTEM, INDEX), "missing: expected agentv's run index")
    evals = sorted(p for p in native if p.startswith(EVAL_DIR))
    if len(evals) != 1:
        raise ImportRefused(native_path(SYSTEM, EVAL_DIR), "expected exactly one eval YAML")
    eval_rel = evals[0]
    try:
        plan = read_eval(native[eval_rel])
    except ValueError as exc:
        raise ImportRefused(
            native_path(SYSTEM, eval_rel), f"expected agentv eval YAML: {exc}"
        ) from None
    index_path = native_path(SYSTEM, INDEX)
    eval_path = native_path(SYSTEM, eval_rel)
    rows = _rows(native[INDEX])
    readable = [(line, row) for line, row, _, _ in rows if row is not None]
    _refuse_second_session(readable, index_path)
    notes: list[str] = []
    run_cap = options.get("budget_usd")
    workers = options.get("workers")

    targets = list(plan.targets)
    if not targets:
        targets = _first_seen(row.get("target") for _, row in readable)
        notes.append(
            "the eval names no targets (execution.targets): targets are those the index rows "
            "name, so a target with no row at all cannot be seen"
        )
    tests = list(plan.tests)
    if not plan.tests_listed:
        tests = _first_seen(row.get("test_id") for _, row in readable)
        notes.append(
            "the eval's tests are in another file (not imported): tests are those the index "
            "rows name, so a test with no row at all cannot be seen"
        )
    sampled = any(isinstance(row.get("samples"), list) for _, row in readable)

    config: JSON = {
        "event_id": "agentv:config",
        "event_type": "run.config",
        "dispatch_unit": "case",
        "targets": targets,
        "tests": tests,
        "trials": plan.trials,
        "total_budget_usd": run_cap,
    }
    if plan.budget is not None:
        config["budget_scope"] = "target"
        config["budget_usd_by_target"] = {t: plan.budget for t in targets if isinstance(t, str)}
    config["order"] = "per_target"
    config["workers"] = workers
    if plan.cases is not None:
        config["cases"] = [{"target": t, "test": s} for t, s in plan.cases]
    config["source"] = source(eval_path, jsonptr="/execution")
    events: list[JSON] = [config]
    provenance = _Provenance(index_path)
    derived_from: list[JSON] = [
        {
            "events": ["agentv:config"],
            "from": [source(eval_path, jsonptr="/execution"), source(eval_path, jsonptr="/tests")],
            "rule": "targets, tests, trials.count and budget_usd (one cap per target: agentv "
            "keeps execution.budget_usd per eval file and target) from the eval; "
            "total_budget_usd is --budget-usd as given to the importer (agentv writes it "
            "nowhere); workers as given; order per_target (index.jsonl is in plan order)",
        }
    ]
    unreadable: dict[str, list[tuple[int, int]]] = {}
    misread: list[int] = []

    decided: set[Any] = set()
    spent = Decimal(0)
    cases_run = cases_skipped = 0
    budget_stop = False
    claims_rows: list[JSON] = []
    timestamps: list[tuple[int, str]] = []
    partial = 0
    for line, row, problem, last in rows:
        where = source(index_path, line=line)
        if row is None:
            event_id = f"agentv:{line}:unreadable"
            events.append(
                {
                    "event_id": event_id,
                    "event_type": "record.unreadable",
                    "reason": problem,
                    "first_line": line,
                    "last_line": last,
                    "source": where,
                }
            )
            unreadable.setdefault(problem, []).append((line, last))
            provenance.add(
                f"unreadable: {problem}",
                ["agentv:<first line>:unreadable"],
                "consecutive index.jsonl lines that are not a result row, one "
                f"record.unreadable per run of them ({problem}): their cases have no record",
                line,
                last,
            )
            continue
        if problem:
            misread.append(line)
        stamp = row.get("timestamp")
        micros = utc_micros(stamp)
        if micros is not None and isinstance(stamp, str):
            timestamps.append((micros, stamp))
        target, test = _text(row.get("target")), _text(row.get("test_id"))
        case_id = f"index.jsonl:{line}"
        status, stage, code = (
            _text(row.get("execution_status")),
            _text(row.get("failure_stage")),
            _text(row.get("failure_reason_code")),
        )
        claims_rows.append(
            {
                "line": line,
                "test_id": test,
                "target": target,
                "score": _scalar(row.get("score")),
                "execution_status": status,
                "failure_reason_code": code,
            }
        )
        if stage == "setup" and code in NOT_DISPATCHED:
            cases_skipped += 1
            error = _text(row.get("error"))
            scope = spent_text = cap_text = None
            if code == "budget_exceeded":
                budget_stop = True
                match = _BUDGET_MESSAGE.search(error) if isinstance(error, str) else None
                if match is not None:
                    scope = "run" if match.group(1) == "Run" else "target"
                    spent_text, cap_text = match.group(2), match.group(3)
                decision_key = (scope, target if scope == "target" else None)
                if decision_key not in decided:
                    decided.add(decision_key)
                    decision: JSON = {
                        "event_id": f"agentv:{line}:decision",
                        "event_type": "budget.decision",
                        "decision_kind": "budget",
                        "decision_outcome": "SUSPEND",
                        "reason": EXHAUSTED,
                        "budget_scope": scope,
                    }
                    if scope == "target":
                        decision["target"] = target
                    decision.update(spent_usd=spent_text, cap_usd=cap_text, source=where)
                    events.append(decision)
            skip: JSON = {
                "event_id": f"agentv:{line}:skipped",
                "event_type": "case.skipped",
                "case_id": case_id,
                "target": target,
                "test": test,
                "trials": plan.trials,
                "reason": EXHAUSTED if code == "budget_exceeded" else code,
            }
            if code == "budget_exceeded":
                skip.update(
                    budget_scope=scope, reported_spent_usd=spent_text, reported_cap_usd=cap_text
                )
            skip.update(agentv_error=error, row_timestamp=_text(stamp), source=where)
            events.append(skip)
            kind = f"skipped: {code}"
            templates = ["agentv:<line>:skipped"]
            if code == "budget_exceeded":
                templates = ["agentv:<line>:decision (the first row of each cap)", *templates]
            rule = (
                "a budget_exceeded row: a case agentv's cap refused at dispatch (a surfaced, "
                "budget-caused skip; the first of each cap also gives the budget.decision)"
                if code == "budget_exceeded"
                else f"a {code} row: a case agentv never dispatched"
            )
        else:
            cases_run += 1
            events.append(
                {
                    "event_id": f"agentv:{line}:dispatched",
                    "event_type": "case.dispatched",
                    "case_id": case_id,
                    "target": target,
                    "test": test,
                    "trials": plan.trials,
                    "source": where,
                }
            )
            samples = row.get("samples")
            trial_sum = Decimal(0)
            if isinstance(samples, list):
                for index, sample in enumerate(samples):
                    if not isinstance(sample, dict):
                        continue
                    number = sample.get("sample", index + 1)
                    cost = _amount(sample.get("cost_usd"))
                    trial_sum += money(cost) or Decimal(0)
                    event_id = f"agentv:{line}:trial:{index + 1}"
                    events.append(
                        {
                            "event_id": event_id,
                            "event_type": "trial.completed",
                            "trial_id": f"{case_id}:{index + 1}",
                            "case_id": case_id,
                            "trial": _count(number),
                            "cost_usd": cost,
                            "status": _text(sample.get("execution_status")),
                            "source": source(index_path, line=line, jsonptr=f"/samples/{index}"),
                        }
                    )
            completed: JSON = {
                "event_id": f"agentv:{line}:completed",
                "event_type": "case.completed",
                "case_id": case_id,
                "status": status,
            }
            if isinstance(samples, list):
                completed["cost_basis"] = "trials"
                spent += trial_sum
            else:
                cost = _amount(row.get("cost_usd"))
                completed["cost_usd"] = cost
                completed["cost_basis"] = "case" if plan.trials == 1 else "partial"
                partial += plan.trials > 1
                spent += money(cost) or Decimal(0)
            completed.update(row_timestamp=_text(stamp), source=where)
            events.append(completed)
            kind = "dispatched: " + (
                "trials" if isinstance(samples, list) else "case" if plan.trials == 1 else "partial"
            )
            templates = ["agentv:<line>:dispatched", "agentv:<line>:completed"]
            if isinstance(samples, list):
                templates.insert(1, "agentv:<line>:trial:<n> (one per sample)")
            rule = (
                "a dispatched case: case.dispatched, a trial.completed per sample, "
                "case.completed (its cost is its samples' sum)"
                if isinstance(samples, list)
                else "a dispatched case: case.dispatched and case.completed with the row's "
                "cost_usd"
                + (
                    " (one trial's cost: cost_basis partial)"
                    if plan.trials > 1
                    else " (the case's cost: one trial)"
                )
            )
        provenance.add(kind, templates, rule, line, line)

    derived_from += provenance.entries()
    for problem, spans in unreadable.items():
        count = sum(b - a + 1 for a, b in spans)
        notes.append(
            f"index.jsonl: {count} line(s) {problem} (lines {_spans_text(spans)}): "
            "each run of them is one record.unreadable; their cases have no record"
        )
    if misread:
        shown = ", ".join(str(n) for n in misread[:10]) + (", ..." if len(misread) > 10 else "")
        notes.append(
            f"index.jsonl: {len(misread)} row(s) not UTF-8 (line {shown}): read with U+FFFD, "
            "as agentv reads them"
        )
    events.append(
        {
            "event_id": "agentv:run.completed",
            "event_type": "run.completed",
            "status": "budget_exhausted" if budget_stop else "completed",
            "spent_usd": fmt(spent),
            "cases_run": cases_run,
            "cases_skipped": cases_skipped,
            "source": source(index_path),
        }
    )
    derived_from.append(
        {
            "events": ["agentv:run.completed"],
            "from": [source(index_path)],
            "rule": "agentv writes no run-level status: status budget_exhausted when a row is "
            "budget_exceeded, else completed; spent_usd the sum of the recorded costs; "
            "cases_run the dispatched rows, cases_skipped the rows never dispatched",
        }
    )
    notes += _standing_notes(plan, run_cap, workers, partial, sampled, options.get("exit_code"))

    run_id = _run_id(readable) or Path(eval_rel).stem
    created = min(timestamps)[1] if timestamps else _benchmark_time(native) or EPOCH
    return Derived(
        files={LOG: ndjson_bytes(events)},
        pointers=[
            {
                "requirement_id": "RQ-D1-04",
                "artifact_path": LOG,
                "locator": "file:",
                "status": "PRESENT",
            }
        ],
        run_id=run_id,
        created_at=created,
        scenario_meta=scenario("eval_matrix"),
        claims=_claims(native, claims_rows, options.get("exit_code")),
        evidence={
            "agentv_version_read": AGENTV_VERSION,
            "dispatch_unit": "case",
            "order": "per_target",
            "workers": workers,
            "trial_costs": sampled,
            "cases_with_partial_cost": partial,
            "rows": len(readable),
            "unreadable_lines": sorted([a, b] for spans in unreadable.values() for a, b in spans)[
                :MAX_SPANS
            ],
            "dispatch_times": False,
            "scenario_meta": "eval_matrix only: agentv's files cover CL-D1-04 and no other clause",
        },
        notes=notes,
        derived_from=derived_from,
    )


MAX_SPANS = 1000  # line ranges listed per kind in import.json (the rest counted)


class _Provenance:
    """import.json's derived_from per kind of row: the rule, the event ids it makes (as
    templates) and the index.jsonl line ranges it covers, not one entry per row."""

    def __init__(self, index_path: str) -> None:
        self.index_path = index_path
        self.kinds: dict[str, JSON] = {}
        self.spans: dict[str, list[list[int]]] = {}
        self.more: dict[str, int] = {}
        self.previous = ""

    def add(self, kind: str, events: list[str], rule: str, first: int, last: int) -> None:
        if kind not in self.kinds:
            self.kinds[kind] = {"kind": kind, "events": events, "rule": rule}
            self.spans[kind] = []
            self.more[kind] = 0
        spans = self.spans[kind]
        if self.previous == kind and spans:
            spans[-1][1] = last
        elif len(spans) < MAX_SPANS:
            spans.append([first, last])
        else:
            self.more[kind] += 1
        self.previous = kind

    def entries(self) -> list[JSON]:
        out: list[JSON] = []
        for kind, entry in self.kinds.items():
            item = dict(entry)
            item["from"] = {"artifact_path": self.index_path, "lines": self.spans[kind]}
            if self.more[kind]:
                item["from"]["more_ranges"] = self.more[kind]
            out.append(item)
        return out


def _spans_text(spans: list[tuple[int, int]]) -> str:
    shown = [str(a) if a == b else f"{a}-{b}" for a, b in spans[:10]]
    return ", ".join(shown) + (", ..." if len(spans) > 10 else "")


def _refuse_second_session(readable: list[tuple[int, JSON]], index_path: str) -> None:
    """agentv --resume / --rerun-failed appends a second invocation's rows to the index
    (JsonlWriter append mode), repeating (test, target); agentv then keeps each pair's last
    row (deduplicateByTestIdTarget). That invocation restarts every budget and writes in
    completion order: one index then holds runs a single replay cannot judge. Refused."""
    seen: dict[tuple[Any, Any, Any], int] = {}
    for line, row in readable:
        pair = (
            _hashable(row.get("suite")),
            _hashable(row.get("test_id")),
            _hashable(row.get("target")),
        )
        if pair[1] is None or pair[2] is None:
            continue
        if pair in seen:
            raise ImportRefused(
                index_path,
                f"one agentv invocation's index: line {line} repeats test {pair[1]!r} on target "
                f"{pair[2]!r} of line {seen[pair]} (agentv --resume/--rerun-failed appends a "
                "second invocation's rows, whose budgets restart: import each run before "
                "resuming it)",
            )
        seen[pair] = line


def _hashable(value: Any) -> Any:
    return value if isinstance(value, (str, int, Decimal)) and not isinstance(value, bool) else None


def _standing_notes(
    plan: Plan, run_cap: Any, workers: Any, partial: int, sampled: bool, exit_code: Any
) -> list[str]:
    notes = [
        "agentv writes no dispatch times and no run-level status: index.jsonl is written when "
        "the run ends, in plan order (target, then test), and agentv runs targets "
        "concurrently, so the log orders each target's cases only (order per_target); "
        "budget.decision and run.completed are derived from its rows",
    ]
    if workers is None:
        notes.append(
            "how many cases of a target ran at once is not recorded (agentv's --workers, "
            "default 3"
            + (f", eval execution.workers {plan.workers}" if plan.workers else "")
            + "; give --workers as agentv was given it): each dispatch is judged against the "
            "spend that certainly preceded it"
        )
    if partial:
        notes.append(
            f"agentv {AGENTV_VERSION} records one trial's cost per case (the best-scoring "
            "trial's) while its budget adds every trial's cost: with trials.count "
            f"{plan.trials}, {partial} case cost(s) are lower bounds (cost_basis partial)"
        )
    notes.append(
        f"total_budget_usd {run_cap} is --budget-usd as given to the importer (agentv "
        "writes it nowhere)"
        if run_cap is not None
        else "no --budget-usd given: total_budget_usd null (agentv writes the run cap "
        "nowhere; if the run had one, its skip rows name it and CL-D1-04 reports the mismatch)"
    )
    for text in (plan.trials_note, plan.budget_note):
        if text:
            notes.append(text)
    notes.append(
        f"agentv's exit status is not in its files; {exit_code} as given to the importer (a claim)"
        if exit_code is not None
        else "agentv's exit status is not in its files and was not given (agentv 4.42.4 exits "
        "1 when --budget-usd was exceeded, 0 when only a suite budget stopped cases)"
    )
    return notes


def _claims(native: Mapping[str, bytes], rows: list[JSON], exit_code: Any) -> JSON:
    claims: JSON = {"exit_status": exit_code, "results": rows}
    data = native.get("run/benchmark.json")
    if data is not None:
        try:
            doc = load_json(data)
        except strictjson.StrictJSONError:
            doc = None
        meta = doc.get("metadata") if isinstance(doc, dict) else None
        if isinstance(meta, dict):
            claims["benchmark"] = {
                "planned_test_count": _count(meta.get("planned_test_count")),
                "targets": [_text(t) for t in meta.get("targets", []) if isinstance(t, str)]
                if isinstance(meta.get("targets"), list)
                else None,
                "tests_run": [_text(t) for t in meta.get("tests_run", []) if isinstance(t, str)]
                if isinstance(meta.get("tests_run"), list)
                else None,
            }
    return claims


def _first_seen(values: Any) -> list[Any]:
    found: list[Any] = []
    for value in values:
        if isinstance(value, str) and value not in found:
            found.append(value)
    return found


def _run_id(rows: list[tuple[int, JSON]]) -> str | None:
    """agentv's own run id (projection_identity.dimensions.run_id) when every row agrees."""
    ids = set()
    for _, row in rows:
        identity = row.get("projection_identity")
        dims = identity.get("dimensions") if isinstance(identity, dict) else None
        value = dims.get("run_id") if isinstance(dims, dict) else None
        ids.add(value if isinstance(value, str) and value else None)
    if len(ids) == 1:
        found = ids.pop()
        return found[:200] if found else None
    return None


def _benchmark_time(native: Mapping[str, bytes]) -> str | None:
    data = native.get("run/benchmark.json")
    if data is None:
        return None
    try:
        doc = load_json(data)
    except strictjson.StrictJSONError:
        return None
    meta = doc.get("metadata") if isinstance(doc, dict) else None
    stamp = meta.get("timestamp") if isinstance(meta, dict) else None
    return stamp if isinstance(stamp, str) and utc_micros(stamp) is not None else None


IMPORTERS: tuple[Importer, ...] = (
    Importer(
        system=SYSTEM,
        version=1,
        summary="agentv eval run folder: index.jsonl against the eval's budgets (CL-D1-04)",
        collect=collect,
        derive=derive,
        options={
            "eval": "the eval YAML the run used (agentv records its caps and trials there)",
            "budget_usd": "agentv's --budget-usd, as given to it (one cap shared by all targets)",
            "workers": "agentv's --workers, as given to it (cases of a target run at once)",
            "exit_code": "agentv's exit status (a claim: agentv writes it nowhere)",
        },
    ),
)
