"""The reason-code registry: every code the engine can emit, with its one-line meaning;
and the "did you mean" every lookup of a code or an id by name offers."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import Any

from vlab.data import DATA

# Only this many characters of a mistyped name are compared: a suggestion for a longer
# one is noise, and the work of one comparison stays bounded whatever a pack holds.
MAX_COMPARED = 64


@lru_cache(maxsize=1)
def registry() -> dict[str, dict[str, str]]:
    """``{"reason_codes": {code: meaning}, "detail_codes": {code: meaning}}``."""
    from ruamel.yaml import YAML

    text = (DATA / "reason_codes.yaml").read_text("utf-8")
    data: Any = YAML(typ="safe", pure=True).load(text)
    return {
        "reason_codes": dict(data["reason_codes"]),
        "detail_codes": dict(data["detail_codes"]),
    }


def is_registered(code: str) -> bool:
    reg = registry()
    return code in reg["reason_codes"] or code in reg["detail_codes"]


def meaning(code: str) -> str | None:
    reg = registry()
    return reg["reason_codes"].get(code) or reg["detail_codes"].get(code)


def kind(code: str) -> str | None:
    """``"reason"`` or ``"detail"`` for a registered code, else None."""
    reg = registry()
    if code in reg["reason_codes"]:
        return "reason"
    return "detail" if code in reg["detail_codes"] else None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions each cost 1)."""
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate nearest ``word`` by edit distance, ties to the first in code-point
    order (deterministic whatever the iteration order); None without candidates. Only the
    first ``MAX_COMPARED`` characters of ``word`` and of each candidate are compared."""
    probe = word[:MAX_COMPARED]
    best: tuple[int, str] | None = None
    for cand in sorted(set(candidates)):
        floor = abs(len(probe) - len(cand[:MAX_COMPARED]))
        if best is not None and floor > best[0]:
            continue  # the distance is at least the difference in length
        d = edit_distance(probe, cand[:MAX_COMPARED])
        if best is None or d < best[0]:
            best = (d, cand)
    return None if best is None else best[1]
