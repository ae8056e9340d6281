"""Issue 12: ``--format sarif`` (SARIF 2.1.0, validated against the OASIS schema shipped in
tests/data/) and ``--format github`` (workflow-command annotations): one finding per
non-advisory detail of a failing clause or gate, each at its artifact and line; hostile
evidence escaped; the same ruling always the same bytes."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import pytest

from packs import EVENTS, good_pack
from vlab.core.canonical import canonical_bytes
from vlab.core.codes import meaning
from vlab.core.escape import human
from vlab.core.findings import Detail
from vlab.engine.ruling import ClauseRuling, Ruling
from vlab.render import BUNDLE_FILE, POINTERS_FILE, RENDERERS, UNREGISTERED, render
from vlab.render.github import escape_data, escape_property
from vlab.render.sarif import SARIF_SCHEMA, sarif_text, uri_reference
from vlab.tools.corpus import find_vectors

if TYPE_CHECKING:
    from conftest import Judge

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "evidence_packs"
SCHEMA_PATH = Path(__file__).resolve().parent / "data" / "sarif-schema-2.1.0.json"
# oasis-tcs/sarif-spec sarif-2.1/schema/sarif-schema-2.1.0.json (tests/data/README.md)
SCHEMA_SHA256 = "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
UNSAFE = {"Cc", "Cf", "Zl", "Zp", "Cs", "Cn"}

# A relative reference (RFC 3986 §4.2) whose path is made of unreserved characters,
# percent-encodings and "/" only: what ``uri_reference`` promises.
URI_PATH = re.compile(r"(?:[A-Za-z0-9\-._~/]|%[0-9A-F]{2})*")

VECTOR_CASES = {
    "pass": "d1-01/pass-event-id",
    "fail-lines": "d1-01/fail-two-pointers-neither-holds",
    "fail-three-details": "r12-d1-03/fail-details-in-event-then-ledger-order",
    "fail-no-line": "r12-d5-01/fail-test-file-edited",
    "fail-no-details": "d1-01/fail-pointer-missing",
    "not-admissible": "admission/integrity-malformed-line",
    "not-admissible-unsafe-name": "admission/security-unsafe-name",
    "advisory-pass": "r12-d1-04/pass-inflight-overshoot",
    "advisory-no-line": "r12-d1-03/pass-overspend-tolerated",
    "not-evaluated-with-detail": "d2-01/not-evaluated-partial-non-terminal",
}


def raw_unsafe(text: str, allowed: str = "") -> list[str]:
    return sorted({ch for ch in text if ch not in allowed and unicodedata.category(ch) in UNSAFE})


@pytest.fixture(scope="module")
def sarif_validator() -> Any:
    """The official SARIF 2.1.0 schema (a draft-04 schema: ``validator_for`` reads its
    ``$schema``), from the committed file: CI has no network."""
    from jsonschema.validators import validator_for

    data = SCHEMA_PATH.read_bytes()
    assert hashlib.sha256(data).hexdigest() == SCHEMA_SHA256, "tests/data schema edited"
    schema = json.loads(data)
    cls = validator_for(schema)
    cls.check_schema(schema)
    assert cls.__name__ == "Draft4Validator"
    return cls(schema)


def validate(validator: Any, log: dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(log), key=lambda e: list(map(str, e.absolute_path)))
    assert not errors, [(list(e.absolute_path), e.message) for e in errors[:5]]


def vector_ruling(judge: Judge, vector_id: str, *, strip_details: bool = False) -> Ruling:
    """A vector's ruling as ``vlab regress`` makes it (shadow run, limits); with
    ``strip_details`` its clauses lose their details (a FAIL the engine could give
    without any: the renderers' fallback to the reason code)."""
    folder = VECTORS / vector_id
    expected = json.loads((folder / "expected.json").read_text("utf-8"))
    shadow = expected["ruleset"] if expected.get("shadow") else None
    pack = folder / "pack"
    if not pack.is_dir():  # an archive vector: pack.tar, pack.tgz, pack.zip, ...
        from vlab.tools.corpus import PACK_ARCHIVES

        pack = next(folder / n for n in PACK_ARCHIVES if (folder / n).is_file())
    doc = judge(pack, ruleset=shadow, limits=expected.get("limits"))
    if strip_details:
        for clause in doc["clauses"]:
            clause["details"] = []
    return Ruling.from_json(doc)


def expected_findings(doc: dict[str, Any]) -> list[tuple[str, str | None, int | None, bool]]:
    """(code, artifact path, line, advisory) of each finding, worked out from the ruling
    document the way cli.md says: advisories anywhere; for a FAIL gate or clause each
    non-advisory detail, or its reason code when it has none."""
    out: list[tuple[str, str | None, int | None, bool]] = []
    owners = [(g, g["gate"] + "-FAIL", BUNDLE_FILE) for g in doc["admission"]["gates"]]
    owners += [(c, c["reason_code"], POINTERS_FILE) for c in doc["clauses"]]
    for owner, reason, fallback in owners:
        failing = owner["status"] == "FAIL"
        for d in owner["details"]:
            if d["advisory"] or failing:
                line = d["line"] if d["line"] is not None and d["line"] >= 1 else None
                out.append((d["code"], d["artifact_path"], line, d["advisory"]))
        if failing and all(d["advisory"] for d in owner["details"]):
            refs = owner.get("evidence_refs") or []
            where = (refs[0]["artifact_path"], refs[0]["line"]) if refs else (fallback, None)
            out.append((reason, *where, False))
    return out


def sarif_findings(log: dict[str, Any]) -> list[tuple[str, str | None, int | None, bool]]:
    (run,) = log["runs"]
    out: list[tuple[str, str | None, int | None, bool]] = []
    for r in run["results"]:
        (loc,) = r["locations"]
        physical = loc["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "PACKROOT"
        uri = physical["artifactLocation"]["uri"]
        assert URI_PATH.fullmatch(uri), uri
        path = None if uri == "./" else unquote(uri)
        out.append((r["ruleId"], path, physical.get("region", {}).get("startLine"), False))
    return out


def check_sarif(validator: Any, ruling: Ruling, data: bytes) -> dict[str, Any]:
    """Everything every SARIF rendering must be: schema-valid, canonical, one result per
    expected non-advisory finding at its artifact and line, rules = the codes used."""
    log: dict[str, Any] = json.loads(data)
    validate(validator, log)
    assert data == canonical_bytes(log) + b"\n"  # RFC 8785: a fixed point, one newline
    assert log["$schema"] == SARIF_SCHEMA and log["version"] == "2.1.0"
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "vlab"
    from vlab import __version__

    assert driver["version"] == __version__
    wanted = [f for f in expected_findings(ruling.to_json()) if not f[3]]
    assert sarif_findings(log) == wanted
    codes = sorted({f[0] for f in wanted})
    assert [r["id"] for r in driver["rules"]] == codes
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] == (meaning(rule["id"]) or UNREGISTERED)
    for r in run["results"]:
        assert driver["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert r["level"] == "error"
        assert raw_unsafe(r["message"]["text"]) == []
    return log


# -- the registry and the API -----------------------------------------------------------


def test_registry_declares_both_formats_and_which_take_the_pack() -> None:
    assert list(RENDERERS) == ["table", "json", "md", "junit", "sarif", "github"]
    assert all(r.summary for r in RENDERERS.values())
    assert {name for name, r in RENDERERS.items() if r.takes_pack} == {"sarif", "github"}


def test_pack_reaches_only_renderers_that_take_it(judge: Judge) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    for fmt in ("json", "md", "junit"):
        assert render(ruling, fmt, pack="somewhere/else") == render(ruling, fmt)
    assert render(ruling, "github", pack="p") != render(ruling, "github")
    with pytest.raises(ValueError, match="unknown format"):
        render(ruling, "yaml")


def test_fallback_locations_are_the_engines_file_names() -> None:
    from vlab.engine.admission.context import BUNDLE, POINTERS

    assert (POINTERS_FILE, BUNDLE_FILE) == (POINTERS, BUNDLE)


# -- SARIF ------------------------------------------------------------------------------


@pytest.mark.parametrize("case", sorted(VECTOR_CASES))
def test_sarif_of_golden_vectors_is_valid_and_points_at_the_evidence(
    case: str, judge: Judge, sarif_validator: Any
) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES[case])
    check_sarif(sarif_validator, ruling, render(ruling, "sarif"))
    check_sarif(sarif_validator, ruling, render(ruling, "sarif", pack="evidence_packs/x/pack"))


def test_sarif_results_at_artifact_and_line(judge: Judge, sarif_validator: Any) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    log = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))
    (run,) = log["runs"]
    assert [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["message"]["text"],
            r["properties"]["clause_id"],
            r["properties"]["locator"],
        )
        for r in run["results"]
    ] == [
        (
            "FIELD-MISSING",
            "trace/events.ndjson",
            4,
            "decision_kind is missing",
            "CL-D1-01",
            "event_id:evt-tool-001",
        ),
        (
            "VALUE-NOT-ALLOWED",
            "trace/events.ndjson",
            3,
            "decision_kind 'authz' is not a budget kind",
            "CL-D1-01",
            "event_id:evt-authz-001",
        ),
    ]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "FIELD-MISSING",
        "VALUE-NOT-ALLOWED",
    ]
    assert run["properties"]["topline"] == "FAIL"
    assert run["properties"]["ruling_digest"] == ruling.digest


def test_sarif_fail_without_details_gives_its_reason_code(
    judge: Judge, sarif_validator: Any
) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-no-details"], strip_details=True)
    (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "BUNDLE-POINTER-MISSING-RQ-D1-01"
    assert result["message"]["text"] == "CL-D1-01: no PRESENT pointer for RQ-D1-01"
    physical = result["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": POINTERS_FILE, "uriBaseId": "PACKROOT"}}
    assert result["properties"]["clause_id"] == "CL-D1-01"
    assert result["properties"]["reason_code"] == "BUNDLE-POINTER-MISSING-RQ-D1-01"


def test_sarif_pointer_missing_names_the_pointer_needed(judge: Judge, sarif_validator: Any) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-no-details"])
    (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "POINTER-MISSING"
    assert result["message"]["text"] == (
        "evidence_pointers.json has no pointer for RQ-D1-01; CL-D1-01 needs a "
        "PRESENT pointer for RQ-D1-01 (locator event_id:, jsonptr:, line:)"
    )
    assert result["properties"]["reason_code"] == "BUNDLE-POINTER-MISSING-RQ-D1-01"


def test_sarif_not_admissible_gives_the_gate_details(judge: Judge, sarif_validator: Any) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["not-admissible"])
    (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
    assert [(r["ruleId"], r["properties"]["gate"]) for r in run["results"]] == [
        ("INTEGRITY-MALFORMED", "ADM-GATE-INTEGRITY"),
        ("INTEGRITY-UNLISTED-FILE", "ADM-GATE-INTEGRITY"),
    ]
    first = run["results"][0]["locations"][0]["physicalLocation"]
    assert first["artifactLocation"]["uri"] == "integrity/sha256sums.txt"
    assert first["region"] == {"startLine": 1}


def test_sarif_leaves_advisories_out(judge: Judge, sarif_validator: Any) -> None:
    for case in ("advisory-pass", "advisory-no-line", "pass", "not-evaluated-with-detail"):
        ruling = vector_ruling(judge, VECTOR_CASES[case])
        (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
        assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_sarif_pack_root(judge: Judge, sarif_validator: Any) -> None:
    """A relative pack path is recorded as PACKROOT's URI (against %SRCROOT%); an absolute
    one never is: no machine-specific path in the output."""
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])

    def bases(pack: str | None) -> dict[str, Any]:
        log = check_sarif(sarif_validator, ruling, render(ruling, "sarif", pack=pack))
        result: dict[str, Any] = log["runs"][0]["originalUriBaseIds"]
        return result

    described = {
        "description": {"text": "the evidence pack's root folder (the pack path given to vlab)"}
    }
    assert bases(None) == {"PACKROOT": described}
    absolute = str(VECTORS / VECTOR_CASES["fail-lines"] / "pack")
    assert bases(absolute) == {"PACKROOT": described}
    assert bases("C:\\packs\\p") == {"PACKROOT": described}
    assert absolute.encode() not in render(ruling, "sarif", pack=absolute)
    for given, uri in [
        ("evidence_packs/d1/x/pack", "evidence_packs/d1/x/pack/"),
        ("./evidence_packs//d1/x/pack/", "evidence_packs/d1/x/pack/"),
        (".", "./"),
        ("../my packs/p", "../my%20packs/p/"),
    ]:
        b = bases(given)
        assert b["PACKROOT"] == {**described, "uri": uri, "uriBaseId": "%SRCROOT%"}
        assert set(b) == {"PACKROOT", "%SRCROOT%"}


def test_sarif_unregistered_code_and_empty_ruling(judge: Judge, sarif_validator: Any) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    clause = ruling.clauses[0]
    assert clause.status == "FAIL"
    odd = Detail("NOT-A-REGISTERED-CODE", "m", None, None, 0, False)
    ruling = replace(ruling, clauses=(replace(clause, details=(odd,)),))
    log = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))
    (run,) = log["runs"]
    assert run["tool"]["driver"]["rules"][0]["shortDescription"]["text"] == UNREGISTERED
    # line 0 is no line; a detail about the whole pack is at the pack root
    assert run["results"][0]["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "./", "uriBaseId": "PACKROOT"}
    }
    empty = replace(ruling, clauses=())
    check_sarif(sarif_validator, empty, render(empty, "sarif"))


def test_failing_with_only_advisories_gives_the_reason_code(
    judge: Judge, sarif_validator: Any
) -> None:
    """A failing gate or clause whose details are all advisory counts as one without
    details: one error with its reason code (and a warning for each advisory)."""
    note = Detail("LEDGER-OVERSPEND-TOLERATED", "tolerated", "trace/events.ndjson", None, 7, True)
    ruling = vector_ruling(judge, VECTOR_CASES["not-admissible"])
    gates = ruling.admission.gates
    failed = next(i for i, g in enumerate(gates) if g.status == "FAIL")
    gates = (*gates[:failed], replace(gates[failed], details=(note,)), *gates[failed + 1 :])
    ruling = replace(ruling, admission=replace(ruling.admission, gates=gates))
    (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
    assert [(r["ruleId"], r["message"]["text"]) for r in run["results"]] == [
        ("ADM-GATE-INTEGRITY-FAIL", f"ADM-GATE-INTEGRITY: {meaning('ADM-GATE-INTEGRITY-FAIL')}")
    ]
    assert [(n, p.get("file"), p["title"]) for n, p, _ in github_lines(ruling, "p")[:-1]] == [
        ("warning", "p/trace/events.ndjson", "LEDGER-OVERSPEND-TOLERATED"),
        ("error", "p/bundle.manifest.json", "ADM-GATE-INTEGRITY-FAIL"),
    ]

    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    clause = replace(ruling.clauses[0], details=(note,))
    ruling = replace(ruling, clauses=(clause, *ruling.clauses[1:]))
    (run,) = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))["runs"]
    (result,) = run["results"]
    assert result["ruleId"] == "REQ-FAIL-RQ-D1-01"
    # the clause judged evidence: the result is at its first evidence reference
    ref = clause.evidence_refs[0]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": ref.artifact_path, "uriBaseId": "PACKROOT"},
        "region": {"startLine": ref.line},
    }


@pytest.mark.parametrize(
    ("path", "uri"),
    [
        ("trace/events.ndjson", "trace/events.ndjson"),
        ("a b/c#d?e%f", "a%20b/c%23d%3Fe%25f"),
        ("x:y/z", "x%3Ay/z"),  # a colon in the first segment would read as a scheme
        ("artifacts/a\\b.json", "artifacts/a%5Cb.json"),
        ("é/中", "%C3%A9/%E4%B8%AD"),
        ("bad\udcff.json", "bad%FF.json"),  # a name that is not UTF-8: its own byte
        ("lone\ud800", "lone%ED%A0%80"),
        ("new\nline", "new%0Aline"),
    ],
)
def test_uri_reference(path: str, uri: str) -> None:
    assert uri_reference(path) == uri
    assert URI_PATH.fullmatch(uri)


def test_sarif_text_is_human_and_has_no_placeholder_or_link() -> None:
    text = "see [here](https://evil.example) {0} \\ \x1b[2J\u202e\n"
    shown = sarif_text(text)
    assert shown == ("see \\[here\\](https://evil.example) {{0}} \\\\ \\x1b\\[2J\\u202e\\n")
    assert raw_unsafe(shown) == []
    # no unescaped "[" opens link text, no single brace is a placeholder
    assert not re.search(r"(?<!\\)\[", shown.replace("\\\\", ""))
    assert not re.search(r"(?<!\{)\{(?!\{)", shown)


# -- GitHub -----------------------------------------------------------------------------


_PROPERTY_UNESCAPES = [("%3A", ":"), ("%2C", ","), ("%0D", "\r"), ("%0A", "\n"), ("%25", "%")]


def _unescape(text: str, table: list[tuple[str, str]]) -> str:
    # the runner's order (ActionCommand.UnescapeProperty/UnescapeData): %25 last
    for escaped, raw in table:
        text = text.replace(escaped, raw)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """A workflow command as the Actions runner parses it (ActionCommand.TryParseV2):
    ``::`` command [space properties] ``::`` message; properties split at ``,``, each at
    its first ``=``; values and message unescaped."""
    assert line.startswith("::")
    end = line.index("::", 2)
    info, message = line[2:end], line[end + 2 :]
    name, _, props = info.partition(" ")
    properties: dict[str, str] = {}
    for pair in filter(None, props.split(",")):
        key, sep, value = pair.partition("=")
        assert sep, pair
        assert key not in properties
        properties[key] = _unescape(value, _PROPERTY_UNESCAPES)
    return name, properties, _unescape(message, _PROPERTY_UNESCAPES[2:])


def github_lines(ruling: Ruling, pack: str | None) -> list[tuple[str, dict[str, str], str]]:
    data = render(ruling, "github", pack=pack)
    text = data.decode("utf-8")
    assert text.endswith("\n") and raw_unsafe(text, allowed="\n") == []
    return [parse_command(line) for line in text.split("\n")[:-1]]


def test_github_exact_lines(judge: Judge) -> None:
    pack = "evidence_packs/d1-01/fail-two-pointers-neither-holds/pack"
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    assert render(ruling, "github", pack=pack).decode("utf-8").splitlines() == [
        f"::error file={pack}/trace/events.ndjson,line=4,title=FIELD-MISSING"
        "::CL-D1-01: decision_kind is missing",
        f"::error file={pack}/trace/events.ndjson,line=3,title=VALUE-NOT-ALLOWED"
        "::CL-D1-01: decision_kind 'authz' is not a budget kind",
        "::notice title=vlab FAIL::ruleset ruleset-1.1 1.1.0; pack fail-two-pointers-neither-holds;"
        " run run-fail-two-pointers-neither-holds; clauses: 2 PASS, 1 FAIL, 1 NOT_EVALUATED;"
        " 2 error(s), 0 warning(s)",
    ]
    # without a pack path: the artifact path alone; "./p/" is the folder "p"
    lines = render(ruling, "github").decode("utf-8").splitlines()
    assert lines[0].startswith("::error file=trace/events.ndjson,line=4,title=FIELD-MISSING::")
    assert render(ruling, "github", pack=f"./{pack}/") == render(ruling, "github", pack=pack)
    assert render(ruling, "github", pack=".") == render(ruling, "github")


def test_github_fail_without_details_and_not_admissible(judge: Judge) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-no-details"], strip_details=True)
    assert render(ruling, "github", pack="p").decode("utf-8").splitlines()[0] == (
        "::error file=p/evidence_pointers.json,title=BUNDLE-POINTER-MISSING-RQ-D1-01"
        "::CL-D1-01: no PRESENT pointer for RQ-D1-01"
    )
    ruling = vector_ruling(judge, VECTOR_CASES["not-admissible"])
    assert render(ruling, "github", pack="p").decode("utf-8").splitlines() == [
        "::error file=p/integrity/sha256sums.txt,line=1,title=INTEGRITY-MALFORMED"
        "::ADM-GATE-INTEGRITY: expected '<64 lowercase hex>  <path>'",
        "::error file=p/bundle.manifest.json,title=INTEGRITY-UNLISTED-FILE"
        "::ADM-GATE-INTEGRITY: in the pack but not listed",
        "::notice title=vlab NOT_ADMISSIBLE::ruleset ruleset-1.1 1.1.0; pack —;"
        " run run-integrity-malformed-line; clauses: 4 NOT_ADMISSIBLE;"
        " not admissible: ADM-GATE-INTEGRITY-FAIL; 2 error(s), 0 warning(s)",
    ]


def test_github_advisories_are_warnings(judge: Judge) -> None:
    ruling = vector_ruling(judge, VECTOR_CASES["advisory-pass"])
    (warning, notice) = github_lines(ruling, "p")
    assert warning == (
        "warning",
        {"file": "p/trace/events.ndjson", "line": "10", "title": "RUNBUDGET-INFLIGHT-OVERSHOOT"},
        "CL-D1-04: trial 'model-a/t2/2' dispatched before exhaustion completed after it "
        "(cost 0.40)",
    )
    assert notice[0] == "notice" and notice[1] == {"title": "vlab PASS"}
    assert notice[2].endswith("; 0 error(s), 1 warning(s)")


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("100%", "100%25"),
        ("a\r\nb", "a%0D%0Ab"),
        ("%0A", "%250A"),  # evidence spelling an escape stays those characters
    ],
)
def test_github_escape_data(raw: str, escaped: str) -> None:
    assert escape_data(raw) == escaped
    assert escape_property(raw) == escaped
    assert escape_property("C:\\a,b") == "C%3A\\a%2Cb"


HOSTILE = [
    "line one\n::error file=x::forged",
    "\r::warning::carriage",
    "100% : a,b::c",
    "%0A%25%3A%2C",
    "\x1b]0;owned\x07\x1b[2J\x1b[1;32mPASS\x1b[0m",
    "\u202eSSAP\u2066i\u2069\u200f\u2028\u2029\x85\x00\t",
    "{0} [link](https://evil.example) \\",
    "lone \udcff surrogate",
]


def hostile_ruling(judge: Judge) -> Ruling:
    ruling = vector_ruling(judge, VECTOR_CASES["fail-lines"])
    clause: ClauseRuling = ruling.clauses[0]
    details = tuple(
        Detail(
            f"CODE,{i}:X" if i == 2 else "FIELD-MISSING",
            text,
            f"trace/ev,{i}:ts.ndjson" if i % 2 else "trace/events.ndjson",
            f"jsonptr:/{text}",
            i + 1,
            i == 3,
        )
        for i, text in enumerate(HOSTILE)
    )
    clause = replace(clause, clause_id="CL-D1-01\n::error::x", details=details)
    return replace(ruling, clauses=(clause, *ruling.clauses[1:]))


def test_github_hostile_messages_stay_one_annotation_each(judge: Judge) -> None:
    ruling = hostile_ruling(judge)
    pack = "packs/a,b:c"
    lines = github_lines(ruling, pack)
    assert len(lines) == len(HOSTILE) + 1  # no forged line
    owner = human("CL-D1-01\n::error::x")
    for (name, props, message), d in zip(lines[:-1], ruling.clauses[0].details, strict=True):
        assert name == ("warning" if d.advisory else "error")
        assert props == {
            "file": f"{pack}/{d.artifact_path}",
            "line": str(d.line),
            "title": human(d.code),
        }
        assert message == f"{owner}: {human(d.message)}"
    assert lines[-1][0] == "notice"
    raw = render(ruling, "github", pack=pack).decode("utf-8")
    for line in raw.splitlines():
        info = line[2 : line.index("::", 2)].partition(" ")[2]
        values = [pair.partition("=")[2] for pair in info.split(",")]
        assert all(":" not in v and "," not in v for v in values), line


def test_sarif_hostile_messages(judge: Judge, sarif_validator: Any) -> None:
    ruling = hostile_ruling(judge)
    log = check_sarif(sarif_validator, ruling, render(ruling, "sarif"))
    (run,) = log["runs"]
    failing = [d for d in ruling.clauses[0].details if not d.advisory]
    assert [r["message"]["text"] for r in run["results"]] == [
        sarif_text(d.message) for d in failing
    ]
    # property values are data, kept exact (a lone surrogate cannot be UTF-8: U+FFFD)
    assert run["results"][0]["properties"]["locator"] == "jsonptr:/" + HOSTILE[0]
    assert run["results"][0]["properties"]["clause_id"] == "CL-D1-01\n::error::x"


def test_end_to_end_hostile_pack(tmp_path: Path, judge: Judge, sarif_validator: Any) -> None:
    """A pack whose event field (quoted in CL-D2-01's FAIL detail) and run id carry
    newlines, a forged workflow command and terminal escapes."""
    evil = "x\n::error file=README.md::forged %0A\x1b[2J\u202e{0}[a](b)"
    events = copy.deepcopy(EVENTS)
    events[1]["to_state"] = evil
    pack = good_pack(tmp_path, events=events, run_id=evil)
    ruling = Ruling.from_json(judge(pack))
    assert ruling.topline == "FAIL"
    lines = github_lines(ruling, "p")
    assert [n for n, _, _ in lines].count("error") == len(
        [f for f in expected_findings(ruling.to_json()) if not f[3]]
    )
    assert not any("README.md" in props.get("file", "") for _, props, _ in lines)
    assert any("forged %0A" in message for _, _, message in lines)  # shown, not decoded
    check_sarif(sarif_validator, ruling, render(ruling, "sarif"))


# -- determinism and the whole corpus ---------------------------------------------------


def test_renders_are_byte_identical(judge: Judge) -> None:
    for case in ("fail-lines", "not-admissible", "advisory-pass"):
        first = vector_ruling(judge, VECTOR_CASES[case])
        again = Ruling.from_json(json.loads(json.dumps(first.to_json())))
        second = vector_ruling(judge, VECTOR_CASES[case])
        for fmt in ("sarif", "github"):
            for pack in (None, "evidence_packs/x/pack"):
                out = render(first, fmt, pack=pack)
                assert out == render(first, fmt, pack=pack)
                assert out == render(again, fmt, pack=pack)
                assert out == render(second, fmt, pack=pack)
                assert str(ROOT).encode() not in out


def test_every_vector(judge: Judge, sarif_validator: Any) -> None:
    """Over the whole corpus: SARIF valid, one result per non-advisory finding; GitHub one
    ``::error`` per failing finding and one ``::warning`` per advisory, then the notice."""
    seen = 0
    for vector_id, _ in find_vectors(VECTORS):
        ruling = vector_ruling(judge, vector_id)
        check_sarif(sarif_validator, ruling, render(ruling, "sarif", pack=f"{vector_id}/pack"))
        wanted = expected_findings(ruling.to_json())
        lines = github_lines(ruling, vector_id)
        assert [(n, p.get("title"), p.get("line")) for n, p, _ in lines[:-1]] == [
            ("warning" if adv else "error", code, None if line is None else str(line))
            for code, _, line, adv in wanted
        ]
        assert lines[-1][0] == "notice"
        seen += 1
    assert seen >= 200
