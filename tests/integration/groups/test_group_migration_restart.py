"""A group that became a consumer group with classic members still in it survives a restart of
the built-in broker: every member keeps its partitions and goes on from the committed positions,
and the group is still a consumer group."""

from __future__ import annotations

from confluent_kafka import ConsumerGroupType

from tests.broker_fixtures import RunningBroker

from .clients import create_topic, produce, unique
from .test_group_migration import (
    BATCH,
    PARTITIONS,
    Member,
    _consumed_batch,
    _group_type,
    _poll_until,
    _split,
)


def test_a_migrated_group_survives_a_broker_restart(builtin_broker: RunningBroker) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("migrate-r"), unique("migrate-r-group")
    create_topic(bootstrap, topic, PARTITIONS)
    a = Member(bootstrap, group, "classic-a", "classic")
    b = Member(bootstrap, group, "classic-b", "classic")
    c = Member(bootstrap, group, "consumer-c", "consumer")
    members = [a, b, c]
    try:
        a.consumer.subscribe([topic])
        b.consumer.subscribe([topic])
        _poll_until([a, b], lambda: _split([a, b]), "the classic members to split the topic")
        c.consumer.subscribe([topic])
        _poll_until(members, lambda: _split(members), "all three to own partitions")
        produce(bootstrap, topic, BATCH, PARTITIONS)
        _poll_until(members, lambda: _consumed_batch(members, 0), "the first batch")
        before = {m.name: m.owned() for m in members}

        builtin_broker.restart()
        produce(bootstrap, topic, BATCH, PARTITIONS, start=BATCH)
        _poll_until(members, lambda: _consumed_batch(members, BATCH), "the batch after restart")
        assert {m.name: m.owned() for m in members} == before
        assert _group_type(bootstrap, group) == ConsumerGroupType.CONSUMER
        assert sorted(v for m in members for v in m.values) == list(range(2 * BATCH))
    finally:
        for m in members:
            m.close()
