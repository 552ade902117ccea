"""Share groups on the built-in broker through raw requests: records split between members,
acquisition locks that expire, release, reject, the delivery count limit, share sessions."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory, RunningBroker

from .conftest import LOCK_MS, TopicMaker, produce
from .wire import ACCEPT, REJECT, RELEASE, ShareWire, describe, hold_longer, start_offsets

WAIT_MS = 10_000  # a long-poll bound far above the lock duration


@pytest.fixture
def broker(builtin_broker_factory: BrokerFactory) -> RunningBroker:
    # locks expire after LOCK_MS unless a test asks for longer (hold_longer)
    return builtin_broker_factory(
        {
            "group.share.record.lock.duration.ms": str(LOCK_MS),
            "group.share.delivery.count.limit": "3",
        }
    )


@pytest.fixture
def members(broker: RunningBroker) -> Iterator[list[ShareWire]]:
    made: list[ShareWire] = []
    yield made
    for member in made:
        member.close()


def _joined(
    broker: RunningBroker, made: list[ShareWire], group: str, topic: str, tid: uuid.UUID
) -> ShareWire:
    member = ShareWire(broker.bootstrap, group, tid)
    made.append(member)
    member.join(topic)
    return member


def test_two_members_of_one_partition_get_different_records(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap)
    hold_longer(broker.bootstrap, "split")
    a = _joined(broker, members, "split", topic, tid)
    b = _joined(broker, members, "split", topic, tid)
    a.fetch()  # open both share sessions
    b.fetch()
    produce(broker.bootstrap, topic, 10)
    first = a.got(a.fetch(max_records=4, max_wait_ms=WAIT_MS)).offsets()
    second = b.got(b.fetch(max_records=100, max_wait_ms=WAIT_MS)).offsets()
    assert first == [0, 1, 2, 3]
    assert second == [4, 5, 6, 7, 8, 9]  # not the records the other member holds
    assert b.got(b.fetch(max_wait_ms=200)).offsets() == []


def test_an_unacknowledged_record_is_delivered_again_when_its_lock_expires(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap)
    a = _joined(broker, members, "locks", topic, tid)
    b = _joined(broker, members, "locks", topic, tid)
    a.fetch()
    b.fetch()
    produce(broker.bootstrap, topic, 3)
    assert a.got(a.fetch(max_wait_ms=WAIT_MS)).counts() == {0: 1, 1: 1, 2: 1}
    hold_longer(broker.bootstrap, "locks")  # a's records keep their LOCK_MS lock; b's get 30 s
    started = time.monotonic()
    # b waits in its long poll until a's lock runs out, then gets the records
    again = b.got(b.fetch(max_wait_ms=WAIT_MS))
    assert again.counts() == {0: 2, 1: 2, 2: 2}
    assert time.monotonic() - started < WAIT_MS / 1000  # woken by the expiry, not the deadline
    # a's acknowledgement comes too late: the records are b's now
    late = a.got(a.fetch(acks={0: [(0, 2, ACCEPT)]}))
    assert late.ack_error == ErrorCode.invalid_record_state
    assert b.got(b.fetch(acks={0: [(0, 2, ACCEPT)]})).ack_error == 0
    # (as Kafka: the start offset the write found, the 3 records finished past it)
    assert start_offsets(broker.bootstrap, "locks", topic) == {0: (0, 0)}


def test_rejected_records_are_archived_and_released_ones_come_back(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap)
    hold_longer(broker.bootstrap, "settle")
    a = _joined(broker, members, "settle", topic, tid)
    a.fetch()
    produce(broker.bootstrap, topic, 4)
    assert a.got(a.fetch(max_wait_ms=WAIT_MS)).offsets() == [0, 1, 2, 3]
    settled = a.acknowledge(0, [(0, 0, REJECT), (1, 1, RELEASE), (2, 2, ACCEPT)])
    assert settled.error_code == 0
    assert settled.responses[0].partitions[0].error_code == 0
    # only the released record is delivered again; the rejected one never is
    assert a.got(a.fetch(max_wait_ms=WAIT_MS)).counts() == {1: 2}
    # written as Kafka writes it: the start offset before the acknowledgement, 0 and 2 finished
    assert start_offsets(broker.bootstrap, "settle", topic) == {0: (0, 2)}
    a.fetch(acks={0: [(1, 1, ACCEPT), (3, 3, ACCEPT)]})
    # one write for the request's two batches, at the start offset the first write moved to
    assert start_offsets(broker.bootstrap, "settle", topic) == {0: (1, 0)}


def test_a_record_released_at_the_delivery_count_limit_is_archived(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap)
    hold_longer(broker.bootstrap, "poison")
    a = _joined(broker, members, "poison", topic, tid)
    a.fetch()
    produce(broker.bootstrap, topic, 2)
    counts = [a.got(a.fetch(max_wait_ms=WAIT_MS, max_records=1)).counts()]
    for _ in range(2):  # the limit here is 3 deliveries
        counts.append(
            a.got(a.fetch(acks={0: [(0, 0, RELEASE)]}, max_wait_ms=WAIT_MS, max_records=1)).counts()
        )
    assert counts == [{0: 1}, {0: 2}, {0: 3}]
    # the third release archives it: the next fetch goes on to the next record
    assert a.got(a.fetch(acks={0: [(0, 0, RELEASE)]}, max_wait_ms=WAIT_MS)).counts() == {1: 1}


def test_share_session_epochs_are_checked(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap)
    hold_longer(broker.bootstrap, "sessions")
    a = _joined(broker, members, "sessions", topic, tid)
    assert a.fetch(epoch=3).error_code == ErrorCode.share_session_not_found
    assert a.fetch().error_code == 0  # epoch 0 opens it; the next is 1
    assert a.fetch(epoch=5).error_code == ErrorCode.invalid_share_session_epoch
    assert a.fetch().error_code == 0
    produce(broker.bootstrap, topic, 1)
    assert a.got(a.fetch(max_wait_ms=WAIT_MS)).offsets() == [0]
    # closing the session (epoch -1) hands the member's records back at once
    b = _joined(broker, members, "sessions", topic, tid)
    b.fetch()
    assert a.fetch(partitions=(), epoch=-1).error_code == 0
    assert b.got(b.fetch(max_wait_ms=WAIT_MS)).counts() == {0: 2}


def test_heartbeats_describe_and_leaving(
    broker: RunningBroker, members: list[ShareWire], make_topic: TopicMaker
) -> None:
    topic, tid = make_topic(broker.bootstrap, partitions=2)
    a = _joined(broker, members, "members", topic, tid)
    b = _joined(broker, members, "members", topic, tid)
    assert a.heartbeat(None, epoch=a.member_epoch + 7).error_code == ErrorCode.fenced_member_epoch
    got = a.heartbeat(None)
    assert got.error_code == 0 and got.member_epoch == b.member_epoch
    described = describe(broker.bootstrap, "members")
    assert described.error_code == 0 and described.group_state == "Stable"
    assert described.assignor_name == "simple"
    owned = {
        m.member_id: sorted(p for tp in m.assignment.topic_partitions for p in tp.partitions)
        for m in described.members
    }
    assert owned in ({a.member_id: [0], b.member_id: [1]}, {a.member_id: [1], b.member_id: [0]})
    assert a.heartbeat(None, epoch=-1).member_epoch == -1
    assert b.heartbeat(None).assignment is not None  # b reads both partitions now
    stranger = ShareWire(broker.bootstrap, "members", tid)
    members.append(stranger)
    assert stranger.heartbeat(None, epoch=3).error_code == ErrorCode.unknown_member_id
    missing = describe(broker.bootstrap, "no-such-group")
    assert missing.error_code == ErrorCode.group_id_not_found
    assert missing.error_message == "Group no-such-group not found."
