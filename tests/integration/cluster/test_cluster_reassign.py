"""Partition reassignments through a cluster broker (forwarded to the controller), as
kafka-reassign-partitions sends them."""

from __future__ import annotations

import datetime

from confluent_kafka.admin import NewTopic
from kio.schema.alter_partition_reassignments.v0 import request as alter
from kio.schema.errors import ErrorCode
from kio.schema.list_partition_reassignments.v0 import request as listing
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i32, i32Timedelta

from tests.integration.groups.wire import WireClient

from .local_cluster import LocalCluster, admin, unless_not_yet, wait_for

TIMEOUT = i32Timedelta.parse(datetime.timedelta(seconds=10))


def _reassign(client: WireClient, topic: str, index: int, replicas: tuple[int, ...]) -> ErrorCode:
    response = client.send(
        alter.AlterPartitionReassignmentsRequest(
            timeout=TIMEOUT,
            topics=(
                alter.ReassignableTopic(
                    name=TopicName(topic),
                    partitions=(
                        alter.ReassignablePartition(
                            partition_index=i32(index),
                            replicas=tuple(BrokerId(r) for r in replicas),
                        ),
                    ),
                ),
            ),
        )
    )
    code: ErrorCode = response.responses[0].partitions[0].error_code
    return code


def _replicas(bootstrap: str, topic: str) -> dict[int, list[int]]:
    md = unless_not_yet(lambda: admin(bootstrap).list_topics(timeout=10))
    if md is None or topic not in md.topics:
        return {}
    return {p.id: p.replicas for p in md.topics[topic].partitions.values()}


def test_reassignments_shrink_at_once_and_list_those_waiting_for_a_copy(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    client_admin = admin(bs)
    futures = client_admin.create_topics([NewTopic("moving", 2, 2)], operation_timeout=15)
    futures["moving"].result(timeout=15)
    placed = wait_for(lambda: _replicas(bs, "moving"), 15, "the topic in Metadata")
    client = WireClient(bs.split(",")[0])
    try:
        # dropping a replica needs no copy: done at once
        keep = placed[0][0]
        assert _reassign(client, "moving", 0, (keep,)) == ErrorCode.none
        wait_for(lambda: _replicas(bs, "moving").get(0) == [keep], 15, "the smaller set")
        # adding one waits until it is in sync (the replication layer reports that)
        missing = ({101, 102, 103} - set(placed[1])).pop()
        target = (*placed[1], missing)
        assert _reassign(client, "moving", 1, target) == ErrorCode.none

        def ongoing() -> list[tuple[str, int, tuple[int, ...], tuple[int, ...], tuple[int, ...]]]:
            listed = client.send(
                listing.ListPartitionReassignmentsRequest(timeout=TIMEOUT, topics=None)
            )
            return [
                (t.name, p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas)
                for t in listed.topics
                for p in t.partitions
            ]

        # listed while the new replica copies (the real replication may finish that at once on
        # an empty partition), then done: the new replica joined and the listing is empty
        assert ongoing() in ([("moving", 1, target, (missing,), ())], [])
        wait_for(
            lambda: sorted(_replicas(bs, "moving").get(1, [])) == sorted(target) and not ongoing(),
            15,
            "the added replica in sync and the reassignment complete",
        )
        assert _reassign(client, "moving", 0, (101, 999)) == ErrorCode.invalid_replica_assignment
    finally:
        client.close()
