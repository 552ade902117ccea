"""Uncompressed v2 record batches of records with nullable keys and values, as internal
topics (__consumer_offsets, __transaction_state, __share_group_state) and the metadata log
hold them, and reading their records back from any batch, compressed or not."""

from __future__ import annotations

import struct
from collections.abc import Iterator, Sequence

import crc32c

from .record_batch import (
    COMPRESSION_NONE,
    HEADER_SIZE,
    LOG_OVERHEAD,
    _read_varint,
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


def _nullable(data: bytes | None) -> bytes:
    return _varint(-1) if data is None else _varint(len(data)) + data


def encode_batch(
    records: Sequence[tuple[bytes | None, bytes | None]],
    timestamp_ms: int,
    *,
    base_offset: int = 0,
    leader_epoch: int = -1,
) -> bytes:
    """One batch of ``records`` (key, value; either may be null) stamped ``timestamp_ms``.
    A leader's append sets the base offset and leader epoch; a log written directly (the
    metadata log) gives them here."""
    body = bytearray()
    for delta, (key, value) in enumerate(records):
        record = b"\x00" + _varint(0) + _varint(delta) + _nullable(key) + _nullable(value)
        record += _varint(0)  # no headers
        body += _varint(len(record)) + record
    after = _AFTER_CRC.pack(
        0, len(records) - 1, timestamp_ms, timestamp_ms, -1, -1, -1, len(records)
    ) + bytes(body)
    length = HEADER_SIZE - LOG_OVERHEAD + len(body)
    return _BEFORE_CRC.pack(base_offset, length, leader_epoch, 2, crc32c.crc32c(after)) + after


def decode_all(
    data: bytes, *, transactional: bool = True
) -> Iterator[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every data record in the complete batches of ``data``;
    control batches are skipped, and transactional batches too unless ``transactional``."""
    for header in iter_batches(data):
        if header.is_control or (header.is_transactional and not transactional):
            continue
        end = header.position + header.batch_length + LOG_OVERHEAD
        body = data[header.position + HEADER_SIZE : end]
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
            key = bytes(body[pos : pos + key_len]) if key_len >= 0 else None
            pos += max(key_len, 0)
            value_len, pos = _read_varint(body, pos)
            value = bytes(body[pos : pos + value_len]) if value_len >= 0 else None
            pos = record_end
            yield header.base_offset + delta, key, value


def decode_batches(
    data: bytes, *, transactional: bool = True
) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(offset, key, value) of every keyed data record in the complete batches of ``data``;
    records without a key are skipped (see ``decode_all`` for the rest)."""
    for offset, key, value in decode_all(data, transactional=transactional):
        if key is not None:
            yield offset, key, value
