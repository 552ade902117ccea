"""The offset spans of the whole record batches in a log read, picking batches by offset, and
finding those of aborted transactions."""

from __future__ import annotations

import struct
from collections.abc import Iterable

from embedded_broker.storage.txn_index import AbortedTxn

from .partition import Acquired

_SPAN = struct.Struct(">qi")  # base offset, batch length
_LAST_DELTA = struct.Struct(">i")  # lastOffsetDelta, at byte 23 of a batch
_HEADER = 61
_ATTRIBUTES = struct.Struct(">h")  # at byte 21
_PRODUCER_ID = struct.Struct(">q")  # at byte 43
_TRANSACTIONAL, _CONTROL = 0x10, 0x20


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


def aborted_offsets(
    data: bytes, batches: list[tuple[int, int, int, int]], aborted: Iterable[AbortedTxn]
) -> frozenset[int]:
    """The offsets of the data batches in ``data`` that belong to an ``aborted`` transaction
    (a transactional batch of its producer from its first offset up to its abort marker)."""
    txns = list(aborted)
    found: set[int] = set()
    if not txns:
        return frozenset()
    for first, last, start, _ in batches:
        (attributes,) = _ATTRIBUTES.unpack_from(data, start + 21)
        if not attributes & _TRANSACTIONAL or attributes & _CONTROL:
            continue
        (producer_id,) = _PRODUCER_ID.unpack_from(data, start + 43)
        if any(
            t.producer_id == producer_id and t.first_offset <= first <= t.last_offset for t in txns
        ):
            found.update(range(first, last + 1))
    return frozenset(found)
