"""A broker keeps logs only of the partitions it holds a replica of: a replica moved away by a
reassignment loses its directory, and a deleted topic's directories go on every broker."""

from __future__ import annotations

import datetime
from pathlib import Path

from confluent_kafka.admin import NewTopic
from kio.schema.alter_partition_reassignments.v0 import request as alter
from kio.schema.errors import ErrorCode
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i32, i32Timedelta

from tests.integration.broker.clients import produce_all, producer
from tests.integration.groups.wire import WireClient

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

BROKERS = (101, 102, 103)
TIMEOUT = i32Timedelta.parse(datetime.timedelta(seconds=10))


def _holders(cluster: LocalCluster, topic: str, index: int = 0) -> set[int]:
    """The brokers with a directory for the partition."""
    return {b for b in BROKERS if (cluster.data_dir / f"broker-{b}" / f"{topic}-{index}").is_dir()}


def _partition(bootstrap: str, topic: str) -> tuple[list[int], list[int]] | None:
    md = unless_not_yet(lambda: admin(bootstrap).list_topics(topic, timeout=5))
    part = md.topics[topic].partitions.get(0) if md is not None and topic in md.topics else None
    return None if part is None else (sorted(part.replicas), sorted(part.isrs))


def _reassign(bootstrap: str, topic: str, replicas: tuple[int, ...]) -> ErrorCode:
    client = WireClient(bootstrap.split(",", maxsplit=1)[0])
    try:
        response = client.send(
            alter.AlterPartitionReassignmentsRequest(
                timeout=TIMEOUT,
                topics=(
                    alter.ReassignableTopic(
                        name=TopicName(topic),
                        partitions=(
                            alter.ReassignablePartition(
                                partition_index=i32(0),
                                replicas=tuple(BrokerId(r) for r in replicas),
                            ),
                        ),
                    ),
                ),
            )
        )
    finally:
        client.close()
    code: ErrorCode = response.responses[0].partitions[0].error_code
    return code


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.glob("*.log"))


def test_a_moved_replica_and_a_deleted_topic_leave_no_directory(
    three_brokers: LocalCluster,
) -> None:
    cluster = three_brokers
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic("moving", 1, 2)], operation_timeout=15)["moving"].result(15)
    placed = wait_for(lambda: _partition(bs, "moving"), 10, "the topic in Metadata")
    old = set(placed[0])
    # only the two replicas hold files; the third broker never keeps any
    wait_for(lambda: _holders(cluster, "moving") == old, 10, "directories only on replicas")
    produce_all(producer(bs, acks="all"), "moving", [{"value": b"x" * 100}] * 50)
    (newcomer,) = set(BROKERS) - old
    leaving, staying = sorted(old)
    assert _reassign(bs, "moving", (staying, newcomer)) == ErrorCode.none
    target = sorted((staying, newcomer))
    wait_for(lambda: _partition(bs, "moving") == (target, target), 15, "the new replica set")
    wait_for(lambda: _holders(cluster, "moving") == set(target), 10, "the moved replica gone")
    moved = cluster.data_dir / f"broker-{newcomer}" / "moving-0"
    wait_for(lambda: _size(moved) > 5000, 10, "the new replica's copy of the data")
    # no renamed leftover either (the "-delete" directory goes on a worker thread: a moment
    # later on a loaded machine)
    leftovers = cluster.data_dir / f"broker-{leaving}"
    wait_for(lambda: not list(leftovers.glob("moving-0*")), 10, "the renamed leftover gone")
    client.delete_topics(["moving"], operation_timeout=15)["moving"].result(15)
    wait_for(lambda: not _holders(cluster, "moving"), 10, "every broker's directory gone")
