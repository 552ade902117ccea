"""The cleaner's bounded offset map: latest offset per key, replaced offsets, its size bound."""

from __future__ import annotations

import pytest

from embedded_broker.storage.offset_map import ENTRY_SIZE, OffsetMap


def test_put_keeps_the_latest_offset_and_reports_the_one_it_replaced() -> None:
    offsets = OffsetMap(ENTRY_SIZE * 100)
    offsets.clear()
    assert offsets.put(b"a", 3) == -1
    assert offsets.put(b"b", 4) == -1
    assert offsets.put(b"a", 9) == 3
    assert offsets.get(b"a") == 9 and offsets.get(b"b") == 4 and offsets.get(b"c") == -1
    assert offsets.size == 2 and offsets.latest_offset == 9


def test_memory_bounds_the_keys_it_holds() -> None:
    offsets = OffsetMap(ENTRY_SIZE * 10, load_factor=0.9)
    offsets.clear()
    assert offsets.slots == 10 and offsets.max_entries == 9
    for n in range(9):
        assert not offsets.full
        offsets.put(b"key-%d" % n, n)
    assert offsets.full
    assert all(offsets.get(b"key-%d" % n) == n for n in range(9))
    assert offsets.put(b"key-3", 30) == 3  # a known key still updates when full
    with pytest.raises(OverflowError):  # the caller stops at full
        offsets.put(b"key-9", 9)


def test_clear_forgets_everything() -> None:
    offsets = OffsetMap(ENTRY_SIZE * 16)
    offsets.clear()
    offsets.put(b"a", 1)
    offsets.clear()
    assert offsets.get(b"a") == -1 and offsets.size == 0 and offsets.latest_offset == -1
