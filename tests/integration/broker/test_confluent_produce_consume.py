"""confluent-kafka Producer and Consumer (assign mode) against the built-in broker."""

from __future__ import annotations

import os
import time

import pytest
from confluent_kafka import TopicPartition

from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, consume, consumer, create_topic, produce_all, producer


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_round_trip_is_byte_exact_for_every_codec(
    builtin_broker: RunningBroker, codec: str
) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "codec-topic")
    items = [
        {
            "key": f"key-{i}".encode(),
            "value": os.urandom(50) + bytes([i % 256]) * (i % 300),
            "headers": [("h1", f"v{i}".encode()), ("bin", bytes(range(i % 7)))],
            "partition": 0,
        }
        for i in range(200)
    ]
    produce_all(producer(bs, **{"compression.type": codec}), "codec-topic", items)
    got = consume(bs, "codec-topic", len(items))
    for item, msg in zip(items, got, strict=True):
        assert msg.key() == item["key"]
        assert msg.value() == item["value"]
        assert msg.headers() == item["headers"]
    assert [m.offset() for m in got] == list(range(len(items)))


def test_null_keys_and_null_values(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "nulls")
    items = [
        {"key": None, "value": b"no key", "partition": 0},
        {"key": b"tombstone", "value": None, "partition": 0},
        {"key": None, "value": None, "partition": 0},
        {"key": b"", "value": b"", "partition": 0},
    ]
    produce_all(producer(bs), "nulls", items)
    got = consume(bs, "nulls", 4)
    assert [(m.key(), m.value()) for m in got] == [
        (None, b"no key"),
        (b"tombstone", None),
        (None, None),
        (b"", b""),
    ]


def test_one_megabyte_values_with_raised_limit(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "big", config={"max.message.bytes": str(3 * 1024 * 1024)})
    values = [os.urandom(1024 * 1024) for _ in range(3)]
    prod = producer(bs, **{"message.max.bytes": 4 * 1024 * 1024})
    produce_all(prod, "big", [{"value": v, "partition": 0} for v in values])
    got = consume(bs, "big", 3, **{"fetch.message.max.bytes": 4 * 1024 * 1024})
    assert [m.value() for m in got] == values


def test_message_too_large_is_rejected(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "small", config={"max.message.bytes": "2000"})
    prod = producer(bs, **{"compression.type": "none"})
    errors = []
    prod.produce(
        "small", value=os.urandom(5000), partition=0, on_delivery=lambda e, m: errors.append(e)
    )
    prod.flush(TIMEOUT_S)
    assert len(errors) == 1 and errors[0] is not None
    assert errors[0].name() == "MSG_SIZE_TOO_LARGE"


def test_keyed_messages_stay_on_one_partition(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "keyed", partitions=6)
    items = [{"key": f"user-{i % 5}".encode(), "value": str(i).encode()} for i in range(300)]
    delivered = produce_all(producer(bs), "keyed", items)
    by_key: dict[bytes, set[int]] = {}
    for msg in delivered:
        by_key.setdefault(msg.key(), set()).add(msg.partition())
    assert all(len(parts) == 1 for parts in by_key.values())
    got = consume(bs, "keyed", 300, partitions=list(range(6)))
    per_key_order: dict[bytes, list[int]] = {}
    for msg in got:
        per_key_order.setdefault(msg.key(), []).append(int(msg.value()))
    for values in per_key_order.values():
        assert values == sorted(values)


def test_idempotent_producer(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "idem", partitions=2)
    prod = producer(bs, **{"enable.idempotence": True, "acks": "all"})
    items = [{"key": str(i).encode(), "value": str(i).encode()} for i in range(1000)]
    produce_all(prod, "idem", items)
    got = consume(bs, "idem", 1000, partitions=[0, 1])
    assert sorted(int(m.value()) for m in got) == list(range(1000))


def test_acks_zero_and_acks_all(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "acks")
    produce_all(producer(bs, acks=0), "acks", [{"value": b"a", "partition": 0}] * 10)
    produce_all(producer(bs, acks="all"), "acks", [{"value": b"b", "partition": 0}] * 10)
    got = consume(bs, "acks", 20)
    assert sorted(m.value() for m in got) == [b"a"] * 10 + [b"b"] * 10


def test_list_offsets_earliest_latest_and_by_timestamp(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "times")
    base = int(time.time() * 1000) - 100_000
    items = [{"value": b"x", "partition": 0, "timestamp": base + i * 1000} for i in range(10)]
    produce_all(producer(bs), "times", items)
    cons = consumer(bs)
    try:
        low, high = cons.get_watermark_offsets(TopicPartition("times", 0), timeout=TIMEOUT_S)
        assert (low, high) == (0, 10)
        found = cons.offsets_for_times([TopicPartition("times", 0, base + 4500)], timeout=TIMEOUT_S)
        assert found[0].offset == 5
        beyond = cons.offsets_for_times(
            [TopicPartition("times", 0, base + 10**7)], timeout=TIMEOUT_S
        )
        assert beyond[0].offset == -1
    finally:
        cons.close()


def test_log_append_time_topic_stamps_broker_time(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "lat", config={"message.timestamp.type": "LogAppendTime"})
    before = int(time.time() * 1000)
    produce_all(producer(bs), "lat", [{"value": b"x", "partition": 0, "timestamp": 1000}])
    (msg,) = consume(bs, "lat", 1)
    ts_type, ts = msg.timestamp()
    assert ts_type == 2  # TIMESTAMP_LOG_APPEND_TIME
    assert ts >= before - 1000


def test_long_poll_fetch_wakes_on_new_data(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "poll")
    cons = consumer(bs, **{"fetch.wait.max.ms": 10_000})
    try:
        cons.assign([TopicPartition("poll", 0, 0)])
        cons.poll(0.5)
        produce_all(producer(bs), "poll", [{"value": b"wake", "partition": 0}])
        start = time.monotonic()
        msg = None
        while msg is None and time.monotonic() - start < TIMEOUT_S:
            msg = cons.poll(0.5)
        assert msg is not None and msg.value() == b"wake"
        # Arrives long before the 10 s max wait: the fetch was woken by the append.
        assert time.monotonic() - start < 8
    finally:
        cons.close()
