"""Share groups with Apache Kafka 4.3.1's own tools against the built-in broker:
kafka-console-share-consumer (two in one group split the records; a record held past its lock
goes to another consumer; --reject archives) and kafka-share-groups --list / --describe."""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from confluent_kafka import Producer
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.kafka.cli import KafkaCli

from .conftest import DEADLINE_S, LOCK_MS, TopicMaker, produce
from .wire import ACCEPT, ShareWire, describe, hold_longer, start_offsets

pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180


class ConsoleShareConsumer:
    """kafka-console-share-consumer in the background, its printed values collected."""

    def __init__(self, cli: KafkaCli, bootstrap: str, topic: str, group: str, *extra: str) -> None:
        args = ["--bootstrap-server", bootstrap, "--topic", topic, "--group", group, *extra]
        self.proc = subprocess.Popen(
            cli.command("kafka-console-share-consumer", args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.values: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_errors, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.values.append(line.rstrip("\n"))

    def _read_errors(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.errors.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # its shutdown hook closes the consumer, which leaves the group
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@contextmanager
def consoles(*made: ConsoleShareConsumer) -> Iterator[None]:
    try:
        yield
    finally:
        for console in made:
            console.stop()


def _ok(cli: KafkaCli, name: str, args: list[str]) -> str:
    done = cli.run(name, args, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _assigned_members(bootstrap: str, group: str) -> int:
    """Members that have been told their latest assignment (their epoch is the group's)."""
    found = describe(bootstrap, group)
    if found.error_code != ErrorCode.none:
        return 0  # not created yet
    return sum(
        1
        for m in found.members
        if m.assignment.topic_partitions and m.member_epoch == found.group_epoch
    )


def test_two_console_share_consumers_split_the_records_and_kafka_share_groups_describes_them(
    builtin_broker_factory: BrokerFactory, kafka_cli: KafkaCli, make_topic: TopicMaker
) -> None:
    # members hear of a new assignment at their next heartbeat: soon, here
    bs = builtin_broker_factory({"group.share.heartbeat.interval.ms": "500"}).bootstrap
    topic, _ = make_topic(bs, partitions=2)
    group = f"queue-{uuid.uuid4().hex[:6]}"
    first = ConsoleShareConsumer(kafka_cli, bs, topic, group)
    second = ConsoleShareConsumer(kafka_cli, bs, topic, group)
    with consoles(first, second):
        wait_for(
            lambda: _assigned_members(bs, group) == 2,
            start_timeout_s(60),
            lambda: f"two assigned members; stderr: {first.errors[-5:]} {second.errors[-5:]}",
        )
        # A member may still be finishing a fetch begun before it heard of its assignment, so
        # records go on until both have some; the rest is split by partition.
        producer = Producer({"bootstrap.servers": bs, "linger.ms": 0})
        sent: list[str] = []
        per_partition = [0, 0]
        deadline = time.monotonic() + start_timeout_s(60)
        while not (first.values and second.values) and time.monotonic() < deadline:
            for _ in range(2):
                value = f"record-{len(sent)}"
                producer.produce(topic, value=value.encode(), partition=len(sent) % 2)
                per_partition[len(sent) % 2] += 1
                sent.append(value)
            assert producer.flush(DEADLINE_S) == 0
            wait_for(
                lambda: len(first.values) + len(second.values) >= len(sent),
                start_timeout_s(60),
                lambda: f"all records; got {first.values} and {second.values}",
            )
        # every record once, to one of them, and both have their share
        assert sorted(first.values + second.values) == sorted(sent)
        assert first.values and second.values
        # a share consumer acknowledges what it was given on its next poll: no lag is left
        # (the start offset is the one the last acknowledgement found, as Kafka writes it)
        wait_for(
            lambda: (
                {p: lag for p, (_, lag) in start_offsets(bs, group, topic).items()} == {0: 0, 1: 0}
            ),
            start_timeout_s(30),
            lambda: f"both partitions acknowledged: {start_offsets(bs, group, topic)}",
        )
        done = start_offsets(bs, group, topic)
        members = _ok(
            kafka_cli,
            "kafka-share-groups",
            ["--bootstrap-server", bs, "--describe", "--group", group, "--members"],
        )
        assert len([line for line in members.splitlines() if line.startswith(group)]) == 2
    listed = _ok(kafka_cli, "kafka-share-groups", ["--bootstrap-server", bs, "--list"])
    assert group in listed.split()
    out = _ok(
        kafka_cli, "kafka-share-groups", ["--bootstrap-server", bs, "--describe", "--group", group]
    )
    rows = [line.split() for line in out.splitlines() if line.startswith(group)]
    # GROUP TOPIC PARTITION START-OFFSET LAG
    assert sorted((r[1], r[2], r[3], r[4]) for r in rows) == [
        (topic, "0", str(done[0][0]), "0"),
        (topic, "1", str(done[1][0]), "0"),
    ]
    out = _ok(
        kafka_cli, "kafka-share-groups", ["--bootstrap-server", bs, "--delete", "--group", group]
    )
    assert "successful" in out, out
    assert describe(bs, group).error_code == ErrorCode.group_id_not_found


def test_a_record_held_past_its_lock_goes_to_a_console_consumer_and_rejected_ones_are_archived(
    builtin_broker_factory: BrokerFactory, kafka_cli: KafkaCli, make_topic: TopicMaker
) -> None:
    broker = builtin_broker_factory({"group.share.record.lock.duration.ms": str(LOCK_MS)})
    bs = broker.bootstrap
    topic, tid = make_topic(bs)
    group = f"locks-{uuid.uuid4().hex[:6]}"
    holder = ShareWire(bs, group, tid)
    try:
        holder.join(topic)
        holder.fetch()
        produce(bs, topic, 3)
        # a member takes the records and never acknowledges them
        assert holder.got(holder.fetch(max_wait_ms=10_000)).offsets() == [0, 1, 2]
        hold_longer(bs, group)  # the console consumer's own locks outlast a slow JVM
        console = ConsoleShareConsumer(
            kafka_cli, bs, topic, group, "--max-messages", "3", "--reject"
        )
        with consoles(console):
            assert console.proc.wait(timeout=CLI_TIMEOUT) == 0, console.errors[-20:]
        assert console.values == ["v0", "v1", "v2"]  # delivered again once the lock ran out
        # the console consumer rejected them: archived, never delivered again
        wait_for(
            lambda: start_offsets(bs, group, topic).get(0, (0, -1))[1] == 0,
            start_timeout_s(30),
            lambda: f"the rejections recorded: {start_offsets(bs, group, topic)}",
        )
        # the holder's late acknowledgement is of records now below the share-partition start
        # offset: Kafka skips it without an error, and it changes nothing
        late = holder.got(holder.fetch(acks={0: [(0, 2, ACCEPT)]}))
        assert late.ack_error == ErrorCode.none
        assert start_offsets(bs, group, topic).get(0, (0, -1))[1] == 0
        assert holder.got(holder.fetch(max_wait_ms=2 * LOCK_MS)).offsets() == []
    finally:
        holder.close()
