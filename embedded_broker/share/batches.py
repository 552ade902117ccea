"""The offset spans of the whole record batches in a log read, and picking batches by offset."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from .partition import Acquired

_SPAN = struct.Struct(">qi")  # base offset, batch length
_LAST_DELTA = struct.Struct(">i")  # lastOffsetDelta, at byte 23 of a batch
_HEADER = 61


def spans(data: bytes) -> list[tuple[int, int, int, int]]:
    """(first offset, last offset, start byte, end byte) of each whole batch in ``data``."""
    found = []
    at = 0
    size = len(data)
    while at + _HEADER <= size:
        base, length = _SPAN.unpack_from(data, at)
        end = at + 12 + length
        if end > size:
            break
        found.append((base, base + _LAST_DELTA.unpack_from(data, at + 23)[0], at, end))
        at = end
    return found


def covering(
    data: bytes, batches: list[tuple[int, int, int, int]], taken: Iterable[Acquired]
) -> bytes:
    """The batches of ``data`` holding at least one acquired offset (the client reads the
    acquired offsets out of them)."""
    runs = list(taken)
    keep = [
        data[start:end]
        for first, last, start, end in batches
        if any(r.first_offset <= last and first <= r.last_offset for r in runs)
    ]
    return b"".join(keep)
