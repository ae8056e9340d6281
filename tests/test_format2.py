"""Ruleset format 2: versioned domain checks, ``let`` bindings, declared codes, known root
names, rulesets added with ``--rulesets-dir`` / ``VLAB_RULESETS_PATH``, and lint.

Every load-time refusal names the file and the line of what it refuses (the style of
tests/test_ruleset_loader.py: edit a known-good file, load it, check message and line).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from conftest import run_vlab
from packs import EVENTS_PATH, good_pack
from vlab.core.errors import RulesetError
from vlab.core.findings import Detail, finding
from vlab.core.tokens import normalize_token
from vlab.domains import registry as domains
from vlab.engine.evaluation import Evaluator
from vlab.engine.pipeline import adjudicate
from vlab.ruleset.catalog import PATH_ENV, Catalog, default_root
from vlab.ruleset.loader import RULESET_FILE, lint_ruleset
from vlab.ruleset.model import Ruleset

ROOT = Path(__file__).resolve().parent.parent
RECEIPT = (
    ROOT / "evidence_packs/r12-d1-02/pass-settled/pack/artifacts/budget/settlement_receipt.json"
)
RECEIPT_PATH = "artifacts/budget/settlement_receipt.json"
ORG = "org-x"
LET_TEXT = "scenario.wanted_kind || 'budget'"
HOLDS_TEXT = "in_table('kinds', record.decision_kind) && record.decision_kind == wanted"

# A standalone format-2 ruleset using each part of the format once. Comments mark lines
# the tests look for.
BASE = """\
format: 2
id: org-x
version: 1.0.0
status: draft
purpose: a standalone format-2 ruleset for the tests
accepts:
  contract_versions: ["1.0", "1.1"]
  protocol_pins: ["1.0.0"]
schema_bundle:
  manifest:
    "1.0": schemas/manifest-1.0.schema.json
    "1.1": schemas/manifest-1.1.schema.json
  bundle_manifest: schemas/bundle.manifest.schema.json
  evidence_pointers: schemas/evidence_pointers.schema.json
  extra:
    receipt: schemas/budget-settlement-receipt-0.1.schema.json
tables:
  kinds: [budget, quota]
codes:  # the codes this ruleset declares
  X-ORG-KIND-WRONG: the decision is not of the wanted kind
clauses:
  - clause_id: CL-X-01
    requirement_id: RQ-X-01
    domain: X
    title: The budget decision is of the wanted kind
    let:  # bindings of CL-X-01
      wanted: "scenario.wanted_kind || 'budget'"
    evidence:
      locators: [event_id, line, jsonptr]
    checks:
      - code: X-ORG-KIND-WRONG
        holds: "in_table('kinds', record.decision_kind) && record.decision_kind == wanted"
        message: "decision_kind {record.decision_kind} is not {wanted}"
    metrics:
      wanted_kind: "wanted"
    codes:
      fail: REQ-FAIL-RQ-X-01
      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-01
  - clause_id: CL-X-02
    requirement_id: RQ-X-02
    domain: X
    title: The settlement receipt is honest
    evidence:
      locators: [file, jsonptr]
    report: all
    checks:
      - domain_check: budget_settlement@1
        args:  # arguments of budget_settlement@1
          receipt: "record"
          schema: receipt
        emits:  # codes of budget_settlement@1
          - RCPT-SCHEMA-INVALID
          - RCPT-ADMISSION-REF-MISSING
          - RCPT-ACTUALS-MISSING
          - RCPT-FAIL-CLOSED-REASON-MISSING
          - RCPT-NEGATIVE-COUNTER
          - RCPT-OVERRUN-HIDDEN
          - RCPT-OVERRUN-PHANTOM
          - RCPT-OVERRUN-UNKNOWN-UNJUSTIFIED
          - RCPT-OVERRUN-AMOUNT-WRONG
    codes:
      fail: REQ-FAIL-RQ-X-02
      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-02
"""

# Edits that make BASE a valid format-1 file (no let, no declared codes).
TO_FORMAT_1 = [
    ("format: 2", "format: 1"),
    (
        "codes:  # the codes this ruleset declares\n"
        "  X-ORG-KIND-WRONG: the decision is not of the wanted kind\n",
        "",
    ),
    ("    let:  # bindings of CL-X-01\n      wanted: \"scenario.wanted_kind || 'budget'\"\n", ""),
    ('    metrics:\n      wanted_kind: "wanted"\n', ""),
    ("X-ORG-KIND-WRONG", "VALUE-NOT-ALLOWED"),
    (" && record.decision_kind == wanted", ""),
    (" is not {wanted}", " is not a kind"),
]
# The domain-check clause, for the format-1 edits that must keep it out.
DOMAIN_CLAUSE = BASE[BASE.index("  - clause_id: CL-X-02") :]
TO_FORMAT_1_WITHOUT_DOMAIN_CHECK = [*TO_FORMAT_1, (DOMAIN_CLAUSE, "")]


def edited(edits: list[tuple[str, str]], text: str = BASE) -> str:
    for old, new in edits:
        assert old in text, old
        text = text.replace(old, new, 1)
    return text


def make_folder(root: Path, text: str = BASE, ruleset_id: str = ORG) -> Path:
    """``root/<id>/ruleset.yaml`` with the schemas BASE names; returns the yaml path."""
    folder = root / ruleset_id
    schemas = folder / "schemas"
    schemas.mkdir(parents=True, exist_ok=True)
    for schema in (default_root() / "ruleset-1.1" / "schemas").glob("*.json"):
        shutil.copy(schema, schemas / schema.name)
    shutil.copy(
        default_root() / "ruleset-1.2" / "schemas" / "budget-settlement-receipt-0.1.schema.json",
        schemas,
    )
    path = folder / RULESET_FILE
    path.write_text(text.replace("id: org-x", f"id: {ruleset_id}", 1), "utf-8")
    return path


def line_of(path: Path, needle: str) -> int:
    """The one line holding ``needle``."""
    hits = [n for n, line in enumerate(path.read_text("utf-8").splitlines(), 1) if needle in line]
    assert len(hits) == 1, (needle, hits)
    return hits[0]


def get(catalog: Catalog, ruleset_id: str = ORG) -> Ruleset:
    ruleset = catalog.get(ruleset_id)
    assert ruleset is not None, ruleset_id
    return ruleset


def load(root: Path, ruleset_id: str = ORG) -> Ruleset:
    return get(Catalog(extra_dirs=[root]), ruleset_id)


def test_the_base_ruleset_loads(tmp_path: Path) -> None:
    make_folder(tmp_path)
    rs = load(tmp_path)
    assert rs.format == 2
    assert rs.domain_checks() == ["budget_settlement@1"]
    assert rs.codes["X-ORG-KIND-WRONG"] == "the decision is not of the wanted kind"
    # Pattern codes exist for every requirement the ruleset declares.
    for rq in ("RQ-X-01", "RQ-X-02"):
        for prefix in ("REQ-FAIL-", "BUNDLE-POINTER-MISSING-", "EVAL-NOT-APPLICABLE-"):
            assert prefix + rq in rs.codes
    assert [name for name, _ in rs.clauses[0].lets] == ["wanted"]
    call = rs.clauses[1].checks[0].domain
    assert call is not None
    assert call.check_id == "budget_settlement@1"
    assert [(n, k) for n, k, _ in call.arguments] == [("receipt", "value"), ("schema", "schema")]


# -- every refusal names its file and line ---------------------------------------------

REFUSALS: list[tuple[str, list[tuple[str, str]], str, str]] = [
    # (id, edits of BASE, a string on the refused line, message)
    (
        "domain-check-in-format-1",
        TO_FORMAT_1,
        "domain_check: budget_settlement@1",
        "domain_check needs format: 2",
    ),
    (
        "unknown-check-version",
        [("budget_settlement@1", "budget_settlement@9")],
        "budget_settlement@9",
        "unknown domain check 'budget_settlement@9' (budget_settlement@1, budget_settlement@2",
    ),
    (
        "unknown-check-name",
        [("budget_settlement@1", "budget_audit@1")],
        "budget_audit@1",
        "unknown domain check 'budget_audit@1'",
    ),
    (
        "check-id-without-version",
        [("domain_check: budget_settlement@1", "domain_check: budget_settlement")],
        "domain_check: budget_settlement",
        "does not match",
    ),
    (
        "missing-argument",
        [("          schema: receipt\n", "")],
        "args:  # arguments of",
        "budget_settlement@1 takes receipt, schema; missing schema",
    ),
    (
        "unknown-argument",
        [
            (
                "          schema: receipt\n",
                "          schema: receipt\n          colour: \"'red'\"\n",
            )
        ],
        "args:  # arguments of",
        "budget_settlement@1 takes receipt, schema; unknown colour",
    ),
    (
        "misspelt-argument",
        [('          receipt: "record"\n', '          receipt_doc: "record"\n')],
        "args:  # arguments of",
        "missing receipt; unknown receipt_doc",
    ),
    (
        "no-arguments",
        [
            (
                "        args:  # arguments of budget_settlement@1\n"
                '          receipt: "record"\n'
                "          schema: receipt\n",
                "",
            )
        ],
        "domain_check: budget_settlement@1",
        "budget_settlement@1 takes receipt, schema; missing receipt, schema",
    ),
    (
        "emits-misses-a-code",
        [("          - RCPT-OVERRUN-AMOUNT-WRONG\n", "")],
        "emits:  # codes of",
        "emits differs from the codes budget_settlement@1 registers; "
        "missing RCPT-OVERRUN-AMOUNT-WRONG",
    ),
    (
        "emits-adds-a-code",
        [
            (
                "          - RCPT-OVERRUN-AMOUNT-WRONG\n",
                "          - RCPT-OVERRUN-AMOUNT-WRONG\n          - RCPT-SETTLED-AFTER-DENY\n",
            )
        ],
        "emits:  # codes of",
        "not emitted by it RCPT-SETTLED-AFTER-DENY",
    ),
    (
        "emits-adds-an-org-code",
        [
            (
                "          - RCPT-OVERRUN-AMOUNT-WRONG\n",
                "          - RCPT-OVERRUN-AMOUNT-WRONG\n          - X-ORG-KIND-WRONG\n",
            )
        ],
        "emits:  # codes of",
        "not emitted by it X-ORG-KIND-WRONG",
    ),
    (
        "emits-missing",
        [
            (
                BASE[
                    BASE.index("        emits:") : BASE.index(
                        "    codes:\n      fail: REQ-FAIL-RQ-X-02"
                    )
                ],
                "",
            )
        ],
        "domain_check: budget_settlement@1",
        "is not valid under any of the given schemas",
    ),
    (
        "unknown-schema-argument",
        [("          schema: receipt\n", "          schema: reciept\n")],
        "schema: reciept",
        "budget_settlement@1 argument schema: unknown schema 'reciept'",
    ),
    (
        "table-name-as-schema-argument",
        [("          schema: receipt\n", "          schema: kinds\n")],
        "schema: kinds",
        "unknown schema 'kinds'",
    ),
    (
        "value-argument-unknown-name",
        [('          receipt: "record"\n', '          receipt: "recrod"\n')],
        'receipt: "recrod"',
        "unknown name 'recrod' in 'recrod'",
    ),
    (
        "value-argument-does-not-compile",
        [('          receipt: "record"\n', '          receipt: "record.["\n')],
        'receipt: "record.["',
        "does not compile",
    ),
    *[
        (
            f"let-shadows-{name}",
            [('      wanted: "scenario', f'      {name}: "scenario')],
            f'{name}: "scenario.wanted_kind',
            f"let {name!r} shadows a context name",
        )
        for name in ("scenario", "pack", "record", "pointer")
    ],
    (
        "let-in-format-1",
        [TO_FORMAT_1[0], TO_FORMAT_1[1], TO_FORMAT_1[4], (DOMAIN_CLAUSE, "")],
        "let:  # bindings of CL-X-01",
        "let needs format: 2",
    ),
    (
        "declared-codes-in-format-1",
        [
            TO_FORMAT_1[0],
            *TO_FORMAT_1[2:4],
            (" && record.decision_kind == wanted", ""),
            (" is not {wanted}", ""),
            (DOMAIN_CLAUSE, ""),
        ],
        "codes:  # the codes this ruleset declares",
        "declared codes need format: 2",
    ),
    (
        # lets run in name order (decision 172): 'wanted' cannot read 'zfallback'
        "let-reads-a-later-let",
        [
            (
                "      wanted: \"scenario.wanted_kind || 'budget'\"\n",
                '      zfallback: "\'budget\'"\n      wanted: "zfallback"\n',
            )
        ],
        'wanted: "zfallback"',
        "unknown name 'zfallback'",
    ),
    (
        "let-reads-record",
        [("scenario.wanted_kind ||", "record.wanted_kind ||")],
        "record.wanted_kind ||",
        "unknown name 'record' in \"record.wanted_kind || 'budget'\" (known: pack, scenario)",
    ),
    (
        "unknown-root-in-let",
        [("scenario.wanted_kind ||", "senario.wanted_kind ||")],
        "senario.wanted_kind",
        "unknown name 'senario'",
    ),
    (
        "unknown-root-in-holds",
        [("record.decision_kind == wanted", "normalize(record.decision_kind) == wantd")],
        "== wantd",
        "unknown name 'wantd' in",
    ),
    (
        "unknown-root-in-message",
        [(" is not {wanted}", " is not {wantd}")],
        "is not {wantd}",
        "unknown name 'wantd' in 'wantd'",
    ),
    (
        "unknown-root-in-metric",
        [('      wanted_kind: "wanted"', '      wanted_kind: "wanted_kind"')],
        'wanted_kind: "wanted_kind"',
        "unknown name 'wanted_kind'",
    ),
    (
        "bare-field-in-holds",
        [("in_table('kinds', record.decision_kind)", "in_table('kinds', decision_kind)")],
        "in_table('kinds', decision_kind)",
        "unknown name 'decision_kind' in",
    ),
    (
        "let-not-visible-to-applies-when",
        [
            (
                "    title: The budget decision is of the wanted kind\n",
                "    title: The budget decision is of the wanted kind\n"
                "    applies_when: \"wanted != 'none'\"\n",
            ),
            (
                "      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-01\n",
                "      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-01\n"
                "      not_applicable: EVAL-NOT-APPLICABLE-RQ-X-01\n",
            ),
        ],
        "applies_when: \"wanted != 'none'\"",
        "unknown name 'wanted' in \"wanted != 'none'\" (known: pack, scenario)",
    ),
    (
        "declared-code-outside-the-namespace",
        [
            (
                "  X-ORG-KIND-WRONG: the decision",
                "  ORG-KIND-ODD: odd\n  X-ORG-KIND-WRONG: the decision",
            )
        ],
        "ORG-KIND-ODD: odd",
        "declared code ORG-KIND-ODD must be X-<ORG>-... "
        "or end with one of this ruleset's requirement ids",
    ),
    (
        "declared-code-org-without-name",
        [("  X-ORG-KIND-WRONG: the decision", "  X-ORG: bare\n  X-ORG-KIND-WRONG: the decision")],
        "X-ORG: bare",
        "declared code X-ORG must be X-<ORG>-...",
    ),
    (
        "declared-code-of-another-rulesets-requirement",
        [
            (
                "  X-ORG-KIND-WRONG: the decision",
                "  KIND-ODD-RQ-D1-01: odd\n  X-ORG-KIND-WRONG: the decision",
            )
        ],
        "KIND-ODD-RQ-D1-01: odd",
        "declared code KIND-ODD-RQ-D1-01 must be",
    ),
    (
        "redeclared-engine-detail-code",
        [
            (
                "  X-ORG-KIND-WRONG: the decision",
                "  FIELD-MISSING: mine now\n  X-ORG-KIND-WRONG: the decision",
            )
        ],
        "FIELD-MISSING: mine now",
        "FIELD-MISSING is an engine code: do not redeclare",
    ),
    (
        "redeclared-engine-reason-code",
        [
            (
                "  X-ORG-KIND-WRONG: the decision",
                "  ADM-GATE-PIN-FAIL: mine now\n  X-ORG-KIND-WRONG: the decision",
            )
        ],
        "ADM-GATE-PIN-FAIL: mine now",
        "ADM-GATE-PIN-FAIL is an engine code: do not redeclare",
    ),
    (
        "undeclared-code-in-a-check",
        [("      - code: X-ORG-KIND-WRONG", "      - code: X-ORG-KIND-ODD")],
        "code: X-ORG-KIND-ODD",
        "code 'X-ORG-KIND-ODD' is not in the reason-code registry",
    ),
    (
        "pattern-code-of-an-undeclared-requirement",
        [("      fail: REQ-FAIL-RQ-X-02", "      fail: REQ-FAIL-RQ-Y-09")],
        "REQ-FAIL-RQ-Y-09",
        "code 'REQ-FAIL-RQ-Y-09' is not in the reason-code registry",
    ),
]


@pytest.mark.parametrize(
    ("edits", "needle", "message"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS]
)
def test_a_refusal_names_file_and_line(
    tmp_path: Path, edits: list[tuple[str, str]], needle: str, message: str
) -> None:
    path = make_folder(tmp_path, edited(edits))
    with pytest.raises(RulesetError) as err:
        load(tmp_path)
    assert message in err.value.message
    assert err.value.path == str(path)
    assert err.value.line == line_of(path, needle)


ACCEPTED: list[tuple[str, list[tuple[str, str]]]] = [
    ("format-1-without-let-codes-or-domain-check", TO_FORMAT_1_WITHOUT_DOMAIN_CHECK),
    (
        "code-ending-with-own-requirement",
        [
            (
                "  X-ORG-KIND-WRONG: the decision",
                "  KIND-ODD-RQ-X-01: odd\n  X-ORG-KIND-WRONG: the decision",
            ),
            ("      - code: X-ORG-KIND-WRONG", "      - code: KIND-ODD-RQ-X-01"),
        ],
    ),
    (
        "own-not-applicable-pattern-code",
        [
            (
                "    title: The settlement receipt is honest\n",
                "    title: The settlement receipt is honest\n"
                '    applies_when: "scenario.settles != `false`"\n',
            ),
            (
                "      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-02\n",
                "      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-02\n"
                "      not_applicable: EVAL-NOT-APPLICABLE-RQ-X-02\n",
            ),
        ],
    ),
    (
        "let-reads-an-earlier-let",
        [
            (
                "      wanted: \"scenario.wanted_kind || 'budget'\"\n",
                '      fallback: "\'budget\'"\n      wanted: "scenario.wanted_kind || fallback"\n',
            )
        ],
    ),
    (
        "let-in-a-domain-check-argument",
        [
            ("    report: all\n", '    report: all\n    let:\n      fallback: "`null`"\n'),
            ('          receipt: "record"\n', '          receipt: "record || fallback"\n'),
        ],
    ),
]


@pytest.mark.parametrize("edits", [a[1] for a in ACCEPTED], ids=[a[0] for a in ACCEPTED])
def test_variants_that_load(tmp_path: Path, edits: list[tuple[str, str]]) -> None:
    make_folder(tmp_path, edited(edits))
    assert load(tmp_path).id == ORG


# -- table-kind arguments (no registered check takes one yet: a test check does) ---------


def _kind_check(calls: list[Any]) -> domains.DomainCheck:
    def run(view: Any, *, value: Any, kinds: frozenset[str]) -> list[Detail]:
        calls.append((value, kinds))
        if isinstance(value, str) and normalize_token(value) in kinds:
            return []
        return [finding("VALUE-NOT-ALLOWED", f"{value!r} is not a kind")]

    return domains.DomainCheck(
        name="org_kind",
        version=1,
        summary="test check with a table argument",
        arguments=(domains.Argument("value"), domains.Argument("kinds", "table")),
        codes=("VALUE-NOT-ALLOWED",),
        run=run,
    )


KIND_CHECK_CLAUSE = """\
  - clause_id: CL-X-03
    requirement_id: RQ-X-03
    domain: X
    title: Test check with a table argument
    evidence:
      locators: [event_id]
    checks:
      - domain_check: org_kind@1
        args:
          value: "record.decision_kind"
          kinds: kinds  # the table argument
        emits: [VALUE-NOT-ALLOWED]
    codes:
      fail: REQ-FAIL-RQ-X-03
      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-03
"""


@pytest.fixture
def kind_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    check = _kind_check(calls)
    registered = dict(domains.checks())
    monkeypatch.setattr(domains, "checks", lambda: {**registered, check.id: check})
    return calls


def test_a_table_argument_receives_the_ruleset_table(tmp_path: Path, kind_calls: list[Any]) -> None:
    rulesets = tmp_path / "rulesets"
    make_folder(rulesets, BASE + KIND_CHECK_CLAUSE)
    catalog = Catalog(extra_dirs=[rulesets])
    pack = org_pack(tmp_path, get(catalog).schema_bundle_sha256, extra=[("RQ-X-03", "evt-b1")])
    ruling = adjudicate(pack, catalog)
    by_id = {c.clause_id: c for c in ruling.clauses}
    assert by_id["CL-X-03"].status == "PASS"
    assert kind_calls == [("budget", frozenset({"budget", "quota"}))]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("kinds: kinds  #", "kinds: kindz  #", "org_kind@1 argument kinds: unknown table 'kindz'"),
        (
            "kinds: kinds  #",
            "kinds: receipt  #",
            "org_kind@1 argument kinds: unknown table 'receipt'",
        ),
    ],
)
def test_an_unknown_table_argument_is_refused(
    tmp_path: Path, kind_calls: list[Any], old: str, new: str, message: str
) -> None:
    path = make_folder(tmp_path, BASE + KIND_CHECK_CLAUSE.replace(old, new))
    with pytest.raises(RulesetError) as err:
        load(tmp_path)
    assert message in err.value.message
    assert err.value.line == line_of(path, new)


# -- lint: every problem of a file in one run ------------------------------------------


def vlab(*args: Any, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m vlab ARGS`` (the shared runner, conftest.py)."""
    return run_vlab(*args, env=env, text=True)


def test_lint_reports_every_problem_of_a_file_in_one_run(tmp_path: Path) -> None:
    path = make_folder(
        tmp_path,
        edited(
            [
                (
                    "  X-ORG-KIND-WRONG: the decision",
                    "  ORG-KIND-ODD: odd\n  X-ORG-KIND-WRONG: the decision",
                ),
                (
                    '      wanted: "scenario',
                    '      pointer: "pack.run_id"\n      wanted: "scenario',
                ),
                (" is not {wanted}", " is not {wantd}"),
                ("budget_settlement@1", "budget_settlement@9"),
            ]
        ),
    )
    proc = vlab("rulesets", "lint", path)
    assert proc.returncode == 1
    errors = [line for line in proc.stdout.splitlines() if line.startswith("error: ")]
    expected = {
        line_of(path, "ORG-KIND-ODD: odd"): "must be X-<ORG>-",
        line_of(path, 'pointer: "pack.run_id"'): "let 'pointer' shadows a context name",
        line_of(path, "is not {wantd}"): "unknown name 'wantd'",
        line_of(path, "budget_settlement@9"): "unknown domain check 'budget_settlement@9'",
    }
    for line, message in expected.items():
        assert any(e.startswith(f"error: {path}:{line}: ") and message in e for e in errors), (
            line,
            message,
            errors,
        )
    distinct = {e[len(f"error: {path}:") :].split(":", 1)[0] for e in errors}
    assert len(distinct) >= 3
    assert proc.stdout.splitlines()[-1].startswith(f"{len(errors)} error(s)")


def test_lint_with_vectors_warns_about_uncovered_clauses_and_codes(tmp_path: Path) -> None:
    path = make_folder(tmp_path / "rulesets")
    vector = tmp_path / "vectors" / "one"
    (vector / "pack").mkdir(parents=True)
    (vector / "expected.json").write_text(
        json.dumps(
            {
                "description": "CL-X-01 passes",
                "ruleset": ORG,
                "topline": "PASS",
                "admission": {"status": "ADMISSIBLE", "reason_code": None},
                "clauses": {
                    "CL-X-01": {
                        "status": "PASS",
                        "reason_code": None,
                        "detail_codes": [],
                        "evidence_locators": ["event_id:evt-b1"],
                    }
                },
            }
        ),
        "utf-8",
    )
    proc = vlab(
        "rulesets",
        "lint",
        path,
        "--rulesets-dir",
        tmp_path / "rulesets",
        "--vectors",
        tmp_path / "vectors",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    text = proc.stdout
    assert "0 error(s)" in text
    assert f"{path}: CL-X-01: no golden vector expects FAIL" in text
    assert "CL-X-01: no golden vector expects PASS" not in text
    assert f"{path}: CL-X-02: no golden vector covers this clause" in text
    assert f"{path}: CL-X-01: no golden vector shows X-ORG-KIND-WRONG" in text
    assert f"{path}: CL-X-02: no golden vector shows RCPT-OVERRUN-HIDDEN" in text


# -- let: evaluated once per clause ----------------------------------------------------


def org_pack(
    tmp_path: Path,
    bundle_sha256: str,
    *,
    scenario: dict[str, Any] | None = None,
    extra: list[tuple[str, str]] | None = None,
) -> Path:
    """A sealed pack pinning org-x: three budget decisions for RQ-X-01, a settlement
    receipt for RQ-X-02."""
    events = [
        {
            "event_id": f"evt-b{i}",
            "event_type": "decision",
            "timestamp": f"2026-05-29T10:00:0{i}Z",
            "decision_id": f"dec-{i}",
            "decision_kind": "budget",
            "decision_outcome": "allow",
        }
        for i in (1, 2, 3)
    ]
    pointers = [
        {
            "requirement_id": rq,
            "artifact_path": EVENTS_PATH,
            "locator": f"event_id:{e}",
            "status": "PRESENT",
        }
        for rq, e in [
            ("RQ-X-01", "evt-b1"),
            ("RQ-X-01", "evt-b2"),
            ("RQ-X-01", "evt-b3"),
            *(extra or []),
        ]
    ]
    pointers.append(
        {
            "requirement_id": "RQ-X-02",
            "artifact_path": RECEIPT_PATH,
            "locator": "file:",
            "status": "PRESENT",
        }
    )
    return good_pack(
        tmp_path,
        name="org-pack",
        events=events,
        pointers=pointers,
        extra_files={RECEIPT_PATH: RECEIPT.read_bytes()},
        ruleset_ref=ORG,
        schema_bundle_sha256=bundle_sha256,
        scenario_meta=scenario,
    )


@pytest.fixture
def org(tmp_path: Path) -> tuple[Catalog, Path]:
    rulesets = tmp_path / "rulesets"
    make_folder(rulesets)
    return Catalog(extra_dirs=[rulesets]), rulesets


def _count_searches(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    counts: Counter[str] = Counter()
    search = Evaluator._search

    def counting(self: Evaluator, compiled: Any, context: dict[str, Any], clause: Any) -> Any:
        counts[compiled.expression] += 1
        return search(self, compiled, context, clause)

    monkeypatch.setattr(Evaluator, "_search", counting)
    return counts


def test_a_let_is_evaluated_once_per_clause(
    tmp_path: Path, org: tuple[Catalog, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, _ = org
    pack = org_pack(tmp_path, get(catalog).schema_bundle_sha256)
    counts = _count_searches(monkeypatch)
    ruling = adjudicate(pack, catalog)
    by_id = {c.clause_id: c for c in ruling.clauses}
    assert by_id["CL-X-01"].status == "PASS"
    assert len(by_id["CL-X-01"].evidence_refs) == 3
    assert counts[HOLDS_TEXT] == 3  # the check ran once per pointer ...
    assert counts[LET_TEXT] == 1  # ... the binding once for the clause
    assert by_id["CL-X-01"].metrics == {"wanted_kind": "budget"}


def test_checks_and_messages_read_the_let_value(
    tmp_path: Path, org: tuple[Catalog, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog, _ = org
    pack = org_pack(tmp_path, get(catalog).schema_bundle_sha256, scenario={"wanted_kind": "quota"})
    counts = _count_searches(monkeypatch)
    ruling = adjudicate(pack, catalog)
    clause = {c.clause_id: c for c in ruling.clauses}["CL-X-01"]
    assert clause.status == "FAIL" and clause.reason_code == "REQ-FAIL-RQ-X-01"
    assert [d.code for d in clause.details] == ["X-ORG-KIND-WRONG"] * 3
    assert all(d.message == "decision_kind 'budget' is not 'quota'" for d in clause.details)
    assert clause.metrics == {"wanted_kind": None}
    assert counts[LET_TEXT] == 1


# -- --rulesets-dir and VLAB_RULESETS_PATH ---------------------------------------------


@pytest.fixture
def shadowing(tmp_path: Path) -> Path:
    """A folder whose ruleset-1.1 shadows the shipped one."""
    folder = tmp_path / "shadow"
    shutil.copytree(default_root() / "ruleset-1.1", folder / "ruleset-1.1")
    return folder


STARTER = ROOT / "evidence_packs" / "starter"
COMMANDS: list[tuple[str, list[Any]]] = [
    ("adjudicate", ["adjudicate", STARTER / "arb-d1-budget-pass-fixture" / "pack"]),
    ("validate", ["validate", STARTER / "arb-d1-budget-pass-fixture" / "pack"]),
    ("regress", ["regress", STARTER]),
    ("diff", ["diff", "--from", "ruleset-1.1", "--to", "ruleset-1.2", STARTER]),
    ("rulesets-list", ["rulesets", "list"]),
    ("rulesets-show", ["rulesets", "show", "ruleset-1.2"]),
    ("rulesets-lint", ["rulesets", "lint", default_root() / "ruleset-1.2"]),
    ("receipt-check", ["receipt", "check", RECEIPT]),
]


@pytest.mark.parametrize("args", [c[1] for c in COMMANDS], ids=[c[0] for c in COMMANDS])
def test_a_rulesets_dir_shadowing_a_shipped_id_is_a_usage_error(
    shadowing: Path, args: list[Any]
) -> None:
    assert vlab(*args).returncode in (0, 1)  # the command works without the folder
    proc = vlab(*args, "--rulesets-dir", shadowing)
    assert proc.returncode == 64, proc.stdout + proc.stderr
    assert "ruleset id 'ruleset-1.1' shadows a shipped ruleset" in proc.stderr


def test_vlab_rulesets_path_shadowing_a_shipped_id_is_a_usage_error(shadowing: Path) -> None:
    proc = vlab("rulesets", "list", env={PATH_ENV: str(shadowing)})
    assert proc.returncode == 64
    assert "shadows a shipped ruleset" in proc.stderr


def test_a_ruleset_folder_given_directly_may_not_shadow_either(shadowing: Path) -> None:
    proc = vlab("rulesets", "list", "--rulesets-dir", shadowing / "ruleset-1.1")
    assert proc.returncode == 64
    assert "shadows a shipped ruleset" in proc.stderr


def test_an_id_in_two_folders_is_a_usage_error(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_folder(a)
    make_folder(b)
    for args, env in [
        (["--rulesets-dir", a, "--rulesets-dir", b], None),
        (["--rulesets-dir", b], {PATH_ENV: str(a)}),
        ([], {PATH_ENV: os.pathsep.join([str(a), str(b)])}),
        (["--rulesets-dir", a, "--rulesets-dir", a / ORG], None),
    ]:
        proc = vlab("rulesets", "list", *args, env=env)
        assert proc.returncode == 64, (args, env, proc.stdout)
        assert f"ruleset id {ORG!r} is also in" in proc.stderr


def test_a_missing_rulesets_dir_is_a_usage_error(tmp_path: Path) -> None:
    proc = vlab("rulesets", "list", "--rulesets-dir", tmp_path / "nowhere")
    assert proc.returncode == 64
    assert "rulesets folder not found" in proc.stderr


def test_added_folders_add_their_rulesets(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    make_folder(a)
    make_folder(b, ruleset_id="org-y")
    shipped = json.loads(vlab("rulesets", "list", "--format", "json").stdout)
    for args, env in [
        (["--rulesets-dir", a, "--rulesets-dir", b], None),
        (["--rulesets-dir", a / ORG, "--rulesets-dir", b / "org-y"], None),  # ruleset folders
        ([], {PATH_ENV: os.pathsep.join([str(a), str(b)])}),
        (["--rulesets-dir", b], {PATH_ENV: str(a)}),
    ]:
        proc = vlab("rulesets", "list", "--format", "json", *args, env=env)
        assert proc.returncode == 0, proc.stderr
        ids = [row["id"] for row in json.loads(proc.stdout)]
        assert ids == sorted([*(row["id"] for row in shipped), ORG, "org-y"])


def test_a_pack_pinning_an_added_ruleset_is_adjudicated(tmp_path: Path) -> None:
    rulesets = tmp_path / "rulesets"
    make_folder(rulesets)
    show = vlab("rulesets", "show", ORG, "--rulesets-dir", rulesets, "--format", "json")
    assert show.returncode == 0, show.stderr
    pin = json.loads(show.stdout)["schema_bundle_sha256"]
    pack = org_pack(tmp_path, pin)
    for args, env in [(["--rulesets-dir", rulesets], None), ([], {PATH_ENV: str(rulesets)})]:
        proc = vlab("adjudicate", pack, "--format", "json", *args, env=env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        ruling = json.loads(proc.stdout)
        assert ruling["topline"] == "PASS"
        assert ruling["ruleset"]["id"] == ORG
        statuses = {c["clause_id"]: c["status"] for c in ruling["clauses"]}
        assert statuses == {"CL-X-01": "PASS", "CL-X-02": "PASS"}
    # Without the folder the pin names an unknown ruleset.
    proc = vlab("adjudicate", pack, "--format", "json")
    assert proc.returncode == 2
    gates = json.loads(proc.stdout)["admission"]["gates"]
    assert "PIN-UNKNOWN-RULESET" in {d["code"] for g in gates for d in g["details"]}


# -- inherited clauses, clause_changes, ruleset codes in review ---------------------------


@pytest.mark.parametrize("parent", ["ruleset-1.1", "ruleset-1.2"])
def test_a_format_2_child_of_a_released_ruleset_loads_unchanged(
    tmp_path: Path, parent: str
) -> None:
    folder = tmp_path / "org-child"
    folder.mkdir()
    (folder / RULESET_FILE).write_text(
        f"format: 2\nid: org-child\nversion: 1.0.0\nstatus: draft\npurpose: p\nextends: {parent}\n",
        "utf-8",
    )
    catalog = Catalog(extra_dirs=[tmp_path])
    child, base = get(catalog, "org-child"), get(catalog, parent)
    assert [c.clause_id for c in child.clauses] == [c.clause_id for c in base.clauses]


def test_a_let_in_clause_changes_needs_format_2(tmp_path: Path) -> None:
    folder = tmp_path / "org-child"
    folder.mkdir()
    path = folder / RULESET_FILE
    path.write_text(
        "format: 1\nid: org-child\nversion: 1.0.0\nstatus: draft\npurpose: p\n"
        "extends: ruleset-1.1\nclause_changes:\n  - clause_id: CL-D1-01\n"
        '    let:\n      kind: "scenario.kind"\n',
        "utf-8",
    )
    with pytest.raises(RulesetError) as err:
        Catalog(extra_dirs=[tmp_path]).get("org-child")
    assert "let needs format: 2" in err.value.message
    assert err.value.line == line_of(path, "let:")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('    let:\n      record: "scenario.kind"\n', "let 'record' shadows a context name"),
        (
            "    add_checks:\n      - code: FIELD-MISSING\n"
            '        holds: "present(recrod.x)"\n        message: "x is missing"\n',
            "unknown name 'recrod'",
        ),
    ],
    ids=["let-shadows", "added-check-unknown-name"],
)
def test_an_error_in_a_clause_change_points_into_that_change(
    tmp_path: Path, change: str, message: str
) -> None:
    folder = tmp_path / "org-child"
    folder.mkdir()
    path = folder / RULESET_FILE
    own = (
        "  - clause_id: CL-X-01\n    requirement_id: RQ-X-01\n    domain: X\n    title: t\n"
        "    evidence:\n      locators: [event_id]\n    checks:\n      - code: FIELD-MISSING\n"
        '        holds: "present(record.x)"\n        message: "x is missing"\n'
        "    codes:\n      fail: REQ-FAIL-RQ-X-01\n"
        "      pointer_missing: BUNDLE-POINTER-MISSING-RQ-X-01\n"
    )
    path.write_text(
        "format: 2\nid: org-child\nversion: 1.0.0\nstatus: draft\npurpose: p\n"
        "extends: ruleset-1.1\nclause_changes:\n  - clause_id: CL-D1-01  # the change\n"
        f"{change}clauses:\n{own}",
        "utf-8",
    )
    errors = lint_ruleset(path, Catalog(extra_dirs=[tmp_path]).parent_document)
    mine = [e for e in errors if message in e.message]
    assert len(mine) == 1, [str(e) for e in errors]
    first = line_of(path, "clause_id: CL-D1-01  # the change")
    last = line_of(path, "clauses:") - 1
    assert first <= (mine[0].line or 0) <= last, str(mine[0])


# -- pointers: first ---------------------------------------------------------------------


FIRST = [
    ("    let:  # bindings of CL-X-01\n", "    pointers: first\n    let:  # bindings of CL-X-01\n")
]
BUDGET_EVENT = {"event_id": "evt-b", "event_type": "decision", "decision_kind": "budget"}
QUOTA_EVENT = {"event_id": "evt-q", "event_type": "decision", "decision_kind": "quota"}


def _x01(tmp_path: Path, catalog: Catalog, order: list[str]) -> Any:
    """CL-X-01 of a pack whose RQ-X-01 pointers name these event ids, in this order."""
    pointers = [
        {
            "requirement_id": "RQ-X-01",
            "artifact_path": EVENTS_PATH,
            "locator": f"event_id:{e}",
            "status": "PRESENT",
        }
        for e in order
    ]
    pack = good_pack(
        tmp_path / "-".join(order),
        events=[BUDGET_EVENT, QUOTA_EVENT],
        pointers=pointers,
        ruleset_ref=ORG,
        schema_bundle_sha256=get(catalog).schema_bundle_sha256,
    )
    return {c.clause_id: c for c in adjudicate(pack, catalog).clauses}["CL-X-01"]


@pytest.mark.parametrize(
    ("order", "status", "codes"),
    [
        # the first pointer that resolves is the one judged; an unresolvable one before it
        # is passed over, and the ones after it are not read
        (["nope", "evt-q", "evt-b"], "FAIL", ["X-ORG-KIND-WRONG"]),
        (["nope", "evt-b", "evt-q"], "PASS", []),
        # none resolves: the clause fails with every pointer's reason
        (["nope", "gone"], "FAIL", ["POINTER-UNRESOLVABLE", "POINTER-UNRESOLVABLE"]),
    ],
)
def test_pointers_first_judges_the_first_pointer_that_resolves(
    order: list[str], status: str, codes: list[str], tmp_path: Path
) -> None:
    """Format 2 ``pointers: first``: what a system whose rules read "the first evidence
    found" means (MPLP's getFirstSemanticFields); ``any`` would PASS the first case."""
    rulesets = tmp_path / "rulesets"
    make_folder(rulesets, edited(FIRST))
    catalog = Catalog(extra_dirs=[rulesets])
    assert get(catalog).clauses[0].first_pointer
    clause = _x01(tmp_path, catalog, order)
    assert (clause.status, [d.code for d in clause.details]) == (status, codes)
    if status == "PASS":
        assert [r.locator for r in clause.evidence_refs] == ["event_id:evt-b"]
    any_catalog = Catalog(extra_dirs=[make_folder(tmp_path / "any").parent.parent])
    assert _x01(tmp_path / "any-pack", any_catalog, order).status == (
        "FAIL" if codes and codes[0] == "POINTER-UNRESOLVABLE" else "PASS"
    )


def test_a_file_pointer_into_a_native_ndjson_file_is_unresolvable_never_a_crash(
    tmp_path: Path, org: tuple[Catalog, Path]
) -> None:
    """``file:`` into an NDJSON file admission never indexed (native/ is its importer's):
    POINTER-UNRESOLVABLE, not a KeyError (tests/test_admission_gates.py: event_id, line)."""
    catalog, _ = org
    pack = org_pack(tmp_path, get(catalog).schema_bundle_sha256)
    doc = json.loads((pack / "evidence_pointers.json").read_text("utf-8"))
    for p in doc["pointers"]:
        if p["requirement_id"] == "RQ-X-02":
            p["artifact_path"] = "native/tool/events.ndjson"
    (pack / "evidence_pointers.json").write_text(json.dumps(doc), "utf-8")
    (pack / "native" / "tool").mkdir(parents=True)
    (pack / "native" / "tool" / "events.ndjson").write_bytes(b'{"event_id": "e"}\n')
    from vlab.pack.seal import seal

    seal(pack)
    clause = {c.clause_id: c for c in adjudicate(pack, catalog).clauses}["CL-X-02"]
    assert clause.status == "FAIL"
    assert [d.code for d in clause.details] == ["POINTER-UNRESOLVABLE"]
