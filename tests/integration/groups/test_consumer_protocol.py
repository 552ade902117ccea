"""The consumer group protocol (KIP-848) through real clients, on the built-in broker and Kafka.

confluent-kafka consumers with group.protocol=consumer share partitions with server-side
assignment, rebalance incrementally (a member gives up only what moves, and gains partitions
only once their previous owner released them), commit and resume; the Java CLI and
describe_consumer_groups show the group as a consumer group with its members.
"""

from __future__ import annotations

import time
from typing import Any

from confluent_kafka import Consumer, ConsumerGroupType, KafkaError, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.kafka.cli import run_cli

from .clients import Poller, create_topic, produce, unique

PARTITIONS = 6
STEP_TIMEOUT_S = 25.0


class Tracked:
    """A consumer-protocol consumer recording every assign/revoke callback it receives."""

    def __init__(self, bootstrap: str, group: str, name: str) -> None:
        self.name = name
        self.assigned: list[set[int]] = []
        self.revoked: list[set[int]] = []
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": group,
                "group.protocol": "consumer",
                "client.id": name,
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
            }
        )

    def subscribe(self, topic: str) -> None:
        def on_assign(_: Any, parts: list[TopicPartition]) -> None:
            self.assigned.append({p.partition for p in parts})

        def on_revoke(_: Any, parts: list[TopicPartition]) -> None:
            self.revoked.append({p.partition for p in parts})

        self.consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)

    def owned(self) -> set[int]:
        return {p.partition for p in self.consumer.assignment()}


def _balanced(tracked: list[Tracked], share: int) -> bool:
    owned = [t.owned() for t in tracked]
    everything = set().union(*owned)
    return all(len(o) == share for o in owned) and everything == set(range(PARTITIONS))


def test_members_join_share_and_rebalance_incrementally(bootstrap: str) -> None:
    topic, group = unique("kip848"), unique("kip848-group")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 60, PARTITIONS)
    a, b, c = (Tracked(bootstrap, group, n) for n in ("a", "b", "c"))
    try:
        a.subscribe(topic)
        b.subscribe(topic)
        poller = Poller([a.consumer, b.consumer])
        poller.until(lambda: _balanced([a, b], 3), STEP_TIMEOUT_S, "two members with 3 each")
        before = {t.name: t.owned() for t in (a, b)}
        revoked_before = {t.name: len(t.revoked) for t in (a, b)}

        c.subscribe(topic)
        poller = Poller([a.consumer, b.consumer, c.consumer])
        poller.until(lambda: _balanced([a, b, c], 2), STEP_TIMEOUT_S, "three members with 2 each")
        for t in (a, b):
            # Incremental: each gave up exactly one partition and kept the other two.
            revoked = set().union(*t.revoked[revoked_before[t.name] :])
            assert len(revoked) == 1 and revoked <= before[t.name], (t.name, t.revoked)
            assert t.owned() <= before[t.name]
        assert c.revoked == []

        kept = {t.name: t.owned() for t in (a, b)}
        revoked_count = {t.name: len(t.revoked) for t in (a, b)}
        c.consumer.close()  # leaves the group: its two partitions go to the others
        poller = Poller([a.consumer, b.consumer])
        poller.until(lambda: _balanced([a, b], 3), STEP_TIMEOUT_S, "back to 3 each")
        for t in (a, b):
            assert len(t.revoked) == revoked_count[t.name], "nothing revoked when c left"
            assert kept[t.name] <= t.owned()
        assert len(poller.all_values()) <= 60
    finally:
        for t in (a, b):
            t.consumer.close()


def test_commit_and_resume_and_describe(bootstrap: str) -> None:
    topic, group = unique("kip848c"), unique("kip848c-group")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 30, PARTITIONS)
    first = Tracked(bootstrap, group, "first")
    first.subscribe(topic)
    seen: list[bytes] = []
    deadline = time.monotonic() + STEP_TIMEOUT_S
    while len(seen) < 30:
        assert time.monotonic() < deadline, f"consumed {len(seen)} of 30"
        msg = first.consumer.poll(0.2)
        if msg is None or msg.error():
            assert msg is None or msg.error().code() == KafkaError._PARTITION_EOF
            continue
        seen.append(msg.value())
    first.consumer.commit(asynchronous=False)

    admin = AdminClient({"bootstrap.servers": bootstrap})
    described = admin.describe_consumer_groups([group])[group].result(timeout=20)
    assert described.type == ConsumerGroupType.CONSUMER
    assert len(described.members) == 1
    member = described.members[0]
    assert member.client_id == "first"
    assert {p.partition for p in member.assignment.topic_partitions} == set(range(PARTITIONS))

    cli = run_cli(
        "kafka-consumer-groups", ["--bootstrap-server", bootstrap, "--describe", "--group", group]
    )
    assert cli.returncode == 0, cli.stderr
    rows = [line.split() for line in cli.stdout.splitlines() if line.startswith(group)]
    assert sorted(int(r[2]) for r in rows) == list(range(PARTITIONS)), cli.stdout
    assert all(member.member_id in r for r in rows), cli.stdout
    assert sum(int(r[3]) for r in rows) == 30  # CURRENT-OFFSET: the committed positions
    state = run_cli(
        "kafka-consumer-groups",
        ["--bootstrap-server", bootstrap, "--describe", "--group", group, "--state", "--verbose"],
    )
    assert state.returncode == 0, state.stderr
    row = next(line.split() for line in state.stdout.splitlines() if line.startswith(group))
    # ASSIGNMENT-STRATEGY, STATE, GROUP-EPOCH, TARGET-ASSIGNMENT-EPOCH, #MEMBERS. The epoch
    # itself may be 2 on Kafka: its coordinator can see the new topic a heartbeat late.
    strategy, group_state, epoch, target_epoch, count = row[-5:]
    assert (strategy, group_state, count) == ("uniform", "Stable", "1"), state.stdout
    assert epoch == target_epoch and int(epoch) >= 1, state.stdout
    first.consumer.close()

    produce(bootstrap, topic, 30, PARTITIONS, start=30)
    again = Tracked(bootstrap, group, "again")
    again.subscribe(topic)
    poller = Poller([again.consumer])
    poller.until(lambda: len(poller.all_values()) >= 30, STEP_TIMEOUT_S, "the 30 new records")
    again.consumer.close()
    assert sorted(int(v) for v in poller.all_values()) == list(range(30, 60))


def test_java_console_consumer_with_the_consumer_protocol(bootstrap: str) -> None:
    topic, group = unique("kip848j"), unique("kip848j-group")
    create_topic(bootstrap, topic, 3)
    produce(bootstrap, topic, 9, 3)
    consumed = run_cli(
        "kafka-console-consumer",
        [
            "--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
            "--command-property", "group.protocol=consumer", "--from-beginning",
            "--max-messages", "9", "--timeout-ms", "20000",
        ],
    )  # fmt: skip
    assert consumed.returncode == 0, consumed.stderr
    assert sorted(int(v) for v in consumed.stdout.split()) == list(range(9))
    listed = run_cli("kafka-consumer-groups", ["--bootstrap-server", bootstrap, "--list", "--type"])
    assert listed.returncode == 0, listed.stderr
    assert [group, "Consumer"] in [line.split() for line in listed.stdout.splitlines()]
