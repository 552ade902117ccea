"""Keyed record batches of ``__transaction_state``: one record per batch, as the coordinator
writes them, and reading (key, value) back from any uncompressed or compressed batch."""

from __future__ import annotations

from collections.abc import Iterator

from embedded_broker.protocol.keyed_batch import decode_batches, encode_batch


def encode_record(key: bytes, value: bytes | None, timestamp_ms: int) -> bytes:
    """One uncompressed v2 batch holding one record (a null ``value`` is a tombstone)."""
    return encode_batch([(key, value)], timestamp_ms, leader_epoch=0)


def decode_records(data: bytes) -> Iterator[tuple[int, bytes, bytes | None]]:
    """(offset, key, value) of every keyed record in the whole batches of ``data``."""
    return decode_batches(data)
