"""A small v2 record-batch builder for tests (compression through cramjam, like the clients), and
a reader of every record of a log."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass, field

import cramjam
import crc32c

from embedded_broker.protocol.record_batch import verify_crc
from embedded_broker.storage import Log
from embedded_broker.storage.cleaner_batch import decode, record_key, record_value, records

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
SNAPPY_XERIAL = 102  # a test-only code: snappy in the Java client's xerial framing


@dataclass(frozen=True)
class Rec:
    key: bytes | None
    value: bytes | None
    timestamp_delta: int = 0
    headers: Sequence[tuple[str, bytes | None]] = field(default_factory=tuple)


def varint(value: int) -> bytes:
    raw = (value << 1) ^ (value >> 63)
    out = bytearray()
    while True:
        byte = raw & 0x7F
        raw >>= 7
        if raw:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes_field(data: bytes | None) -> bytes:
    if data is None:
        return varint(-1)
    return varint(len(data)) + data


def encode_record(offset_delta: int, rec: Rec) -> bytes:
    body = (
        b"\x00"
        + varint(rec.timestamp_delta)
        + varint(offset_delta)
        + _bytes_field(rec.key)
        + _bytes_field(rec.value)
        + varint(len(rec.headers))
        + b"".join(_bytes_field(k.encode()) + _bytes_field(v) for k, v in rec.headers)
    )
    return varint(len(body)) + body


def compress(codec: int, data: bytes) -> bytes:
    if codec == NONE:
        return data
    if codec == GZIP:
        return bytes(cramjam.gzip.compress(data))
    if codec == SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == SNAPPY_XERIAL:
        out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
        for start in range(0, max(len(data), 1), 1000):  # several blocks
            block = bytes(cramjam.snappy.compress_raw(data[start : start + 1000]))
            out += struct.pack(">i", len(block)) + block
        return bytes(out)
    if codec == LZ4:
        return bytes(cramjam.lz4.compress(data))
    if codec == ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(codec)


def build_batch(
    records: Sequence[Rec],
    *,
    base_offset: int = 0,
    base_timestamp: int = 1_700_000_000_000,
    codec: int = NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    partition_leader_epoch: int = -1,
) -> bytes:
    payload = b"".join(encode_record(i, rec) for i, rec in enumerate(records))
    payload = compress(codec, payload)
    attributes = SNAPPY if codec == SNAPPY_XERIAL else codec
    max_ts = max((base_timestamp + r.timestamp_delta for r in records), default=base_timestamp)
    after_crc = (
        struct.pack(
            ">hiqqqhii",
            attributes,
            len(records) - 1,
            base_timestamp,
            max_ts,
            producer_id,
            producer_epoch,
            base_sequence,
            len(records),
        )
        + payload
    )
    crc = crc32c.crc32c(after_crc)
    batch_length = 4 + 1 + 4 + len(after_crc)
    return (
        struct.pack(">qiibI", base_offset, batch_length, partition_leader_epoch, 2, crc) + after_crc
    )


def simple_batch(
    count: int, value_size: int = 10, *, base_timestamp: int = 1_700_000_000_000, step: int = 1
) -> bytes:
    """``count`` keyed records with timestamps base_timestamp + i * step."""
    return build_batch(
        [Rec(b"key-%d" % i, b"v" * value_size, i * step) for i in range(count)],
        base_timestamp=base_timestamp,
    )


def read_all(log: Log) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record from the log start, checking every batch's CRC."""
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        if not data:
            break
        at = 0
        while at < len(data):
            length = int.from_bytes(data[at + 8 : at + 12], "big")
            raw = data[at : at + length + 12]
            assert verify_crc(raw)
            batch = decode(raw)
            for rec in records(batch):
                delta = rec[5]
                key, value = record_key(batch, rec), record_value(batch, rec)
                if batch.base_offset + delta >= log.log_start_offset:
                    out.append((batch.base_offset + delta, key, value))
            offset = batch.last_offset + 1
            at += length + 12
    return out


def latest(entries: list[tuple[int, bytes | None, bytes | None]]) -> dict[bytes, bytes | None]:
    result: dict[bytes, bytes | None] = {}
    for _offset, key, value in entries:
        assert key is not None
        result[key] = value
    return result
