"""Keyed record batches of ``__transaction_state``: one record per batch, as the coordinator
writes them, and reading (key, value) back from any uncompressed or compressed batch."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import crc32c

from embedded_broker.protocol.record_batch import (
    COMPRESSION_NONE,
    HEADER_SIZE,
    LOG_OVERHEAD,
    _read_varint,
    decompress_records,
    iter_batches,
)

_BEFORE_CRC = struct.Struct(">qiibI")
_AFTER_CRC = struct.Struct(">hiqqqhii")


def _varint(value: int) -> bytes:
    raw = (value << 1) ^ (value >> 63)
    out = bytearray()
    while raw > 0x7F:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def encode_record(key: bytes, value: bytes | None, timestamp_ms: int) -> bytes:
    """One uncompressed v2 batch holding one record (a null ``value`` is a tombstone)."""
    record = b"\x00" + _varint(0) + _varint(0) + _varint(len(key)) + key
    record += _varint(-1) if value is None else _varint(len(value)) + value
    record += _varint(0)
    body = _varint(len(record)) + record
    after = _AFTER_CRC.pack(0, 0, timestamp_ms, timestamp_ms, -1, -1, -1, 1) + body
    length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return _BEFORE_CRC.pack(0, length, 0, 2, crc32c.crc32c(after)) + after


def decode_records(data: bytes) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(offset, key, value) of every keyed record in the whole batches of ``data``."""
    for header in iter_batches(data):
        if header.is_control:
            continue
        end = header.position + header.size
        raw = data[header.position + HEADER_SIZE : end]
        if header.compression != COMPRESSION_NONE:
            raw = bytes(decompress_records(header.compression, raw, 64 * 1024 * 1024))
        pos = 0
        for _ in range(header.records_count):
            length, pos = _read_varint(raw, pos)
            record_end = pos + length
            pos += 1  # attributes
            _, pos = _read_varint(raw, pos)  # timestamp delta
            delta, pos = _read_varint(raw, pos)
            key_length, pos = _read_varint(raw, pos)
            key = raw[pos : pos + max(key_length, 0)]
            pos += max(key_length, 0)
            value_length, pos = _read_varint(raw, pos)
            value = None if value_length < 0 else raw[pos : pos + value_length]
            pos = record_end
            if key_length >= 0:
                yield header.base_offset + delta, bytes(key), value
