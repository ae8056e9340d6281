"""Admission: the gates in registry order, short-circuiting.

Nothing inside a pack is interpreted before the gates that make it safe to read have
passed. Every failure is a ``Detail`` with a registered code. Adding a gate is one module
(``NAME`` and ``run(ctx) -> list[Detail]``) and one entry in ``GATES``.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from vlab.core.vocabulary import FAIL, PASS, SKIPPED
from vlab.engine.admission import authenticity, contract, integrity, pin, security
from vlab.engine.admission.context import GateContext
from vlab.engine.admission.model import Admission, Gate, Pointer
from vlab.engine.ruling import capped
from vlab.pack.reader import PackReader
from vlab.pack.trust import TrustPolicy
from vlab.ruleset.model import Ruleset

__all__ = ["GATES", "GATE_NAMES", "Admission", "Gate", "Pointer", "admit"]

# The gates, in the order they run (adjudication.md §1).
# AUTHENTICITY runs only with a trust policy in force (trust.md §2): without one it is
# neither run nor listed, so rulings made without --trust are what they always were.
GATES: tuple[ModuleType, ...] = (security, pin, integrity, authenticity, contract)
GATE_NAMES: tuple[str, ...] = tuple(g.NAME for g in GATES)


def admit(
    reader: PackReader,
    find_ruleset: Callable[[str], Ruleset | None],
    known_requirements: Callable[[], frozenset[str]] | None = None,
    trust: TrustPolicy | None = None,
) -> Admission:
    """Run the gates in order; the first failure stops admission. ``known_requirements``
    gives every requirement id an installed ruleset declares (see ``GateContext``);
    ``trust`` is the policy in force (None: AUTHENTICITY runs only if the pinned ruleset
    ``requires_signature``, under the empty policy)."""
    try:
        return _admit(reader, find_ruleset, known_requirements, trust)
    finally:
        reader.discard_pending()  # work started for a gate that never ran (decision 252)


def _admit(
    reader: PackReader,
    find_ruleset: Callable[[str], Ruleset | None],
    known_requirements: Callable[[], frozenset[str]] | None,
    trust: TrustPolicy | None,
) -> Admission:
    ctx = GateContext(reader, find_ruleset, known_requirements, trust)
    result = ctx.result
    failed = False
    expected = len(GATES)
    for gate in GATES:
        if gate is authenticity and not _in_force(ctx):
            expected -= 1
            continue
        if failed:
            result.gates.append(Gate(gate.NAME, SKIPPED))
            continue
        details, omitted = capped(gate.run(ctx))
        # An advisory detail is reported, never a failure (a gate's advisories come last).
        failed = any(not d.advisory for d in details)
        result.gates.append(Gate(gate.NAME, FAIL if failed else PASS, details, omitted))
    result.complete = len(result.gates) == expected
    return result


def _in_force(ctx: GateContext) -> bool:
    pinned = ctx.result.pinned
    return ctx.trust is not None or (pinned is not None and pinned.requires_signature)
