"""Safety limits of evidence-pack.md, with their defaults."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

ALLOWED_ENDINGS = (".json", ".ndjson", ".jsonl", ".yaml", ".yml", ".txt", ".md", ".csv")
JSON_ENDINGS = (".json",)
NDJSON_ENDINGS = (".ndjson", ".jsonl")
YAML_ENDINGS = (".yaml", ".yml")
TEXT_ENDINGS = (".txt", ".md", ".csv")
# Under native/ (an imported system's own files, importers.md §2) also these; a path rule,
# whatever the contract version.
NATIVE_ENDINGS = (".toml", ".sha256", ".log")
NATIVE_PREFIX = "native/"

# Archive packs (scale.md §1; read by pack/archive.py). Longest ending first: x.tar.gz is
# a gzipped tar, not a tar.
Kind = Literal["tar", "tgz", "zip"]
ARCHIVE_ENDINGS: tuple[tuple[str, Kind], ...] = (
    (".tar.gz", "tgz"),
    (".tgz", "tgz"),
    (".tar", "tar"),
    (".zip", "zip"),
)


def archive_kind(name: str) -> Kind | None:
    """The archive kind a file name ends in (``tar``, ``tgz``, ``zip``), or None."""
    lowered = name.lower()
    for ending, kind in ARCHIVE_ENDINGS:
        if lowered.endswith(ending) and len(lowered) > len(ending):
            return kind
    return None


def ending_allowed(path: str) -> bool:
    """Whether a pack path's file ending is allowed (more endings under native/)."""
    return path.endswith(ALLOWED_ENDINGS) or (
        path.startswith(NATIVE_PREFIX) and path.endswith(NATIVE_ENDINGS)
    )


def is_native(path: str) -> bool:
    """A native file: parsed by its importer with its system's tolerance, never by
    CONTRACT's strict-JSON rules."""
    return path.startswith(NATIVE_PREFIX)


@dataclass(frozen=True)
class Limits:
    max_files: int = 10_000
    max_file_bytes: int = 4 * 1024**3
    max_pack_bytes: int = 16 * 1024**3
    max_line_bytes: int = 16 * 1024**2
    max_depth: int = 64
    # Folders count too (empty ones included); a folder may hold at most
    # max_files + max_folders entries, checked while it is listed (decision 65).
    max_folders: int = 10_000
    max_folder_depth: int = 64
    # A .json/.yaml document is parsed whole, so it gets its own bounds: bytes, and values
    # (a parsed value costs up to ~25x its text: `[{},{},...]`) (decision 66).
    max_document_bytes: int = 64 * 1024**2
    max_document_values: int = 1_000_000
    max_pointers: int = 10_000


def artifact_kind(path: str) -> str:
    """``json``, ``ndjson``, ``yaml``, ``text`` or ``other`` by file ending."""
    if path.endswith(JSON_ENDINGS):
        return "json"
    if path.endswith(NDJSON_ENDINGS):
        return "ndjson"
    if path.endswith(YAML_ENDINGS):
        return "yaml"
    if path.endswith(TEXT_ENDINGS):
        return "text"
    return "other"


def is_event_log(path: str) -> bool:
    return path.startswith("trace/") and artifact_kind(path) == "ndjson"


def unsafe_path_reason(path: str) -> str | None:
    """Why a pack-relative POSIX path is unsafe, or None when it is safe."""
    if not path:
        return "empty path"
    if path.startswith("/"):
        return "absolute path"
    if "\\" in path:
        return "contains a backslash"
    if _CONTROL.search(path):
        return "contains a control character"
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    for segment in path.split("/"):
        if segment in ("", ".", ".."):
            return f"has a {segment!r} segment" if segment else "has an empty segment"
    return None
