"""Golden vectors made by `vlab import mplp` from the MPLP Validation Lab's real run folders
(fixtures/native/mplp/repo/, upstream f845bde, Apache-2.0; see its README), judged by
mplp-compat-1.3.

Expectations are upstream's documented rules (its ERCs and its ruleset-1.1/1.2/1.3
clauses, restated in rulesets/mplp-compat-1.3), applied to what each run declares, never
the engine's output: a run is judged on the domains it targets (every other clause not
applicable), by the upstream ruleset it was recorded under (ruleset-1.1: the existence
clauses only), and upstream's own integrity is carried forward (evidence that does not
match upstream's sha256sums.txt is NOT_ADMISSIBLE; a claim file that does not match, or
evidence the sums do not list, is an advisory: decision 171).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from scripts.vectors.model import Case, Clause, Gate, Imported

GROUP = "i15-mplp"
RULESET = "mplp-compat-1.3"
REPO = "fixtures/native/mplp/repo"
REQUIREMENTS = {
    "CL-MPLPD1-01": "RQ-D1-01",
    "CL-MPLPD1-02": "RQ-MPLPD1-02",
    "CL-MPLPD1-03": "RQ-MPLPD1-03",
    "CL-MPLPD2-01": "RQ-D2-01",
    "CL-MPLPD2-02": "RQ-MPLPD2-02",
    "CL-MPLPD2-03": "RQ-MPLPD2-03",
    "CL-MPLPD3-01": "RQ-D3-01",
    "CL-MPLPD3-02": "RQ-MPLPD3-02",
    "CL-MPLPD3-03": "RQ-MPLPD3-03",
    "CL-MPLPD4-01": "RQ-D4-01",
    "CL-MPLPD4-02": "RQ-MPLPD4-02",
    "CL-MPLPD4-03": "RQ-MPLPD4-03",
}
# A clause of a domain the run does not target (or of upstream's ruleset-1.2 for a run
# recorded under ruleset-1.1) is not applicable.
NOT_APPLICABLE = {
    cid: Clause("NOT_EVALUATED", f"EVAL-NOT-APPLICABLE-{rq}", [], [])
    for cid, rq in REQUIREMENTS.items()
}
UNRESOLVABLE = "POINTER-UNRESOLVABLE"


def imported(run: str) -> Imported:
    return Imported("mplp", [f"{REPO}/{run}"], {"repo": REPO})


def edited(run: str, edit: Callable[[Path], None]) -> Imported:
    """A real run folder edited on a scratch copy (a case the committed corpus lacks)."""

    def step(copy_root: Path) -> None:
        edit(copy_root / REPO / run)

    return Imported("mplp", [f"{REPO}/{run}"], {}, edit_source=step)


def _append_event(event: dict[str, object]) -> Callable[[Path], None]:
    def edit(run: Path) -> None:
        log = run / "pack" / "trace" / "events.ndjson"
        log.write_bytes(log.read_bytes() + json.dumps(event).encode() + b"\n")

    return edit


def _denied_authorization(run: Path) -> None:
    """Retarget the D4 vector at D3 and make its authorization decision a deny."""
    vector = run / "vector.manifest.json"
    doc = json.loads(vector.read_text("utf-8"))
    vector.write_text(json.dumps({**doc, "domain": "D3"}, indent=2), "utf-8")
    log = run / "pack" / "trace" / "events.ndjson"
    log.write_bytes(
        log.read_bytes().replace(
            b'"decision_kind":"authz","outcome":"allow"',
            b'"decision_kind":"authz","outcome":"deny"',
        )
    )


def passed(*locators: str) -> Clause:
    return Clause("PASS", None, [], list(locators))


def failed(clause_id: str, details: list[str], *locators: str) -> Clause:
    return Clause("FAIL", f"REQ-FAIL-{REQUIREMENTS[clause_id]}", details, list(locators))


def missing(clause_id: str) -> Clause:
    """No PRESENT pointer: the clause FAILs, and its detail says which pointer it needs."""
    rq = REQUIREMENTS[clause_id]
    return Clause("FAIL", f"BUNDLE-POINTER-MISSING-{rq}", ["POINTER-MISSING"], [])


def case(
    name: str,
    description: str,
    run: str | Imported,
    clauses: dict[str, Clause],
    gate: Gate | None = None,
) -> Case:
    return Case(
        GROUP,
        name,
        description,
        ruleset=RULESET,
        pinned=RULESET,
        imported=imported(run) if isinstance(run, str) else run,
        base=NOT_APPLICABLE,
        clauses=clauses,
        gate=gate,
    )


def ev(run: str, n: int) -> str:
    return f"event_id:evt-{run.rsplit('/', 1)[-1]}-{n:03d}"


V05_D1 = "data/runs/v05-d1-autogen-pass-budget-allow"
V05_D3 = "data/runs/v05-d3-sk-fail-subject-missing"
V05_D2 = "data/runs/v05-d2-langgraph-pass-terminal-success"
VEC_D1 = "test-vectors/v0.5/D1/FAIL/outcome-invalid"
VEC_D4 = "test-vectors/v0.5/D4/PASS/reason-success"
PYDANTIC = "data/runs/pydantic-ai-d1-budget-fail-01"
PYDANTIC_EVENT = "event_id:evt-pydantic-ai-d1-budget-fail-01-001"
ARB_V04_EVENT = "event_id:evt-budget-001"

CASES: list[Case] = [
    case(
        "arb-v03-budget-pass",
        "arb v0.3 D1 pass run recorded under upstream ruleset-1.1, flattened layout (pack_root "
        "'pack' names no folder), placeholders left out, the trace verified against upstream's "
        "sums through the lost pack/ prefix (the bundle, pointers and manifest, which shape "
        "the view, are not listed: advisories): its budget decision (outcome allow) is "
        "recorded",
        "data/runs/arb-d1-budget-pass-fixture-v0.3",
        {"CL-MPLPD1-01": passed("event_id:evt-budget-001")},
    ),
    case(
        "arb-v04-claim-unsealed",
        "arb v0.4 D1 run whose verdict.json (upstream's recorded verdict, kept only as a "
        "claim) does not match upstream's own sha256sums.txt, and whose trace (and bundle, "
        "pointers, manifest) the sums never list: all carried forward as advisories (the "
        "judged evidence is no less sealed "
        "than a run with no upstream sums); the budget decision is a deny with no gate in "
        "the trace (upstream CL-D1-03, D1_BUDGET_DENY_WITHOUT_GATE)",
        "data/runs/arb-d1-budget-fail-deny-missing-gate-v0.4",
        {
            "CL-MPLPD1-01": passed(ARB_V04_EVENT),
            "CL-MPLPD1-02": passed(ARB_V04_EVENT),
            "CL-MPLPD1-03": failed("CL-MPLPD1-03", ["X-MPLP-D1-DENY-WITHOUT-GATE"], ARB_V04_EVENT),
        },
    ),
    case(
        "gf-placeholders-over-sealed-artifacts",
        "gf-01 run whose artifacts upstream later replaced by {} placeholders: evidence that "
        "no longer matches its sha256sums.txt, so the pack is NOT_ADMISSIBLE",
        "data/runs/gf-01-a2a-pass",
        {},
        gate=Gate("ADM-GATE-CONTRACT", ["CONTRACT-IMPORT-UPSTREAM-INTEGRITY"] * 3),
    ),
    case(
        "v05-canonptr-matches-no-event",
        "v05 producer D1 run: the producer's canonptr digest omits amount, so the "
        "recomputed digest matches no event; the pointer stays unresolvable and every D1 "
        "clause fails (the D3 and D4 canonptrs resolve, but the run targets D1 only)",
        V05_D1,
        {
            "CL-MPLPD1-01": failed("CL-MPLPD1-01", [UNRESOLVABLE]),
            "CL-MPLPD1-02": failed("CL-MPLPD1-02", [UNRESOLVABLE]),
            "CL-MPLPD1-03": failed("CL-MPLPD1-03", [UNRESOLVABLE]),
        },
    ),
    case(
        "v05-authz-subject-missing",
        "v05 producer D3 run under upstream ruleset-1.2: its canonptr resolves to the "
        "authorization decision (outcome allow), which names a resource and an action but "
        "no subject (upstream CL-D3-02)",
        V05_D3,
        {
            "CL-MPLPD3-01": passed(ev(V05_D3, 3)),
            "CL-MPLPD3-02": failed("CL-MPLPD3-02", ["X-MPLP-D3-SUBJECT-MISSING"], ev(V05_D3, 3)),
            "CL-MPLPD3-03": passed(ev(V05_D3, 3)),
        },
    ),
    case(
        "v05-no-lifecycle-pointer",
        "v05 producer D2 run: the producer writes pointers only for events with a "
        "decision_kind, so there is no RQ-D2-01 pointer and every D2 clause fails",
        V05_D2,
        {
            "CL-MPLPD2-01": missing("CL-MPLPD2-01"),
            "CL-MPLPD2-02": missing("CL-MPLPD2-02"),
            "CL-MPLPD2-03": missing("CL-MPLPD2-03"),
        },
    ),
    case(
        "vector-budget-outcome-invalid",
        "test vector v0.5 D1 FAIL: a budget decision with outcome 'invalid' (not an upstream "
        "budget outcome), and no gate in the trace for an outcome that is not allow",
        VEC_D1,
        {
            "CL-MPLPD1-01": passed("event_id:evt-v05-d1-fail-outcome-invalid-1"),
            "CL-MPLPD1-02": failed(
                "CL-MPLPD1-02",
                ["X-MPLP-D1-OUTCOME-INVALID"],
                "event_id:evt-v05-d1-fail-outcome-invalid-1",
            ),
            "CL-MPLPD1-03": failed(
                "CL-MPLPD1-03",
                ["X-MPLP-D1-DENY-WITHOUT-GATE"],
                "event_id:evt-v05-d1-fail-outcome-invalid-1",
            ),
        },
    ),
    case(
        "vector-termination-reason-success",
        "test vector v0.5 D4 PASS: a termination decision with reason 'success', which "
        "upstream documents as valid (producers/contract/matrix.yaml), and nothing after it",
        VEC_D4,
        {
            "CL-MPLPD4-01": passed("event_id:evt-v05-d4-pass-reason-success-4"),
            "CL-MPLPD4-02": passed("event_id:evt-v05-d4-pass-reason-success-4"),
            "CL-MPLPD4-03": passed("event_id:evt-v05-d4-pass-reason-success-4"),
        },
    ),
    case(
        "vector-budget-allow",
        "test vector v0.5 D1 PASS: a budget decision with outcome allow (no gate needed)",
        "test-vectors/v0.5/D1/PASS/budget-allow-basic",
        {
            cid: passed("event_id:evt-v05-d1-pass-budget-allow-basic-1")
            for cid in ("CL-MPLPD1-01", "CL-MPLPD1-02", "CL-MPLPD1-03")
        },
    ),
    case(
        "vector-terminal-success",
        "test vector v0.5 D2 PASS: a transition to success, and no execution event after it "
        "(an authorization, a termination and agent.end follow)",
        "test-vectors/v0.5/D2/PASS/terminal-success",
        {
            cid: passed("event_id:evt-v05-d2-pass-terminal-success-2")
            for cid in ("CL-MPLPD2-01", "CL-MPLPD2-02", "CL-MPLPD2-03")
        },
    ),
    case(
        "vector-termination-reason-invalid",
        "test vector v0.5 D4 FAIL: the termination reason 'invalid_reason' is not an upstream "
        "category",
        "test-vectors/v0.5/D4/FAIL/invalid-reason",
        {
            "CL-MPLPD4-01": passed("event_id:evt-v05-d4-fail-invalid-reason-4"),
            "CL-MPLPD4-02": failed(
                "CL-MPLPD4-02",
                ["X-MPLP-D4-REASON-NOT-ALLOWED"],
                "event_id:evt-v05-d4-fail-invalid-reason-4",
            ),
            "CL-MPLPD4-03": passed("event_id:evt-v05-d4-fail-invalid-reason-4"),
        },
    ),
    case(
        "pack-root-in-public",
        "pydantic-ai D1 run whose pack_root leads into public/data/runs/<id>/pack (read "
        "through --repo; its sums verified there): two canonptr pointers (one naming a "
        "snapshot) resolve to the budget decision, whose outcome is not an upstream outcome "
        "and has no gate; the later clauses judge the first pointer that resolves, as "
        "upstream's getFirstSemanticFields does",
        PYDANTIC,
        {
            "CL-MPLPD1-01": passed(PYDANTIC_EVENT, PYDANTIC_EVENT),
            "CL-MPLPD1-02": failed("CL-MPLPD1-02", ["X-MPLP-D1-OUTCOME-INVALID"], PYDANTIC_EVENT),
            "CL-MPLPD1-03": failed("CL-MPLPD1-03", ["X-MPLP-D1-DENY-WITHOUT-GATE"], PYDANTIC_EVENT),
        },
    ),
    case(
        "edited-execution-after-termination",
        "test vector v0.5 D4 PASS with one event appended (edited copy): a tool.exec after "
        "the termination decision, which is not recovery (upstream CL-D4-03)",
        edited(
            VEC_D4,
            _append_event(
                {
                    "event_id": "evt-v05-d4-pass-reason-success-6",
                    "event_type": "tool.exec",
                    "timestamp": "2026-01-18T10:06:00Z",
                }
            ),
        ),
        {
            "CL-MPLPD4-01": passed("event_id:evt-v05-d4-pass-reason-success-4"),
            "CL-MPLPD4-02": passed("event_id:evt-v05-d4-pass-reason-success-4"),
            "CL-MPLPD4-03": failed(
                "CL-MPLPD4-03",
                ["X-MPLP-D4-POST-TERMINATION-EXECUTION"],
                "event_id:evt-v05-d4-pass-reason-success-4",
            ),
        },
    ),
    case(
        "edited-deny-without-confirm",
        "test vector v0.5 D4 PASS retargeted at D3 (edited copy) with its authorization "
        "decision a deny: subject, resource and action are named (upstream CL-D3-02 "
        "passes), but no confirm, gate or audit event follows the deny (CL-D3-03)",
        edited(VEC_D4, _denied_authorization),
        {
            "CL-MPLPD3-01": passed("event_id:evt-v05-d4-pass-reason-success-3"),
            "CL-MPLPD3-02": passed("event_id:evt-v05-d4-pass-reason-success-3"),
            "CL-MPLPD3-03": failed(
                "CL-MPLPD3-03",
                ["X-MPLP-D3-DENY-WITHOUT-CONFIRM"],
                "event_id:evt-v05-d4-pass-reason-success-3",
            ),
        },
    ),
    case(
        "epc-pack-without-domain",
        "an upstream EPC 1.0 fixture pack (verified sums) that declares no D1-D4 domain: "
        "nothing applies",
        "fixtures/packs/minimal-pass",
        {},
    ),
]
