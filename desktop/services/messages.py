"""Produce and read back single messages (used by the self-test and the UI alike)."""

from __future__ import annotations

import time
import uuid

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.connection import ErrorLog, client_config, explain


def produce_one(
    profile: ClusterProfile,
    creds: Credentials,
    topic: str,
    *,
    key: bytes,
    value: bytes,
    timeout: float = 10.0,
) -> int:
    """Produce one message and wait for the acknowledgement; returns its offset."""
    log = ErrorLog()
    conf = client_config(profile, creds)
    conf.update({"error_cb": log, "acks": "all", "message.timeout.ms": int(timeout * 1000)})
    producer = Producer(conf)
    result: dict[str, object] = {}

    def on_delivery(err: object, msg: object) -> None:
        result["err"] = err
        result["msg"] = msg

    producer.produce(topic, value=value, key=key, on_delivery=on_delivery)
    remaining = producer.flush(timeout + 2)
    if remaining or "msg" not in result:
        raise RuntimeError(
            explain(TimeoutError("produce timed out"), log.snapshot(), profile.bootstrap)
        )
    if result.get("err") is not None:
        raise RuntimeError(f"The broker refused the message: {result['err']}")
    offset = result["msg"].offset()  # type: ignore[attr-defined]
    return int(offset)


def read_one(
    profile: ClusterProfile,
    creds: Credentials,
    topic: str,
    *,
    partition: int,
    offset: int,
    timeout: float = 10.0,
) -> tuple[bytes | None, bytes | None]:
    """Read the message at `offset` with an assigned (group-less) consumer."""
    log = ErrorLog()
    conf = client_config(profile, creds)
    conf.update(
        {
            "error_cb": log,
            "group.id": f"topicscope-read-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    consumer = Consumer(conf)
    try:
        consumer.assign([TopicPartition(topic, partition, offset)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            return msg.key(), msg.value()
    finally:
        consumer.close()
    raise RuntimeError(explain(TimeoutError("read timed out"), log.snapshot(), profile.bootstrap))
