"""Path patterns stay linear: counted work (never wall clock) on adversarial families, the
bounds that make it provable, and agreement with the quadratic reference they replaced."""

from __future__ import annotations

import posixpath
import random
from collections.abc import Callable

import pytest

from vlab.core.paths import (
    MAX_FLOATING_SEGMENTS,
    MAX_SEGMENT_CHARS,
    PatternError,
    Work,
    WorkExhausted,
    compile_pattern,
    matches,
)

# -- the reference: the dynamic programme vlab used before (quadratic, kept only here) -------


def _reference_segment(pat: str, name: str) -> bool:
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


def _reference_path(pats: list[str], names: list[str]) -> bool:
    ok = [True] + [False] * len(names)
    for i, pat in enumerate(pats):
        last = i == len(pats) - 1
        new = [False] * (len(names) + 1)
        if pat == "**":
            earlier = False
            for j in range(len(names) + 1):
                new[j] = (ok[j] and not last) or earlier
                earlier = earlier or ok[j]
        else:
            for j in range(1, len(names) + 1):
                new[j] = ok[j - 1] and _reference_segment(pat, names[j - 1])
        ok = new
    return ok[len(names)]


def reference_matches(pattern: str, path: str) -> bool:
    if not pattern or not path or "\\" in path or "\0" in path:
        return False
    norm = posixpath.normpath(path)
    if norm.startswith("/") or norm in ("..", ".") or norm.startswith("../"):
        return False
    parts = pattern.split("/")
    if parts[-1] == "":
        parts[-1] = "**"
    if len(parts) > 1 and parts[0] == "":
        parts = parts[1:]
    return _reference_path(parts, norm.split("/"))


def linear_bound(pattern: str, path: str) -> int:
    """The steps paths.py promises for one match: each path segment is compared at most
    MAX_FLOATING_SEGMENTS times, each comparison reading at most that segment."""
    return (MAX_FLOATING_SEGMENTS + 1) * (len(pattern) + len(path) + 2)


def counted(pattern: str, path: str) -> tuple[bool, int]:
    work = Work()
    result = matches(pattern, path, work)
    assert work.steps <= linear_bound(pattern, path), (pattern[:40], path[:40], work.steps)
    return result, work.steps


# -- agreement with the reference ------------------------------------------------------------

PATTERN_PIECES = ["a", "b", "ab", "*", "?", "**", "/", "/", "*a", "a*", "?b", ".", "**/"]
PATH_PIECES = ["a", "b", "ab", "ba", "aa", "/", "/", ".", "..", "*", "?"]


def _random_cases(seed: int, count: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)

    def text(pieces: list[str], most: int) -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, most)))

    return [(text(PATTERN_PIECES, 8), text(PATH_PIECES, 10)) for _ in range(count)]


@pytest.mark.parametrize("seed", range(4))
def test_agrees_with_the_quadratic_reference(seed: int) -> None:
    cases = _random_cases(seed, 3000)
    disagree = [(p, q) for p, q in cases if counted(p, q)[0] != reference_matches(p, q)]
    assert disagree == []
    assert any(reference_matches(p, q) for p, q in cases)  # the sample holds matches too


# -- linear work on adversarial families -----------------------------------------------------
#
# Each family builds a (pattern, path) pair of about n characters (or n segments) that the
# old dynamic programme matched in O(n^2); the counted work must grow like n.

Family = Callable[[int], tuple[str, str]]


def doublestars_then_name(n: int) -> tuple[str, str]:
    """The reported attack: thousands of `**` against a path of tens of thousands of
    segments."""
    return "**/" * (n // 10) + "x", "/".join(["a"] * n)


def many_floating_runs(n: int) -> tuple[str, str]:
    """A run between every two `**`, each found (the greedy leftmost choice all the way)."""
    return "**/a/" * (n // 2) + "**/b", "/".join(["a"] * (n // 2) + ["b"])


def runs_never_found(n: int) -> tuple[str, str]:
    """The first of many runs is tried at every place and never found."""
    return "**/" + "/**/".join(["a/b"] * (n // 100)) + "/**", "/".join(["a"] * n)


def longest_run_near_miss(n: int) -> tuple[str, str]:
    """A run of the most segments allowed that fails only at its last one, everywhere."""
    run = "/".join(["a"] * (MAX_FLOATING_SEGMENTS - 1) + ["b"])
    return "**/" + run + "/**", "/".join(["a"] * (n // 2))


def stars_against_long_names(n: int) -> tuple[str, str]:
    """`*a*a*...*b` (the longest segment allowed) against names of 250 characters."""
    segment = ("*a" * MAX_SEGMENT_CHARS)[: MAX_SEGMENT_CHARS - 2] + "*b"
    return "**/" + segment + "/**", "/".join(["a" * 250] * (n // 250))


def stars_against_one_long_name(n: int) -> tuple[str, str]:
    """`*a*a*a*` against one name of n characters (names have no length bound)."""
    return "*a*a*a*a*b", "a" * n


def question_marks_near_miss(n: int) -> tuple[str, str]:
    return "**/" + "?" * 200 + "b/**", "/".join(["a" * 250] * (n // 250))


def thirty_thousand_segments(n: int) -> tuple[str, str]:
    """An ordinary pattern against a path of n segments."""
    return "src/**/test/*.js", "src/" + "/".join(["d"] * n) + "/test/x.js"


FAMILIES = [
    doublestars_then_name,
    many_floating_runs,
    runs_never_found,
    longest_run_near_miss,
    stars_against_long_names,
    stars_against_one_long_name,
    question_marks_near_miss,
    thirty_thousand_segments,
]


@pytest.mark.parametrize("family", FAMILIES, ids=lambda f: f.__name__)
def test_work_grows_linearly(family: Family) -> None:
    small, large = (counted(*family(n))[1] for n in (10**4, 10**5))
    assert small > 10**4 // 2, small  # the family really exercises the matcher
    assert large <= 11 * small, (small, large)


def test_the_families_match_where_they_should() -> None:
    assert counted(*many_floating_runs(1000))[0] is True
    assert counted(*thirty_thousand_segments(30_000))[0] is True
    assert counted(*doublestars_then_name(30_000))[0] is False


# -- the bounds that make it provable --------------------------------------------------------


def test_a_segment_past_the_file_name_limit_cannot_be_checked() -> None:
    assert compile_pattern("src/" + "a" * MAX_SEGMENT_CHARS) is not None
    with pytest.raises(PatternError, match="at most 255"):
        compile_pattern("src/" + "a" * (MAX_SEGMENT_CHARS + 1))
    with pytest.raises(PatternError):
        matches("*" + "a" * MAX_SEGMENT_CHARS, "a")


def test_a_run_between_doublestars_is_bounded_but_anchored_runs_are_not() -> None:
    run = "/".join(["a"] * MAX_FLOATING_SEGMENTS)
    assert compile_pattern(f"**/{run}/**") is not None
    with pytest.raises(PatternError, match="segments between two"):
        compile_pattern(f"**/{run}/a/**")
    # anchored at the start or the end, a run is compared once per segment: no bound needed
    long = "/".join(["a"] * 1000)
    assert matches(f"{long}/**/{long}", f"{long}/{long}")


def test_a_work_budget_fails_at_the_step_past_it() -> None:
    work = Work(budget=100)
    with pytest.raises(WorkExhausted):
        matches("**/b", "/".join(["a"] * 200), work)
    assert 100 < work.steps <= 100 + 1 + 2 * 200  # the last spend is one path's length


def test_runs_of_stars_within_a_segment_are_one_star() -> None:
    assert matches("a**b/c", "axyb/c") and not matches("a**b/c", "ax/b/c")
    work = Work()
    assert not matches("*" * 250 + "b", "a" * 10_000, work)
    assert work.steps < 3 * 10_000
