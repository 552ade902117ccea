"""Retention: old segments go, the log start advances, consumers recover via auto.offset.reset."""

from __future__ import annotations

import time

from confluent_kafka import KafkaError, TopicPartition

from tests.broker_fixtures import BrokerFactory

from .clients import TIMEOUT_S, consumer, create_topic, produce_all, producer


def test_retention_bytes_advances_log_start(builtin_broker_factory: BrokerFactory) -> None:
    broker = builtin_broker_factory({"log.retention.check.interval.ms": "200"})
    bs = broker.bootstrap
    create_topic(
        bs,
        "short",
        config={"segment.bytes": "2048", "retention.bytes": "4096", "cleanup.policy": "delete"},
    )
    prod = producer(bs, **{"linger.ms": 0, "compression.type": "none"})
    for i in range(100):
        produce_all(prod, "short", [{"value": f"{i:04d}".encode() * 25, "partition": 0}])
    cons = consumer(bs)
    tp = TopicPartition("short", 0)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        low = 0
        while time.monotonic() < deadline:
            low, high = cons.get_watermark_offsets(tp, timeout=TIMEOUT_S, cached=False)
            if low > 0:
                break
            time.sleep(0.1)
        assert low > 0
        assert high == 100
    finally:
        cons.close()

    # A consumer positioned before the log start gets OFFSET_OUT_OF_RANGE ...
    strict = consumer(bs, **{"auto.offset.reset": "error"})
    try:
        strict.assign([TopicPartition("short", 0, 0)])
        err = None
        deadline = time.monotonic() + TIMEOUT_S
        while err is None and time.monotonic() < deadline:
            msg = strict.poll(0.5)
            if msg is not None and msg.error():
                err = msg.error()
        assert err is not None
        assert err.code() == KafkaError._AUTO_OFFSET_RESET
        assert "out of range" in err.str().lower()
    finally:
        strict.close()

    # ... and recovers through auto.offset.reset=earliest.
    recovering = consumer(bs, **{"auto.offset.reset": "earliest"})
    try:
        recovering.assign([TopicPartition("short", 0, 0)])
        first = None
        deadline = time.monotonic() + TIMEOUT_S
        while first is None and time.monotonic() < deadline:
            msg = recovering.poll(0.5)
            if msg is not None and not msg.error():
                first = msg
        assert first is not None
        assert first.offset() >= low
    finally:
        recovering.close()
