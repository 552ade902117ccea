"""The log cleaner's bounded key → latest-offset map.

Like Kafka's SkimpyOffsetMap, a key longer than a digest is kept only as its digest, and the
number of keys is bounded by ``log.cleaner.dedupe.buffer.size``. Here the map is a dict of
digest → offset: the hash probing runs in C, which makes a round about twice as fast as probing
flat arrays from Python, at the cost of more bytes per key (ENTRY_SIZE, measured on CPython 3.11
with a resize in progress), so a round holds fewer keys than Kafka's for the same buffer. The
memory is taken as keys arrive, so a broker with small compacted topics never holds the whole
buffer, and the cleaner clears the map after each round.

A key of up to 16 bytes is its own digest: it takes no more room than one, costs no hashing
beyond the dict's, and never collides. A longer key's digest is 96 bits: Python's SipHash of
the key (seeded per process, which is fine for a map that lives one cleaning round) and its
CRC-32, both computed in C. A digest collision would merge two keys; at 96 bits that is as
unlikely as Kafka's 128 bits in practice (about 1e-13 for 100 million keys).
"""

from __future__ import annotations

from zlib import crc32

ENTRY_SIZE = 192  # bytes per key: the digest or short key, the offset and the dict's share, at peak


SHORT_KEY = 16  # keys up to this length are their own digest: no bigger than one, no hashing


def digest(key: bytes) -> bytes | int:
    return key if len(key) <= SHORT_KEY else (hash(key) << 32) | crc32(key)


class OffsetMap:
    """At most ``max_entries`` keys (``memory`` / ENTRY_SIZE * ``load_factor``); the caller
    checks ``full`` before adding a key. ``offsets`` is the dict itself, for the cleaner's
    per-record loop."""

    def __init__(self, memory: int, load_factor: float = 0.9) -> None:
        self.slots = max(memory // ENTRY_SIZE, 2)
        self.max_entries = max(int(self.slots * load_factor), 1)
        self.offsets: dict[bytes | int, int] = {}
        # the last offset whose record has been looked at while building (Kafka's latestOffset)
        self.latest_offset = -1

    @property
    def size(self) -> int:
        return len(self.offsets)

    @property
    def full(self) -> bool:
        return len(self.offsets) >= self.max_entries

    def clear(self) -> None:
        """Empty the map; call before each round."""
        self.offsets = {}
        self.latest_offset = -1

    def put(self, key: bytes, offset: int) -> int:
        """Record ``offset`` as the key's latest; returns the offset it replaces, or -1."""
        code = digest(key)
        previous = self.offsets.get(code, -1)
        if previous < 0 and len(self.offsets) >= self.max_entries:
            raise OverflowError("the cleaner's offset map is full")
        self.offsets[code] = offset
        self.latest_offset = max(self.latest_offset, offset)
        return previous

    def get(self, key: bytes) -> int:
        """The latest offset recorded for ``key``, or -1."""
        return self.offsets.get(digest(key), -1)
