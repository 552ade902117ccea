"""Small helpers for driving confluent-kafka clients against a test broker."""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, KafkaException, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

TIMEOUT_S = 30.0


def admin(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(
    bootstrap: str, name: str, partitions: int = 1, config: dict[str, str] | None = None
) -> None:
    client = admin(bootstrap)  # keep a reference: the futures die with the client
    futures = client.create_topics(
        [NewTopic(name, partitions, 1, config=config or {})], operation_timeout=TIMEOUT_S
    )
    for fut in futures.values():
        fut.result(timeout=TIMEOUT_S)


def producer(bootstrap: str, **extra: Any) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, **extra})


def produce_all(prod: Producer, topic: str, items: list[dict[str, Any]]) -> list[Message]:
    """Produce and wait for every delivery report; fail on any delivery error."""
    delivered: list[Message] = []
    errors: list[Any] = []

    def on_delivery(err: Any, msg: Message) -> None:
        (errors if err is not None else delivered).append(err if err is not None else msg)

    for item in items:
        prod.produce(topic, on_delivery=on_delivery, **item)
        prod.poll(0)
    remaining = prod.flush(TIMEOUT_S)
    assert remaining == 0, f"{remaining} messages not delivered"
    assert not errors, errors
    return delivered


def consumer(bootstrap: str, **extra: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "assign-only",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **extra,
        }
    )


def consume(
    bootstrap: str,
    topic: str,
    count: int,
    partitions: list[int] | None = None,
    offset: int = 0,
    **extra: Any,
) -> list[Message]:
    """Assign the given partitions at ``offset`` and read ``count`` messages."""
    cons = consumer(bootstrap, **extra)
    try:
        parts = partitions if partitions is not None else [0]
        cons.assign([TopicPartition(topic, p, offset) for p in parts])
        out: list[Message] = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(out) < count and time.monotonic() < deadline:
            msg = cons.poll(1.0)
            if msg is None:
                continue
            if msg.error():
                raise KafkaException(msg.error())
            out.append(msg)
        assert len(out) == count, f"read {len(out)} of {count} messages"
        return out
    finally:
        cons.close()
