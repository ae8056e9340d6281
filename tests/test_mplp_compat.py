"""mplp-compat-1.3: upstream's later clauses (deny without a gate, execution after a
terminal state, only recovery after a termination, a deny without a confirm gate) on real
MPLP runs (fixtures/native/mplp) edited the way each rule's counter-example needs; its
scoping by declared domain and by the upstream ruleset a run was recorded under; and its
expressions never fail on odd upstream values."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from vlab.importers import import_pack
from vlab.importers.mplp_js import canonptr

if TYPE_CHECKING:
    from conftest import Judge
    from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
UPSTREAM = ROOT / "fixtures" / "native" / "mplp" / "repo"
RULESET = "mplp-compat-1.3"
D1_PASS = "test-vectors/v0.5/D1/PASS/budget-allow-basic"
D2_PASS = "test-vectors/v0.5/D2/PASS/terminal-success"
D4_PASS = "test-vectors/v0.5/D4/PASS/reason-success"
V05_D3 = "data/runs/v05-d3-sk-fail-subject-missing"
ARB_V03 = "data/runs/arb-d1-budget-pass-fixture-v0.3"
Edit = Callable[[Path], None]


def judged(
    run: str, edit: Edit | None, tmp: Path, catalog: Catalog, judge: Judge
) -> dict[str, Any]:
    """The ruling of ``run`` imported from a copy of the corpus that ``edit`` changed."""
    repo = tmp / "repo"
    shutil.copytree(UPSTREAM, repo)
    if edit is not None:
        edit(repo / run)
    pack = tmp / "pack"
    import_pack("mplp", [repo / run], pack, ruleset=RULESET, catalog=catalog, repo=repo)
    ruling = judge(pack)
    by_id = {c["clause_id"]: c for c in ruling["clauses"]}
    return {"topline": ruling["topline"], **by_id}


def codes(clause: dict[str, Any]) -> list[str]:
    return [d["code"] for d in clause["details"]]


def log_edit(change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]) -> Edit:
    def edit(run: Path) -> None:
        log = run / "pack" / "trace" / "events.ndjson"
        events = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line]
        log.write_text("".join(json.dumps(e) + "\n" for e in change(events)), "utf-8")

    return edit


def appended(*extra: dict[str, Any]) -> Edit:
    return log_edit(lambda events: [*events, *extra])


def test_the_ruleset_declares_its_codes_and_pattern_codes(catalog: Catalog) -> None:
    ruleset = catalog.get(RULESET)
    assert ruleset is not None
    assert ruleset.contract_versions == ("1.2",)
    assert "X-MPLP-D1-DENY-WITHOUT-GATE" in ruleset.codes
    # format 2 registers the pattern codes of every requirement a ruleset declares
    assert "EVAL-NOT-APPLICABLE-RQ-MPLPD1-02" in ruleset.codes
    assert "BUNDLE-POINTER-MISSING-RQ-MPLPD4-03" in ruleset.codes
    ids = [c.clause_id for c in ruleset.clauses]
    assert len(ids) == 12 and all(i.startswith("CL-MPLPD") for i in ids)


EXEC_LATE = {"event_id": "x-1", "event_type": "tool.execute", "timestamp": "2026-01-18T10:06:00Z"}
EXEC_EARLY = {"event_id": "x-1", "event_type": "tool.execute", "timestamp": "2026-01-18T10:01:30Z"}
EXEC_UNTIMED = {"event_id": "x-1", "event_type": "agent.run"}


@pytest.mark.parametrize(
    ("extra", "status"),
    [(EXEC_LATE, "FAIL"), (EXEC_EARLY, "PASS"), (EXEC_UNTIMED, "FAIL")],
)
def test_execution_after_the_terminal_state(
    extra: dict[str, Any], status: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """Upstream CL-D2-03: exec/dispatch/invoke/run events not at or before the terminal
    timestamp (an untimed one is not, so it counts)."""
    ruling = judged(D2_PASS, appended(extra), tmp_path, catalog, judge)
    clause = ruling["CL-MPLPD2-03"]
    assert clause["status"] == status
    if status == "FAIL":
        assert codes(clause) == ["X-MPLP-D2-POST-TERMINAL-EXECUTION"]
    assert ruling["CL-MPLPD2-02"]["status"] == "PASS"


@pytest.mark.parametrize(
    ("event_type", "timestamp", "status"),
    [
        ("tool.invoke", "2026-01-18T10:06:00Z", "FAIL"),
        ("recovery.invoke", "2026-01-18T10:06:00Z", "PASS"),
        ("tool_call.started", "2026-01-18T10:06:00Z", "FAIL"),
        ("tool.invoke", None, "PASS"),  # upstream: an untimed event is not after it
        ("tool.invoke", "2026-01-18T10:03:30Z", "PASS"),
    ],
)
def test_only_recovery_after_the_termination(
    event_type: str,
    timestamp: str | None,
    status: str,
    tmp_path: Path,
    catalog: Catalog,
    judge: Judge,
) -> None:
    extra: dict[str, Any] = {"event_id": "x-1", "event_type": event_type}
    if timestamp is not None:
        extra["timestamp"] = timestamp
    ruling = judged(D4_PASS, appended(extra), tmp_path, catalog, judge)
    assert ruling["CL-MPLPD4-03"]["status"] == status
    if status == "FAIL":
        assert codes(ruling["CL-MPLPD4-03"]) == ["X-MPLP-D4-POST-TERMINATION-EXECUTION"]


def outcome(value: str, *extra: dict[str, Any]) -> Edit:
    def change(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = [{**e, "outcome": value} if e.get("decision_kind") == "budget" else e for e in events]
        return [*out, *extra]

    return log_edit(change)


@pytest.mark.parametrize(
    ("edit", "d1_02", "d1_03"),
    [
        (outcome("deny"), "PASS", "FAIL"),
        (outcome("deny", {"event_id": "g", "event_type": "budget.gate"}), "PASS", "PASS"),
        # upstream ruleset-1.2 (the vector's) counts gate, block and stop only (F12)
        (
            outcome("THROTTLE", {"event_id": "g", "event_type": "budget.enforcement"}),
            "PASS",
            "FAIL",
        ),
        (outcome("THROTTLE", {"event_id": "g", "event_type": "budget.block"}), "PASS", "PASS"),
        (outcome("Approved"), "PASS", "PASS"),  # upstream's allow synonyms, normalized
        (outcome("maybe_later"), "FAIL", "FAIL"),
    ],
)
def test_a_deny_needs_a_gate(
    edit: Edit, d1_02: str, d1_03: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    ruling = judged(D1_PASS, edit, tmp_path, catalog, judge)
    assert ruling["CL-MPLPD1-02"]["status"] == d1_02
    assert ruling["CL-MPLPD1-03"]["status"] == d1_03
    if d1_03 == "FAIL" and d1_02 == "PASS":
        assert codes(ruling["CL-MPLPD1-03"]) == ["X-MPLP-D1-DENY-WITHOUT-GATE"]


def authz_denied(confirm: bool, privileged: bool | None = None) -> Edit:
    """The v05 D3 run with a complete triple and a deny; its canonptr recomputed and its
    sums rewritten as the producer would write them (the digest covers outcome, subject)."""

    def edit(run: Path) -> None:
        log = run / "trace" / "events.ndjson"
        events = [json.loads(line) for line in log.read_text("utf-8").splitlines() if line]
        for e in events:
            if e.get("decision_kind") == "authz":
                e.update(outcome="deny", subject="user-001")
        if confirm:
            events.append({"event_id": "c", "event_type": "audit.recorded"})
        log.write_text("".join(json.dumps(e, separators=(",", ":")) + "\n" for e in events))
        authz = next(e for e in events if e.get("decision_kind") == "authz")
        pointers_file = run / "evidence_pointers.json"
        doc = json.loads(pointers_file.read_text("utf-8"))
        for p in doc["pointers"]:
            if p["requirement_id"] == "RQ-D3-01":
                p["locator"] = canonptr(authz, 1)
        pointers_file.write_text(json.dumps(doc, indent=2), "utf-8")
        # resealed as upstream's producer would: its sums list the log
        sums = run / "integrity" / "sha256sums.txt"
        digest = hashlib.sha256(log.read_bytes()).hexdigest()
        kept = [ln for ln in sums.read_text("utf-8").splitlines() if "trace/events" not in ln]
        sums.write_text("\n".join([*kept, f"{digest}  trace/events.ndjson"]) + "\n", "utf-8")
        if privileged is not None:
            bundle_file = run / "bundle.manifest.json"
            bundle = json.loads(bundle_file.read_text("utf-8"))
            bundle["scenario_meta"] = {"privileged_action": privileged}
            bundle_file.write_text(json.dumps(bundle, indent=2), "utf-8")

    return edit


def test_a_denied_authorization_needs_a_confirm_gate(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    ruling = judged(V05_D3, authz_denied(confirm=False), tmp_path / "a", catalog, judge)
    assert ruling["CL-MPLPD3-01"]["status"] == "PASS"
    assert ruling["CL-MPLPD3-02"]["status"] == "PASS"
    assert codes(ruling["CL-MPLPD3-03"]) == ["X-MPLP-D3-DENY-WITHOUT-CONFIRM"]
    ruling = judged(V05_D3, authz_denied(confirm=True), tmp_path / "b", catalog, judge)
    assert ruling["CL-MPLPD3-03"]["status"] == "PASS"


def test_a_run_declared_non_privileged_is_not_judged_on_d3(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """ERC D3: not evaluated when the scenario is explicitly non-privileged (upstream's
    v0.4 template wrote privileged_action: false for every run: a defect that shows)."""
    ruling = judged(V05_D3, authz_denied(False, privileged=False), tmp_path, catalog, judge)
    assert {ruling[c]["status"] for c in ("CL-MPLPD3-01", "CL-MPLPD3-02", "CL-MPLPD3-03")} == {
        "NOT_EVALUATED"
    }
    assert ruling["topline"] == "NOT_EVALUATED"


def test_the_upstream_ruleset_a_run_was_recorded_under_scopes_the_later_clauses(
    tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """A v0.3 run (upstream ruleset-1.1) is judged by the existence clause only; the same
    bytes declaring ruleset-1.2 get upstream's 1.2 clauses too (bundle.manifest.json is not
    in its sha256sums.txt, so the edit leaves upstream integrity as it was)."""
    plain = judged(ARB_V03, None, tmp_path / "a", catalog, judge)
    assert plain["CL-MPLPD1-01"]["status"] == "PASS"
    assert plain["CL-MPLPD1-02"]["reason_code"] == "EVAL-NOT-APPLICABLE-RQ-MPLPD1-02"

    def to_12(run: Path) -> None:
        path = run / "bundle.manifest.json"
        path.write_text(path.read_text("utf-8").replace('"ruleset-1.1"', '"ruleset-1.2"'), "utf-8")

    later = judged(ARB_V03, to_12, tmp_path / "b", catalog, judge)
    assert later["CL-MPLPD1-02"]["status"] == "PASS" and later["CL-MPLPD1-03"]["status"] == "PASS"


@pytest.mark.parametrize(
    "odd",
    [
        {"event_id": "o", "event_type": 5, "timestamp": 7},
        {"event_id": "o", "event_type": None, "timestamp": ["x"]},
        {"event_id": "o", "event_type": {"a": 1}, "timestamp": True},
    ],
)
def test_odd_upstream_values_are_judged_never_crash(
    odd: dict[str, Any], tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    ruling = judged(D2_PASS, appended(odd), tmp_path, catalog, judge)
    assert ruling["CL-MPLPD2-03"]["status"] == "PASS"

    def terminal_untimed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = [{**e, "timestamp": 12} if e.get("to_state") else e for e in events]
        return [*out, odd, EXEC_EARLY]

    ruling = judged(D2_PASS, log_edit(terminal_untimed), tmp_path / "b", catalog, judge)
    # upstream: with no comparable terminal timestamp, every execution event counts
    assert ruling["CL-MPLPD2-03"]["status"] == "FAIL"


# -- upstream's rules as it states them (issue 15's attack report F10-F12) --------------------


def declared(ruleset: str) -> Edit:
    def edit(run: Path) -> None:
        path = run / "bundle.manifest.json"
        bundle = json.loads(path.read_text("utf-8"))
        bundle["ruleset_ref"] = ruleset
        path.write_text(json.dumps(bundle, indent=2), "utf-8")

    return edit


def both(*edits: Edit) -> Edit:
    def edit(run: Path) -> None:
        for one in edits:
            one(run)

    return edit


ENFORCEMENT = {"event_id": "g", "event_type": "budget.enforcement"}


@pytest.mark.parametrize(("ruleset", "status"), [("ruleset-1.2", "FAIL"), ("ruleset-1.3", "PASS")])
def test_the_gate_tokens_are_those_of_the_ruleset_the_run_was_recorded_under(
    ruleset: str, status: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """Upstream ruleset-1.3 (v0.13.1) added enforcement and throttle to 1.2's gate, block
    and stop: a 1.2 run's deny with only a budget.enforcement event fails there (F12)."""
    edit = both(outcome("deny", ENFORCEMENT), declared(ruleset))
    ruling = judged(D1_PASS, edit, tmp_path, catalog, judge)
    assert ruling["CL-MPLPD1-03"]["status"] == status
    if status == "FAIL":
        [detail] = ruling["CL-MPLPD1-03"]["details"]
        assert detail["message"].endswith("the run was recorded under 'ruleset-1.2'")


SECOND_BUDGET = "evt-second"


def budget_pointers(first: str, second: str, *order: str) -> Edit:
    """The D1 vector with two budget decisions (outcomes ``first`` and ``second``) and its
    RQ-D1-01 pointers naming, in ``order``, "first", "second" or an id that is nowhere."""

    def change(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = [{**e, "outcome": first} if e.get("decision_kind") == "budget" else e for e in events]
        extra = {**next(e for e in out if e.get("decision_kind") == "budget")}
        return [*out, {**extra, "event_id": SECOND_BUDGET, "outcome": second}]

    def edit(run: Path) -> None:
        log_edit(change)(run)
        path = run / "evidence_pointers.json"
        doc = json.loads(path.read_text("utf-8"))
        budget = next(p for p in doc["pointers"] if p["requirement_id"] == "RQ-D1-01")
        ids = {"first": budget["locator"], "second": f"event_id:{SECOND_BUDGET}"}
        others = [p for p in doc["pointers"] if p["requirement_id"] != "RQ-D1-01"]
        doc["pointers"] = [
            *({**budget, "locator": ids.get(which, f"event_id:{which}")} for which in order),
            *others,
        ]
        path.write_text(json.dumps(doc, indent=2), "utf-8")

    return edit


@pytest.mark.parametrize(
    ("edit", "d1_03", "topline"),
    [
        # upstream FAILs: the first resolved pointer is the deny without a gate
        (budget_pointers("deny", "allow", "first", "second"), "FAIL", "FAIL"),
        (budget_pointers("allow", "deny", "first", "second"), "PASS", "PASS"),
        # an unresolvable pointer before it is passed over, as upstream passes it over
        (budget_pointers("allow", "deny", "nowhere", "first", "second"), "PASS", "PASS"),
        (budget_pointers("deny", "allow", "nowhere", "second"), "PASS", "PASS"),
    ],
    ids=["deny-then-allow", "allow-then-deny", "nowhere-allow-deny", "nowhere-then-allow"],
)
def test_the_later_clauses_judge_the_first_pointer_that_resolves(
    edit: Edit, d1_03: str, topline: str, tmp_path: Path, catalog: Catalog, judge: Judge
) -> None:
    """Upstream's CL-Dn-02/03 read getFirstSemanticFields: the first resolved pointer's
    event, not any pointer that passes (F10: vlab passed [deny without gate, allow])."""
    ruling = judged(D1_PASS, edit, tmp_path, catalog, judge)
    assert ruling["CL-MPLPD1-01"]["status"] == "PASS"  # upstream: resolved_count > 0
    assert ruling["CL-MPLPD1-03"]["status"] == d1_03
    assert ruling["topline"] == topline
    assert len(ruling["CL-MPLPD1-03"]["evidence_refs"]) == 1


def as_domain(domain: str, change: dict[str, Any], kind: str) -> Edit:
    """The D1 vector declaring ``domain``, its ``kind`` event updated with ``change``."""

    def edit(run: Path) -> None:
        _set(run / "vector.manifest.json", domain=domain)
        log_edit(
            lambda events: [{**e, **change} if kind in e["event_type"] else e for e in events]
        )(run)

    return edit


def _set(path: Path, **changes: Any) -> None:
    doc = json.loads(path.read_text("utf-8"))
    doc.update(changes)
    path.write_text(json.dumps(doc, indent=2), "utf-8")


GATE = {"event_id": "g", "event_type": "budget.gate"}


@pytest.mark.parametrize(
    ("edit", "clause", "status", "code"),
    [
        # extract.ts: outcome ?? decision_outcome ?? result: "" stops there, and is missing
        (outcome("", GATE), "CL-MPLPD1-02", "FAIL", "X-MPLP-D1-OUTCOME-MISSING"),
        (
            both(outcome("", GATE), log_edit(lambda ev: [{**e, "result": "deny"} for e in ev])),
            "CL-MPLPD1-02",
            "FAIL",
            "X-MPLP-D1-OUTCOME-MISSING",
        ),
        # 0 and false are missing to JavaScript, not invalid
        (
            as_domain("D1", {"outcome": 0}, "budget"),
            "CL-MPLPD1-02",
            "FAIL",
            "X-MPLP-D1-OUTCOME-MISSING",
        ),
        (
            as_domain("D2", {"to_state": "", "status": "success"}, "lifecycle"),
            "CL-MPLPD2-02",
            "FAIL",
            "X-MPLP-D2-STATE-MISSING",
        ),
        (
            as_domain("D3", {"subject": "", "actor": "user-1"}, "authz"),
            "CL-MPLPD3-02",
            "FAIL",
            "X-MPLP-D3-SUBJECT-MISSING",
        ),
        (
            as_domain("D3", {"subject": 0}, "authz"),
            "CL-MPLPD3-02",
            "FAIL",
            "X-MPLP-D3-SUBJECT-MISSING",
        ),
        # String("  ") is "  ": a subject to upstream (only normalized fields are trimmed)
        (as_domain("D3", {"subject": "  "}, "authz"), "CL-MPLPD3-02", "PASS", None),
        (as_domain("D3", {"subject": None, "user": "u"}, "authz"), "CL-MPLPD3-02", "PASS", None),
        (
            as_domain("D4", {"termination_reason": "", "reason": "timeout"}, "termination"),
            "CL-MPLPD4-02",
            "FAIL",
            "X-MPLP-D4-REASON-MISSING",
        ),
        (
            as_domain("D4", {"termination_reason": None, "reason": "timeout"}, "termination"),
            "CL-MPLPD4-02",
            "PASS",
            None,
        ),
    ],
    ids=[
        "d1-outcome-empty",
        "d1-outcome-empty-result-deny",
        "d1-outcome-zero",
        "d2-to-state-empty-status",
        "d3-subject-empty-actor",
        "d3-subject-zero",
        "d3-subject-blank",
        "d3-subject-null-user",
        "d4-reason-empty-reason",
        "d4-reason-null-reason",
    ],
)
def test_a_field_falls_back_to_its_synonyms_only_when_absent_or_null(
    edit: Edit,
    clause: str,
    status: str,
    code: str | None,
    tmp_path: Path,
    catalog: Catalog,
    judge: Judge,
) -> None:
    """Upstream's synonyms use ``??`` (F11: vlab's ``||`` let an empty outcome, state,
    subject or reason fall through to a synonym and PASS where upstream FAILs)."""
    ruling = judged(D1_PASS, edit, tmp_path, catalog, judge)
    assert ruling[clause]["status"] == status
    if code is not None:
        assert codes(ruling[clause])[0] == code
