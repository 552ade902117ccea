"""Java consumers (kafka-console-consumer --group) with Java's default assignors reach Stable."""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka import ConsumerGroupState
from confluent_kafka.admin import AdminClient

from tests.broker_fixtures import RunningBroker
from tests.kafka.cli import KafkaCli

from .clients import TIMEOUT_S, create_topic, produce, unique, wait_for

pytestmark = pytest.mark.realkafka

PARTITIONS = 4
ASSIGNORS = {
    "range": "org.apache.kafka.clients.consumer.RangeAssignor",
    "cooperative-sticky": "org.apache.kafka.clients.consumer.CooperativeStickyAssignor",
}


@pytest.mark.parametrize("assignor", sorted(ASSIGNORS))
def test_java_assignors_reach_a_stable_group(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli, assignor: str
) -> None:
    bootstrap = builtin_broker.bootstrap
    topic, group = unique("java"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 20, PARTITIONS)
    args = [
        "--bootstrap-server", bootstrap, "--topic", topic, "--group", group,
        "--from-beginning", "--timeout-ms", "120000",
        "--command-property", f"partition.assignment.strategy={ASSIGNORS[assignor]}",
    ]  # fmt: skip
    procs = [
        subprocess.Popen(
            kafka_cli.command("kafka-console-consumer", args),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(2)
    ]
    admin = AdminClient({"bootstrap.servers": bootstrap})

    def balanced() -> bool:
        for p in procs:
            assert p.poll() is None, "a console consumer exited early"
        desc = admin.describe_consumer_groups([group])[group].result(timeout=TIMEOUT_S)
        sizes = sorted(len(m.assignment.topic_partitions) for m in desc.members)
        return desc.state == ConsumerGroupState.STABLE and sizes == [2, 2]

    try:
        wait_for(balanced, timeout=2 * TIMEOUT_S, what=f"two Java {assignor} members, 2 each")
        desc = admin.describe_consumer_groups([group])[group].result(timeout=TIMEOUT_S)
        assert desc.partition_assignor == assignor
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(TIMEOUT_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
