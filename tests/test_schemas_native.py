"""The native confirmation of valid documents (decision 285): wherever jsonschema-rs calls a
document valid, jsonschema finds no error, over every schema vlab applies and every JSON
document of the golden vectors plus seeded mutations of them; the shapes it must not be
asked about go to jsonschema alone. Counted, no timing."""

from __future__ import annotations

import copy
import json
import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from vlab.core import schemas, strictjson

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jsonschema_rs")


def _schemas() -> list[dict[str, Any]]:
    from vlab.tools.pool import catalog_for

    found: list[dict[str, Any]] = []
    catalog = catalog_for(())
    for ruleset_id in catalog.ids():
        r = catalog.resolve(ruleset_id)
        found += [*r.manifest_schemas.values(), r.bundle_manifest_schema]
        found += [r.evidence_pointers_schema, *r.extra_schemas.values()]
    data = ROOT / "src" / "vlab" / "data"
    for name in ("expected.schema.json", "ruling.schema.json"):
        found.append(json.loads((data / name).read_text("utf-8")))
    return found


def _documents() -> list[Any]:
    docs = []
    for path in sorted((ROOT / "evidence_packs").rglob("*.json")):
        if path.stat().st_size > 200_000:
            continue
        try:
            docs.append(strictjson.loads(path.read_bytes()))
        except strictjson.StrictJSONError:
            continue
    return docs


def _mutate(rng: random.Random, doc: Any) -> Any:
    doc = copy.deepcopy(doc)
    if not isinstance(doc, dict) or not doc:
        return doc
    node: Any = doc
    for _ in range(rng.randrange(3)):  # walk down a little
        kids = list(node.values()) if isinstance(node, dict) else node
        kids = [k for k in kids if isinstance(k, (dict, list)) and k]
        if not kids:
            break
        node = rng.choice(kids)
    value = rng.choice(
        [
            "",
            "x" * 300,
            "sha256:" + "0" * 63,
            "A-1",
            "2026-05-29T00:00:00Z\n",
            -1,
            0,
            2**60,
            True,
            None,
            [],
            {},
            ["a"],
            {"k": 1},
            "٣",
            "\u2028",
            "😀" * 3,
        ]
    )
    if isinstance(node, dict):
        keys = list(node)
        roll = rng.random()
        if roll < 0.6:
            node[rng.choice(keys)] = value
        elif roll < 0.8:
            del node[rng.choice(keys)]
        else:
            node["unknown_" + str(rng.randrange(9))] = value
    elif isinstance(node, list):
        node[rng.randrange(len(node))] = value
    return doc


def test_native_valid_implies_no_jsonschema_error() -> None:
    rng = random.Random(285)
    docs = _documents()
    pairs = 0
    for schema in _schemas():
        checked = schemas.validator(schema)
        full = schemas._validator_class()(schema)
        if not isinstance(checked, schemas.Confirmed):
            continue
        for doc in docs + [_mutate(rng, rng.choice(docs)) for _ in range(300)]:
            pairs += 1
            native_says_valid = schemas._document_is_plain(doc) and checked.native.is_valid(doc)
            errors = [e.message for e in full.iter_errors(doc)]
            if native_says_valid:
                assert errors == [], (schema.get("$id"), doc, errors)
            assert [e.message for e in checked.iter_errors(doc)] == errors
    assert pairs > 3_000
    assert schemas.stats["native_valid"] > 500 and schemas.stats["full"] > 500, schemas.stats


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "string", "pattern": "^\\d+$"},
        {"type": "string", "pattern": "^x{,3}$"},
        {"patternProperties": {"(?i)^a": {}}},
        {"$ref": "https://example.com/s.json"},
        {"type": "string", "pattern": "^[$]$"},
    ],
)
def test_schemas_read_differently_are_never_asked_natively(schema: dict[str, Any]) -> None:
    assert not isinstance(schemas.validator(schema), schemas.Confirmed)


def test_documents_read_differently_go_to_jsonschema() -> None:
    checked = schemas.validator({"type": "integer"})
    assert isinstance(checked, schemas.Confirmed)
    before = dict(schemas.stats)
    for value in (Decimal("1.0"), 2**60, 1.0):
        assert not schemas._document_is_plain(value)
    assert [e.validator for e in checked.iter_errors(Decimal("1.0"))] == ["type"]
    assert list(checked.iter_errors(2**60)) == []
    assert list(checked.iter_errors(7)) == []
    assert schemas.stats["full"] == before["full"] + 2
    assert schemas.stats["native_valid"] == before["native_valid"] + 1
