"""Codes that explain themselves: ``vlab.tools.explain``, the meanings and hints of the
human renderings (table, Markdown, JUnit), and the POINTER-REQUIREMENT-UNKNOWN advisory."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from packs import POINTERS, good_pack

if TYPE_CHECKING:
    from vlab.engine.ruling import Ruling
    from vlab.ruleset.catalog import Catalog

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"
ACME = ROOT / "examples" / "acme-rulesets"
# Registered codes no committed vector shows yet (not uncoverable: nobody wrote one). A
# vector for one makes this test fail: take the code out of here.
NO_VECTOR_YET = {"BUNDLE-POINTER-MISSING-RQ-D1-04"}


def explain(code: str, catalog: Catalog) -> str:
    from vlab.tools.explain import explain as run

    return run(code, catalog=catalog, corpus=VECTORS)


def example_vector(text: str, label: str) -> str:
    """The vector id an explanation names after ``label``."""
    match = re.search(rf"^{label}: evidence_packs/(\S+)$", text, re.MULTILINE)
    assert match, text
    return match.group(1)


def expected(vector_id: str) -> dict[str, Any]:
    doc = json.loads((VECTORS / vector_id / "expected.json").read_text("utf-8"))
    assert isinstance(doc, dict)
    return doc


# -- explain ------------------------------------------------------------------------------


def test_explain_a_detail_code(catalog: Catalog) -> None:
    text = explain("FIELD-MISSING", catalog)
    lines = text.splitlines()
    assert lines[0] == "FIELD-MISSING"
    assert (
        lines[1] == "  detail code: a required field of the pointed record is absent, null or blank"
    )
    # which clauses of which installed rulesets emit it, with the check's own message
    assert (
        "  ruleset-1.1 1.1.0 CL-D1-01 (A budget decision record exists): checks "
        '"decision_kind is missing", "decision_outcome is missing"' in lines
    )
    assert any(
        line.startswith("  ruleset-1.2 1.2.0 CL-D1-01 ") and '"timestamp is missing"' in line
        for line in lines
    )
    # the triggering vector's expectation shows the code; the other passes the same clause
    trigger = expected(example_vector(text, "evidence that triggers it"))
    clauses = [cid for cid, c in trigger["clauses"].items() if "FIELD-MISSING" in c["detail_codes"]]
    assert clauses
    passing = expected(example_vector(text, "evidence that does not"))
    assert passing["ruleset"] == trigger["ruleset"]
    assert passing["clauses"][clauses[0]]["status"] == "PASS"
    # the example shows the pointer and the record it points at
    assert re.search(r'^  pointer \{"requirement_id":"RQ-D1-01"', text, re.MULTILINE)
    assert re.search(r"^    -> \{", text, re.MULTILINE)
    assert explain("field-missing", catalog) == text  # any case, same answer every time


def test_explain_a_pattern_code(catalog: Catalog) -> None:
    text = explain("BUNDLE-POINTER-MISSING-RQ-D1-02", catalog)
    assert "  reason code: no PRESENT pointer for RQ-D1-02" in text
    assert (
        "  pattern BUNDLE-POINTER-MISSING-<RQ>: the clause of RQ-D1-02 found no PRESENT "
        "pointer for RQ-D1-02 in evidence_pointers.json" in text
    )
    emitted = [line for line in text.splitlines() if line.startswith("  ruleset-")]
    assert [line.split(" (")[0] for line in emitted] == [
        "  ruleset-1.2 1.2.0 CL-D1-02",
        "  ruleset-1.3 1.3.0 CL-D1-02",
    ]
    assert "locator file: or jsonptr:" in emitted[0]  # what the clause needs, from the ruleset
    assert "settlement_receipt.json" in emitted[0]
    assert "no pointer for RQ-D1-02 in evidence_pointers.json" in text  # the trigger
    assert '  pointer {"requirement_id":"RQ-D1-02"' in text  # the one that passes


def test_explain_the_pattern_itself(catalog: Catalog) -> None:
    text = explain("REQ-FAIL-<RQ>", catalog)
    assert text == explain("req-fail", catalog)
    assert text.startswith("REQ-FAIL-<RQ>\n  pattern: ")
    for rq in ("RQ-D1-01", "RQ-D1-02", "RQ-D5-01"):
        assert f"  REQ-FAIL-{rq}  ruleset-1.2 " in text


@pytest.mark.parametrize(
    ("given", "suggested"),
    [
        ("FIELD-MISING", "FIELD-MISSING"),
        ("BUNDLE-POINTER-MISSING-RQ-D1-2", "BUNDLE-POINTER-MISSING-RQ-D1-02"),
        ("ADM-GATE-PINS-FAIL", "ADM-GATE-PIN-FAIL"),
    ],
)
def test_explain_an_unknown_code_suggests_the_closest(
    catalog: Catalog, given: str, suggested: str
) -> None:
    from vlab.core.errors import UsageError

    with pytest.raises(UsageError) as err:
        explain(given, catalog)
    assert str(err.value).endswith(f"; did you mean {suggested}?")
    assert "declared by no installed ruleset" in str(err.value)


def test_an_unknown_requirement_in_a_pattern_code_is_named(catalog: Catalog) -> None:
    from vlab.core.errors import UsageError

    with pytest.raises(UsageError, match=r"no installed ruleset has requirement RQ-D9-99"):
        explain("REQ-FAIL-RQ-D9-99", catalog)


def test_explain_without_a_code_is_a_usage_error(catalog: Catalog) -> None:
    from vlab.core.errors import UsageError

    with pytest.raises(UsageError, match="explain takes a code"):
        explain("  ", catalog)


def test_codes_a_ruleset_declares_are_explained(tmp_path: Path) -> None:
    from vlab.ruleset.catalog import Catalog

    catalog = Catalog(extra_dirs=[ACME])
    rs = next(catalog.get(i) for i in catalog.ids() if i not in catalog.shipped)
    assert rs is not None
    code = sorted(c for c in rs.codes if c.startswith("X-"))[0]
    text = explain(code, catalog)
    assert text.splitlines()[1] == f"  declared by {rs.id} {rs.version}: {rs.codes[code]}"
    assert f"  {rs.id} {rs.version} " in text


def test_every_registered_code_is_explained_with_its_examples(catalog: Catalog) -> None:
    from vlab.core.codes import registry

    reg = registry()
    missing = set()
    for code in sorted(set(reg["reason_codes"]) | set(reg["detail_codes"])):
        text = explain(code, catalog)
        assert "nothing installed emits it" not in text, code
        if "no golden vector shows it" in text:
            missing.add(code)
            continue
        if "no golden vector can show it: " in text:
            continue
        assert "evidence that triggers it: evidence_packs/" in text, code
        assert "evidence that does not: evidence_packs/" in text, code
    assert missing == NO_VECTOR_YET


def test_explanations_data_agree_with_the_engine(rulings: dict[str, Ruling]) -> None:
    """Each section of explanations.yaml stays true: the patterns are the compiler's, the
    curated examples show (and do not show) their code, and the codes without a vector
    are registered."""
    from vlab.core.codes import is_registered
    from vlab.tools.explain import explanations, pattern_prefixes

    data = explanations()
    assert sorted(data["patterns"]) == pattern_prefixes()
    assert all(is_registered(code) for code in data["without_vector"])

    def codes(vector_id: str) -> set[str]:
        ruling = rulings[vector_id]
        return {d.code for g in ruling.admission.gates for d in g.details} | {
            d.code for c in ruling.clauses for d in c.details
        }

    for code, pair in data["examples"].items():
        assert is_registered(code)
        assert code in codes(pair["triggers"]), code
        assert code not in codes(pair["passes"]), code


def test_closest_is_deterministic_and_bounded() -> None:
    from vlab.core.codes import closest, edit_distance

    assert edit_distance("RQ-D1-1", "RQ-D1-01") == 1
    assert closest("RQ-D1-1", ["RQ-D2-01", "RQ-D1-01", "RQ-D1-02"]) == "RQ-D1-01"
    # ties go to the first in code-point order, whatever the order given
    assert closest("RQ-X", ["RQ-B", "RQ-A"]) == closest("RQ-X", ["RQ-A", "RQ-B"]) == "RQ-A"
    assert closest("anything", []) is None
    assert closest("RQ-D1-01" + "x" * 1_000_000, ["RQ-D1-01", "RQ-D2-01"]) == "RQ-D1-01"


# -- the human renderings of every golden vector -----------------------------------------


@pytest.fixture(scope="module")
def rulings(catalog: Catalog) -> dict[str, Ruling]:
    from vlab.tools.regress import judge_vector, load_vectors

    def clause_ids_of(ruleset_id: str) -> set[str] | None:
        rs = catalog.get(ruleset_id)
        return None if rs is None else {c.clause_id for c in rs.clauses}

    vectors = load_vectors(VECTORS, clause_ids_of, None)
    return {v.id: judge_vector(v, catalog, digest=True) for v in vectors}


@pytest.fixture(scope="module")
def tables(rulings: dict[str, Ruling]) -> dict[tuple[str, int], str]:
    """Each vector's table at 80 and 200 columns, and at 1000 (where nothing wraps)."""
    return {(v, w): table(r, w) for v, r in rulings.items() for w in (80, 200, 1000)}


def table(ruling: Ruling, width: int) -> str:
    from rich.cells import cell_len

    from vlab.render.table import render_table

    text = render_table(ruling, width=width).decode("utf-8")
    # columns on a terminal, not code points: a decomposed "é" (e + U+0301) is one column
    assert all(cell_len(line) <= width for line in text.splitlines()), width
    return text


def whole(token: str, text: str) -> int:
    """How often ``token`` occurs in ``text`` as a whole token (not part of a longer code)."""
    return len(re.findall(rf"(?<![A-Za-z0-9-]){re.escape(token)}(?![A-Za-z0-9-])", text))


def shown_tokens(ruling: Ruling) -> set[str]:
    from vlab.render.text import codes_of

    tokens = set(codes_of(ruling)) | {c.clause_id for c in ruling.clauses}
    return tokens | {g.gate for g in ruling.admission.gates}


def test_tables_never_split_a_code(
    rulings: dict[str, Ruling], tables: dict[tuple[str, int], str]
) -> None:
    """At 80 and at 200 columns each code (and clause id and gate) is whole wherever it is
    shown: as often as in a table too wide to wrap anything."""
    for vector_id, ruling in rulings.items():
        unwrapped = tables[vector_id, 1000]
        for width in (80, 200):
            text = tables[vector_id, width]
            for token in sorted(shown_tokens(ruling)):
                assert whole(token, text) == whole(token, unwrapped) >= 1, (
                    vector_id,
                    width,
                    token,
                )


def test_tables_shorten_hashes(
    rulings: dict[str, Ruling], tables: dict[tuple[str, int], str]
) -> None:
    for vector_id, ruling in rulings.items():
        text = tables[vector_id, 80]
        assert not re.search(r"[0-9a-f]{64}", text), vector_id
        assert ruling.digest is not None
        assert f"digest {ruling.digest[:19]}…" in text, vector_id  # sha256: and 12 digits
    ref = rulings["d1-01/pass-event-id"].clauses[0].evidence_refs[0]
    assert ref.sha256[:19] + "…" in tables["d1-01/pass-event-id", 80]


def _data_without_none(ruling: Ruling) -> Ruling:
    """The ruling with "None" taken out of its data (a schema error quoting Python's repr is
    evidence, shown as it is): what remains of "None" in a rendering is the renderer's."""

    def scrub(details: Any) -> Any:
        return tuple(replace(d, message=d.message.replace("None", "nil")) for d in details)

    gates = tuple(replace(g, details=scrub(g.details)) for g in ruling.admission.gates)
    return replace(
        ruling,
        admission=replace(ruling.admission, gates=gates),
        clauses=tuple(replace(c, details=scrub(c.details)) for c in ruling.clauses),
    )


def test_no_rendering_prints_none(rulings: dict[str, Ruling]) -> None:
    from vlab.render import render

    for vector_id, ruling in rulings.items():
        clean = _data_without_none(ruling)
        for fmt in ("table", "md", "junit"):
            text = render(clean, fmt).decode("utf-8")
            assert not re.search(r"\bNone\b", text), (vector_id, fmt)
    unknown = rulings["admission/pin-bundle-missing"]
    assert "ruleset —  pack —  run —" in table(unknown, 80)
    md = render(unknown, "md").decode("utf-8")
    assert "- ruleset: —\n- pack: —, run —, digest —\n- substrate: —\n" in md


def test_each_code_is_shown_with_its_meaning(rulings: dict[str, Ruling]) -> None:
    from vlab.core.codes import meaning
    from vlab.render import render
    from vlab.render.text import codes_of

    ruling = rulings["d1-01/fail-kind-missing"]
    codes = codes_of(ruling)
    assert "REQ-FAIL-RQ-D1-01" in codes and "FIELD-MISSING" in codes
    text = table(ruling, 200)
    legend = text.split("\ncodes", 1)[1]
    for code in codes:
        row = next(line for line in legend.splitlines() if f" {code} " in line)
        assert str(meaning(code))[:40] in row, code
    md = render(ruling, "md").decode("utf-8")
    for code in codes:
        assert f"| `{code}` | {meaning(code)} |" in md


def test_a_failing_clause_says_what_evidence_satisfies_it(rulings: dict[str, Ruling]) -> None:
    from vlab.render import render

    ruling = rulings["r12-d1-02/fail-pointer-missing"]
    want = (
        "add to evidence_pointers.json a PRESENT pointer for RQ-D1-02 (locator file: or "
        "jsonptr:); the ruleset says: file: or jsonptr: to the BudgetSettlementReceipt (by "
        "convention artifacts/budget/settlement_receipt.json)"
    )
    assert f"- needs: {want}\n" in render(ruling, "md").decode("utf-8")
    assert " ".join(want.split()) in " ".join(table(ruling, 80).split())
    # a ruling of a ruleset that is not installed (here: another digest) gets no guess
    stranger = replace(ruling, ruleset=replace(ruling.ruleset, sha256="sha256:" + "0" * 64))
    md = render(stranger, "md").decode("utf-8")
    assert "- needs: add to evidence_pointers.json a PRESENT pointer for RQ-D1-02\n" in md


# -- POINTER-REQUIREMENT-UNKNOWN ------------------------------------------------------------


def _contract(ruling: dict[str, Any]) -> dict[str, Any]:
    gate = ruling["admission"]["gates"][-1]
    assert gate["gate"] == "ADM-GATE-CONTRACT"
    assert isinstance(gate, dict)
    return gate


def test_a_mistyped_requirement_id_is_an_advisory(tmp_path: Path, judge: Any) -> None:
    pointers = [dict(p) for p in POINTERS]
    pointers[0]["requirement_id"] = "RQ-D1-1"
    ruling = judge(good_pack(tmp_path, pointers=pointers))
    gate = _contract(ruling)
    assert gate["status"] == "PASS"  # an advisory never fails the gate
    assert ruling["admission"]["status"] == "ADMISSIBLE"
    assert gate["details"] == [
        {
            "code": "POINTER-REQUIREMENT-UNKNOWN",
            "artifact_path": "evidence_pointers.json",
            "locator": "jsonptr:/pointers/0/requirement_id",
            "line": None,
            "message": "RQ-D1-1 is declared by no installed ruleset; did you mean RQ-D1-01?",
            "advisory": True,
        }
    ]
    (d1,) = [c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-01"]
    assert d1["reason_code"] == "BUNDLE-POINTER-MISSING-RQ-D1-01"
    assert ruling["pack"]["pack_id"] == "pack-good-001"  # the gate passed: its facts are kept


def test_an_id_another_installed_ruleset_declares_is_silent(
    tmp_path: Path, judge: Any, catalog: Catalog
) -> None:
    from vlab.engine.pipeline import adjudicate
    from vlab.ruleset.catalog import Catalog

    extra = {
        "requirement_id": "RQ-D1-02",  # ruleset-1.2's; this pack pins ruleset-1.1
        "artifact_path": "trace/events.ndjson",
        "locator": "event_id:evt-budget-001",
        "status": "PRESENT",
    }
    ruling = judge(good_pack(tmp_path / "a", pointers=[*POINTERS, extra]))
    assert _contract(ruling)["details"] == []
    assert ruling["topline"] == "PASS"
    # an organisation's requirement: silent where its ruleset is installed, not elsewhere
    acme = Catalog(extra_dirs=[ACME])
    org = next(i for i in acme.ids() if i not in acme.shipped)
    org_rs = acme.get(org)
    assert org_rs is not None
    rq = org_rs.clauses[-1].requirement_id
    assert catalog.get(org) is None and rq not in {"RQ-D1-01", "RQ-D2-01", "RQ-D3-01"}
    pack = good_pack(tmp_path / "b", pointers=[*POINTERS, {**extra, "requirement_id": rq}])
    assert adjudicate(pack, acme).admission.gates[-1].details == ()
    (advisory,) = adjudicate(pack, catalog).admission.gates[-1].details
    assert advisory.advisory and advisory.message.startswith(f"{rq} is declared by no ")


def test_admission_without_the_installed_ids_says_nothing(tmp_path: Path, catalog: Catalog) -> None:
    """``admit`` called without ``known_requirements`` cannot tell a typo from another
    ruleset's id: it adds no advisory (and the gate passes as before)."""
    from vlab.engine.admission import admit
    from vlab.engine.pipeline import open_pack

    pointers = [*POINTERS, {**POINTERS[0], "requirement_id": "RQ-D1-1"}]
    admission = admit(open_pack(good_pack(tmp_path, pointers=pointers)), catalog.get)
    assert admission.admissible and admission.gates[-1].details == ()


def test_the_advisory_is_rendered_as_one(tmp_path: Path, catalog: Catalog) -> None:
    from vlab.engine.pipeline import adjudicate
    from vlab.render import render

    pointers = [*POINTERS, {**POINTERS[0], "requirement_id": "RQ-D1-1"}]
    ruling = adjudicate(good_pack(tmp_path, pointers=pointers), catalog)
    assert ruling.topline == "PASS"
    text = table(ruling, 1000)
    assert "POINTER-REQUIREMENT-UNKNOWN (advisory): RQ-D1-1 is declared by no installed" in text
    md = render(ruling, "md").decode("utf-8")
    assert "| `POINTER-REQUIREMENT-UNKNOWN` | (advisory) a pointer's requirement" in md
