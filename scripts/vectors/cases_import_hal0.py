"""Golden vectors made by `vlab import hal0` from its real output (fixtures/native/hal0).

Each run in fixtures/native/hal0/runs/ is a hal0 state folder written by hal0's own code
(commit 600b56b, drive_hal0.py), with the client's log of its budget-check responses
beside it (checks.jsonl). Imported with --checks, CL-D1-03 (spending_cap@2) recomputes
every recorded check; imported without, it judges the ledger alone. Expectations are
worked out from rulesets-1.3.md §3 and D1-03 on the numbers in those files.
"""

from __future__ import annotations

from pathlib import Path

from scripts.vectors.model import FILE, Case, Clause, Imported, PackEdit, imported_case

GROUP = "i13-hal0"
RUNS = "fixtures/native/hal0/runs"
PERSONA = "agents/hermes/personas/analyst.toml"
LEDGER = "agents/hermes/personas/analyst/spend.jsonl"
D13 = "CL-D1-03"
FAIL = "REQ-FAIL-RQ-D1-03"

NOT_RECORDED = "LEDGER-CHECKS-NOT-RECORDED"
CAP = "LEDGER-CAP-EXCEEDED"
TOLERATED = "LEDGER-OVERSPEND-TOLERATED"


def run(name: str) -> str:
    return f"{RUNS}/{name}"


def passed(*details: str) -> dict[str, Clause]:
    return {D13: Clause("PASS", None, list(details), [FILE])}


def failed(*details: str) -> dict[str, Clause]:
    return {D13: Clause("FAIL", FAIL, list(details), [FILE])}


def with_checks(name: str, edit: PackEdit | None = None) -> Imported:
    return Imported("hal0", [run(name)], {"checks": f"{run(name)}/checks.jsonl"}, edit)


def ledger_alone(name: str, edit: PackEdit | None = None) -> Imported:
    return Imported("hal0", [run(name)], {}, edit)


# -- edits of a scratch copy of a real run (make_vectors copies the sources first) ----------


def _ledger_lines(root: Path, name: str) -> tuple[Path, list[bytes]]:
    path = root / run(name) / LEDGER
    return path, path.read_bytes().splitlines(keepends=True)


def torn_tail(name: str) -> PackEdit:
    """A crash inside hal0's BudgetLedger.append: the last row cut halfway, no newline."""

    def edit(root: Path) -> None:
        path, rows = _ledger_lines(root, name)
        last = rows[-1]
        path.write_bytes(b"".join(rows[:-1]) + last[: len(last) // 2])

    return edit


def torn_then_appended(name: str, line: int) -> PackEdit:
    """A crash inside the append of row ``line``, then hal0's next append: that row's first
    half and the next row end up on one line (hal0 opens the ledger in append mode)."""

    def edit(root: Path) -> None:
        path, rows = _ledger_lines(root, name)
        cut = rows[line - 1][: len(rows[line - 1]) // 2]
        path.write_bytes(b"".join(rows[: line - 1]) + cut + b"".join(rows[line:]))

    return edit


def budget_key(name: str, added: str) -> PackEdit:
    """An operator's hand edit of the persona TOML: hal0's save_persona never writes a key
    its Budget lacks, and its load_persona ignores one (see the fixtures' README)."""

    def edit(root: Path) -> None:
        path = root / run(name) / PERSONA
        text = path.read_text("utf-8")
        assert "\nhard_cap = " in text
        path.write_text(text.replace("\nhard_cap = ", f"\n{added}\nhard_cap = ", 1), "utf-8")

    return edit


def case(name: str, description: str, imported: Imported, clauses: dict[str, Clause]) -> Case:
    return imported_case(GROUP, name, description, imported, clauses)


CASES: list[Case] = [
    # -- with the client's log of hal0's check responses: every check recomputed -----------
    case(
        "checks-day-boundary-per-call",
        "hal0 run, daily 1.0 + per-call 0.5: a per-call deny, a daily deny at 23:50 with 0.80 "
        "spent, the new UTC day allowed; every recorded check agrees",
        with_checks("day-boundary-percall"),
        passed(),
    ),
    case(
        "checks-warn-only",
        "hal0 run, warn-only daily 0.5: over-cap checks allowed with a reason are WARN, as "
        "recomputed; the day ends at 0.8, tolerated (advisory)",
        with_checks("warn-only"),
        passed(TOLERATED),
    ),
    case(
        "checks-monthly-lifetime",
        "hal0 run, monthly 1.0 + lifetime 1.5 across a month boundary, an estimate exactly "
        "at the lifetime cap and a zero estimate at it: every recorded check agrees",
        with_checks("monthly-lifetime"),
        passed(),
    ),
    case(
        "checks-float-edge",
        "hal0 run, daily 0.3 with 0.1 spent: hal0 denied an estimate of 0.2 "
        "(0.3 - 0.1 = 0.19999999999999998 in binary floats); exactly it fits, so the recorded "
        "DENY is stricter than the caps (advisory, message names the float arithmetic)",
        with_checks("float-edge"),
        passed("LEDGER-DECISION-STRICTER"),
    ),
    case(
        "checks-no-cap",
        "hal0 run with an empty [persona.budget] (hard_cap only): everything allowed",
        with_checks("no-cap"),
        passed(),
    ),
    case(
        "checks-race-over-cap",
        "hal0 run: two checks pass before either charge lands, the day ends at 1.05 over "
        "1.0 and the month at 1.75 over 1.5 (each tolerated, advisory); zero estimates after "
        "a cap is exceeded are allowed, as recomputed",
        with_checks("race-over-cap"),
        passed(TOLERATED, TOLERATED),
    ),
    case(
        "checks-ignored-deny",
        "hal0 run: a client charges the call hal0 denied (FAIL); the day ends over its cap "
        "(advisory)",
        with_checks("ignored-deny"),
        failed("LEDGER-CHARGE-AFTER-DENY", TOLERATED),
    ),
    # -- hal0 records no checks: the ledger alone against the caps ------------------------
    case(
        "ledger-alone-within-caps",
        "hal0 ledger without a checks log, monthly and lifetime caps never exceeded "
        "(lifetime ends exactly at 1.5): PASS with the checks-not-recorded advisory",
        ledger_alone("monthly-lifetime"),
        passed(NOT_RECORDED),
    ),
    case(
        "ledger-alone-no-cap",
        "hal0 ledger without a checks log and no cap: PASS with the advisory",
        ledger_alone("no-cap"),
        passed(NOT_RECORDED),
    ),
    case(
        "ledger-alone-over-caps",
        "hal0 ledger past its caps (hard cap): the charge taking the day to 1.05, then one "
        "0.7 charge above the per-call cap 0.6 that takes the month to 1.75; the zero charge "
        "after the cap is not over it",
        ledger_alone("race-over-cap"),
        failed(CAP, CAP, CAP, NOT_RECORDED),
    ),
    case(
        "ledger-alone-per-call-actual",
        "hal0 ledger whose last actual (0.55) is above the per-call cap 0.5: without checks "
        "this cannot be told from an ignored cap (FAIL)",
        ledger_alone("day-boundary-percall"),
        failed(CAP, NOT_RECORDED),
    ),
    case(
        "ledger-alone-warn-only",
        "hal0 warn-only ledger over its daily cap: each charge over it is an advisory",
        ledger_alone("warn-only"),
        passed(NOT_RECORDED, CAP, CAP),
    ),
    case(
        "ledger-alone-ignored-deny",
        "hal0 ledger where a denied call was charged anyway: over the daily cap (FAIL)",
        ledger_alone("ignored-deny"),
        failed(CAP, NOT_RECORDED),
    ),
    # -- damaged ledgers: crash artefacts, made by cutting a real ledger ------------------
    case(
        "torn-tail",
        "a crash artefact: the real ledger's last row cut mid-line (no newline, not JSON); "
        "hal0 skips it, vlab reports it as an advisory; every check still agrees",
        with_checks("day-boundary-percall", torn_tail("day-boundary-percall")),
        passed("LEDGER-TORN-TAIL"),
    ),
    case(
        "ledger-alone-torn-tail",
        "a crash artefact without a checks log: the torn row was the one above the per-call "
        "cap, so its charge is unknown; advisories only",
        ledger_alone("day-boundary-percall", torn_tail("day-boundary-percall")),
        passed(NOT_RECORDED, "LEDGER-TORN-TAIL"),
    ),
    case(
        "torn-then-appended",
        "a crash artefact followed by hal0's next append: half a row and the next row share "
        "line 3, which is not the final line, so it stays unparseable (FAIL)",
        with_checks("day-boundary-percall", torn_then_appended("day-boundary-percall", 3)),
        failed("LEDGER-UNPARSEABLE"),
    ),
    # -- budget keys hal0 would silently ignore --------------------------------------------
    case(
        "unknown-budget-key",
        "the real persona TOML hand-edited to add weekly_usd (hal0 ignores it; its "
        "save_persona never writes it): an error in the budget, named",
        with_checks("float-edge", budget_key("float-edge", "weekly_usd = 2.0")),
        failed("LEDGER-BUDGET-INVALID"),
    ),
    case(
        "vlab-key-in-hal0-budget",
        "the real persona TOML hand-edited to add per_call_usd (vlab's name, not hal0's: "
        "hal0 ignores it), imported as [persona.budget].per_call_usd: unknown, named",
        with_checks("float-edge", budget_key("float-edge", "per_call_usd = 0.05")),
        failed("LEDGER-BUDGET-INVALID"),
    ),
]
