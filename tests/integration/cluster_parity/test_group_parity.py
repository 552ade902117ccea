"""A consumer group keeps consuming through the death of its coordinator's broker, on the
built-in cluster and on real Kafka alike, with the classic and the consumer (KIP-848) group
protocol: nothing is lost, a record comes twice only from the last committed offset, and the
committed offsets can be read through every broker left."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition

from tests.integration.cluster.local_cluster import start_timeout_s, wait_for

from .either_cluster import SESSION_TIMEOUT_MS, EitherCluster, admin, create_topic, quiet

PARTITIONS = 3
# the controller fences the dead broker, the offsets partition gets a new leader that replays
# it, and the client finds the new coordinator: a few seconds on an idle machine
MOVE_TIMEOUT_S = SESSION_TIMEOUT_MS / 1000 + 20
_names = itertools.count()

Seen = list[tuple[int, int, int]]  # partition, offset, value


def _produce(bootstrap: str, topic: str, start: int, count: int) -> None:
    producer = Producer(
        quiet({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    )
    failed: list[object] = []
    for i in range(start, start + count):
        producer.produce(
            topic,
            value=str(i).encode(),
            partition=i % PARTITIONS,
            on_delivery=lambda err, _msg: failed.append(err) if err else None,
        )
    assert producer.flush(start_timeout_s(60)) == 0  # after a kill: a fencing and an election
    assert not failed, failed[:3]


def _consumer(bootstrap: str, group: str, protocol: str) -> Consumer:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": protocol,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "topic.metadata.refresh.interval.ms": 1000,
    }
    if protocol == "classic":  # the consumer protocol takes these from the broker
        config.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    return Consumer(quiet(config))


def _coordinator(bootstrap: str, group: str) -> int:
    """The broker the cluster names as the group's coordinator."""
    client = admin(bootstrap)  # kept alive until the answer is in
    futures = client.describe_consumer_groups([group], request_timeout=10)
    return int(futures[group].result(timeout=15).coordinator.id)


def _try_coordinator(bootstrap: str, group: str) -> int | None:
    try:
        return _coordinator(bootstrap, group)
    except Exception:  # the coordinator is moving: ask again
        return None


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int] | None:
    """The group's committed offsets (OffsetFetch), or None while the coordinator moves."""
    client = admin(bootstrap)
    try:
        futures = client.list_consumer_group_offsets(
            [ConsumerGroupTopicPartitions(group)], request_timeout=10
        )
        result = futures[group].result(timeout=15)
    except Exception:  # not the coordinator yet, or it is still loading the group
        return None
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.topic == topic}


def _consume_until(consumer: Consumer, seen: Seen, done: Callable[[], bool], what: str) -> None:
    """Poll, committing synchronously after each batch, until done() (a load-scaled deadline)."""
    timeout_s = start_timeout_s(60)
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s:.0f} s waiting for {what}: {len(seen)} seen")
        got = [m for m in consumer.consume(50, timeout=0.5) if m.error() is None]
        for m in got:
            seen.append((m.partition() or 0, m.offset() or 0, int(m.value() or b"")))
        if got:
            try:
                consumer.commit(asynchronous=False)
            except Exception:  # a commit during the failover: Kafka allows the redelivery
                continue


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_group_keeps_consuming_through_the_death_of_its_coordinator(
    either_cluster: EitherCluster, protocol: str
) -> None:
    cluster = either_cluster
    n = next(_names)
    topic, group = f"parity-group-{protocol}-{n}", f"parity-billing-{protocol}-{n}"
    create_topic(cluster, topic, PARTITIONS, **{"min.insync.replicas": "2"})
    bootstrap = cluster.bootstrap()
    _produce(bootstrap, topic, 0, 300)
    consumer = _consumer(bootstrap, group, protocol)
    revoked: list[list[int]] = []
    consumer.subscribe(
        [topic], on_revoke=lambda _c, parts: revoked.append([p.partition for p in parts])
    )
    seen: Seen = []
    values = lambda: {v for _, _, v in seen}  # noqa: E731
    try:
        _consume_until(consumer, seen, lambda: len(seen) >= 150, "150 records")
        committed_before = wait_for(
            lambda: _committed(bootstrap, group, topic),
            start_timeout_s(15),
            "the offsets committed before the kill",
        )
        assert sum(committed_before.values()) >= 150
        victim = wait_for(
            lambda: _try_coordinator(bootstrap, group),
            start_timeout_s(15),
            "the group's coordinator",
        )
        member = consumer.memberid()
        cluster.kill(victim)
        left = [b for b in cluster.broker_ids if b != victim]
        survivors = cluster.bootstrap(without=(victim,))
        _produce(survivors, topic, 300, 100)
        _consume_until(consumer, seen, lambda: values() >= set(range(400)), "all 400 records")
        # the new coordinator replayed the group: the member went on as it was, without
        # rejoining or giving up its partitions
        assert consumer.memberid() == member
        assert revoked == []
        # a live broker coordinates the same group now, whichever broker is asked
        for broker in left:
            wait_for(
                lambda b=broker: _try_coordinator(cluster.address(b), group) in left,
                start_timeout_s(MOVE_TIMEOUT_S),
                f"a live coordinator named by broker {broker}",
            )
        expected = {0: 134, 1: 133, 2: 133}
        for broker in left:
            # every offset reached the new coordinator and is read back through each broker
            wait_for(
                lambda b=broker: _committed(cluster.address(b), group, topic) == expected,
                start_timeout_s(MOVE_TIMEOUT_S),
                f"every offset committed, read through broker {broker}",
            )
    finally:
        consumer.close()
    # no loss; a record is seen twice only at or after the offset committed before the kill
    assert values() == set(range(400))
    counts: dict[tuple[int, int], int] = {}
    for p, o, _ in seen:
        counts[(p, o)] = counts.get((p, o), 0) + 1
    for (p, o), times in counts.items():
        if times > 1:
            assert o >= committed_before[p], f"offset {o} of partition {p} redelivered"
    # a new member of the group starts from the committed offsets: nothing is redelivered
    again = _consumer(survivors, group, protocol)
    again.subscribe([topic])
    redelivered: list[object] = []

    def joined() -> object:
        m = again.poll(0.2)
        if m is not None and m.error() is None:
            redelivered.append(m.value())
        return again.assignment()

    try:
        wait_for(joined, start_timeout_s(30), "the new member's assignment")
        redelivered += [m.value() for m in again.consume(50, timeout=2) if m.error() is None]
        assert redelivered == []
        committed = again.committed(
            [TopicPartition(topic, p) for p in range(PARTITIONS)], start_timeout_s(15)
        )
        assert {tp.partition: tp.offset for tp in committed} == expected
    finally:
        again.close()
