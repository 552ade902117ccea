"""Online migration between classic and consumer groups (KIP-848) through real clients, on the
built-in broker and Kafka 4.3.1: two classic confluent-kafka consumers share a topic, a third
with group.protocol=consumer joins (the group becomes a consumer group and the classic members
keep consuming), all three consume disjoint partitions from the committed positions, then the
consumer-protocol member leaves (the group is classic again) and the classic members go on.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupType, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.integration.cluster.local_cluster import start_timeout_s

from .clients import create_topic, produce, unique

PARTITIONS = 6
BATCH = 30
# The idle-machine deadline of one step (a rebalance, a batch consumed); it stretches with load.
STEP_S = 40.0


class Member:
    """A consumer that commits what it consumed after every poll that returned a record."""

    def __init__(
        self, bootstrap: str, group: str, name: str, protocol: str, *, failover: bool = False
    ) -> None:
        """failover: a commit may fail while the group's coordinator moves (it is counted)."""
        self.name = name
        self.values: list[int] = []
        self.failover = failover
        self.failed_commits = 0
        conf: dict[str, Any] = {
            "log_level": 0,
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "group.protocol": protocol,
            "client.id": name,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": False,
        }
        if protocol == "classic":
            conf |= {"session.timeout.ms": 10_000, "heartbeat.interval.ms": 500}
        self.consumer = Consumer(conf)
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.consumer.close()

    def poll(self) -> None:
        msg = self.consumer.poll(0.05)
        if msg is None:
            return
        error = msg.error()
        if error is not None:
            raise AssertionError(f"{self.name}: {error}")
        value = msg.value()
        assert value is not None
        self.values.append(int(value))
        # Committed before the next poll: a rebalance never hands this record to another.
        try:
            self.consumer.commit(message=msg, asynchronous=False)
        except Exception:
            if not self.failover:
                raise
            self.failed_commits += 1

    def owned(self) -> set[int]:
        return {p.partition for p in self.consumer.assignment()}


def _poll_until(members: list[Member], condition: Any, what: str) -> None:
    deadline = start_timeout_s(STEP_S)
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            owned = {m.name: sorted(m.owned()) for m in members}
            raise AssertionError(f"timed out after {deadline:.0f}s waiting for {what}: {owned}")
        for m in members:
            m.poll()


def _split(members: list[Member]) -> bool:
    """Every member owns partitions, no two the same, together all of them."""
    owned = [m.owned() for m in members]
    return (
        all(owned)
        and sum(map(len, owned)) == PARTITIONS
        and set().union(*owned) == set(range(PARTITIONS))
    )


def _consumed_batch(members: list[Member], start: int) -> bool:
    return {v for m in members for v in m.values if v >= start} == set(range(start, start + BATCH))


def _group_type(bootstrap: str, group: str) -> ConsumerGroupType:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group], request_timeout=20)[group].result(30)
    kind: ConsumerGroupType = described.type
    return kind


def _committed(member: Member, topic: str) -> list[int]:
    parts = [TopicPartition(topic, p) for p in range(PARTITIONS)]
    return [tp.offset for tp in member.consumer.committed(parts, timeout=30)]


def test_a_consumer_member_joins_a_classic_group_and_leaves_again(bootstrap: str) -> None:
    topic, group = unique("migrate"), unique("migrate-group")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, BATCH, PARTITIONS)
    a = Member(bootstrap, group, "classic-a", "classic")
    b = Member(bootstrap, group, "classic-b", "classic")
    c = Member(bootstrap, group, "consumer-c", "consumer")
    members = [a, b, c]
    try:
        a.consumer.subscribe([topic])
        b.consumer.subscribe([topic])
        _poll_until([a, b], lambda: _split([a, b]), "the classic members to split the topic")
        _poll_until([a, b], lambda: _consumed_batch([a, b], 0), "the first batch")
        assert _group_type(bootstrap, group) == ConsumerGroupType.CLASSIC

        # A consumer-protocol member joins: the group becomes a consumer group.
        c.consumer.subscribe([topic])
        _poll_until(members, lambda: _split(members), "all three to own partitions")
        assert _group_type(bootstrap, group) == ConsumerGroupType.CONSUMER
        produce(bootstrap, topic, BATCH, PARTITIONS, start=BATCH)
        _poll_until(members, lambda: _consumed_batch(members, BATCH), "the second batch")
        assert c.values, "the consumer-protocol member consumed nothing"

        # It leaves: the group is classic again and the two classic members take everything.
        c.close()
        members = [a, b]
        _poll_until(members, lambda: _split(members), "the classic members to split it again")
        produce(bootstrap, topic, BATCH, PARTITIONS, start=2 * BATCH)
        _poll_until(members, lambda: _consumed_batch(members, 2 * BATCH), "the third batch")
        assert _group_type(bootstrap, group) == ConsumerGroupType.CLASSIC

        # Each record was consumed once (every one was committed before the next rebalance)
        # and the committed positions are the ends of the partitions.
        everything = sorted(v for m in (a, b, c) for v in m.values)
        assert everything == list(range(3 * BATCH))
        assert sum(_committed(a, topic)) == 3 * BATCH
    finally:
        for m in (a, b, c):
            m.close()
