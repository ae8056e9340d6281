"""The attacker's memory and CPU cases, asserted by counting work (never by timing): each is
refused with a precise code, or judged, after a bounded amount of work. The same cases at
the attacker's full sizes are measured (RSS, seconds) by ``python -m benchmarks.hostile``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from packs import good_pack, write
from vlab.core import strictjson
from vlab.engine.admission import contract
from vlab.ruleset.model import Ruleset

POINTERS = "evidence_pointers.json"


def _gate_details(ruling: dict[str, Any], gate: str) -> list[dict[str, Any]]:
    for g in ruling["admission"]["gates"]:
        if g["gate"] == gate:
            details = g["details"]
            assert isinstance(details, list)
            return details
    raise AssertionError(gate)


def test_schema_errors_are_drawn_lazily_up_to_the_scan_bound(
    tmp_path: Path, judge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """5,000 `{}` pointers (4 errors each) stay under the pointer bound: at most
    MAX_SCHEMA_ERRORS_SCANNED errors are ever drawn from the validator, 10 are reported."""
    pack = good_pack(tmp_path)
    write(pack, POINTERS, json.dumps({"pointers": [{}] * 5_000}), reseal=True)
    drawn = 0
    original = Ruleset.validator

    def counting(self: Ruleset, schema: dict[str, Any]) -> Any:
        validator = original(self, schema)

        class Counted:
            def iter_errors(self, document: Any) -> Any:
                nonlocal drawn
                for error in validator.iter_errors(document):
                    drawn += 1
                    yield error

        return Counted()

    monkeypatch.setattr(Ruleset, "validator", counting)
    ruling = judge(pack)
    details = _gate_details(ruling, "ADM-GATE-CONTRACT")
    assert [d["code"] for d in details] == ["CONTRACT-SCHEMA-INVALID"] * 10
    assert drawn == contract.MAX_SCHEMA_ERRORS_SCANNED


def test_too_many_pointers_are_refused_before_the_schema(tmp_path: Path, judge: Any) -> None:
    pack = good_pack(tmp_path)
    pointer = {
        "requirement_id": "RQ-D1-01",
        "artifact_path": "trace/events.ndjson",
        "locator": "event_id:nope",
        "status": "PRESENT",
    }
    write(pack, POINTERS, json.dumps({"pointers": [pointer] * 21}), reseal=True)
    ruling = judge(pack, limits={"max_pointers": 20})
    details = _gate_details(ruling, "ADM-GATE-CONTRACT")
    assert [(d["code"], d["locator"]) for d in details] == [
        ("CONTRACT-TOO-MANY-POINTERS", "jsonptr:/pointers")
    ]


def test_clause_details_are_capped_and_the_rest_counted(tmp_path: Path, judge: Any) -> None:
    """150 unresolvable pointers for one requirement: 100 details, 50 counted."""
    pointers = [
        {
            "requirement_id": "RQ-D1-01",
            "artifact_path": "trace/events.ndjson",
            "locator": f"event_id:missing-{i}",
            "status": "PRESENT",
        }
        for i in range(150)
    ]
    pack = good_pack(tmp_path, pointers=pointers)
    ruling = judge(pack)
    clause = next(c for c in ruling["clauses"] if c["clause_id"] == "CL-D1-01")
    assert clause["status"] == "FAIL"
    assert len(clause["details"]) == 100
    assert clause["details_omitted"] == 50
    # a clause under the cap has no such member (rulings that never hit it keep their bytes)
    assert all("details_omitted" not in c for c in ruling["clauses"] if c is not clause)


def test_a_document_with_too_many_values_is_refused_without_being_parsed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded = 0
    real = strictjson._DECODER

    class Counting:
        def decode(self, text: str) -> Any:
            nonlocal decoded
            decoded += 1
            return real.decode(text)

    monkeypatch.setattr(strictjson, "_DECODER", Counting())
    with pytest.raises(strictjson.StrictJSONError) as err:
        strictjson.loads(b"[" + b"{}," * 100_000 + b"{}]", max_values=1_000)
    assert err.value.code == "CONTRACT-DOCUMENT-TOO-LARGE"
    assert decoded == 0
    # counted generously: 1 + every `[`, `{` and `,` outside strings (here 1 + 1,001 + 999)
    assert strictjson.loads(b"[" + b"{}," * 999 + b"{}]", max_values=2_001) is not None
    assert decoded == 1


@pytest.mark.parametrize("size", [10_000, 100_000])
def test_the_shape_scan_stops_at_its_bound(size: int) -> None:
    """Work is bounded by the bound, not by the text: the scan stops at bound + 1 values, and
    the depth scan at bound + 1 levels, whatever follows."""
    assert strictjson.shape(b"[" + b"0," * size + b"0]", 64, 500) == (1, 501)
    assert strictjson.shape(b"[" * size, 64, 10**9) == (65, 66)


def test_commas_and_brackets_inside_strings_are_not_values() -> None:
    text = b'{"s":"' + b",[{" * 10_000 + b'\\"' + b",{" * 10_000 + b'"}'
    assert strictjson.shape(text, 64, 10**9) == (1, 2)
    assert strictjson.loads(text, max_values=10)["s"].startswith(",[{")


def test_a_long_ndjson_line_takes_the_bounded_strict_parser(tmp_path: Path, judge: Any) -> None:
    """A line over 1 MiB never goes to orjson (which builds every value it reads)."""
    big = b'{"event_id":"evt-big","pad":[' + b"0," * 600_000 + b"0]}"
    pack = good_pack(tmp_path, extra_files={"artifacts/big.ndjson": big + b"\n"})
    ruling = judge(pack, limits={"max_document_values": 100_000})
    details = _gate_details(ruling, "ADM-GATE-CONTRACT")
    assert [(d["code"], d["line"]) for d in details] == [("CONTRACT-DOCUMENT-TOO-LARGE", 1)]


def test_seal_of_an_unreadable_file_is_a_usage_error(
    tmp_path: Path, vlab_in_process: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from vlab.pack.reader import PackReader

    pack = good_pack(tmp_path, sealed=False)

    def denied(self: PackReader, path: str, max_line: int | None) -> Any:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(PackReader, "hash_file", denied)
    code, _, err = vlab_in_process("pack", "seal", pack)
    assert code == 64
    assert "Permission denied" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("value", ["!!bool x", "!!int", "!!float", "!!timestamp nope"])
def test_a_hostile_tag_in_a_ruleset_is_a_ruleset_error_not_a_crash(
    tmp_path: Path, value: str
) -> None:
    from vlab.core.errors import RulesetError
    from vlab.ruleset.source import Source

    path = tmp_path / "ruleset.yaml"
    path.write_text(f"id: x\nformat: {value}\n", encoding="utf-8")
    with pytest.raises(RulesetError) as err:
        Source(path)
    assert "YAML" in str(err.value)


def test_a_lone_surrogate_becomes_one_replacement_character_and_question_marks_stay() -> None:
    from vlab.core.canonical import canonical_text

    assert canonical_text({"m": "why? \udc80 ok?"}) == '{"m":"why? \ufffd ok?"}'
