"""Metadata records carried as the values of a v2 record batch (how brokers fetch the log)."""

from __future__ import annotations

from embedded_broker.protocol.keyed_batch import decode_all
from embedded_broker.protocol.keyed_batch import encode_batch as encode_keyed


def encode_batch(base_offset: int, values: list[bytes], timestamp_ms: int = 0) -> bytes:
    """One uncompressed batch whose records (no keys, no headers) carry ``values``."""
    records = [(None, value) for value in values]
    return encode_keyed(records, timestamp_ms, base_offset=base_offset, leader_epoch=0)


def decode_batches(data: bytes) -> list[tuple[int, bytes]]:
    """(offset, value) of every record in the complete batches of ``data``."""
    return [(offset, value or b"") for offset, _key, value in decode_all(data)]
