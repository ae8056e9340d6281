"""core/memo.py: a parse is paid once per process for the same bytes (counted, no timing),
each caller gets its own copy, failures are not remembered, and the memo is bounded."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from vlab.core import memo
from vlab.domains import mission
from vlab.importers import agentv

POLICY = b"budget:\n  mission_hard_limit_usd: 1.50\nverification:\n  command: make test\n"


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    memo.clear()
    yield
    memo.clear()


def test_same_bytes_parse_once_and_every_caller_gets_a_copy() -> None:
    calls: list[bytes] = []

    def parse(data: bytes) -> dict[str, Any]:
        calls.append(data)
        return {"v": [1, 2], "d": Decimal("0.1")}

    first = memo.parse_once("k", b"x", parse)
    first["v"].append(3)
    second = memo.parse_once("k", b"x", parse)
    assert second == {"v": [1, 2], "d": Decimal("0.1")}
    assert len(calls) == 1 and memo.stats == {"parsed": 1, "reused": 1}
    memo.parse_once("other kind", b"x", parse)
    assert len(calls) == 2


def test_failures_and_large_inputs_are_not_kept() -> None:
    calls = []

    def boom(data: bytes) -> Any:
        calls.append(data)
        raise ValueError("bad")

    for _ in range(2):
        with pytest.raises(ValueError, match="bad"):
            memo.parse_once("k", b"y", boom)
    big = b"z" * (memo.MAX_BYTES + 1)
    memo.parse_once("k", big, len)
    memo.parse_once("k", big, len)
    assert len(calls) == 2 and memo.stats["reused"] == 0 and not memo._memo


def test_the_memo_is_bounded() -> None:
    for i in range(memo.MAX_ENTRIES + 50):
        memo.parse_once("k", str(i).encode(), len)
    assert len(memo._memo) == memo.MAX_ENTRIES


def test_mission_policy_and_agentv_yaml_are_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    loads = []
    real = mission._policy_yaml
    monkeypatch.setattr(mission, "_policy_yaml", lambda: loads.append(1) or real())
    one, two = mission.load_policy(POLICY), mission.load_policy(POLICY)
    assert one == two and one[0] is not None and one[0] is not two[0]
    assert len(loads) == 1
    assert (
        agentv._load_yaml(b"a: 1.10\n") == agentv._load_yaml(b"a: 1.10\n") == {"a": Decimal("1.10")}
    )
    assert memo.stats == {"parsed": 2, "reused": 2}
