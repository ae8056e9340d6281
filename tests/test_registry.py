"""Every code the engine can emit is registered, and every registered code can be emitted."""

import re
from pathlib import Path

from vlab.core.codes import registry
from vlab.ruleset.catalog import Catalog

SRC = Path(__file__).resolve().parent.parent / "src" / "vlab"
CODE = re.compile(
    r'"((?:SECURITY|PIN|INTEGRITY|AUTH|CONTRACT|POINTER|ADM-GATE|WAIVER)-[A-Z0-9-]+)"'
)


def engine_codes() -> set[str]:
    found: set[str] = set()
    for path in SRC.rglob("*.py"):
        found |= set(CODE.findall(path.read_text("utf-8")))
    # Gate failure codes are built as <gate> + "-FAIL".
    gates = {c for c in found if c.startswith("ADM-GATE-") and not c.endswith("-FAIL")}
    return (found - gates) | {g + "-FAIL" for g in gates}


def ruleset_codes() -> set[str]:
    catalog = Catalog()
    codes: set[str] = set()
    for ruleset_id in catalog.ids():
        rs = catalog.get(ruleset_id)
        assert rs is not None
        for clause in rs.clauses:
            c = clause.codes
            codes |= {
                x for x in (c.fail, c.pointer_missing, c.not_applicable, c.evidence_absent) if x
            }
            for check in clause.checks:
                codes |= {check.code} if check.code else set()
                codes |= set(check.emits)
    return codes


def declared_codes() -> set[str]:
    """Codes a shipped format-2 ruleset declares itself (its ``codes`` and its own
    requirements' pattern codes): the ruleset registers them (rulesets-1.3.md §2)."""
    catalog = Catalog()
    declared: set[str] = set()
    for ruleset_id in catalog.ids():
        rs = catalog.get(ruleset_id)
        assert rs is not None
        declared |= set(rs.codes) if rs.format >= 2 else set()
    return declared


def test_every_emittable_code_is_registered() -> None:
    reg = registry()
    registered = set(reg["reason_codes"]) | set(reg["detail_codes"]) | declared_codes()
    assert engine_codes() | ruleset_codes() <= registered, sorted(
        (engine_codes() | ruleset_codes()) - registered
    )


def test_every_registered_code_can_be_emitted() -> None:
    reg = registry()
    registered = set(reg["reason_codes"]) | set(reg["detail_codes"])
    emittable = engine_codes() | ruleset_codes()
    assert registered <= emittable, sorted(registered - emittable)


def test_meanings_are_one_line() -> None:
    for table in registry().values():
        for code, meaning in table.items():
            assert meaning and "\n" not in meaning, code
