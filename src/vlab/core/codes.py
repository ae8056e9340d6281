"""The reason-code registry: every code the engine can emit, with its one-line meaning."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from vlab.data import DATA


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
