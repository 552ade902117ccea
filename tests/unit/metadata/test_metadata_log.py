"""The metadata records' codec, the image built by replay, the persisted log and batches."""

from __future__ import annotations

import uuid
from pathlib import Path

from embedded_broker.metadata.batch import decode_batches, encode_batch
from embedded_broker.metadata.image import MetadataImage
from embedded_broker.metadata.log import LOG_FILE, METADATA_TOPIC, MetadataLog
from embedded_broker.metadata.records import (
    ConfigRecord,
    FenceBroker,
    MetadataRecord,
    PartitionChange,
    PartitionRecord,
    RegisterBroker,
    RemoveTopic,
    TopicRecord,
    UnfenceBroker,
    decode_record,
    encode_record,
)

TID = uuid.UUID(int=7)
RECORDS: list[MetadataRecord] = [
    RegisterBroker(101, "127.0.0.1", 9092, "a", "inc-1"),
    UnfenceBroker(101, 0),
    RegisterBroker(102, "127.0.0.1", 9093, None, "inc-2"),
    TopicRecord("t", TID),
    PartitionRecord(TID, 0, (101, 102), (101, 102), 101, 0, 0),
    ConfigRecord(2, "t", "retention.ms", "1000"),
    PartitionChange(TID, 0, leader=102, isr=(102,)),
]


def test_every_record_survives_the_codec() -> None:
    for record in [*RECORDS, RemoveTopic(TID), FenceBroker(101, 0)]:
        assert decode_record(encode_record(record)) == record


def test_replay_builds_brokers_partitions_and_configs() -> None:
    image = MetadataImage()
    for offset, record in enumerate(RECORDS):
        image.replay(offset, record)
    assert [b.broker_id for b in image.live_brokers()] == [101]  # 102 never unfenced
    part = image.topics["t"].partitions[0]
    assert (part.leader, part.isr, part.leader_epoch, part.partition_epoch) == (102, (102,), 1, 1)
    assert image.offline_replicas(part) == (102,)
    assert image.topic_configs("t") == {"retention.ms": "1000"}
    image.replay(7, FenceBroker(101, 0))
    assert image.live_brokers() == []
    image.replay(8, RemoveTopic(TID))
    assert "t" not in image.topics and image.topic_configs("t") == {}


def test_log_replays_on_open_and_cuts_a_torn_tail(tmp_path: Path) -> None:
    first = MetadataLog(tmp_path)
    first.commit(first.write(RECORDS))
    path = tmp_path / f"{METADATA_TOPIC}-0" / LOG_FILE
    with path.open("ab") as f:
        f.write(b"\x00\x00\x00\x40torn")
    again = MetadataLog(tmp_path)
    assert [r for _, r in again.read(0)] == RECORDS
    assert again.end_offset == len(RECORDS)
    assert path.stat().st_size == sum(8 + len(r) for r in again.records)


def test_batches_carry_values_with_their_offsets() -> None:
    values = [encode_record(r) for r in RECORDS]
    data = encode_batch(5, values[:3]) + encode_batch(8, values[3:])
    decoded = decode_batches(data)
    assert [o for o, _ in decoded] == list(range(5, 12))
    assert [decode_record(v) for _, v in decoded] == RECORDS
