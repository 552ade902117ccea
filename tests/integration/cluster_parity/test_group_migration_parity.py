"""Online migration between classic and consumer groups on a 3-broker cluster, the built-in one
and real Kafka alike: the group converted when a consumer-protocol member joined two classic
ones lives in __consumer_offsets, so it survives the death of its coordinator's broker; every
member goes on with its partitions, and the group turns classic again when that member leaves."""

from __future__ import annotations

import itertools

from confluent_kafka import ConsumerGroupType

from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.groups.test_group_migration import (
    BATCH,
    PARTITIONS,
    Member,
    _consumed_batch,
    _group_type,
    _poll_until,
    _split,
)

from .either_cluster import EitherCluster, admin, create_topic

_names = itertools.count()


def _produce(bootstrap: str, topic: str, start: int) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "log_level": 0})
    for i in range(start, start + BATCH):
        producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS)
    assert producer.flush(60) == 0


def _coordinator(bootstrap: str, group: str) -> int | None:
    client = admin(bootstrap)  # kept alive until the answer is in
    try:
        described = client.describe_consumer_groups([group], request_timeout=10)
        return int(described[group].result(timeout=15).coordinator.id)
    except Exception:  # the coordinator is moving: ask again
        return None


def test_a_migrated_group_survives_its_coordinators_death(either_cluster: EitherCluster) -> None:
    cluster = either_cluster
    n = next(_names)
    topic, group = f"parity-migrate-{n}", f"parity-migrate-group-{n}"
    create_topic(cluster, topic, PARTITIONS, **{"min.insync.replicas": "2"})
    bootstrap = cluster.bootstrap()
    a = Member(bootstrap, group, "classic-a", "classic", failover=True)
    b = Member(bootstrap, group, "classic-b", "classic", failover=True)
    c = Member(bootstrap, group, "consumer-c", "consumer", failover=True)
    members = [a, b, c]
    try:
        a.consumer.subscribe([topic])
        b.consumer.subscribe([topic])
        _poll_until([a, b], lambda: _split([a, b]), "the classic members to split the topic")
        c.consumer.subscribe([topic])
        _poll_until(members, lambda: _split(members), "all three to own partitions")
        _produce(bootstrap, topic, 0)
        _poll_until(members, lambda: _consumed_batch(members, 0), "the first batch")

        victim = wait_for(lambda: _coordinator(bootstrap, group), 30, "the group's coordinator")
        cluster.kill(victim)
        survivors = cluster.bootstrap(without=(victim,))
        _produce(survivors, topic, BATCH)
        _poll_until(members, lambda: _consumed_batch(members, BATCH), "the batch after the kill")
        _poll_until(members, lambda: _split(members), "all three to own partitions again")
        assert _group_type(survivors, group) == ConsumerGroupType.CONSUMER

        c.close()
        members = [a, b]
        _poll_until(members, lambda: _split(members), "the classic members to split it again")
        _produce(survivors, topic, 2 * BATCH)
        _poll_until(members, lambda: _consumed_batch(members, 2 * BATCH), "the third batch")
        wait_for(
            lambda: _group_type(survivors, group) == ConsumerGroupType.CLASSIC,
            start_timeout_s(20),
            "the group to be classic again",
        )
        seen = [v for m in (a, b, c) for v in m.values]
        assert set(seen) == set(range(3 * BATCH))  # nothing lost
        if not any(m.failed_commits for m in (a, b, c)):
            assert len(seen) == 3 * BATCH  # and nothing twice unless a commit failed
    finally:
        for m in (a, b, c):
            m.close()
