"""``vlab diff``: adjudicate a corpus under two rulesets and count verdict transitions.

Both runs are shadow runs (``--ruleset``): admission is always against the ruleset each
pack pins, so only the clauses evaluated differ.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from vlab.core.errors import UsageError
from vlab.engine.ruling import Ruling
from vlab.tools.corpus import find_packs
from vlab.tools.pool import catalog_for, parallel_map


def _judge(args: tuple[str, str, str, tuple[str, ...]]) -> tuple[dict[str, Any], dict[str, Any]]:
    from vlab.engine.pipeline import adjudicate

    pack, a, b, dirs = args
    catalog = catalog_for(dirs)
    before = adjudicate(Path(pack), catalog, override=catalog.resolve(a), digest=False)
    after = adjudicate(Path(pack), catalog, override=catalog.resolve(b), digest=False)
    return _summary(before), _summary(after)


def _summary(ruling: Ruling) -> dict[str, Any]:
    return {c.clause_id: {"status": c.status, "reason_code": c.reason_code} for c in ruling.clauses}


def diff(
    corpus: Path,
    ruleset_a: str,
    ruleset_b: str,
    clause_order: list[str],
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
    rulesets_dirs: tuple[str, ...] = (),
) -> dict[str, Any]:
    if not corpus.is_dir():
        raise UsageError(f"corpus not found: {corpus}")
    packs = list(find_packs(corpus))
    if not packs:
        raise UsageError(f"no packs under {corpus}")
    tasks = [(str(path), ruleset_a, ruleset_b, rulesets_dirs) for _, path in packs]
    results = parallel_map(_judge, tasks, jobs, progress)
    cells: dict[tuple[str, str | None, str | None], list[str]] = {}
    changed = []
    for (name, _), (before, after) in zip(packs, results, strict=True):
        for clause_id in clause_order:
            was, now = before.get(clause_id), after.get(clause_id)
            cell = (clause_id, was["status"] if was else None, now["status"] if now else None)
            cells.setdefault(cell, []).append(name)
            # New or removed clauses show in the transitions (from/to null); a pack "changed"
            # when a clause both rulesets have flipped status or reason code.
            if was and now and (cell[1] != cell[2] or was["reason_code"] != now["reason_code"]):
                changed.append(
                    {
                        "pack": name,
                        "clause_id": clause_id,
                        "from": cell[1],
                        "to": cell[2],
                        "reason_code_before": was["reason_code"] if was else None,
                        "reason_code_after": now["reason_code"] if now else None,
                    }
                )
    order = {c: i for i, c in enumerate(clause_order)}
    transitions = [
        {"clause_id": c, "from": f, "to": t, "count": len(names), "packs": sorted(names)}
        for (c, f, t), names in sorted(
            cells.items(), key=lambda kv: (order[kv[0][0]], kv[0][1] or "", kv[0][2] or "")
        )
    ]
    return {"packs": len(packs), "transitions": transitions, "changed": changed}
