"""The cleaner's map pass over one batch, and what it leaves for the copy pass.

The map pass reads every keyed record of the dirty range once and records its offset as its
key's latest (``OffsetMap``). Besides the map it fills a ``MappedRange``: one flag per offset,
set while that offset holds its key's latest record, and the record's position in its batch's
records section. The copy pass then finds a batch's survivors with ``bytearray.find`` over the
flags (in C) and reads only those records, instead of walking every record again. That range
is bounded like the map: a quarter of the map's memory (five bytes an offset); a longer dirty
range takes more rounds.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from zlib import crc32

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
from embedded_broker.storage.cleaner_batch import ZIGZAG_1, ZIGZAG_2, Batch, read_varint
from embedded_broker.storage.offset_map import SHORT_KEY, OffsetMap

BYTES_PER_OFFSET = 5  # a flag byte and a 32-bit position


@dataclass(slots=True)
class MappedRange:
    """Flags and record positions for offsets ``start`` .. ``start + len(flags) - 1``."""

    start: int
    flags: bytearray
    positions: array[int]

    @classmethod
    def allocate(cls, start: int, length: int) -> MappedRange:
        return cls(start, bytearray(length), array("i", bytes(4 * length)))

    def flag_latest(self, offsets: Iterable[int]) -> None:
        """Flag the offsets the map ends with: each key's latest record."""
        flags = self.flags
        start = self.start
        for offset in offsets:
            flags[offset - start] = 1

    def covers(self, first: int, last: int) -> bool:
        return first >= self.start and last < self.start + len(self.flags)

    def latest_positions(self, first: int, last: int) -> Iterator[int]:
        """Positions (in their batch's records section) of the latest records among offsets
        ``first`` .. ``last``, which ``covers``."""
        flags = self.flags
        positions = self.positions
        end = last - self.start + 1
        at = flags.find(1, first - self.start, end)
        while at >= 0:
            yield positions[at]
            at = flags.find(1, at + 1, end)


def map_batch(batch: Batch, stop: int, offset_map: OffsetMap, mapped: MappedRange) -> int:
    """Map the keyed records of ``batch`` with offsets in ``mapped.start`` .. ``stop - 1``;
    returns the first offset left unmapped (``stop`` reached or the map full), or -1 when
    every record was looked at.

    Hot: runs once per record of the dirty range, so varints of one or two bytes (most
    lengths, deltas and key lengths) are decoded inline and the digest (as ``digest()``) too.
    """
    body = batch.body
    base = batch.base_offset
    offsets = offset_map.offsets
    max_entries = offset_map.max_entries
    zigzag = ZIGZAG_1
    zigzag2 = ZIGZAG_2
    varint = read_varint
    positions = mapped.positions
    first = mapped.start
    careful = len(offsets) + batch.records_count > max_entries  # the map may fill up here
    pos = 0
    try:
        for _ in range(batch.records_count):
            start = pos
            byte = body[pos]
            if byte < 0x80:
                length = zigzag[byte]
                pos += 1
            elif body[pos + 1] < 0x80:  # records of 64 B to 8 KiB
                length = zigzag2[(byte & 0x7F) | (body[pos + 1] << 7)]
                pos += 2
            else:
                length, pos = varint(body, pos)
            end = pos + length
            pos += 1  # the attributes byte
            while body[pos] & 0x80:  # skip the timestamp delta
                pos += 1
            pos += 1
            byte = body[pos]
            if byte < 0x80:
                offset_delta = zigzag[byte]
                pos += 1
            elif body[pos + 1] < 0x80:  # deltas 64 to 8191
                offset_delta = zigzag2[(byte & 0x7F) | (body[pos + 1] << 7)]
                pos += 2
            else:
                offset_delta, pos = varint(body, pos)
            byte = body[pos]
            if byte < 0x80:
                key_len = zigzag[byte]
                pos += 1
            else:
                key_len, pos = varint(body, pos)
            if pos + key_len > end:
                raise InvalidRecordBatchError("record runs past its end")
            offset = base + offset_delta
            if offset >= first:
                if offset >= stop:
                    return offset
                if key_len >= 0:  # a record without a key is dropped by the copy pass
                    key = body[pos : pos + key_len]
                    # as offset_map.digest(key)
                    code = key if key_len <= SHORT_KEY else (hash(key) << 32) | crc32(key)
                    if careful and code not in offsets and len(offsets) >= max_entries:
                        return offset
                    offsets[code] = offset
                    positions[offset - first] = start
            pos = end
    except IndexError:
        raise InvalidRecordBatchError("record truncated") from None
    if pos != len(body):
        raise InvalidRecordBatchError("bytes left over after the last record of a batch")
    return -1
