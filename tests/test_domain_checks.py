"""Versioned domain checks never change meaning: every registered declaration is pinned
in src/vlab/domains/checks.lock.json, every code a domain module can write is one its
checks declare, and the released rulesets keep their digests and their checks."""

from __future__ import annotations

import ast
import json
import re
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest

from vlab.core.codes import registry
from vlab.domains import registry as domains
from vlab.ruleset.catalog import Catalog

DOMAINS = Path(domains.__file__).resolve().parent
LOCK = DOMAINS / "checks.lock.json"
CODE = re.compile(r"[A-Z][A-Z0-9]*(-[A-Z0-9]+)+")
RULESET_11_SHA256 = "sha256:ced163feb457445956b2100632939909adfae9c599758fc9214efceab27ce985"
RULESET_12_SHA256 = "sha256:326683662c4c1b550c2a623fd82193b9de9cca19a980a71f72308182df340ff7"
CHECKS_12 = ["budget_settlement@1", "mission_policy@1", "run_budget@1", "spending_cap@1"]


def locked() -> list[dict[str, Any]]:
    doc = json.loads(LOCK.read_text("utf-8"))
    assert isinstance(doc, list)
    return doc


def test_the_lock_is_sorted_by_id_and_lists_each_check_once() -> None:
    ids = [d["id"] for d in locked()]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    assert all(domains.CHECK_ID.fullmatch(i) for i in ids)


@pytest.mark.parametrize("declaration", locked(), ids=lambda d: str(d["id"]))
def test_a_locked_check_still_exists_unchanged(declaration: dict[str, Any]) -> None:
    # A registered version never changes meaning: a change is name@N+1, and @N stays.
    check = domains.get(declaration["id"])
    assert check is not None, f"{declaration['id']} was removed; it must stay registered"
    assert check.declaration() == declaration, (
        f"{declaration['id']} changed its arguments or codes: register name@N+1 instead"
    )


def test_every_registered_check_is_locked() -> None:
    # New checks are added to the lock (append-only: nothing locked is ever edited).
    ids = {d["id"] for d in locked()}
    unlocked = sorted(set(domains.checks()) - ids)
    assert unlocked == [], f"add the declaration() of {unlocked} to {LOCK.name}"


def _code_literals(path: Path) -> set[str]:
    """Every string constant of the module that is a code (docstrings never are)."""
    tree = ast.parse(path.read_text("utf-8"))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and CODE.fullmatch(node.value)
    }


@pytest.mark.parametrize("module", domains.MODULES)
def test_a_domain_module_writes_only_codes_its_checks_declare(module: str) -> None:
    mod = import_module(module)
    assert mod.__file__ is not None
    declared = {code for check in mod.CHECKS for code in check.codes}
    written = _code_literals(Path(mod.__file__))
    assert written, module
    assert sorted(written - declared) == []


def test_no_other_domain_module_writes_codes() -> None:
    in_modules = {str(Path(import_module(m).__file__ or "").resolve()) for m in domains.MODULES}
    others = [p for p in sorted(DOMAINS.glob("*.py")) if str(p.resolve()) not in in_modules]
    assert {p.name for p in others} >= {"registry.py", "view.py"}
    stray = {p.name: sorted(_code_literals(p)) for p in others if _code_literals(p)}
    assert stray == {}, "a module that writes codes defines CHECKS and is in MODULES"


def test_every_declared_code_is_in_the_engine_registry() -> None:
    detail = registry()["detail_codes"]
    for check in domains.checks().values():
        unregistered = sorted(set(check.codes) - set(detail))
        assert unregistered == [], f"{check.id}: {unregistered} not in reason_codes.yaml"
        assert len(check.codes) == len(set(check.codes)), check.id


@pytest.mark.parametrize(
    ("ruleset_id", "digest", "checks"),
    [("ruleset-1.1", RULESET_11_SHA256, []), ("ruleset-1.2", RULESET_12_SHA256, CHECKS_12)],
)
def test_released_rulesets_from_yaml_keep_their_digest_and_checks(
    ruleset_id: str, digest: str, checks: list[str]
) -> None:
    rs = Catalog(use_compiled=False).get(ruleset_id)
    assert rs is not None
    assert rs.source.endswith("ruleset.yaml")
    assert rs.sha256 == digest
    assert rs.domain_checks() == checks


def test_ruleset_12_calls_each_check_with_exactly_its_codes() -> None:
    # Format 1 calls the four checks by their frozen names; the loader holds their emits
    # lists to the registered codes, so the digest (which covers the names) pins them.
    rs = Catalog(use_compiled=False).get("ruleset-1.2")
    assert rs is not None
    from vlab.builtins.functions import LEGACY_CHECKS

    seen = []
    for clause in rs.clauses:
        for ck in clause.checks:
            if ck.findings is None:
                continue
            for name, check_id in LEGACY_CHECKS.items():
                if name + "(" in ck.findings.expression:
                    check = domains.get(check_id)
                    assert check is not None
                    assert set(ck.emits) == set(check.codes), (clause.clause_id, check_id)
                    seen.append(check_id)
    assert sorted(seen) == CHECKS_12
