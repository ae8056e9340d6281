"""Waivers (rulesets-1.3 §5): matching, expired, unmatched, NOT_ADMISSIBLE, selection by
ruleset id or version range and by run/pack glob, strict loading, determinism, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from vlab.core.errors import UsageError
from vlab.engine.ruling import Ruling, ruling_json
from vlab.engine.waivers import apply_waivers, parse_waivers

REPO = Path(__file__).resolve().parent.parent
FAILING = REPO / "evidence_packs/d1-01/fail-kind-missing/pack"  # D1 FAIL, D2/D3 PASS
REFUSED = REPO / "evidence_packs/admission/contract-bom/pack"
AS_OF = "2026-06-01T00:00:00Z"

ONE = """\
waivers:
  - id: W-1
    clause_id: CL-D1-01
    rulesets: [ruleset-1.1]
    run_id: "run-fail-*"
    reason: known gap, tracked in TICKET-9
    approved_by: alice
    expires: 2027-01-01T00:00:00Z
"""


def _ruling(judge: Any, pack: Path = FAILING) -> Ruling:
    return Ruling.from_json(judge(pack))


def _waive(judge: Any, text: str, as_of: str = AS_OF, pack: Path = FAILING) -> dict[str, Any]:
    return apply_waivers(_ruling(judge, pack), parse_waivers(text.encode()), as_of).to_json()


def _clause(doc: dict[str, Any], cid: str) -> dict[str, Any]:
    return next(c for c in doc["clauses"] if c["clause_id"] == cid)


def test_matching_waiver_waives_the_fail(judge: Any) -> None:
    doc = _waive(judge, ONE)
    d1 = _clause(doc, "CL-D1-01")
    assert d1["status"] == "FAIL"
    assert d1["waiver"] == {
        "id": "W-1",
        "reason": "known gap, tracked in TICKET-9",
        "approved_by": "alice",
        "expires": "2027-01-01T00:00:00Z",
    }
    assert doc["topline"] == "PASS"  # every FAIL waived, some clause passed
    assert doc["as_of"] == AS_OF
    assert doc["waivers"]["applied"] == ["W-1"]
    assert doc["waivers"]["unmatched"] == [] and doc["waivers"]["waived"] == 1
    assert Ruling.from_json(doc).to_json() == doc  # reads back member for member


def test_every_fail_waived_without_a_pass_is_not_evaluated(judge: Any) -> None:
    base = _ruling(judge)
    only_fail = replace(
        base,
        clauses=tuple(
            c if c.status == "FAIL" else replace(c, status="NOT_EVALUATED") for c in base.clauses
        ),
    )
    out = apply_waivers(only_fail, parse_waivers(ONE.encode()), AS_OF)
    assert out.topline == "NOT_EVALUATED"


def test_expired_waiver_waives_nothing_and_is_advisory(judge: Any) -> None:
    doc = _waive(judge, ONE, as_of="2027-01-01T00:00:00Z")  # expiry is exclusive
    d1 = _clause(doc, "CL-D1-01")
    assert "waiver" not in d1 and doc["topline"] == "FAIL"
    assert any(d["code"] == "WAIVER-EXPIRED" and d["advisory"] for d in d1["details"])
    assert doc["reason_codes"] == _ruling(judge).to_json()["reason_codes"]
    assert doc["waivers"]["expired"] == ["W-1"] and doc["waivers"]["applied"] == []


@pytest.mark.parametrize(
    "change",
    [
        ("CL-D1-01", "CL-D2-01"),  # a passing clause: nothing to waive
        ("ruleset-1.1]", "ruleset-1.3]"),
        ('"run-fail-*"', '"run-pass-*"'),
    ],
)
def test_non_matching_waiver_is_reported(judge: Any, change: tuple[str, str]) -> None:
    doc = _waive(judge, ONE.replace(*change))
    assert doc["topline"] == "FAIL"
    assert doc["waivers"]["unmatched"] == ["W-1"] and doc["waivers"]["waived"] == 0


def test_version_range_and_pack_glob_select(judge: Any) -> None:
    text = ONE.replace("rulesets: [ruleset-1.1]", 'ruleset_versions: ">=1.1,<1.2"').replace(
        'run_id: "run-fail-*"', 'pack_id: "fail-kind-*"'
    )
    assert _waive(judge, text)["waivers"]["applied"] == ["W-1"]
    assert _waive(judge, text.replace(">=1.1,<1.2", ">=1.2"))["waivers"]["unmatched"] == ["W-1"]


def test_not_admissible_is_never_waivable(judge: Any) -> None:
    text = ONE.replace('run_id: "run-fail-*"', 'pack_id: "*"').replace(
        "rulesets: [ruleset-1.1]", 'rulesets: ["*"]'
    )
    doc = _waive(judge, text, pack=REFUSED)
    assert doc["topline"] == "NOT_ADMISSIBLE"
    assert doc["waivers"]["unmatched"] == ["W-1"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (ONE.replace("    reason:", "    colour: red\n    reason:"), "unknown member"),
        (ONE.replace("2027-01-01T00:00:00Z", "next tuesday"), "expires"),
        (ONE.replace("2027-01-01T00:00:00Z", "2027-01-01T00:00:00"), "expires"),
        (ONE.replace("rulesets: [ruleset-1.1]", 'ruleset_versions: "~~1"'), "version range"),
        (ONE.replace('"run-fail-*"', '"run-[fail"'), "glob"),
        (ONE.replace("    approved_by: alice\n", ""), "missing approved_by"),
        (ONE.replace('    run_id: "run-fail-*"\n', ""), "exactly one of run_id"),
        ("waivers: [", "YAML"),
        ("- 1\n", "waivers"),
        (ONE + ONE.replace("waivers:\n", ""), "given twice"),
    ],
)
def test_malformed_waivers_are_one_line_usage_errors(text: str, needle: str) -> None:
    with pytest.raises(UsageError) as exc:
        parse_waivers(text.encode())
    message = str(exc.value)
    assert needle in message and "\n" not in message


def test_order_and_key_order_do_not_change_the_ruling(judge: Any) -> None:
    two = ONE + ONE.replace("waivers:\n", "").replace("W-1", "W-2").replace("CL-D1-01", "CL-D4-01")
    entries = two.removeprefix("waivers:\n").split("  - ")[1:]
    reordered = "waivers:\n" + "".join("  - " + e for e in reversed(entries))
    keys = ONE.replace(
        "    reason: known gap, tracked in TICKET-9\n    approved_by: alice\n",
        "    approved_by: alice\n    reason: known gap, tracked in TICKET-9\n",
    )
    assert parse_waivers(two.encode()).sha256 == parse_waivers(reordered.encode()).sha256
    assert parse_waivers(ONE.encode()).sha256 == parse_waivers(keys.encode()).sha256
    base = _ruling(judge)
    a = apply_waivers(base, parse_waivers(two.encode()), AS_OF)
    b = apply_waivers(base, parse_waivers(reordered.encode()), AS_OF)
    assert ruling_json(a) == ruling_json(b)


def test_derived_id_is_stable_and_given_ids_are_kept() -> None:
    text = ONE.replace("  - id: W-1\n    clause_id", "  - clause_id")
    first = parse_waivers(text.encode()).waivers[0].id
    assert first.startswith("W-") and first == parse_waivers(text.encode()).waivers[0].id


# -- the command line --------------------------------------------------------------------


def test_waivers_need_as_of(vlab_in_process: Any, tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(ONE)
    code, _, err = vlab_in_process("adjudicate", FAILING, "--waivers", tmp_path / "w.yaml")
    assert code == 64 and "--as-of" in err


def test_malformed_file_is_64_one_line(vlab_in_process: Any, tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(ONE.replace("alice", "[alice"))
    code, _, err = vlab_in_process(
        "adjudicate", FAILING, "--waivers", tmp_path / "w.yaml", "--as-of", AS_OF
    )
    assert code == 64 and len(err.strip().splitlines()) == 1


def test_cli_waived_ruling_exits_zero(vlab_in_process: Any, tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(ONE)
    args = ("adjudicate", FAILING, "--format", "json")
    code, plain, _ = vlab_in_process(*args)
    assert code == 1
    code, out, _ = vlab_in_process(*args, "--waivers", tmp_path / "w.yaml", "--as-of", AS_OF)
    doc = json.loads(out)
    assert code == 0 and doc["topline"] == "PASS" and doc["waivers"]["waived"] == 1
    # without --waivers the ruling is the one vlab always gave: no new members
    assert "as_of" not in json.loads(plain) and "waivers" not in json.loads(plain)
    assert all("waiver" not in c and "severity" not in c for c in json.loads(plain)["clauses"])


# -- every output format -----------------------------------------------------------------


def _formats(judge: Any, text: str, as_of: str = AS_OF) -> dict[str, str]:
    from vlab.render import RENDERERS

    ruling = apply_waivers(_ruling(judge), parse_waivers(text.encode()), as_of)
    return {n: RENDERERS[n](ruling).decode() for n in ("table", "md", "junit", "sarif", "github")}


def test_a_waived_fail_in_every_format(judge: Any) -> None:
    out = _formats(judge, ONE)
    assert "FAIL (waived)" in out["table"] and "waived by W-1" in out["table"]
    assert "as of: 2026-06-01T00:00:00Z" in out["table"]
    assert "FAIL (waived)" in out["md"] and "waived by W-1" in out["md"]
    assert 'failures="0"' in out["junit"] and "<skipped message=" in out["junit"]
    assert 'name="vlab.as_of"' in out["junit"] and "waived by W-1" in out["junit"]
    sarif = json.loads(out["sarif"])
    results = sarif["runs"][0]["results"]
    assert results and all(r["suppressions"][0]["kind"] == "external" for r in results)
    assert results[0]["suppressions"][0]["justification"] == "known gap, tracked in TICKET-9"
    assert sarif["runs"][0]["properties"]["waivers"]["applied"] == ["W-1"]
    assert "::error" not in out["github"] and "(waived by W-1)" in out["github"]
    assert "1 waived failure(s)" in out["github"]


def test_an_expired_or_unmatched_waiver_in_every_format(judge: Any) -> None:
    expired = _formats(judge, ONE, as_of="2028-01-01T00:00:00Z")
    assert "WAIVER-EXPIRED" in expired["table"] and "WAIVER-EXPIRED" in expired["md"]
    assert 'failures="1"' in expired["junit"] and "::error" in expired["github"]
    assert "::warning" in expired["github"] and "WAIVER-EXPIRED" in expired["github"]
    assert all("suppressions" not in r for r in json.loads(expired["sarif"])["runs"][0]["results"])
    unmatched = _formats(judge, ONE.replace("CL-D1-01", "CL-D9-01"))
    assert "unmatched W-1" in unmatched["table"] and "unmatched W-1" in unmatched["md"]
    assert json.loads(unmatched["sarif"])["runs"][0]["properties"]["waivers"]["unmatched"] == [
        "W-1"
    ]


def test_not_admissible_in_every_format_is_unwaived(judge: Any) -> None:
    from vlab.render import RENDERERS

    text = ONE.replace('run_id: "run-fail-*"', 'pack_id: "*"').replace(
        "rulesets: [ruleset-1.1]", 'rulesets: ["*"]'
    )
    ruling = apply_waivers(_ruling(judge, REFUSED), parse_waivers(text.encode()), AS_OF)
    assert "(waived)" not in RENDERERS["table"](ruling).decode()
    assert "suppressions" not in RENDERERS["sarif"](ruling).decode()


def test_no_waivers_leaves_every_format_alone(judge: Any) -> None:
    from vlab.render import RENDERERS

    ruling = _ruling(judge)
    for name in ("table", "md", "junit", "sarif", "github"):
        text = RENDERERS[name](ruling).decode()
        assert "waive" not in text and "as_of" not in text and "severity" not in text


# -- no --waivers: the bytes every existing ruling had -----------------------------------

# Ruling digests (which cover every member but ``engine``) of golden vectors, as commit
# 5e54e89 (before waivers and severity) produced them.
BEFORE = {
    "admission/contract-artifact-json-invalid": "sha256:dfa41beb6e2154c848a8558ab0841af44bb6d5832c8399db7fef239223998760",  # noqa: E501
    "admission/integrity-unsafe-path": "sha256:3c01923cccb135d4c84226735fb18e96af89ecca1f3096822b31142792be9855",  # noqa: E501
    "d1-01/fail-outcome-blank": "sha256:0a9dbc5c8af23a97b3580e65a1953698f4642e1dc2525f42e240dc006b8c1334",  # noqa: E501
    "d2-01/fail-to-state-not-terminal": "sha256:1903aad0d937cb6df636aa3dc6345a5f72a992dc1431c3b30a0f7067e0b42df0",  # noqa: E501
    "format/contract-1.1-substrate-declared": "sha256:04d5eabc0ba2924c9d9b6ec82dd459745537077010f62605e67a5f23db2ba7c2",  # noqa: E501
    "i13-agentv/pass-no-budget": "sha256:8ca38ee000006866fd39f2e878064ebd9d11bc5a714bf9169d8ed6b03b678f8a",  # noqa: E501
    "i13-hal0/torn-then-appended": "sha256:edb75e59783a0b574a3a3c54fa209c6f83d09c9a13cf71aa9b3b31c51a7d1222",  # noqa: E501
    "i15-mplp/edited-execution-after-termination": "sha256:ad9190b5e2a1455e057878e720173dd4d5678fd3c012dada6ec5c0856de750e1",  # noqa: E501
    "r12-d1-02/fail-overrun-unknown-unjustified": "sha256:523bbbd8d7cc5b01158ff80c7be7bd72745cf5fb46b12601cbd3ed642e95f5f7",  # noqa: E501
    "r12-d1-03/not-evaluated-no-spend-cap": "sha256:855a060ac224cfc1e9037e543ae8653efd69f389da38f90e8dba7309788ba82d",  # noqa: E501
    "r12-d1-04/pass-no-cap": "sha256:8ceabc6c4fa47755c801f0eb71e8493fd02efdaa6e0ad2d631a323dca838c464",  # noqa: E501
    "r12-d5-01/pattern-trailing-slash": "sha256:0b8c76bf2ed6b528639de966cad10d0175b7fce39f30892a5e5df3f43677a6e2",  # noqa: E501
    "starter/arb-d1-budget-fail-fixture": "sha256:f62bf0b6f202b351adeff3817482c97f160d5d4d47c083a579ffbd7d3d00c822",  # noqa: E501
}


@pytest.mark.parametrize("vector", sorted(BEFORE))
def test_without_waivers_ruling_bytes_are_unchanged(judge: Any, vector: str) -> None:
    doc = judge(REPO / "evidence_packs" / vector / "pack")
    assert doc["digest"] == BEFORE[vector]
    assert "as_of" not in doc and "waivers" not in doc


def test_review_dossier_shows_the_waiver(vlab_in_process: Any, tmp_path: Path) -> None:
    (tmp_path / "w.yaml").write_text(ONE)
    code, out, _ = vlab_in_process(
        "adjudicate", FAILING, "--format", "json", "--waivers", tmp_path / "w.yaml",
        "--as-of", AS_OF,
    )  # fmt: skip
    (tmp_path / "r.json").write_bytes(out)
    code, dossier, _ = vlab_in_process("review", tmp_path / "r.json", "--pack", FAILING)
    assert code == 0 and b"waived by W-1" in dossier and b"as of: 2026-06-01" in dossier
