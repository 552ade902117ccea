"""group.max.size (classic groups) and group.consumer.max.size (KIP-848 groups): a member that
would take a full group past its limit is refused with GROUP_MAX_SIZE_REACHED, and the members
already in the group keep their partitions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError
from kafka import KafkaConsumer
from kafka.errors import GroupMaxSizeReachedError
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory, RunningBroker

from .classic_frames import join, sync
from .clients import TIMEOUT_S, create_topic, group_consumer, wait_for
from .wire import WireClient, make, request_module

TOPIC = "capped"
LIMITS = {
    "group.max.size": "1",
    "group.consumer.max.size": "1",
    "group.initial.rebalance.delay.ms": "0",
}


@pytest.fixture
def capped(builtin_broker_factory: BrokerFactory) -> RunningBroker:
    broker = builtin_broker_factory(config=LIMITS, in_memory=True)
    create_topic(broker.bootstrap, TOPIC, 2)
    return broker


@pytest.fixture
def consumers() -> Iterator[list[Consumer]]:
    made: list[Consumer] = []
    yield made
    for consumer in made:
        consumer.close()


def _assigned(consumer: Consumer) -> None:
    def has_partitions() -> bool:
        consumer.poll(0.1)
        return len(consumer.assignment()) == 2

    wait_for(has_partitions, what="the first member's assignment")


def _first_error(consumer: Consumer, other: Consumer) -> KafkaError:
    found: list[KafkaError] = []

    def errored() -> bool:
        message = consumer.poll(0.1)
        other.poll(0)
        if message is not None and message.error() is not None:
            found.append(message.error())
        return bool(found)

    wait_for(errored, what="the refused member's error")
    return found[0]


def test_a_classic_group_at_group_max_size_refuses_a_new_confluent_member(
    capped: RunningBroker, consumers: list[Consumer]
) -> None:
    group = f"classic-{uuid.uuid4().hex[:6]}"
    first = group_consumer(capped.bootstrap, group)
    second = group_consumer(capped.bootstrap, group)
    consumers += [first, second]
    first.subscribe([TOPIC])
    _assigned(first)
    second.subscribe([TOPIC])
    error = _first_error(second, first)
    assert error.code() == KafkaError.GROUP_MAX_SIZE_REACHED
    assert second.assignment() == []
    first.poll(0.1)
    assert len(first.assignment()) == 2  # the member inside keeps its partitions


def test_kafka_python_is_told_the_classic_group_is_full(
    capped: RunningBroker, consumers: list[Consumer]
) -> None:
    group = f"kp-{uuid.uuid4().hex[:6]}"
    first = group_consumer(capped.bootstrap, group)
    consumers.append(first)
    first.subscribe([TOPIC])
    _assigned(first)
    second = KafkaConsumer(TOPIC, bootstrap_servers=capped.bootstrap, group_id=group)
    try:
        deadline = time.monotonic() + TIMEOUT_S
        with pytest.raises(GroupMaxSizeReachedError):
            while time.monotonic() < deadline:
                second.poll(timeout_ms=200)
                first.poll(0)
    finally:
        second.close()


def test_a_consumer_group_at_group_consumer_max_size_refuses_a_new_member(
    capped: RunningBroker, consumers: list[Consumer]
) -> None:
    group = f"kip848-{uuid.uuid4().hex[:6]}"
    settings = {"bootstrap.servers": capped.bootstrap, "group.id": group}
    first = Consumer({**settings, "group.protocol": "consumer"})
    second = Consumer({**settings, "group.protocol": "consumer"})
    consumers += [first, second]
    first.subscribe([TOPIC])
    _assigned(first)
    second.subscribe([TOPIC])
    error = _first_error(second, first)
    # librdkafka makes the heartbeat's GROUP_MAX_SIZE_REACHED a fatal consumer error
    assert "maximum size" in error.str()
    first.poll(0.1)
    assert len(first.assignment()) == 2


# -- raw frames: which member is refused, and when --------------------------------------------


def _join(client: WireClient, group: str, member_id: str = "") -> Any:
    return join(client, 9, group, TOPIC, member_id)


def _sync(client: WireClient, group: str, member_id: str, generation: int) -> int:
    return int(sync(client, 5, group, (member_id, generation), b"").error_code)


def _leave(client: WireClient, group: str, member_id: str) -> None:
    mod = request_module(13, 5)
    identity = make(mod.MemberIdentity, member_id=member_id, group_instance_id=None, reason=None)
    response = client.send(
        make(mod.LeaveGroupRequest, group_id=group, member_id="", members=(identity,))
    )
    assert response.error_code == ErrorCode.none


def _member(client: WireClient, group: str) -> tuple[str, int]:
    first = _join(client, group)
    assert first.error_code == ErrorCode.member_id_required
    joined = _join(client, group, first.member_id)
    assert joined.error_code == ErrorCode.none
    assert _sync(client, group, joined.member_id, joined.generation_id) == ErrorCode.none
    return str(joined.member_id), int(joined.generation_id)


def test_join_group_beyond_group_max_size_is_refused_and_the_member_inside_stays(
    capped: RunningBroker,
) -> None:
    group = f"wire-{uuid.uuid4().hex[:6]}"
    inside, outside = WireClient(capped.bootstrap), WireClient(capped.bootstrap)
    try:
        member, generation = _member(inside, group)
        refused = _join(outside, group)
        assert refused.error_code == ErrorCode.group_max_size_reached
        assert refused.member_id == ""  # no member id handed out: it is not in the group
        # the member inside rejoins (a known member is always let back in) at the same size
        again = _join(inside, group, member)
        assert again.error_code == ErrorCode.none
        assert again.member_id == member
        assert again.generation_id > generation
        _leave(inside, group, member)
        # room again: a new member gets in
        assert _member(outside, group)[0] != member
    finally:
        inside.close()
        outside.close()
