"""What an importer is, and the few helpers every importer shares.

An importer has two halves (importers.md §1–2):

- ``collect(sources, options)`` reads SOURCE as the system wrote it, from disk, and
  returns every byte it read as ``native`` files (paths relative to ``native/<system>/``,
  under a fixed layout the importer documents) plus the options ``derive`` needs. It
  refuses what is not that system's output (``ImportRefused``: exit 65) and never
  repairs, drops or launders anything.
- ``derive(native, options)`` is a **pure function** of those bytes and options: it makes
  the derived evidence (the event log, artifacts, pointers, scenario flags, claims). The
  CONTRACT gate calls it again on the sealed ``native/`` bytes of an imported pack and
  requires the pack's files to come out byte for byte, so a derived file can never say
  what the native bytes do not. It must not read files, the clock or the environment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from vlab.core import strictjson
from vlab.core.money import NATIVE_FRACTION_DIGITS, bounded, fmt

NATIVE = "native"
IMPORT_FILE = "import.json"
# A pack's created_at when the native evidence carries no timestamp at all.
EPOCH = "1970-01-01T00:00:00Z"

JSON = dict[str, Any]
# The applicability flag of every shipped clause, in the order packs write them: an import
# sets its own clause's true and the others false unless its native evidence covers them
# (importers.md §1).
SCENARIO_FLAGS = (
    "budget_decision",
    "lifecycle",
    "privileged_action",
    "termination_case",
    "settlement_expected",
    "spend_cap",
    "eval_matrix",
    "mission_policy",
)


def scenario(*covered: str) -> JSON:
    """``scenario_meta``: the flags named true, every other one false."""
    assert set(covered) <= set(SCENARIO_FLAGS), covered
    return {flag: flag in covered for flag in SCENARIO_FLAGS}


class ImportRefused(Exception):
    """The path exists but is not this system's output: exit 65, one line."""

    def __init__(self, path: str, expected: str) -> None:
        super().__init__(f"{path}: {expected}")
        self.path = path
        self.expected = expected


@dataclass
class Collected:
    """What ``collect`` read: native files (path under ``native/<system>/`` → bytes) and
    the options ``derive`` needs (JSON values only; recorded in import.json)."""

    native: dict[str, bytes]
    options: JSON = field(default_factory=dict)


@dataclass
class Derived:
    """What ``derive`` made of the native bytes."""

    files: dict[str, bytes]  # pack path (outside native/) -> bytes
    pointers: list[JSON]  # evidence_pointers.json entries
    run_id: str
    created_at: str  # RFC 3339, from the evidence (EPOCH when it has no timestamp)
    scenario_meta: JSON
    claims: JSON = field(default_factory=dict)  # what the system said about itself
    evidence: JSON = field(default_factory=dict)  # facts clauses read (checks_recorded, ...)
    notes: list[str] = field(default_factory=list)  # what the evidence cannot show
    derived_from: list[JSON] = field(default_factory=list)  # which records come from which rows


@dataclass(frozen=True)
class Importer:
    system: str
    version: int
    summary: str  # one line, for ``vlab import --list``
    collect: Callable[[Sequence[Path], Mapping[str, Any]], Collected]
    derive: Callable[[Mapping[str, bytes], Mapping[str, Any]], Derived]
    # The importer's own options (name -> one-line help); the rest are the framework's.
    options: Mapping[str, str] = field(default_factory=dict)
    # The ruleset an import pins when --ruleset is not given (importers.md §1).
    default_ruleset: str = "ruleset-1.3"


# -- writing derived files: fixed key order (the code's), UTF-8, "\n" line ends ---------------


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_text(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def json_bytes(document: Any) -> bytes:
    """A derived JSON document: 2-space indent, keys in the order the importer built them,
    Decimals as plain decimal text (money is never a binary float)."""
    text = json.dumps(document, indent=2, ensure_ascii=False, default=_default)
    return (text + "\n").encode("utf-8")


def ndjson_bytes(records: Iterable[Any]) -> bytes:
    """A derived NDJSON artifact: one compact object per line, every line ``\\n``-ended."""
    return b"".join(
        json.dumps(r, ensure_ascii=False, separators=(",", ":"), default=_default).encode("utf-8")
        + b"\n"
        for r in records
    )


def money_text(value: Any) -> Any:
    """A native JSON number as the exact decimal text of its literal (``0.35`` ->
    ``"0.35"``); anything else is returned as it is, for the clause to judge."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, Decimal)):
        number = Decimal(value)
        # Outside the money bound (1e999999, say) the plain text could be a megabyte from
        # seven bytes: it stays in its short scientific form, which is not money.
        return fmt(number) if bounded(number, NATIVE_FRACTION_DIGITS) is not None else str(number)
    return value


def source(artifact_path: str, line: int | None = None, jsonptr: str | None = None) -> JSON:
    """The ``source`` of a derived record: the native file and line (or JSON Pointer)."""
    where: JSON = {"artifact_path": artifact_path}
    if line is not None:
        where["line"] = line
    if jsonptr is not None:
        where["jsonptr"] = jsonptr
    return where


def native_path(system: str, rel: str) -> str:
    return f"{NATIVE}/{system}/{rel}"


# -- reading native files from disk (collect) ---------------------------------------------------

# A native file vlab can re-import (the CONTRACT gate re-reads native files up to the
# pack's max_document_bytes, 64 MiB by default); and at most this many lines of one file
# are turned into derived records (each costs memory twice: in the import and the gate).
MAX_NATIVE_BYTES = 64 * 1024**2
MAX_NATIVE_LINES = 500_000


def read_native(path: Path, what: str) -> bytes:
    """The bytes of one native file as ``collect`` reads it: a regular file, never through
    a symbolic link (a link in SOURCE could carry any file of this machine into a pack
    that is then shared), at most ``MAX_NATIVE_BYTES``. Anything else is ``ImportRefused``
    naming the path and what it should have been."""
    import os
    import stat

    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    if path.is_symlink():
        raise ImportRefused(str(path), f"{what} as a regular file, not a symbolic link")
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ImportRefused(str(path), f"a readable {what} ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImportRefused(str(path), f"{what} as a regular file")
        data = fh.read(MAX_NATIVE_BYTES + 1)
    if len(data) > MAX_NATIVE_BYTES:
        raise ImportRefused(
            str(path), f"{what} of at most {MAX_NATIVE_BYTES} bytes (what vlab re-imports)"
        )
    return data


# -- reading native bytes with exact numbers ---------------------------------------------------


def load_json(data: bytes) -> Any:
    """A native JSON document, numbers exact (``Decimal`` for any fraction or exponent),
    bounded like every document vlab parses. Raises ``strictjson.StrictJSONError``."""
    return strictjson.loads(data)


def load_toml(data: bytes) -> JSON:
    """A native TOML document, floats as the exact decimal of their literal text.
    Raises ``ValueError`` (``tomllib.TOMLDecodeError`` or a bad encoding)."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    document: JSON = tomllib.loads(data.decode("utf-8"), parse_float=Decimal)
    return document


def lines(data: bytes) -> Iterable[tuple[int, bytes, bool]]:
    """Every physical line: (1-based number, bytes without terminator, terminated?).
    ``\\r\\n`` counts as ``\\n``; a final line without terminator is reported as such."""
    start = 0
    number = 0
    size = len(data)
    while start < size:
        number += 1
        if number > MAX_NATIVE_LINES:
            raise ImportRefused("a native file", f"at most {MAX_NATIVE_LINES} lines")
        end = data.find(b"\n", start)
        if end < 0:
            yield number, data[start:], False
            return
        raw = data[start:end]
        yield number, raw[:-1] if raw.endswith(b"\r") else raw, True
        start = end + 1
