"""Path patterns: repository-relative globs matched in counted, linear work.

``*`` matches within one segment, ``**`` zero or more whole segments (one or more as the
last segment), ``?`` one character other than ``/``; a trailing ``/`` means everything
below that folder. Patterns are anchored at the repository root.

How the work stays linear in len(pattern) + len(path), for every input:

- A pattern is compiled once into runs of segments split at its ``**`` segments. The
  first run is anchored at the path's start, the last at its end, and each run between
  two ``**`` is taken at its leftmost place after the previous run: the gaps between runs
  are any number of whole segments, so a later place is never needed.
- Inside one segment, ``*`` and ``?`` run as a bit-parallel automaton: the set of pattern
  positions reachable after each character of the name is one integer, so a character
  costs a few integer operations whatever the pattern holds (no backtracking).
- Two bounds make that provable, both beyond any real path: a pattern segment has at most
  ``MAX_SEGMENT_CHARS`` characters (a file name's limit on common file systems), so the
  automaton's integer stays a few machine words; a run between two ``**`` has at most
  ``MAX_FLOATING_SEGMENTS`` segments, so a path segment is compared at most that many
  times. A pattern beyond them raises ``PatternError``: it cannot be checked, and the
  caller must fail closed. Paths need no bound: the automaton's width is the pattern's,
  so a long name costs its length and no more.

Work is counted in ``Work`` steps: one per comparison and per character it can read, one
per character compiled or normalised, one per pattern tried on a path. ``matches`` takes
at most (MAX_FLOATING_SEGMENTS + 1) x (len(pattern) + len(path) + 2) steps. A ``Work`` with
a budget raises ``WorkExhausted`` at the step past it. Tests count steps, never time.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_SEGMENT_CHARS = 255
MAX_FLOATING_SEGMENTS = 32


class PatternError(ValueError):
    """A pattern beyond the bounds that keep matching linear: it cannot be checked."""


class WorkExhausted(Exception):
    """Matching needed more steps than its budget allows."""


class Work:
    """Steps of matching work done so far, and optionally how many are allowed."""

    __slots__ = ("budget", "steps")

    def __init__(self, budget: int | None = None) -> None:
        self.budget = budget
        self.steps = 0

    def spend(self, steps: int) -> None:
        self.steps += steps
        if self.budget is not None and self.steps > self.budget:
            raise WorkExhausted(f"more than {self.budget} steps of path matching")


# -- one segment --------------------------------------------------------------------------


class _Segment(str):
    """One pattern segment: its text (runs of ``*`` as one), with its automaton.

    A ``str`` so it reads, compares and measures as the segment it is. Bit ``i`` of the
    state means "the first i pattern characters match what the name has shown so far".
    """

    literal: bool  # no wildcard: compared as text
    advances: dict[str, int]  # per character: the positions it advances (with "?")
    anychar: int  # positions "?" advances on any character
    stars: int  # positions of "*": they stay on any character and may be skipped
    start: int
    accept: int


def _segment(text: str) -> _Segment:
    while "**" in text:  # a run of stars is one star (the run is never a "**" segment)
        text = text.replace("**", "*")
    seg = _Segment(text)
    seg.literal = "*" not in text and "?" not in text
    seg.anychar = sum(1 << i for i, c in enumerate(text) if c == "?")
    seg.stars = sum(1 << i for i, c in enumerate(text) if c == "*")
    advances: dict[str, int] = {}
    for i, c in enumerate(text):
        if c not in "*?":
            advances[c] = advances.get(c, 0) | 1 << i
    seg.advances = {c: bits | seg.anychar for c, bits in advances.items()}
    seg.start = _skip_stars(seg, 1)
    seg.accept = 1 << len(text)
    return seg


def _skip_stars(seg: _Segment, state: int) -> int:
    """The state with every star it reaches skipped (one shift: stars never adjoin)."""
    return state | (state & seg.stars) << 1


def _segment_matches(pat: _Segment, name: str) -> bool:
    """One pattern segment against one path segment: len(name) automaton steps (called as
    a module global, so tests can count calls)."""
    if pat.literal:
        return pat == name
    state, stars, advances, anychar = pat.start, pat.stars, pat.advances, pat.anychar
    for c in name:  # the hot loop: _skip_stars inlined
        state = (state & advances.get(c, anychar)) << 1 | state & stars
        state |= (state & stars) << 1
        if not state:
            return False
    return bool(state & pat.accept)


# -- whole patterns -----------------------------------------------------------------------

Run = tuple[_Segment, ...]


@dataclass(frozen=True)
class Pattern:
    """A compiled pattern: ``head`` ** ``floating[0]`` ** ... ** ``tail``."""

    text: str
    head: Run
    floating: tuple[Run, ...]
    tail: Run
    doublestar: bool  # any "**": else the path has exactly len(head) segments
    tail_gap: int  # 1 when it ends in "**" (one or more segments there), else 0
    least: int  # segments of any path it matches, at least


def _pattern_segments(text: str) -> list[str]:
    parts = text.split("/")
    if parts[-1] == "":
        parts[-1] = "**"
    if len(parts) > 1 and parts[0] == "":  # a leading "/" just anchors (as always)
        parts = parts[1:]
    return parts


def compile_pattern(text: str, work: Work | None = None) -> Pattern | None:
    """The pattern compiled (None: the empty pattern, which matches nothing); PatternError
    when it is beyond the bounds that keep matching linear."""
    if work is not None:
        work.spend(1 + len(text))
    if not text:
        return None
    parts = _pattern_segments(text)
    runs: list[list[_Segment]] = [[]]
    for part in parts:
        if part == "**":
            runs.append([])
        elif len(part) > MAX_SEGMENT_CHARS:
            raise PatternError(
                f"has a segment of {len(part)} characters; at most {MAX_SEGMENT_CHARS} are checked"
            )
        else:
            runs[-1].append(_segment(part))
    floating = tuple(tuple(run) for run in runs[1:-1] if run)
    longest = max(map(len, floating), default=0)
    if longest > MAX_FLOATING_SEGMENTS:
        raise PatternError(
            f"has {longest} segments between two '**'; at most {MAX_FLOATING_SEGMENTS} are checked"
        )
    tail_gap = 1 if parts[-1] == "**" else 0
    return Pattern(
        text=text,
        head=tuple(runs[0]),
        floating=floating,
        tail=tuple(runs[-1]) if len(runs) > 1 else (),
        doublestar=len(runs) > 1,
        tail_gap=tail_gap,
        least=sum(map(len, runs)) + tail_gap,
    )


def _run_at(run: Run, names: Sequence[str], at: int, work: Work) -> bool:
    """Whether ``run`` matches the names from ``at`` on (the innermost loop of matching)."""
    for pat in run:
        name = names[at]
        # what the comparison can read: both texts (literal) or the name (automaton)
        work.spend(1 + (min(len(pat), len(name)) if pat.literal else len(name)))
        if not _segment_matches(pat, name):
            return False
        at += 1
    return True


def _leftmost(run: Run, names: Sequence[str], start: int, end: int, work: Work) -> int | None:
    """Where ``run`` first matches wholly inside names[start:end]: each name is compared at
    most len(run) times, and the next run starts after this one's match."""
    for at in range(start, end - len(run) + 1):
        if _run_at(run, names, at, work):
            return at
    return None


def _path_matches(pattern: Pattern, names: Sequence[str], work: Work) -> bool:
    """The compiled pattern against a path's segments."""
    work.spend(1)
    count = len(names)
    if count < pattern.least or (not pattern.doublestar and count != pattern.least):
        return False
    if not _run_at(pattern.head, names, 0, work):
        return False
    if not pattern.doublestar:
        return True
    if not _run_at(pattern.tail, names, count - len(pattern.tail), work):
        return False
    cursor, end = len(pattern.head), count - len(pattern.tail) - pattern.tail_gap
    for run in pattern.floating:
        at = _leftmost(run, names, cursor, end, work)
        if at is None:
            return False
        cursor = at + len(run)
    return True


# -- paths --------------------------------------------------------------------------------


def normalize_path(path: str) -> str | None:
    """A repository-relative POSIX path, or None when it points outside the repository."""
    if not path or "\\" in path or "\0" in path:
        return None
    norm = posixpath.normpath(path)
    if norm.startswith("/") or norm == ".." or norm.startswith("../") or norm == ".":
        return None
    return norm


def path_segments(path: str, work: Work | None = None) -> tuple[str, ...] | None:
    """A path's segments once normalised (None: outside the repository, matching nothing)."""
    if work is not None:
        work.spend(1 + len(path))
    norm = normalize_path(path)
    return None if norm is None else tuple(norm.split("/"))


def first_match(patterns: Iterable[Pattern], names: Sequence[str], work: Work) -> Pattern | None:
    """The first pattern that matches the path's segments, if any."""
    for pattern in patterns:
        if _path_matches(pattern, names, work):
            return pattern
    return None


def matches(pattern: str, path: str, work: Work | None = None) -> bool:
    """Anchored at the repository root: ``*`` within one segment, ``**`` zero or more whole
    segments, ``?`` one character other than ``/``; a trailing ``/`` means everything below
    that folder (never a file of that name). PatternError: a pattern beyond the bounds."""
    work = Work() if work is None else work
    compiled, names = compile_pattern(pattern, work), path_segments(path, work)
    return compiled is not None and names is not None and _path_matches(compiled, names, work)
