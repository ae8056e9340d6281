"""What the two ruleset-1.2 replay packs (ledger and matrix) share: paths, the prologue and
epilogue records, money formatting."""

from __future__ import annotations

import json
from typing import Any

REPLAY_RULESET = "ruleset-1.2"
REPLAY_GENERATOR_VERSION = 2  # bump when a generated replay pack's content changes
REPLAY_RUN_ID = "run-bench-replay"
LOG = "trace/events.ndjson"
MASK64 = 0xFFFFFFFFFFFFFFFF
PROLOGUE = {
    "event_id": "evt-budget-001",
    "event_type": "budget.decision",
    "timestamp": "2026-05-29T00:00:00Z",
    "decision_id": "persona-budget-loaded",
    "decision_kind": "budget",
    "decision_outcome": "allow",
    "target": {"kind": "agent", "id": "hermes"},
}


def epilogue(timestamp: str) -> dict[str, Any]:
    return {
        "event_id": "evt-end",
        "event_type": "run_state_transition",
        "timestamp": timestamp,
        "from_state": "running",
        "to_state": "completed",
    }


def replay_name(kind: str, size: int) -> str:
    return f"{kind}-{size}"


def jsonline(record: dict[str, Any]) -> str:
    return json.dumps(record, separators=(",", ":")) + "\n"


def units(n: int) -> str:
    """Money in 1/10,000 USD (N) as an exact decimal string: 123 -> "0.0123"."""
    return f"{n // 10_000}.{n % 10_000:04d}"
