"""Path patterns: repository-relative globs matched in linear time (no regex backtracking).

``*`` matches within one segment, ``**`` zero or more whole segments, ``?`` one character
other than ``/``; a trailing ``/`` means everything below that folder. Matching is dynamic
programming over (pattern, path) positions: O(len(pattern) x len(path)).
"""

from __future__ import annotations

import posixpath


def _segments(pattern: str) -> tuple[str, ...] | None:
    """A pattern as segments (None: the empty pattern, which matches nothing); a trailing
    ``/`` means everything below that folder."""
    if not pattern:
        return None
    parts = pattern.split("/")
    if parts[-1] == "":
        parts[-1] = "**"
    if len(parts) > 1 and parts[0] == "":  # a leading "/" just anchors (as always)
        parts = parts[1:]
    return tuple(parts)


def _segment_matches(pat: str, name: str) -> bool:
    """``*`` (any run of characters) and ``?`` (one character) inside one segment, by
    dynamic programming: O(len(pat) * len(name)), never exponential backtracking."""
    row = [True] + [False] * len(name)
    for c in pat:
        if c == "*":
            for j in range(1, len(name) + 1):
                row[j] = row[j] or row[j - 1]
        else:
            new = [False] * (len(name) + 1)
            for j in range(1, len(name) + 1):
                new[j] = row[j - 1] and (c == "?" or c == name[j - 1])
            row = new
    return row[len(name)]


def _path_matches(pats: tuple[str, ...], names: list[str]) -> bool:
    """Segments against path segments; ``**`` is zero or more whole segments (one or more
    as the last segment), by dynamic programming over (pattern, path) positions."""
    # ok[j]: the first i pattern segments match the first j path segments
    ok = [True] + [False] * len(names)
    for i, pat in enumerate(pats):
        last = i == len(pats) - 1
        new = [False] * (len(names) + 1)
        if pat == "**":
            # j segments are matched if the prefix matched at j itself (** as zero segments,
            # not allowed last) or at any k < j (** swallowing segments k..j-1).
            earlier = False
            for j in range(len(names) + 1):
                new[j] = (ok[j] and not last) or earlier
                earlier = earlier or ok[j]
        else:
            for j in range(1, len(names) + 1):
                new[j] = ok[j - 1] and _segment_matches(pat, names[j - 1])
        ok = new
    return ok[len(names)]


def normalize_path(path: str) -> str | None:
    """A repository-relative POSIX path, or None when it points outside the repository."""
    if not path or "\\" in path or "\0" in path:
        return None
    norm = posixpath.normpath(path)
    if norm.startswith("/") or norm == ".." or norm.startswith("../") or norm == ".":
        return None
    return norm


def matches(pattern: str, path: str) -> bool:
    """Anchored at the repository root: ``*`` within one segment, ``**`` zero or more whole
    segments, ``?`` one character other than ``/``; a trailing ``/`` means everything below
    that folder (never a file of that name)."""
    norm, segments = normalize_path(path), _segments(pattern)
    return norm is not None and segments is not None and _path_matches(segments, norm.split("/"))
