"""The log cleaner's bounded key → latest-offset map: key digests and offsets in flat arrays.

Like Kafka's SkimpyOffsetMap, a key is stored only as its MD5 digest, so the memory is fixed up
front (``log.cleaner.dedupe.buffer.size`` ÷ 24 bytes per slot) however large the keys are: no
Python object per key. A digest collision would merge two keys; with 128-bit digests that is
accepted, as in Kafka.
"""

from __future__ import annotations

from array import array
from hashlib import md5

DIGEST_SIZE = 16
SLOT_SIZE = DIGEST_SIZE + 8  # digest + int64 offset
_EMPTY = -1


class OffsetMap:
    """Open addressing with linear probing over ``slots`` entries; never holds more than
    ``slots * load_factor`` keys (the caller checks ``full`` before each put)."""

    def __init__(self, memory: int, load_factor: float = 0.9) -> None:
        self.slots = max(memory // SLOT_SIZE, 2)
        self.max_entries = max(int(self.slots * load_factor), 1)
        self._digests = bytearray(self.slots * DIGEST_SIZE)
        self._offsets = array("q", [_EMPTY]) * self.slots
        self.size = 0
        # the last offset whose record has been looked at while building (Kafka's latestOffset)
        self.latest_offset = -1

    @property
    def full(self) -> bool:
        return self.size >= self.max_entries

    def clear(self) -> None:
        self._offsets = array("q", [_EMPTY]) * self.slots
        self.size = 0
        self.latest_offset = -1

    def _slot(self, digest: bytes) -> tuple[int, bool]:
        """(slot, found) for ``digest``: its slot, or the empty slot where it would go."""
        slots = self.slots
        offsets = self._offsets
        digests = self._digests
        slot = int.from_bytes(digest[:8], "big") % slots
        while True:
            if offsets[slot] == _EMPTY:
                return slot, False
            at = slot * DIGEST_SIZE
            if digests[at : at + DIGEST_SIZE] == digest:
                return slot, True
            slot += 1
            if slot == slots:
                slot = 0

    def put(self, key: bytes | memoryview, offset: int) -> int:
        """Record ``offset`` as the key's latest; returns the offset it replaces, or -1."""
        digest = md5(key, usedforsecurity=False).digest()
        # _slot inlined: this runs once per record of the dirty range
        slots = self.slots
        offsets = self._offsets
        digests = self._digests
        slot = int.from_bytes(digest[:8], "big") % slots
        while True:
            previous = offsets[slot]
            if previous == _EMPTY:
                if self.size >= slots - 1:  # keep one slot empty so probing always ends
                    raise OverflowError("the cleaner's offset map is full")
                digests[slot * DIGEST_SIZE : slot * DIGEST_SIZE + DIGEST_SIZE] = digest
                self.size += 1
                break
            if digests[slot * DIGEST_SIZE : slot * DIGEST_SIZE + DIGEST_SIZE] == digest:
                break
            slot += 1
            if slot == slots:
                slot = 0
        offsets[slot] = offset
        self.latest_offset = max(self.latest_offset, offset)
        return previous

    def get(self, key: bytes | memoryview) -> int:
        """The latest offset recorded for ``key``, or -1."""
        digest = md5(key, usedforsecurity=False).digest()
        slot, found = self._slot(digest)
        return self._offsets[slot] if found else _EMPTY
