"""``vlab rulesets lint``: every load-time problem with file:line, and coverage warnings
(clauses no vector expects to PASS or FAIL, codes no vector shows)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vlab.core.vocabulary import FAIL, PASS
from vlab.core.walk import find_marked
from vlab.ruleset.catalog import Catalog
from vlab.ruleset.loader import RULESET_FILE, lint_ruleset
from vlab.ruleset.model import Ruleset

EXPECTED = "expected.json"


def lint(path: Path, catalog: Catalog, vectors: Path | None) -> tuple[list[str], list[str]]:
    """(errors, warnings), each a line of text."""
    file = path / RULESET_FILE if path.is_dir() else path
    errors = [str(e) for e in lint_ruleset(file, catalog.parent_document)]
    if errors or vectors is None:
        return errors, []
    return errors, coverage_warnings(file, catalog.resolve(str(file)), vectors)


def _expectations(vectors: Path, ruleset_id: str) -> tuple[list[dict[str, Any]], list[str]]:
    from vlab.core import strictjson

    found, unreadable = [], []
    for _, folder in find_marked(vectors, lambda names: EXPECTED in names):
        expected = folder / EXPECTED
        try:
            doc: Any = strictjson.loads(expected.read_bytes())
        except (OSError, strictjson.StrictJSONError):
            unreadable.append(f"{expected}: not a readable expectation")
            continue
        if isinstance(doc, dict) and doc.get("ruleset") == ruleset_id:
            found.append(doc)
    return found, unreadable


def _own_clauses(file: Path) -> set[str] | None:
    """Clause ids the file itself defines or changes (None: all, if it cannot be read)."""
    from vlab.core.errors import RulesetError
    from vlab.ruleset.source import Source

    try:
        data = Source(file).data
    except RulesetError:
        return None
    if not isinstance(data, dict):
        return None
    return {
        str(c.get("clause_id"))
        for key in ("clauses", "clause_changes")
        for c in data.get(key) or []
        if isinstance(c, dict)
    }


def coverage_warnings(file: Path, ruleset: Ruleset, vectors: Path) -> list[str]:
    """Warnings for the clauses this file writes (inherited ones are the parent's to
    cover)."""
    docs, warnings = _expectations(vectors, ruleset.id)
    own = _own_clauses(file)
    exercised: dict[str, set[str]] = {c.clause_id: set() for c in ruleset.clauses}
    shown: set[str] = set()
    for doc in docs:
        shown.update(str(c) for c in (doc.get("admission") or {}).get("detail_codes") or [])
        for clause_id, want in (doc.get("clauses") or {}).items():
            if clause_id in exercised and isinstance(want, dict):
                exercised[clause_id].add(str(want.get("status")))
                shown.add(str(want.get("reason_code")))
                shown.update(str(c) for c in want.get("detail_codes") or [])
    clauses = [c for c in ruleset.clauses if own is None or c.clause_id in own]
    for clause in clauses:
        seen = exercised[clause.clause_id]
        if not seen:
            warnings.append(f"{file}: {clause.clause_id}: no golden vector covers this clause")
            continue
        for status in (PASS, FAIL):
            if status not in seen:
                warnings.append(f"{file}: {clause.clause_id}: no golden vector expects {status}")
    for clause in clauses:
        codes = {ck.code for ck in clause.checks if ck.code} | {
            e for ck in clause.checks for e in ck.emits
        }
        for code in sorted(codes - shown):
            warnings.append(f"{file}: {clause.clause_id}: no golden vector shows {code}")
    return warnings
