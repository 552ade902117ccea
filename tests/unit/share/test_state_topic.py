"""__share_group_state records: Kafka's coordinator key, the snapshot value, and the partition a
share-partition's state goes to."""

from __future__ import annotations

import uuid

from embedded_broker.share.partition import RecordState, SharePartition
from embedded_broker.share.state_topic import (
    Snapshot,
    coordinator_key,
    parse_key,
    state_partition,
)
from embedded_broker.txn.log_batch import decode_records, encode_record

TOPIC_ID = uuid.UUID("6b3f4a4e-5d2c-4f3e-9c1b-2a7d8e9f0a1b")


def test_the_key_is_kafkas_group_topic_id_partition_and_reads_back() -> None:
    key = ("group:with:colons", TOPIC_ID, 7)
    text = coordinator_key(key)
    # Kafka prints topic ids in URL-safe base64 without padding
    assert text == "group:with:colons:az9KTl0sTz6cGyp9jp8KGw:7"
    assert parse_key(text.encode()) == key


def test_a_snapshot_survives_a_record_batch_and_keeps_in_flight_runs() -> None:
    part = SharePartition(10)
    taken = part.acquire(
        [(10, 14)],
        "m",
        now_ms=0,
        lock_ms=1000,
        max_records=5,
        max_in_flight=100,
        high_watermark=15,
    )
    assert taken
    part.acknowledge("m", 12, 12, (1,), 5)  # one accepted in the middle
    snap = Snapshot(3, 4, part.start_offset, tuple(part.state_batches()))
    key = ("g", TOPIC_ID, 0)
    batch = encode_record(coordinator_key(key).encode(), snap.encode(), 123)
    [(_, raw_key, value)] = list(decode_records(batch))
    assert parse_key(raw_key) == key
    assert value is not None
    back = Snapshot.decode(value)
    assert back == snap
    # acquired records are written as available (their lock dies with the leader)
    assert back.batches == (
        (10, 11, RecordState.AVAILABLE, 1),
        (12, 12, RecordState.ACKNOWLEDGED, 1),
        (13, 14, RecordState.AVAILABLE, 1),
    )
    assert back.delivered() == 1


def test_partitions_of_one_group_spread_over_the_state_topic() -> None:
    spread = {state_partition(("g", TOPIC_ID, p), 50) for p in range(20)}
    assert len(spread) > 1
    assert all(0 <= p < 50 for p in spread)
