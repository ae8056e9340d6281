"""A compact set of event ids for the duplicate check of a large event log: 64-bit hashes
in an open-addressing table of two flat arrays (hash, line), ~16-20 bytes an id instead of
the ~120 a ``set`` of strings costs. Equal hashes are never trusted: the caller confirms
each one by comparing the ids themselves (re-read by line), so a collision can neither
hide a duplicate nor invent one."""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator

_EMPTY = 0


def id_hash(event_id: str) -> int:
    """The table's key of an id (never 0, which marks an empty slot). Python's string hash
    is per process, and forked scanners share it; rulings never depend on it."""
    return hash(event_id) or 1


class IdTable:
    """Hashes of ids with the line of each; ``add`` reports an earlier line holding the
    same id, confirmed by ``same(earlier_line)``."""

    def __init__(self, wide_lines: bool = False, capacity: int = 1024) -> None:
        size = 1
        while size < capacity:
            size <<= 1
        self._line_code = "q" if wide_lines else "I"
        self._keys = array("q", bytes(8 * size))
        self._lines = array(self._line_code, bytes(self._lines_itemsize() * size))
        self._mask = size - 1
        self.count = 0
        self.probes = 0  # slots ``candidates`` looked at, for tests that count work

    def _lines_itemsize(self) -> int:
        return array(self._line_code).itemsize

    def candidates(self, key: int) -> Iterator[int]:
        """Lines stored under ``key`` (equal hashes: the same id, or a collision)."""
        keys, mask = self._keys, self._mask
        slot = key & mask
        while True:
            self.probes += 1
            found = keys[slot]
            if found == _EMPTY:
                return
            if found == key:
                yield self._lines[slot]
            slot = (slot + 1) & mask

    def add(self, key: int, line: int, same: Callable[[int], bool]) -> int | None:
        """The earlier line holding this id (nothing is added), or None after adding it."""
        keys, mask = self._keys, self._mask
        slot = key & mask
        while True:
            found = keys[slot]
            if found == _EMPTY:
                break
            if found == key and same(self._lines[slot]):
                return int(self._lines[slot])
            slot = (slot + 1) & mask
        keys[slot] = key
        self._lines[slot] = line
        self.count += 1
        if 4 * self.count > 3 * (mask + 1):
            self._grow()
        return None

    def _grow(self) -> None:
        old_keys, old_lines = self._keys, self._lines
        size = 2 * (self._mask + 1)
        self._keys = keys = array("q", bytes(8 * size))
        self._lines = lines = array(self._line_code, bytes(self._lines_itemsize() * size))
        self._mask = mask = size - 1
        for key, line in zip(old_keys, old_lines):  # noqa: B905 - same length
            if key != _EMPTY:
                slot = key & mask
                while keys[slot] != _EMPTY:
                    slot = (slot + 1) & mask
                keys[slot] = key
                lines[slot] = line
