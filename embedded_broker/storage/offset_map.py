"""The log cleaner's bounded key → latest-offset map: key digests and offsets in flat arrays.

Like Kafka's SkimpyOffsetMap, a key is stored only as a digest, so the memory is fixed up front
(``log.cleaner.dedupe.buffer.size`` ÷ 24 bytes per slot) however large the keys are: no Python
object per key. The digest is 96 bits: Python's SipHash of the key (seeded per process, which is
fine for a map that lives one cleaning round) and its CRC-32, both computed in C — an MD5, as
Kafka uses, costs three times as much here. A digest collision would merge two keys; at 96 bits
that is as unlikely as Kafka's 128 bits in practice (about 1e-13 for 100 million keys).
"""

from __future__ import annotations

from array import array
from zlib import crc32

DIGEST_SIZE = 16
SLOT_SIZE = DIGEST_SIZE + 8  # digest (kept in two int64) + int64 offset
_EMPTY = -1


class OffsetMap:
    """Open addressing with linear probing over ``slots`` entries; never holds more than
    ``slots * load_factor`` keys (the caller checks ``full`` before each put). Probing
    compares integers, never byte strings."""

    def __init__(self, memory: int, load_factor: float = 0.9) -> None:
        self.slots = max(memory // SLOT_SIZE, 2)
        self.max_entries = max(int(self.slots * load_factor), 1)
        # allocated by the first clear(): a broker with no compacted topic never pays for them
        self._high = array("q")
        self._low = array("q")
        self._offsets = array("q")
        self.size = 0
        # the last offset whose record has been looked at while building (Kafka's latestOffset)
        self.latest_offset = -1

    @property
    def full(self) -> bool:
        return self.size >= self.max_entries

    def clear(self) -> None:
        """Empty the map; call before each round (the first call allocates its memory)."""
        if not self._high:
            self._high = array("q", bytes(8 * self.slots))
            self._low = array("q", bytes(8 * self.slots))
        self._offsets = array("q", [_EMPTY]) * self.slots
        self.size = 0
        self.latest_offset = -1

    def put(self, key: bytes, offset: int) -> int:
        """Record ``offset`` as the key's latest; returns the offset it replaces, or -1."""
        high = hash(key)
        low = crc32(key)
        slots = self.slots
        offsets = self._offsets
        highs = self._high
        lows = self._low
        slot = high % slots
        while True:  # runs once per record of the dirty range: kept flat
            previous = offsets[slot]
            if previous == _EMPTY:
                if self.size >= slots - 1:  # keep one slot empty so probing always ends
                    raise OverflowError("the cleaner's offset map is full")
                highs[slot] = high
                lows[slot] = low
                self.size += 1
                break
            if highs[slot] == high and lows[slot] == low:
                break
            slot += 1
            if slot == slots:
                slot = 0
        offsets[slot] = offset
        self.latest_offset = max(self.latest_offset, offset)
        return previous

    def get(self, key: bytes) -> int:
        """The latest offset recorded for ``key``, or -1."""
        high = hash(key)
        low = crc32(key)
        offsets = self._offsets
        slot = high % self.slots
        while True:
            found = offsets[slot]
            if found == _EMPTY or (self._high[slot] == high and self._low[slot] == low):
                return found
            slot += 1
            if slot == self.slots:
                slot = 0
