"""Consumer groups in a local cluster: the coordinator is the leader of the group's
__consumer_offsets partition, and committed offsets survive the death of its broker and a
restart of the whole cluster. A group consuming through its coordinator's death is in
tests/integration/cluster_parity/test_group_parity.py, run on real Kafka too."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import NewTopic
from kio.schema.find_coordinator.v0 import request as find_v0
from kio.schema.find_coordinator.v4 import request as find_v4
from kio.schema.heartbeat.v0 import request as heartbeat_v0
from kio.schema.types import GroupId
from kio.static.primitive import i8, i32

from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC, partition_for
from tests.integration.groups.wire import WireClient
from tests.kafka.cli import KafkaCli

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

TOPIC = "orders"
PARTITIONS = 3
GROUP = "billing"
BROKERS = (101, 102, 103)
NOT_COORDINATOR = 16
UNKNOWN_MEMBER_ID = 25


def _create_topic(bootstrap: str) -> None:
    client = admin(bootstrap)
    topic = NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
    for fut in client.create_topics([topic], operation_timeout=15).values():
        fut.result(timeout=15)
    wait_for(
        lambda: (
            (md := unless_not_yet(lambda: admin(bootstrap).list_topics(timeout=5)))
            and TOPIC in md.topics
        ),
        10,
        "the topic in Metadata",
    )


def _coordinator(bootstrap: str) -> int:
    """The node id the cluster names as the group's coordinator."""
    client = admin(bootstrap)
    futures = client.describe_consumer_groups([GROUP], request_timeout=10)
    return int(futures[GROUP].result(timeout=10).coordinator.id)


def _alter(bootstrap: str, base: int) -> None:
    """Commit offsets base, base + 1, ... for the group (AlterConsumerGroupOffsets), again
    while the coordinator is still loading or moving, as Java's admin client does."""
    offsets = [TopicPartition(TOPIC, p, base + p) for p in range(PARTITIONS)]
    client = admin(bootstrap)

    def commit() -> bool:
        request = [ConsumerGroupTopicPartitions(GROUP, offsets)]
        result = unless_not_yet(
            lambda: client.alter_consumer_group_offsets(request)[GROUP].result(timeout=15)
        )
        if result is None:  # no coordinator yet, or one too busy to answer in time
            return False
        errors = [tp.error for tp in result.topic_partitions if tp.error is not None]
        retriable = ("COORDINATOR_LOAD_IN_PROGRESS", "NOT_COORDINATOR")
        assert all(e.name() in retriable for e in errors), errors
        return not errors

    wait_for(commit, 20, "the coordinator to accept the offsets")


def _committed(bootstrap: str) -> dict[int, int]:
    """The group's committed offsets, read with ListConsumerGroupOffsets (OffsetFetch)."""
    request = [ConsumerGroupTopicPartitions(GROUP)]
    client = admin(bootstrap)  # kept: a client dropped early abandons its requests
    futures = client.list_consumer_group_offsets(request, request_timeout=15)
    result = futures[GROUP].result(timeout=15)
    return {tp.partition: tp.offset for tp in result.topic_partitions if tp.topic == TOPIC}


def test_committed_offsets_are_readable_through_every_broker_after_the_coordinator_dies(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    _create_topic(bs)
    _alter(bs, 10)
    # (the broker asked may not yet know who leads the group's new __consumer_offsets partition)
    assert wait_for(lambda: _try_committed(bs), 15, "the offsets") == {0: 10, 1: 11, 2: 12}
    victim = wait_for(lambda: _try_coordinator(bs), 15, "the group's coordinator")
    # every broker names the same coordinator (FindCoordinator v0 and the batched v4), and
    # only that broker serves the group: the others answer NOT_COORDINATOR
    for broker in BROKERS:
        # the others learn who leads the group's partition from the metadata log: a moment later
        _, heartbeat = wait_for(
            lambda b=broker: (answer := _ask(three_brokers, b))[0] == [victim, victim] and answer,
            15,
            f"broker {broker} to name broker {victim} the coordinator",
        )
        assert heartbeat == (UNKNOWN_MEMBER_ID if broker == victim else NOT_COORDINATOR)
    three_brokers.kill(victim)
    for broker in set(BROKERS) - {victim}:
        one = f"127.0.0.1:{three_brokers.node(broker)['port']}"
        read = wait_for(lambda o=one: _try_committed(o), 20, f"the offsets through broker {broker}")
        assert read == {0: 10, 1: 11, 2: 12}
    survivors = three_brokers.bootstrap(without=victim)
    assert wait_for(lambda: _try_coordinator(survivors), 15, "a coordinator") != victim


def _ask(cluster: LocalCluster, broker: int) -> tuple[list[int], int]:
    """(coordinator named by FindCoordinator v0 and v4, Heartbeat error) asked of one broker."""
    client = WireClient(f"127.0.0.1:{cluster.node(broker)['port']}")
    try:
        v0 = client.send(find_v0.FindCoordinatorRequest(key=GROUP))
        v4 = client.send(find_v4.FindCoordinatorRequest(key_type=i8(0), coordinator_keys=(GROUP,)))
        beat = client.send(
            heartbeat_v0.HeartbeatRequest(
                group_id=GroupId(GROUP), generation_id=i32(0), member_id="nobody"
            )
        )
    finally:
        client.close()
    return [int(v0.node_id), int(v4.coordinators[0].node_id)], int(beat.error_code.value)


def _try_coordinator(bootstrap: str) -> int | None:
    try:
        return _coordinator(bootstrap)
    except Exception:  # not chosen yet, or moving: ask again
        return None


def _try_committed(bootstrap: str) -> dict[int, int] | None:
    try:
        return _committed(bootstrap)
    except Exception:  # the coordinator is moving: ask again
        return None


def test_committed_offsets_survive_a_restart_of_the_whole_cluster(
    cluster_factory: Callable[..., LocalCluster], tmp_path: Path
) -> None:
    cluster = cluster_factory(3)
    bs = cluster.bootstrap()
    _create_topic(bs)
    _alter(bs, 20)
    cluster.stop()
    again = LocalCluster(cluster.data_dir, 3, [])
    try:
        again.wait_all_active()
        read = wait_for(lambda: _try_committed(again.bootstrap()), 30, "the offsets after restart")
        assert read == {0: 20, 1: 21, 2: 22}
    finally:
        again.stop()


def test_two_brokers_keep_offsets_in_an_rf2_topic_that_kafkas_formatter_reads(
    cluster_factory: Callable[..., LocalCluster], kafka_cli: KafkaCli
) -> None:
    cluster = cluster_factory(2)
    bs = cluster.bootstrap()
    client = admin(bs)
    for fut in client.create_topics([NewTopic(TOPIC, PARTITIONS, 2)]).values():
        fut.result(timeout=15)
    _alter(bs, 30)
    # created on the first FindCoordinator: in every broker's Metadata a moment later
    md = wait_for(
        lambda: (
            (found := unless_not_yet(lambda: client.list_topics(OFFSETS_TOPIC, timeout=10)))
            and found.topics[OFFSETS_TOPIC].error is None
            and found.topics[OFFSETS_TOPIC]
        ),
        15,
        f"{OFFSETS_TOPIC} in Metadata",
    )
    assert len(md.partitions) == 50
    assert {len(p.replicas) for p in md.partitions.values()} == {2}  # min(3, brokers)
    # Kafka's own formatter decodes what the coordinator wrote: the group's record, then its
    # three offset commits, all in the group's partition
    out = kafka_cli.run(
        "kafka-console-consumer",
        [
            "--bootstrap-server",
            bs,
            "--topic",
            OFFSETS_TOPIC,
            "--partition",
            str(partition_for(GROUP, 50)),
            "--offset",
            "earliest",
            "--max-messages",
            "4",
            "--timeout-ms",
            "30000",
            "--formatter",
            "org.apache.kafka.tools.consumer.OffsetsMessageFormatter",
        ],
        timeout=90,
    )
    assert out.returncode == 0, out.stderr
    commits = _json_objects(out.stdout)
    assert [(c["key"]["data"]["group"], c["key"]["data"]["partition"]) for c in commits] == [
        (GROUP, 0),
        (GROUP, 1),
        (GROUP, 2),
    ]
    assert [c["value"]["data"]["offset"] for c in commits] == [30, 31, 32]


def _json_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects the formatter printed one after another (it writes no separator)."""
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    pos = text.find("{")
    while pos >= 0:
        obj, end = decoder.raw_decode(text, pos)
        found.append(obj)
        pos = text.find("{", end)
    return found
