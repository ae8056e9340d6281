"""What the review dossier charts, asked of the domain code that judges.

The pack is admitted and each clause evaluated again, recording the domain checks the
clause calls and the arguments it gives them; each check that has a ``series`` is then
asked for it with the same view and arguments. So a chart shows what the evidence holds,
computed by the rules themselves, never re-implemented by a renderer nor read from a
ruling's claims.
"""

from __future__ import annotations

from typing import Any

from vlab.domains.registry import get as domain_check
from vlab.domains.registry import recording
from vlab.engine.admission import admit
from vlab.engine.admission.context import installed_requirements
from vlab.engine.evaluation import Evaluator
from vlab.engine.evidence import Evidence
from vlab.pack.reader import PackReader
from vlab.ruleset.catalog import Catalog
from vlab.ruleset.model import Ruleset


def clause_series(
    reader: PackReader, catalog: Catalog, ruleset: Ruleset | None = None
) -> dict[str, list[tuple[str, Any]]]:
    """Per clause id, ``(check id, series)`` of every charted domain check it called (in
    call order); empty when the pack is not admissible. ``ruleset`` is the one to judge
    under (the ruling's), else the pack's pinned one."""
    admission = admit(reader, catalog.get, installed_requirements(catalog))
    ruleset = ruleset or admission.pinned
    if not admission.admissible or ruleset is None:
        return {}
    evidence = Evidence(reader, admission)
    evaluator = Evaluator(ruleset, admission, evidence)
    out: dict[str, list[tuple[str, Any]]] = {}
    for clause in ruleset.clauses:
        with recording() as calls:
            evaluator.evaluate(clause)
        for check_id, arguments in calls:
            check = domain_check(check_id)
            if check is not None and check.series is not None:
                out.setdefault(clause.clause_id, []).append(
                    (check_id, check.series(evidence, **arguments))
                )
    return out
