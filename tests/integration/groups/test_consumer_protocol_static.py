"""Static membership with the consumer group protocol: a static member that closes keeps its
partitions for the session timeout, and the consumer that comes back with the same
group.instance.id gets them again while the other member is never asked to give any up."""

from __future__ import annotations

from typing import Any

from confluent_kafka import Consumer, TopicPartition

from .clients import Poller, create_topic, produce, unique
from .test_consumer_protocol import PARTITIONS, STEP_TIMEOUT_S


class Static:
    def __init__(self, bootstrap: str, group: str, instance: str) -> None:
        self.revoked: list[set[int]] = []
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "group.protocol": "consumer",
                "group.instance.id": instance,
                "auto.offset.reset": "earliest",
            }
        )

    def subscribe(self, topic: str) -> None:
        def on_revoke(_: Any, parts: list[TopicPartition]) -> None:
            self.revoked.append({p.partition for p in parts})

        self.consumer.subscribe([topic], on_revoke=on_revoke)

    def owned(self) -> set[int]:
        return {p.partition for p in self.consumer.assignment()}


def test_static_member_gets_its_partitions_back(bootstrap: str) -> None:
    topic, group = unique("kip848s"), unique("kip848s-group")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 12, PARTITIONS)
    a, b = Static(bootstrap, group, "one"), Static(bootstrap, group, "two")
    comeback: Static | None = None
    try:
        a.subscribe(topic)
        b.subscribe(topic)
        poller = Poller([a.consumer, b.consumer])
        poller.until(lambda: len(a.owned()) == 3 and len(b.owned()) == 3, STEP_TIMEOUT_S, "3 each")
        mine, theirs = a.owned(), b.owned()
        revoked_before = len(b.revoked)
        a.consumer.close()
        comeback = Static(bootstrap, group, "one")
        comeback.subscribe(topic)
        back = comeback
        poller = Poller([back.consumer, b.consumer])
        poller.until(lambda: back.owned() == mine, STEP_TIMEOUT_S, "the same partitions back")
        assert b.owned() == theirs and len(b.revoked) == revoked_before
    finally:
        for c in (b, comeback):
            if c is not None:
                c.consumer.close()
