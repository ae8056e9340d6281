"""Shared pack fixtures for the test suite (import as ``from packs import ...``).

``good_pack(tmp_path)`` writes a valid, sealed ruleset-1.1 pack whose ruling is PASS:

- ``trace/events.ndjson`` holds a budget decision (line 1, ``evt-budget-001``, RQ-D1-01),
  a terminal state transition (line 2, ``evt-state-002``, RQ-D2-01) and an authorization
  decision (line 3, ``evt-authz-003``, RQ-D3-01);
- ``evidence_pointers.json`` points each requirement at its event by ``event_id:``;
- ``bundle.manifest.json`` pins ``ruleset-1.1``, protocol ``1.0.0`` and the schema-bundle
  digest the installed ruleset-1.1 ships; ``scenario_meta`` is empty, so CL-D4-01 is
  NOT_EVALUATED (not a termination case) and CL-D1-01..CL-D3-01 PASS.

To break a pack after it is built, use ``write`` / ``remove`` (with ``reseal=True`` to
re-run ``vlab pack seal`` so only the change under test can fail admission), or
``reseal`` alone. ``write`` deliberately bypasses PackWriter's path safety so tests can
create unsafe names.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from vlab.pack.seal import seal
from vlab.producer.packwriter import PackWriter

RULESET_ID = "ruleset-1.1"
EVENTS_PATH = "trace/events.ndjson"
SUMS_PATH = "integrity/sha256sums.txt"

EVENTS: list[dict[str, Any]] = [
    {
        "event_id": "evt-budget-001",
        "event_type": "decision",
        "timestamp": "2026-05-29T10:00:01Z",
        "decision_id": "dec-1",
        "decision_kind": "budget",
        "decision_outcome": "allow",
        "target": {"kind": "agent", "id": "agent-1"},
    },
    {
        "event_id": "evt-state-002",
        "event_type": "state_transition",
        "timestamp": "2026-05-29T10:00:02Z",
        "from_state": "running",
        "to_state": "completed",
        "target": {"kind": "run", "id": "run-001"},
    },
    {
        "event_id": "evt-authz-003",
        "event_type": "decision",
        "timestamp": "2026-05-29T10:00:03Z",
        "decision_id": "dec-3",
        "decision_kind": "authz",
        "decision_outcome": "allow",
        "target": {"kind": "task", "id": "task-1"},
    },
]

POINTERS: list[dict[str, Any]] = [
    {
        "requirement_id": "RQ-D1-01",
        "artifact_path": EVENTS_PATH,
        "locator": "event_id:evt-budget-001",
        "status": "PRESENT",
    },
    {
        "requirement_id": "RQ-D2-01",
        "artifact_path": EVENTS_PATH,
        "locator": "event_id:evt-state-002",
        "status": "PRESENT",
    },
    {
        "requirement_id": "RQ-D3-01",
        "artifact_path": EVENTS_PATH,
        "locator": "event_id:evt-authz-003",
        "status": "PRESENT",
    },
]

CLAUSE_IDS = ("CL-D1-01", "CL-D2-01", "CL-D3-01", "CL-D4-01")


@cache
def schema_bundle_sha256(ruleset_id: str = RULESET_ID) -> str:
    """The 64-hex digest a pack must pin for ``ruleset_id`` (as ``vlab rulesets show``)."""
    from vlab.ruleset.catalog import Catalog

    ruleset = Catalog().get(ruleset_id)
    assert ruleset is not None, ruleset_id
    return ruleset.schema_bundle_sha256


def good_pack(
    tmp_path: Path,
    *,
    name: str = "pack",
    events: list[dict[str, Any]] | None = None,
    pointers: list[dict[str, Any]] | None = None,
    extra_files: dict[str, bytes] | None = None,
    sealed: bool = True,
    **control: Any,
) -> Path:
    """Write a valid ruleset-1.1 pack at ``tmp_path / name`` and return its folder.

    ``events`` / ``pointers`` replace the default event log / pointer list;
    ``extra_files`` maps pack-relative paths to bytes written before sealing;
    ``sealed=False`` skips writing ``integrity/sha256sums.txt``; any other keyword goes
    to ``PackWriter.control_files`` (``ruleset_ref``, ``protocol_pin``,
    ``schema_bundle_sha256``, ``contract_version``, ``scenario_meta``, ``substrate``, ...).
    """
    root = tmp_path / name
    writer = PackWriter(root)
    writer.write_ndjson(EVENTS_PATH, copy.deepcopy(EVENTS if events is None else events))
    fields: dict[str, Any] = {
        "pack_id": "pack-good-001",
        "run_id": "run-001",
        # Fixed, not PackWriter's default (the current time): two packs built by one test
        # must have the same bytes whatever second each is written in.
        "created_at": "2026-05-29T10:00:00Z",
        "ruleset_ref": RULESET_ID,
        "schema_bundle_sha256": schema_bundle_sha256(),
        "pointers": copy.deepcopy(POINTERS if pointers is None else pointers),
    }
    fields.update(control)
    writer.control_files(**fields)
    for rel, data in (extra_files or {}).items():
        writer.write_bytes(rel, data)
    if sealed:
        writer.seal()
    return root


def reseal(pack: Path) -> None:
    """Rewrite ``integrity/sha256sums.txt`` for the pack's current files."""
    seal(pack)


def write(pack: Path, rel: str, data: bytes | str, *, reseal: bool = False) -> Path:
    """Create or overwrite one pack file (no path-safety check); optionally reseal."""
    path = pack / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    if reseal:
        seal(pack)
    return path


def write_json(pack: Path, rel: str, value: Any, *, reseal: bool = False) -> Path:
    """``write`` the JSON text of ``value``."""
    return write(pack, rel, json.dumps(value, indent=2) + "\n", reseal=reseal)


def read_json(pack: Path, rel: str) -> Any:
    return json.loads((pack / rel).read_text(encoding="utf-8"))


def remove(pack: Path, rel: str, *, reseal: bool = False) -> None:
    """Delete one pack file; optionally reseal."""
    (pack / rel).unlink()
    if reseal:
        seal(pack)
