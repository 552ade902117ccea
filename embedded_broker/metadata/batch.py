"""Metadata records carried as the values of a v2 record batch (how brokers fetch the log)."""

from __future__ import annotations

import struct

import crc32c

from embedded_broker.protocol.record_batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    InvalidRecordBatchError,
    iter_batches,
)

_AFTER_CRC = struct.Struct(">hiqqqhii")
_BEFORE_CRC = struct.Struct(">qiibI")


def _varint(value: int) -> bytes:
    raw = (value << 1) ^ (value >> 63)
    out = bytearray()
    while raw > 0x7F:
        out.append((raw & 0x7F) | 0x80)
        raw >>= 7
    out.append(raw)
    return bytes(out)


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = raw = 0
    while True:
        if pos >= len(buf) or shift > 63:
            raise InvalidRecordBatchError("bad varint in a metadata batch")
        byte = buf[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def encode_batch(base_offset: int, values: list[bytes], timestamp_ms: int = 0) -> bytes:
    """One uncompressed batch whose records (no keys, no headers) carry ``values``."""
    body = bytearray()
    for delta, value in enumerate(values):
        record = b"\x00" + _varint(0) + _varint(delta) + _varint(-1)
        record += _varint(len(value)) + value + _varint(0)
        body += _varint(len(record)) + record
    after = _AFTER_CRC.pack(
        0, len(values) - 1, timestamp_ms, timestamp_ms, -1, -1, -1, len(values)
    ) + bytes(body)
    length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return _BEFORE_CRC.pack(base_offset, length, 0, 2, crc32c.crc32c(after)) + after


def decode_batches(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, value) of every record in the complete batches of ``data``."""
    out: list[tuple[int, bytes]] = []
    for header in iter_batches(data):
        pos = header.position + HEADER_SIZE
        for _ in range(header.records_count):
            length, pos = _read_varint(data, pos)
            end = pos + length
            pos += 1  # attributes
            _, pos = _read_varint(data, pos)  # timestamp delta
            delta, pos = _read_varint(data, pos)
            key_len, pos = _read_varint(data, pos)
            pos += max(key_len, 0)
            value_len, pos = _read_varint(data, pos)
            out.append((header.base_offset + delta, data[pos : pos + value_len]))
            pos = end
    return out
