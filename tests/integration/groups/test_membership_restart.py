"""A stable consumer group keeps its members across a kill -9 or a clean restart of the broker.

Two confluent-kafka consumers share six partitions and commit every record. The topicscope-broker
process is killed (SIGKILL) or stopped (SIGTERM) and started again on the same port and data
directory: the consumers keep their member ids and assignments (no revoke or assign callback),
their commits are accepted without a rebalance, DescribeGroups shows the same members, and no
record is delivered twice.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka.admin import AdminClient

from tests.integration.broker.broker_process import LoggedBrokerProcess, free_port

from .clients import create_topic, produce, unique

PARTITIONS = 6
BATCH = 60
START_S = 20.0
WAIT_S = 25.0


NO_DELAY = {"group.initial.rebalance.delay.ms": "0"}


class Member:
    """A consumer that commits each record synchronously and counts rebalance callbacks."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.assigned = 0
        self.revoked = 0
        self.delivered: list[bytes] = []
        self.committed: set[bytes] = set()
        self.commits_failed = 0
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "session.timeout.ms": 10_000,
                "heartbeat.interval.ms": 300,
                "reconnect.backoff.max.ms": 200,
                "partition.assignment.strategy": "range",
            }
        )
        self.consumer.subscribe(
            [topic],
            on_assign=lambda c, parts: self._count("assigned"),
            on_revoke=lambda c, parts: self._count("revoked"),
            on_lost=lambda c, parts: self._count("revoked"),
        )

    def _count(self, what: str) -> None:
        setattr(self, what, getattr(self, what) + 1)

    def poll(self) -> None:
        msg: Message | None = self.consumer.poll(0.05)
        if msg is None or (msg.error() and msg.error().code() == KafkaError._PARTITION_EOF):
            return
        if msg.error():
            return  # transport errors while the broker restarts
        value = msg.value()
        assert value is not None
        self.delivered.append(value)
        try:
            self.consumer.commit(message=msg, asynchronous=False)
        except KafkaException:
            self.commits_failed += 1
        else:
            self.committed.add(value)


def _poll_until(members: list[Member], condition: object, what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        for m in members:
            m.poll()


def _described(bootstrap: str, group: str) -> tuple[str, set[str]]:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    desc = admin.describe_consumer_groups([group])[group].result(timeout=WAIT_S)
    return desc.state.name, {m.member_id for m in desc.members}


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["kill-9", "sigterm"])
def test_a_stable_group_keeps_its_members_across_a_restart(
    tmp_path: Path, brokers: list[LoggedBrokerProcess], sig: signal.Signals
) -> None:
    port = free_port()
    bootstrap = f"127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    brokers.append(
        LoggedBrokerProcess(data_dir, port, tmp_path / "broker-1.log", NO_DELAY, START_S)
    )
    topic, group = unique("members"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, BATCH, PARTITIONS)
    members = [Member(bootstrap, group, topic) for _ in range(2)]
    try:
        _poll_until(
            members,
            lambda: (
                sum(len(m.committed) for m in members) == BATCH
                and all(len(m.consumer.assignment()) == PARTITIONS // 2 for m in members)
            ),
            "both members to consume and commit the first batch",
        )
        callbacks = [(m.assigned, m.revoked) for m in members]
        ids = [m.consumer.memberid() for m in members]
        assert _described(bootstrap, group) == ("STABLE", set(ids))

        ended = brokers[-1].stop(sig)
        assert ended == (-signal.SIGKILL if sig == signal.SIGKILL else 0)
        brokers.append(
            LoggedBrokerProcess(data_dir, port, tmp_path / "broker-2.log", NO_DELAY, START_S)
        )
        assert _described(bootstrap, group) == ("STABLE", set(ids))
        produce(bootstrap, topic, BATCH, PARTITIONS, start=BATCH)
        # A commit carries the member id and generation: accepted means still a member.
        _poll_until(
            members,
            lambda: sum(len(m.committed) for m in members) == 2 * BATCH,
            "both members to consume and commit the second batch",
        )
        assert [m.consumer.memberid() for m in members] == ids
        assert [(m.assigned, m.revoked) for m in members] == callbacks
        assert _described(bootstrap, group) == ("STABLE", set(ids))
        delivered = Counter(v for m in members for v in m.delivered)
        assert set(delivered) == {str(i).encode() for i in range(2 * BATCH)}
        assert [v for v, n in delivered.items() if n > 1] == []
        assert sum(m.commits_failed for m in members) == 0
    finally:
        for m in members:
            m.consumer.close()
