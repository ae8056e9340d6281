"""Golden-vector regression: run every vector under a folder against its expectation."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError
from vlab.core.vocabulary import (
    EXIT_BY_TOPLINE,
    FAIL,
    NOT_ADMISSIBLE,
    NOT_EVALUATED,
    PASS,
    STATUSES,
)
from vlab.data import DATA
from vlab.engine.admission import GATE_NAMES as GATES
from vlab.engine.ruling import ClauseRuling, Ruling
from vlab.ruleset.catalog import Catalog
from vlab.tools.corpus import EXPECTED, PACK_ARCHIVES, find_vectors
from vlab.tools.pool import catalog_for, parallel_map


@dataclass(frozen=True)
class Vector:
    id: str  # folder relative to the corpus root, POSIX
    pack: Path
    expected_path: Path
    expected: dict[str, Any]


@dataclass
class Outcome:
    vector: str
    mismatches: list[dict[str, Any]] = field(default_factory=list)
    clause_statuses: list[tuple[str, str]] = field(default_factory=list)  # (requirement, status)
    failed_gate: str | None = None
    codes: set[str] = field(default_factory=set)


@lru_cache(maxsize=1)
def _expected_validator() -> Any:
    from vlab.core.schemas import validator

    return validator(json.loads((DATA / "expected.schema.json").read_text("utf-8")))


def _read_expectation(path: Path) -> dict[str, Any] | str:
    """The parsed, schema-valid expectation, or the one-line reason it is malformed."""
    from vlab.core import strictjson

    try:
        expected = strictjson.loads(path.read_bytes())  # duplicate keys are malformed too
    except OSError as exc:
        return f"{path}: malformed expectation: {exc.strerror}"
    except strictjson.StrictJSONError as exc:
        return f"{path}: malformed expectation: {exc.code}: {exc.message[:200]}"
    errors = sorted(
        _expected_validator().iter_errors(expected), key=lambda e: list(map(str, e.path))
    )
    if errors:
        where = "/".join(map(str, errors[0].absolute_path)) or "(top level)"
        return f"{path}: malformed expectation at {where}: {errors[0].message}"
    return dict(expected)


def load_vectors(
    root: Path,
    clause_ids_of: Callable[[str], set[str] | None],
    override: str | None,
    jobs: int = 1,
) -> list[Vector]:
    """Validate every expectation before anything runs; any fault is a usage error
    (the first one in vector order, whatever the number of jobs)."""
    if not root.is_dir():
        raise UsageError(f"not a folder: {root}")
    found = list(find_vectors(root))
    paths = [folder / EXPECTED for _, folder in found]
    parsed = parallel_map(_read_expectation, paths, jobs if len(paths) > 64 else 1)
    vectors = []
    for (vector_id, folder), path, expected in zip(found, paths, parsed, strict=True):
        if isinstance(expected, str):
            raise UsageError(expected)
        ruleset_id = override or expected["ruleset"]
        if ruleset_id is not None:
            clause_ids = clause_ids_of(ruleset_id)
            if clause_ids is None:
                raise UsageError(f"{path}: names unknown ruleset {ruleset_id!r}")
            unknown = sorted(set(expected["clauses"]) - clause_ids)
            if unknown:
                raise UsageError(f"{path}: names clause {unknown[0]} that {ruleset_id} lacks")
        elif expected["clauses"]:
            raise UsageError(f"{path}: lists clauses but names no ruleset")
        packs = [folder / "pack"] if (folder / "pack").is_dir() else []
        packs += [folder / n for n in PACK_ARCHIVES if (folder / n).is_file()]
        if len(packs) != 1:
            raise UsageError(
                f"{path}: {'no' if not packs else 'more than one'} pack/ folder or pack archive"
                f" ({', '.join(PACK_ARCHIVES)}) beside it"
            )
        pack = packs[0]
        vectors.append(Vector(vector_id, pack, path, expected))
    if not vectors:
        raise UsageError(f"no golden vectors (folders with {EXPECTED}) under {root}")
    return vectors


def _actual_clause(c: ClauseRuling) -> dict[str, Any]:
    return {
        "status": c.status,
        "reason_code": c.reason_code,
        "detail_codes": [d.code for d in c.details],
        "advisory_codes": [d.code for d in c.details if d.advisory],
        "evidence_locators": [r.locator for r in c.evidence_refs],
        "metrics": c.metrics,
    }


def compare(vector: Vector, ruling: Ruling) -> Outcome:
    exp = vector.expected
    out = Outcome(vector.id)

    def check(field_name: str, expected: Any, actual: Any) -> None:
        if expected != actual:
            out.mismatches.append(
                {"vector": vector.id, "field": field_name, "expected": expected, "actual": actual}
            )

    check("topline", exp["topline"], ruling.topline)
    if "exit_code" in exp:
        check("exit_code", exp["exit_code"], EXIT_BY_TOPLINE[ruling.topline])
    adm = ruling.admission
    check("admission.status", exp["admission"]["status"], adm.status)
    check("admission.reason_code", exp["admission"]["reason_code"], adm.reason_code)
    failed = [g for g in adm.gates if g.status == FAIL]
    if "detail_codes" in exp["admission"]:
        actual_codes = [d.code for g in failed for d in g.details]
        check("admission.detail_codes", exp["admission"]["detail_codes"], actual_codes)
    actual = {c.clause_id: c for c in ruling.clauses}
    for clause_id in sorted(set(exp["clauses"]) | set(actual)):
        if clause_id not in actual:
            check(f"clauses.{clause_id}", "present", "absent")
            continue
        if clause_id not in exp["clauses"]:
            check(f"clauses.{clause_id}", "absent", actual[clause_id].status)
            continue
        want = exp["clauses"][clause_id]
        got = _actual_clause(actual[clause_id])
        for key in ("status", "reason_code", "detail_codes", "evidence_locators"):
            check(f"clauses.{clause_id}.{key}", want[key], got[key])
        for key in ("advisory_codes", "metrics"):
            if key in want:
                check(f"clauses.{clause_id}.{key}", want[key], got[key])
    out.clause_statuses = [(c.requirement_id, c.status) for c in ruling.clauses]
    out.failed_gate = failed[0].gate if failed else None
    out.codes = {d.code for g in adm.gates for d in g.details} | {
        d.code for c in ruling.clauses for d in c.details
    }
    return out


# -- running (one catalog per process) ---------------------------------------------------


def judge_vector(
    vector: Vector, catalog: Catalog, override: str | None = None, *, digest: bool = False
) -> Ruling:
    """A vector's ruling, as ``vlab regress`` makes it: under ``override`` (``--ruleset``),
    else under the expected ruleset when the vector is a shadow run, else as pinned; with
    the expectation's limits."""
    from dataclasses import replace

    from vlab.engine.pipeline import adjudicate
    from vlab.pack.limits import Limits

    shadow = override or (vector.expected["ruleset"] if vector.expected.get("shadow") else None)
    limits = replace(Limits(), **vector.expected.get("limits", {}))
    ruleset = catalog.resolve(shadow) if shadow else None
    trust = None
    if "trust" in vector.expected:  # the vector is judged under this policy (--trust)
        from vlab.pack.trust import load_policy

        trust = load_policy(vector.expected_path.parent / vector.expected["trust"])
    return adjudicate(
        vector.pack, catalog, override=ruleset, limits=limits, digest=digest, trust=trust
    )


def _run_one(args: tuple[Vector, str | None, tuple[str, ...]]) -> Outcome:
    """Judge one vector and compare it with its expectation (a worker-process entry point:
    only the small outcome travels back, never the ruling)."""
    vector, override, dirs = args
    return compare(vector, judge_vector(vector, catalog_for(dirs), override))


def run_vectors(
    vectors: list[Vector],
    override: str | None,
    jobs: int,
    progress: Callable[[int], None] | None = None,
    rulesets_dirs: tuple[str, ...] = (),
) -> list[Outcome]:
    tasks = [(v, override, rulesets_dirs) for v in vectors]
    return parallel_map(_run_one, tasks, jobs, progress)


def possible_cells(rulesets: list[Any]) -> dict[str, set[str]]:
    """requirement -> statuses its clause can take under these rulesets."""
    cells: dict[str, set[str]] = {}
    for ruleset in rulesets:
        for clause in ruleset.clauses:
            can = cells.setdefault(clause.requirement_id, set())
            can.update({PASS, FAIL, NOT_ADMISSIBLE})
            if clause.applies_when is not None or clause.not_evaluated_when is not None:
                can.add(NOT_EVALUATED)
    return cells


def summarize(
    outcomes: list[Outcome], rulesets: list[Any], emittable_details: set[str]
) -> dict[str, Any]:
    coverage: dict[str, set[str]] = {}
    gates_hit: dict[str, int] = dict.fromkeys(GATES, 0)
    codes_seen: set[str] = set()
    for o in outcomes:
        for requirement, status in o.clause_statuses:
            coverage.setdefault(requirement, set()).add(status)
        if o.failed_gate:
            gates_hit[o.failed_gate] += 1
        codes_seen |= o.codes
    cells = possible_cells(rulesets)
    uncovered = [
        {"requirement_id": rq, "status": st}
        for rq in sorted(cells)
        for st in STATUSES
        if st in cells[rq] and st not in coverage.get(rq, set())
    ]
    failed = [o for o in outcomes if o.mismatches]
    return {
        "total": len(outcomes),
        "passed": len(outcomes) - len(failed),
        "failed": len(failed),
        "failed_vectors": [o.vector for o in failed],
        "mismatches": [m for o in outcomes for m in o.mismatches],
        "coverage": {
            rq: [s for s in STATUSES if s in statuses] for rq, statuses in sorted(coverage.items())
        },
        "uncovered": uncovered,
        "gates": gates_hit,
        "uncovered_gates": [g for g in GATES if not gates_hit[g]],
        "uncovered_detail_codes": sorted(emittable_details - codes_seen),
    }


def junit_xml(outcomes: list[Outcome], summary: dict[str, Any]) -> bytes:
    from xml.sax.saxutils import quoteattr

    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<testsuites name="vlab regress" tests="{summary["total"]}" '
        f'failures="{summary["failed"]}">',
        f'  <testsuite name="golden-vectors" tests="{summary["total"]}" '
        f'failures="{summary["failed"]}" errors="0" skipped="0">',
    ]
    for o in outcomes:
        group, _, name = o.vector.rpartition("/")
        classname = quoteattr("evidence_packs." + (group.replace("/", ".") or "root"))
        lines.append(f"    <testcase classname={classname} name={quoteattr(name or o.vector)}>")
        if o.mismatches:
            text = "\n".join(
                f"{m['field']}: expected {json.dumps(m['expected'])}, "
                f"actual {json.dumps(m['actual'])}"
                for m in o.mismatches
            )
            message = quoteattr(f"{len(o.mismatches)} field(s) differ")
            body = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            lines.append(f"      <failure message={message}>{body}</failure>")
        lines.append("    </testcase>")
    lines += ["  </testsuite>", "</testsuites>", ""]
    # Folder names need not be UTF-8: escape what cannot be encoded rather than fail.
    return "\n".join(lines).encode("utf-8", "backslashreplace")


def summary_markdown(summary: dict[str, Any]) -> str:
    """The regression summary for people (and for GITHUB_STEP_SUMMARY)."""
    out = [
        f"## vlab regress: {summary['passed']} of {summary['total']} vectors match",
        "",
        "| requirement | statuses exercised |",
        "|---|---|",
    ]
    for rq, statuses in summary["coverage"].items():
        out.append(f"| {rq} | {', '.join(statuses)} |")
    cells = ", ".join(f"{u['requirement_id']}/{u['status']}" for u in summary["uncovered"])
    out += ["", f"Uncovered cells: {cells or 'none'}."]
    if summary["mismatches"]:
        out += ["", "| vector | field | expected | actual |", "|---|---|---|---|"]
        for m in summary["mismatches"]:
            out.append(
                f"| {m['vector']} | {m['field']} | `{json.dumps(m['expected'])}` | "
                f"`{json.dumps(m['actual'])}` |"
            )
    return "\n".join(out) + "\n"
