"""Kafka 4.3.1's kafka-console-share-consumer against a built-in --brokers 3 cluster: records
one consumer printed (and so acknowledged) are not delivered again after the partition's
leader is killed with -9, and records produced meanwhile reach the next consumer."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import NewTopic

from tests.integration.share.test_share_java_cli import ConsoleShareConsumer, consoles
from tests.kafka.cli import KafkaCli

from .local_cluster import LocalCluster, admin, start_timeout_s, wait_for
from .test_cluster_share import SETTINGS, _in_sync, _leader

pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180
FIRST = 5
AFTER = 5


def test_console_share_consumers_go_on_where_the_dead_leader_stopped(
    cluster_factory: Callable[..., LocalCluster], kafka_cli: KafkaCli
) -> None:
    # members hear of their assignment at their next heartbeat: soon, here
    cluster = cluster_factory(3, [*SETTINGS, "--config", "group.share.heartbeat.interval.ms=500"])
    topic = f"tasks-{uuid.uuid4().hex[:6]}"
    client = admin(cluster.bootstrap())
    new = NewTopic(topic, 1, 3, config={"min.insync.replicas": "2"})
    for fut in client.create_topics([new], operation_timeout=15).values():
        fut.result(timeout=start_timeout_s(15))
    leader = _leader(cluster, topic, 0, ())
    group = f"crew-{uuid.uuid4().hex[:6]}"
    producer = Producer({"bootstrap.servers": cluster.bootstrap(), "acks": "all", "linger.ms": 0})

    # the first consumer prints FIRST records and exits, acknowledging them as it closes;
    # records are produced until it has them (its share-partition starts at the latest offset
    # when it first fetches)
    first = ConsoleShareConsumer(
        kafka_cli, cluster.bootstrap(), topic, group, "--max-messages", str(FIRST)
    )
    with consoles(first):
        sent = 0
        deadline = time.monotonic() + start_timeout_s(90)
        while first.proc.poll() is None and time.monotonic() < deadline:
            producer.produce(topic, value=f"warm-{sent}".encode(), partition=0)
            sent += 1
            assert producer.flush(start_timeout_s(30)) == 0
            time.sleep(0.2)  # a record every 0.2 s while a JVM starts, not a wait on state
        assert first.proc.wait(timeout=CLI_TIMEOUT) == 0, first.errors[-20:]
    assert len(first.values) == FIRST

    _in_sync(cluster, topic, 0)
    cluster.kill(leader)
    live = cluster.bootstrap(without=leader)
    producer = Producer({"bootstrap.servers": live, "acks": "all", "linger.ms": 0})
    after = [f"after-{i}" for i in range(AFTER)]
    for value in after:
        producer.produce(topic, value=value.encode(), partition=0)
    assert producer.flush(start_timeout_s(60)) == 0

    second = ConsoleShareConsumer(kafka_cli, live, topic, group)
    with consoles(second):
        wait_for(
            lambda: set(after) <= set(second.values),
            90,
            lambda: (
                f"the records produced after the leader died; got {second.values} "
                f"stderr: {second.errors[-5:]}"
            ),
        )
    assert not set(first.values) & set(second.values), "acknowledged records came again"
