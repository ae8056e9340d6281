"""integrity/sha256sums.txt: parse, render, and the order-independent pack digest."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from vlab.core.findings import Detail
from vlab.pack.limits import unsafe_path_reason

SUMS_PATH = "integrity/sha256sums.txt"
_LINE = re.compile(r"([0-9a-f]{64}) [ *](.+)")


@dataclass(frozen=True)
class SumEntry:
    hexdigest: str
    path: str
    line: int


def parse_sums(data: bytes) -> tuple[list[SumEntry], list[Detail]]:
    """Entries in file order, and a finding per malformed or unsafe line."""
    entries: list[SumEntry] = []
    details: list[Detail] = []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return [], [Detail("INTEGRITY-MALFORMED", "not valid UTF-8", SUMS_PATH)]
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        details.append(Detail("INTEGRITY-MALFORMED", "the integrity file is empty", SUMS_PATH))
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        match = _LINE.fullmatch(line)
        if match is None:
            details.append(
                Detail(
                    "INTEGRITY-MALFORMED",
                    "expected '<64 lowercase hex>  <path>'",
                    SUMS_PATH,
                    line=number,
                )
            )
            continue
        path = match.group(2)
        reason = unsafe_path_reason(path)
        if reason is not None:
            details.append(
                Detail("INTEGRITY-UNSAFE-PATH", f"listed path {reason}", SUMS_PATH, line=number)
            )
            continue
        entries.append(SumEntry(match.group(1), path, number))
    return entries, details


def render_sums(hashes: dict[str, str]) -> bytes:
    """The file ``vlab pack seal`` writes: sorted by UTF-8 path bytes, two spaces."""
    return "".join(
        f"{hashes[p]}  {p}\n" for p in sorted(hashes, key=lambda p: p.encode("utf-8"))
    ).encode("utf-8")


def pack_digest(hashes: dict[str, str]) -> str:
    return "sha256:" + hashlib.sha256(render_sums(hashes)).hexdigest()
