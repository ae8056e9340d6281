"""The canonical-timestamp fast path of ``utc_micros`` (decision 256) gives the full RFC 3339
parser's answer for every input: a large seeded random set around the canonical shape plus
edge cases, with the number of inputs each path answered counted (no timing)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from vlab.core import timestamps
from vlab.core.timestamps import _full_micros, utc_micros

EDGES = [
    "2026-05-29T00:00:00Z",
    "2026-05-29T23:59:59.999Z",
    "2026-05-29T23:59:60Z",  # leap second
    "2026-05-29T24:00:00Z",
    "2026-05-29T23:60:00Z",
    "2026-05-29T23:59:61Z",
    "2026-02-29T00:00:00Z",  # not a leap year
    "2024-02-29T00:00:00Z",
    "2026-13-01T00:00:00Z",
    "2026-00-01T00:00:00Z",
    "2026-01-00T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59.999999Z",
    "9999-12-31T23:59:60Z",  # one second past the last UTC day
    "2026-05-29T00:00:00.Z",
    "2026-05-29T00:00:00.1Z",
    "2026-05-29T00:00:00.1234567890123Z",
    "2026-05-29T00:00:00z",
    "2026-05-29t00:00:00Z",
    "2026-05-29T00:00:00+00:00",
    "2026-05-29T00:00:00-23:59",
    "0001-01-01T00:30:00+01:00",  # before the first UTC day
    "2026-05-29T00:00:00",
    "2026-05-29 00:00:00Z",
    "2026-05-29T00:00:00Z5Z",
    "2026-05-29T00:00:00ZZ",
    "2026-5-29T00:00:00Z",
    "+026-05-29T00:00:00Z",
    "2026-05-29T0+:00:00Z",
    "2026-05-29T00:00:0 Z",
    "2026-05-29T00:00:00.+1Z",
    "2026-05-29T00:00:00.1_0Z",
    "2026-05-29T00:00:00.١Z",  # an Arabic-Indic digit: not [0-9]
    "٢٠٢٦-05-29T00:00:00Z",
    "2026-05-29T00:00:00.²Z",
    "2026-05-29T00:00:00\nZ",
    "2026/05/29T00:00:00Z",
    "2026-05-29T00-00-00Z",
    "",
    "Z",
]
NOT_STRINGS: list[Any] = [None, 0, 1.5, True, ["2026-05-29T00:00:00Z"], {"t": 1}]
ALPHABET = "0123456789-:.TtZz+ x٣"


def _mutations(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        y, mo, d = rng.randint(0, 10000), rng.randint(0, 13), rng.randint(0, 32)
        h, mi, s = rng.randint(0, 25), rng.randint(0, 61), rng.randint(0, 61)
        text = f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}"
        if rng.random() < 0.5:
            text += "." + "".join(rng.choice("0123456789") for _ in range(rng.randint(0, 12)))
        text += rng.choice(["Z", "Z", "Z", "z", "+00:00", "-05:30", "+24:00", ""])
        if rng.random() < 0.3:  # one character replaced, inserted or dropped
            i = rng.randrange(len(text))
            op = rng.randrange(3)
            c = rng.choice(ALPHABET)
            text = (
                text[:i] + c + text[i + 1 :]
                if op == 0
                else text[:i] + c + text[i:]
                if op == 1
                else text[:i] + text[i + 1 :]
            )
        out.append(text)
    return out


def _valid_canonical(rng: random.Random, count: int) -> list[str]:
    out = []
    for _ in range(count):
        micros = rng.randrange(-62_135_596_800_000_000, 253_402_300_800_000_000)
        seconds, frac = divmod(micros, 1_000_000)
        day, rest = divmod(seconds, 86400)
        text = (
            f"{timestamps.day_text(day)}T{rest // 3600:02d}:{rest // 60 % 60:02d}:{rest % 60:02d}"
        )
        digits = rng.choice([0, 3, 6, 9])
        if digits:
            text += "." + f"{frac:06d}{rng.randrange(1000):03d}"[:digits]
        out.append(text + "Z")
    return out


def test_fast_path_agrees_with_the_full_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(17)
    canonical = _valid_canonical(rng, 20_000)
    inputs = EDGES + _mutations(rng, 60_000) + canonical
    expected = [_full_micros(v) for v in inputs]
    asked: list[str] = []  # the inputs the fast path passed on to the full parser
    monkeypatch.setattr(timestamps, "_full_micros", lambda v: asked.append(v) or _full_micros(v))
    got = [utc_micros(v) for v in inputs]
    mismatches = [(v, g, e) for v, g, e in zip(inputs, got, expected, strict=True) if g != e]
    assert mismatches == []
    fast_hits = len(inputs) - len(asked)
    # Every canonical value was answered by the fast path; many others went on.
    assert not set(asked) & set(canonical)
    assert fast_hits >= len(canonical)
    assert len(asked) >= 20_000
    valid = sum(e is not None for e in expected)
    assert valid >= fast_hits  # the fast path answers only valid values (and one leap edge)
    for value in NOT_STRINGS:
        assert utc_micros(value) is None


def test_canonical_values_never_reach_the_full_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    real = timestamps._full_micros
    monkeypatch.setattr(timestamps, "_full_micros", lambda v: calls.append(v) or real(v))
    canonical = _valid_canonical(random.Random(5), 2_000)
    assert all(utc_micros(v) is not None for v in canonical)
    assert calls == []
    assert utc_micros("2026-05-29T00:00:00+00:00") == utc_micros("2026-05-29T00:00:00Z")
    assert calls == ["2026-05-29T00:00:00+00:00"]


def test_the_minute_memo_is_bounded() -> None:
    for day in range(timestamps._MAX_MINUTES + 10):
        value = timestamps.day_text(day) + "T00:00:00Z"
        assert utc_micros(value) == day * 86_400_000_000
        assert len(timestamps._MINUTES) <= timestamps._MAX_MINUTES
