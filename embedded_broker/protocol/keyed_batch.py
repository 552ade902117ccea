"""Uncompressed v2 record batches of keyed records with nullable values (tombstones), as
internal topics such as __consumer_offsets hold them, and their reading back."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import crc32c

from .record_batch import (
    COMPRESSION_NONE,
    HEADER_SIZE,
    LOG_OVERHEAD,
    decompress_records,
    iter_batches,
)

_AFTER_CRC = struct.Struct(">hiqqqhii")
_BEFORE_CRC = struct.Struct(">qiibI")

KeyValue = tuple[bytes, bytes | None]


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
        byte = buf[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return (raw >> 1) ^ -(raw & 1), pos
        shift += 7


def encode_batch(records: Sequence[KeyValue], timestamp_ms: int) -> bytes:
    """One batch of ``records`` stamped ``timestamp_ms`` (its offsets are set at append)."""
    body = bytearray()
    for delta, (key, value) in enumerate(records):
        record = b"\x00" + _varint(0) + _varint(delta) + _varint(len(key)) + key
        record += _varint(-1) if value is None else _varint(len(value)) + value
        record += _varint(0)  # no headers
        body += _varint(len(record)) + record
    after = _AFTER_CRC.pack(
        0, len(records) - 1, timestamp_ms, timestamp_ms, -1, -1, -1, len(records)
    ) + bytes(body)
    length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return _BEFORE_CRC.pack(0, length, -1, 2, crc32c.crc32c(after)) + after


def decode_batches(
    data: bytes, *, transactional: bool = True
) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(offset, key, value) of every keyed data record in the complete batches of ``data``;
    control batches and records without a key are skipped, and transactional batches too
    unless ``transactional``."""
    for header in iter_batches(data):
        if header.is_control or (header.is_transactional and not transactional):
            continue
        end = header.position + header.batch_length + LOG_OVERHEAD
        batch = data[header.position : end]
        body = batch[HEADER_SIZE:]
        if header.compression != COMPRESSION_NONE:
            body = bytes(decompress_records(header.compression, body))
        pos = 0
        for _ in range(header.records_count):
            length, pos = _read_varint(body, pos)
            record_end = pos + length
            pos += 1  # attributes
            _, pos = _read_varint(body, pos)  # timestamp delta
            delta, pos = _read_varint(body, pos)
            key_len, pos = _read_varint(body, pos)
            key = body[pos : pos + key_len] if key_len >= 0 else None
            pos += max(key_len, 0)
            value_len, pos = _read_varint(body, pos)
            value = body[pos : pos + value_len] if value_len >= 0 else None
            pos = record_end
            if key is not None:
                stored = None if value is None else bytes(value)
                yield header.base_offset + delta, bytes(key), stored
