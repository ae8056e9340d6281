"""Parse results remembered per process by the exact bytes parsed (decision 259).

A batch or regress run judges many packs in one process, and packs of one team carry the
same small YAML files again and again (a mission policy, an eval file): the pure-Python
YAML loader costs milliseconds where the rest of a small pack costs less. A parser whose
answer is a function of the bytes alone is asked once per distinct content; every caller
gets its own deep copy, so no caller sees another's mutations. Bounded in entries and in
the size of what is remembered; never a different answer, only a saved parse.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_ENTRIES = 256
MAX_BYTES = 64 * 1024  # larger inputs are parsed every time (and not kept)

_memo: OrderedDict[tuple[str, bytes], Any] = OrderedDict()
stats = {"parsed": 0, "reused": 0}  # for tests that count work


def parse_once(kind: str, data: bytes, parse: Callable[[bytes], T]) -> T:
    """``parse(data)``, or a deep copy of the answer it gave for the same ``kind`` and bytes.
    An input whose parse raises is not remembered (it raises again, parsed again)."""
    if len(data) > MAX_BYTES:
        return parse(data)
    memo_key = (kind, data)
    if memo_key in _memo:
        stats["reused"] += 1
        _memo.move_to_end(memo_key)
        return copy.deepcopy(_memo[memo_key])  # type: ignore[no-any-return]
    stats["parsed"] += 1
    value = parse(data)
    _memo[memo_key] = value
    if len(_memo) > MAX_ENTRIES:
        _memo.popitem(last=False)
    return copy.deepcopy(value)


def clear() -> None:
    _memo.clear()
    stats.update(parsed=0, reused=0)
