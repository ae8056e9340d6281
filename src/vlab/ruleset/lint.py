"""``vlab rulesets lint``: load-time errors with file:line, and coverage warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vlab.ruleset.catalog import Catalog
from vlab.ruleset.loader import RULESET_FILE, lint_ruleset


def lint(path: Path, catalog: Catalog, vectors: Path | None) -> tuple[list[str], list[str]]:
    """(errors, warnings), each a line of text."""
    file = path / RULESET_FILE if path.is_dir() else path
    errors = [str(e) for e in lint_ruleset(file, catalog._parent_document)]
    warnings: list[str] = []
    if errors or vectors is None:
        return errors, warnings
    ruleset = catalog.resolve(str(file))
    exercised: dict[str, set[str]] = {c.clause_id: set() for c in ruleset.clauses}
    from vlab.tools.regress import EXPECTED, find_vectors

    for expected in (folder / EXPECTED for _, folder in find_vectors(vectors)):
        try:
            doc: Any = json.loads(expected.read_text("utf-8"))
        except (OSError, ValueError, RecursionError):
            warnings.append(f"{expected}: not a readable expectation")
            continue
        if not isinstance(doc, dict) or doc.get("ruleset") != ruleset.id:
            continue
        for clause_id, want in (doc.get("clauses") or {}).items():
            if clause_id in exercised and isinstance(want, dict):
                exercised[clause_id].add(str(want.get("status")))
    for clause in ruleset.clauses:
        seen = exercised[clause.clause_id]
        if not seen:
            warnings.append(f"{file}: {clause.clause_id}: no golden vector covers this clause")
            continue
        for status in ("PASS", "FAIL"):
            if status not in seen:
                warnings.append(f"{file}: {clause.clause_id}: no golden vector expects {status}")
    return errors, warnings
