"""Record-level reading and rewriting of one v2 batch, for the log cleaner only.

A cleaned batch keeps the original batch's baseOffset, lastOffsetDelta, producer fields,
partitionLeaderEpoch, attributes and codec, as Kafka's MemoryRecords.filterTo does for v2 (the
last offset must survive so a producer's last sequence and the segment's end are not lost);
only the records list, recordsCount, maxTimestamp, batchLength and CRC change. Kept records are
copied byte for byte unless the batch gets a delete horizon (KIP-534: baseTimestamp holds the
time after which its tombstones and markers may go, flagged by attribute bit 0x40), which moves
baseTimestamp and so every record's timestamp delta.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

import cramjam
import crc32c

from embedded_broker.protocol.record_batch import (
    COMPRESSION_GZIP,
    COMPRESSION_LZ4,
    COMPRESSION_MASK,
    COMPRESSION_NONE,
    COMPRESSION_SNAPPY,
    COMPRESSION_ZSTD,
    CONTROL_BIT,
    HEADER_SIZE,
    LOG_OVERHEAD,
    TIMESTAMP_TYPE_BIT,
    TRANSACTIONAL_BIT,
    InvalidRecordBatchError,
    decompress_records,
)

DELETE_HORIZON_BIT = 0x40

# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp, producerId, producerEpoch, baseSequence, recordsCount
_HEADER = struct.Struct(">qiibIhiqqqhii")
# attributes .. recordsCount: the checksummed part of the header
_TAIL = struct.Struct(">hiqqqhii")
_PREFIX = struct.Struct(">qiib")  # baseOffset, batchLength, partitionLeaderEpoch, magic
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024


@dataclass(frozen=True, slots=True)
class Batch:
    """One batch's header fields and its decompressed records section."""

    base_offset: int
    partition_leader_epoch: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int
    body: bytes
    xerial: bool  # snappy in the Java client's framing: written back the same way

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def delete_horizon_ms(self) -> int | None:
        return self.base_timestamp if self.attributes & DELETE_HORIZON_BIT else None


# A record as the cleaner sees it: (start, end, attributes position, timestamp-delta end,
# timestamp delta, offset delta, key start, key length (-1: null), value length (-1: a
# tombstone)); positions in the batch body, start before the record's length varint.
Record = tuple[int, int, int, int, int, int, int, int, int]


# zigzag-decoded values of one-byte varints, and of two-byte ones indexed by their 14 bits
# ((first & 0x7F) | second << 7): a list lookup is cheaper than the arithmetic in hot loops
ZIGZAG_1 = [(raw >> 1) ^ -(raw & 1) for raw in range(1 << 7)]
ZIGZAG_2 = [(raw >> 1) ^ -(raw & 1) for raw in range(1 << 14)]


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    byte = buf[pos]
    if byte < 0x80:  # one byte: most lengths and deltas of small records
        return (byte >> 1) ^ -(byte & 1), pos + 1
    raw = byte & 0x7F
    shift = 7
    while True:
        pos += 1
        byte = buf[pos]
        raw |= (byte & 0x7F) << shift
        if byte < 0x80:
            return (raw >> 1) ^ -(raw & 1), pos + 1
        shift += 7
        if shift > 63:
            raise InvalidRecordBatchError("varint longer than 10 bytes")


def encode_varint(value: int) -> bytes:
    raw = (value << 1) ^ (value >> 63)
    out = bytearray()
    while raw >= 0x80:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def decode(batch: bytes) -> Batch:
    """Parse a whole v2 batch, decompressing its records; raises InvalidRecordBatchError."""
    if len(batch) < HEADER_SIZE:
        raise InvalidRecordBatchError("record batch shorter than its header")
    fields = _HEADER.unpack_from(batch)
    base, length, epoch, magic, _crc, attrs, last_delta, base_ts, max_ts = fields[:9]
    pid, pepoch, seq, count = fields[9:]
    if magic != 2 or length + LOG_OVERHEAD != len(batch):
        raise InvalidRecordBatchError(f"record batch at offset {base} is malformed")
    codec = attrs & COMPRESSION_MASK
    raw = batch[HEADER_SIZE:]
    body = raw if codec == COMPRESSION_NONE else bytes(decompress_records(codec, raw))
    xerial = codec == COMPRESSION_SNAPPY and raw.startswith(_XERIAL_MAGIC)
    return Batch(
        base, epoch, attrs, last_delta, base_ts, max_ts, pid, pepoch, seq, count, body, xerial
    )


def records(batch: Batch) -> list[Record]:
    """Every record's positions and the fields the cleaner decides on."""
    out: list[Record] = []
    pos = 0
    for _ in range(batch.records_count):
        record = record_at(batch, pos)
        out.append(record)
        pos = record[1]
    if pos != len(batch.body):
        raise InvalidRecordBatchError("bytes left over after the last record of a batch")
    return out


def record_at(batch: Batch, start: int) -> Record:
    """The record that starts at ``start`` in the body, fully described.

    Hot for the records a round keeps: varints of one or two bytes are decoded inline.
    """
    body = batch.body
    zigzag = ZIGZAG_1
    zigzag2 = ZIGZAG_2
    varint = read_varint
    try:
        byte = body[start]
        if byte < 0x80:
            length = zigzag[byte]
            pos = start + 1
        elif body[start + 1] < 0x80:  # records of 64 B to 8 KiB
            length = zigzag2[(byte & 0x7F) | (body[start + 1] << 7)]
            pos = start + 2
        else:
            length, pos = varint(body, start)
        fields = pos
        end = pos + length
        pos += 1  # the attributes byte
        byte = body[pos]
        if byte < 0x80:
            ts_delta = zigzag[byte]
            pos += 1
        else:
            ts_delta, pos = varint(body, pos)
        ts_end = pos
        byte = body[pos]
        if byte < 0x80:
            offset_delta = zigzag[byte]
            pos += 1
        else:
            offset_delta, pos = varint(body, pos)
        byte = body[pos]
        if byte < 0x80:
            key_len = zigzag[byte]
            pos += 1
        else:
            key_len, pos = varint(body, pos)
        key_start = pos
        if key_len > 0:
            pos += key_len
        byte = body[pos]
        if byte < 0x80:
            value_len = zigzag[byte]
            pos += 1
        elif body[pos + 1] < 0x80:
            value_len = zigzag2[(byte & 0x7F) | (body[pos + 1] << 7)]
            pos += 2
        else:
            value_len, pos = varint(body, pos)
    except IndexError:
        raise InvalidRecordBatchError("record truncated") from None
    if pos > end:
        raise InvalidRecordBatchError("record runs past its end")
    return (start, end, fields, ts_end, ts_delta, offset_delta, key_start, key_len, value_len)


def record_key(batch: Batch, record: Record) -> bytes | None:
    key_len = record[7]
    if key_len < 0:
        return None
    return batch.body[record[6] : record[6] + key_len]


def record_value(batch: Batch, record: Record) -> bytes | None:
    """The record's value; None for a tombstone."""
    if record[8] < 0:
        return None
    _length, start = read_varint(batch.body, record[6] + max(record[7], 0))
    return batch.body[start : start + record[8]]


def _compress(batch: Batch, payload: bytes) -> bytes:
    codec = batch.attributes & COMPRESSION_MASK
    if codec == COMPRESSION_NONE:
        return payload
    if codec == COMPRESSION_GZIP:
        squeezer = zlib.compressobj(wbits=31)
        return squeezer.compress(payload) + squeezer.flush()
    if codec == COMPRESSION_SNAPPY:
        if not batch.xerial:
            return bytes(cramjam.snappy.compress_raw(payload))
        out = bytearray(_XERIAL_HEADER)
        for at in range(0, len(payload), _XERIAL_BLOCK):
            block = bytes(cramjam.snappy.compress_raw(payload[at : at + _XERIAL_BLOCK]))
            out += struct.pack(">i", len(block)) + block
        return bytes(out)
    if codec == COMPRESSION_LZ4:
        return bytes(cramjam.lz4.compress(payload))
    if codec == COMPRESSION_ZSTD:
        return bytes(cramjam.zstd.compress(payload))
    raise InvalidRecordBatchError(f"unknown compression codec {codec}")


def rebuild(batch: Batch, kept: Iterable[Record], delete_horizon_ms: int | None = None) -> bytes:
    """The batch with only ``kept`` records (possibly none), same offsets and codec.

    ``delete_horizon_ms`` stamps a horizon on a batch that has none yet.
    """
    body = batch.body
    attrs = batch.attributes
    base_ts = batch.base_timestamp
    log_append_time = bool(attrs & TIMESTAMP_TYPE_BIT)
    rebase = delete_horizon_ms is not None and not attrs & DELETE_HORIZON_BIT
    parts: list[bytes] = []
    count = 0
    max_ts = -1
    for start, end, fields, ts_end, ts_delta, _od, _ks, _kl, _vl in kept:
        count += 1
        timestamp = base_ts + ts_delta
        max_ts = max(max_ts, timestamp)
        if rebase:
            assert delete_horizon_ms is not None
            rest = body[fields : fields + 1] + encode_varint(timestamp - delete_horizon_ms)
            rest += body[ts_end:end]
            parts.append(encode_varint(len(rest)) + rest)
        else:
            parts.append(body[start:end])
    if rebase:
        assert delete_horizon_ms is not None
        attrs |= DELETE_HORIZON_BIT
        base_ts = delete_horizon_ms
    if log_append_time or count == 0:
        max_ts = batch.max_timestamp
    payload = _compress(batch, b"".join(parts)) if count else b""
    tail = _TAIL.pack(
        attrs,
        batch.last_offset_delta,
        base_ts,
        max_ts,
        batch.producer_id,
        batch.producer_epoch,
        batch.base_sequence,
        count,
    )
    crc = crc32c.crc32c(payload, crc32c.crc32c(tail))
    length = HEADER_SIZE - LOG_OVERHEAD + len(payload)
    prefix = _PREFIX.pack(batch.base_offset, length, batch.partition_leader_epoch, 2)
    return prefix + struct.pack(">I", crc) + tail + payload
