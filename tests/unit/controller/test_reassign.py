"""Partition reassignments on the controller: started, completed once the target is in sync,
done at once when nothing needs copying, cancelled, listed."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from kio.schema.alter_partition_reassignments.v0 import request as alter
from kio.schema.errors import ErrorCode
from kio.schema.list_partition_reassignments.v0 import request as listing
from kio.schema.types import BrokerId, TopicName
from kio.static.primitive import i32, i32Timedelta

from embedded_broker.controller.quorum import Controller
from embedded_broker.controller.reassign import (
    alter_partition_reassignments,
    completion_records,
    list_partition_reassignments,
)
from embedded_broker.metadata.records import PartitionChange

from .controller_setup import TID, Clock, make_cluster

TIMEOUT = i32Timedelta.parse(datetime.timedelta(seconds=5))


def _reassign(controller: Controller, index: int, replicas: tuple[int, ...] | None) -> ErrorCode:
    request = alter.AlterPartitionReassignmentsRequest(
        timeout=TIMEOUT,
        topics=(
            alter.ReassignableTopic(
                name=TopicName("t"),
                partitions=(
                    alter.ReassignablePartition(
                        partition_index=i32(index),
                        replicas=None if replicas is None else tuple(BrokerId(r) for r in replicas),
                    ),
                ),
            ),
        ),
    )
    response = asyncio.run(alter_partition_reassignments(controller, request))
    code: ErrorCode = response.responses[0].partitions[0].error_code
    return code


def _ongoing(controller: Controller) -> list[Any]:
    request = listing.ListPartitionReassignmentsRequest(timeout=TIMEOUT, topics=None)
    response = asyncio.run(list_partition_reassignments(controller, request))
    return [
        (p.partition_index, p.replicas, p.adding_replicas, p.removing_replicas)
        for t in response.topics
        for p in t.partitions
    ]


def test_a_reassignment_completes_once_every_target_replica_is_in_sync() -> None:
    controller = make_cluster(None, Clock())
    # partition 1: replicas (101, 102), ISR (101,), led by 101; move it to 102 and 103
    assert _reassign(controller, 1, (102, 103)) == ErrorCode.none
    part = controller.image.topics["t"].partitions[1]
    assert (part.replicas, part.adding, part.removing, part.leader) == (
        (102, 103, 101),
        (103,),
        (101,),
        101,
    )
    assert _ongoing(controller) == [(1, (102, 103, 101), (103,), (101,))]
    # the leader reports the new replicas in sync (AlterPartition), then the controller ends it
    asyncio.run(controller.append(lambda: [PartitionChange(TID, 1, isr=(101, 102, 103))]))
    asyncio.run(controller.append(lambda: completion_records(controller)))
    part = controller.image.topics["t"].partitions[1]
    assert (part.replicas, part.isr, part.leader, part.reassigning) == (
        (102, 103),
        (102, 103),
        102,
        False,
    )
    assert _ongoing(controller) == []


def test_dropping_a_replica_needs_no_copy_and_is_done_at_once() -> None:
    controller = make_cluster(None, Clock())
    assert _reassign(controller, 0, (102, 103)) == ErrorCode.none
    part = controller.image.topics["t"].partitions[0]
    assert (part.replicas, part.isr, part.leader, part.reassigning) == (
        (102, 103),
        (102, 103),
        102,
        False,
    )


def test_a_cancelled_reassignment_restores_the_replicas() -> None:
    controller = make_cluster(None, Clock())
    assert _reassign(controller, 1, (103,)) == ErrorCode.none
    assert _reassign(controller, 1, None) == ErrorCode.none
    part = controller.image.topics["t"].partitions[1]
    assert (part.replicas, part.leader, part.reassigning) == ((101, 102), 101, False)
    assert _reassign(controller, 1, None) == ErrorCode.no_reassignment_in_progress


def test_unknown_brokers_and_partitions_are_refused() -> None:
    controller = make_cluster(None, Clock())
    assert _reassign(controller, 0, (101, 999)) == ErrorCode.invalid_replica_assignment
    assert _reassign(controller, 0, (101, 101)) == ErrorCode.invalid_replica_assignment
    assert _reassign(controller, 7, (101,)) == ErrorCode.unknown_topic_or_partition
