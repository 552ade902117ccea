"""A consumer-protocol group survives a restart of the built-in broker: its member keeps its
epoch and partitions (no revocation, no rejoin) and goes on consuming."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient

from tests.broker_fixtures import RunningBroker

from .clients import Poller, create_topic, produce, unique
from .test_consumer_protocol import PARTITIONS, STEP_TIMEOUT_S, Tracked


def _member(bootstrap: str, group: str) -> tuple[str, int]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group])[group].result(timeout=20)
    assert len(described.members) == 1
    member = described.members[0]
    return member.member_id, len(member.assignment.topic_partitions)


def test_member_keeps_its_assignment_across_a_broker_restart(
    builtin_broker: RunningBroker,
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("kip848r"), unique("kip848r-group")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 12, PARTITIONS)
    member = Tracked(bootstrap, group, "survivor")
    member.subscribe(topic)
    try:
        poller = Poller([member.consumer])
        poller.until(lambda: len(poller.all_values()) == 12, STEP_TIMEOUT_S, "12 records")
        before = _member(bootstrap, group)
        assigned_calls = len(member.assigned)

        builtin_broker.restart()
        produce(bootstrap, topic, 12, PARTITIONS, start=12)
        poller.until(lambda: len(poller.all_values()) == 24, STEP_TIMEOUT_S, "12 more records")
        assert _member(bootstrap, group) == before
        assert member.revoked == [] and len(member.assigned) == assigned_calls
        assert sorted(int(v) for v in poller.all_values()) == list(range(24))
    finally:
        member.consumer.close()
