"""Versioned domain checks: computations a ruleset expression cannot state, by ``name@N``.

A check declares the arguments it takes and every detail code it can emit; the ruleset
loader refuses a ruleset whose declared codes differ. A registered version never changes
meaning: a change is ``name@N+1``, and ``@N`` stays for as long as a shipped ruleset uses
it (``tests/test_domain_checks.py`` pins every declaration against ``checks.lock.json``).

Adding a check is one module that defines ``CHECKS`` and one line in ``MODULES``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from importlib import import_module
from typing import Any

from vlab.core.findings import Detail
from vlab.domains.view import EvidenceView

# Argument kinds: an expression evaluated in the clause context, or a literal naming one
# of the ruleset's token tables or schemas (the check then receives the table or schema).
ARGUMENT_KINDS = ("value", "table", "schema")
CHECK_ID = re.compile(r"([a-z][a-z0-9_]*)@([1-9][0-9]*)")

MODULES = (
    "vlab.domains.settlement",
    "vlab.domains.spending_cap",
    "vlab.domains.run_budget",
    "vlab.domains.mission",
)


@dataclass(frozen=True)
class Argument:
    name: str
    kind: str = "value"
    summary: str = ""


@dataclass(frozen=True)
class DomainCheck:
    name: str
    version: int
    summary: str
    arguments: tuple[Argument, ...]
    codes: tuple[str, ...]  # every detail code the check can emit
    run: Callable[..., list[Detail]]  # run(view, **arguments) -> findings
    # series(view, **arguments) -> what the review dossier charts, computed by the same
    # domain code that judges (never part of a ruling; not pinned by the lock file).
    series: Callable[..., Any] | None = None

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"

    def declaration(self) -> dict[str, Any]:
        """What the check promises (pinned by the lock file), without its code."""
        return {
            "id": self.id,
            "arguments": [{"name": a.name, "kind": a.kind} for a in self.arguments],
            "codes": sorted(self.codes),
        }

    def __call__(self, view: EvidenceView | None, **arguments: Any) -> list[Detail]:
        calls = _RECORDING.get()
        if calls is not None:
            calls.append((self.id, dict(arguments)))
        found = self.run(view, **arguments)
        stray = sorted({f.code for f in found} - set(self.codes))
        if stray:  # an engine bug, never a verdict
            raise RuntimeError(f"{self.id} emitted undeclared code(s) {', '.join(stray)}")
        return found


_RECORDING: ContextVar[list[tuple[str, dict[str, Any]]] | None] = ContextVar(
    "vlab_domain_calls", default=None
)


@contextmanager
def recording() -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """The domain checks called (id and arguments, in call order) while the block runs:
    the review dossier asks each for its series with the arguments the clause gave it."""
    calls: list[tuple[str, dict[str, Any]]] = []
    token = _RECORDING.set(calls)
    try:
        yield calls
    finally:
        _RECORDING.reset(token)


@lru_cache(maxsize=1)
def checks() -> dict[str, DomainCheck]:
    """Every registered check by id."""
    found: dict[str, DomainCheck] = {}
    for module in MODULES:
        for check in import_module(module).CHECKS:
            assert check.id not in found and CHECK_ID.fullmatch(check.id), check.id
            assert all(a.kind in ARGUMENT_KINDS for a in check.arguments), check.id
            found[check.id] = check
    return found


def get(check_id: str) -> DomainCheck | None:
    return checks().get(check_id)
