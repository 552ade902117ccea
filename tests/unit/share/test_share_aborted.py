"""read_committed share fetches: the data batches of aborted transactions are found by producer
and offset, and archived instead of delivered."""

from __future__ import annotations

import struct

from embedded_broker.share.batches import aborted_offsets, spans
from embedded_broker.share.partition import RecordState, SharePartition
from embedded_broker.storage.txn_index import AbortedTxn

_HEADER = struct.Struct(">qiibIhiqqqhii")  # the 61 bytes of a record batch header


def _batch(base: int, count: int, producer_id: int, attributes: int) -> bytes:
    return _HEADER.pack(base, 49, 0, 2, 0, attributes, count - 1, 0, 0, producer_id, 0, 0, count)


def test_only_the_aborted_producers_data_batches_are_found() -> None:
    data = (
        _batch(0, 2, 7, 0x10)  # producer 7's transaction, aborted by the marker at 2
        + _batch(2, 1, 7, 0x30)  # the abort marker (a control batch)
        + _batch(3, 2, 8, 0x10)  # another producer's transaction
        + _batch(5, 1, 7, 0x00)  # producer 7, not transactional
    )
    batches = spans(data)
    assert [(f, last) for f, last, _, _ in batches] == [(0, 1), (2, 2), (3, 4), (5, 5)]
    aborted = aborted_offsets(data, batches, [AbortedTxn(7, 0, 2, 0)])
    assert aborted == frozenset({0, 1})


def test_aborted_records_are_archived_not_delivered() -> None:
    part = SharePartition(0)
    got = part.acquire(
        [(0, 1), (2, 2), (3, 4)],
        "m",
        now_ms=0,
        lock_ms=1000,
        max_records=3,
        max_in_flight=100,
        high_watermark=5,
        aborted=frozenset({0, 1}),
    )
    assert [(r.first_offset, r.last_offset) for r in got] == [(2, 4)]
    assert part.records[0].state is RecordState.ARCHIVED
    assert part.first_available() == 5
