"""Helpers for group tests: topics, producing, polling consumers until a condition holds."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import Consumer, KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.integration.cluster.local_cluster import start_timeout_s

TIMEOUT_S = 60.0
SESSION_MS = 6000


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for fut in admin.create_topics([NewTopic(name, partitions, 1)]).values():
        fut.result(timeout=TIMEOUT_S)
    # Wait until the topic is in metadata with all its partitions.
    deadline = time.monotonic() + TIMEOUT_S
    while time.monotonic() < deadline:
        topics = admin.list_topics(timeout=10).topics
        if name in topics and len(topics[name].partitions) == partitions:
            return
        time.sleep(0.1)
    raise AssertionError(f"topic {name} did not appear")


def produce(bootstrap: str, topic: str, count: int, partitions: int, start: int = 0) -> None:
    """count messages with values 'start'..'start+count-1', round-robin over the partitions."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        producer.produce(topic, value=str(i).encode(), partition=i % partitions)
    assert producer.flush(TIMEOUT_S) == 0


def group_consumer(bootstrap: str, group: str, **extra: Any) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": SESSION_MS,
            "heartbeat.interval.ms": 500,
            **extra,
        }
    )


class Poller:
    """Polls several consumers round-robin, recording every message value per consumer."""

    def __init__(self, consumers: Iterable[Consumer]) -> None:
        self.consumers = list(consumers)
        self.values: list[list[bytes]] = [[] for _ in self.consumers]

    def poll_once(self) -> None:
        for i, c in enumerate(self.consumers):
            msg = c.poll(0.05)
            if msg is None:
                continue
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"consumer error: {msg.error()}")
            value = msg.value()
            assert value is not None
            self.values[i].append(value)

    def until(
        self, condition: Callable[[], bool], timeout: float = TIMEOUT_S, what: str = ""
    ) -> float:
        """Poll until condition() holds; returns the seconds it took."""
        start = time.monotonic()
        while not condition():
            if time.monotonic() - start > timeout:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what}; "
                    f"assignments {self.assignment_sizes()}"
                )
            self.poll_once()
        return time.monotonic() - start

    def assignment_sizes(self) -> list[int]:
        return [len(c.assignment()) for c in self.consumers]

    def all_values(self) -> list[bytes]:
        return [v for vs in self.values for v in vs]


def wait_for(condition: Callable[[], bool], timeout: float = TIMEOUT_S, what: str = "") -> None:
    """Poll ``condition`` until true; ``timeout`` (the idle-machine deadline) stretches with
    the load."""
    deadline = time.monotonic() + start_timeout_s(timeout)
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
