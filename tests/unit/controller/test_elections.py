"""The controller's fencing and leader elections, driven without sockets and with a fake clock."""

from __future__ import annotations

import asyncio
import datetime
from pathlib import Path

from kio.schema.elect_leaders.v2.request import ElectLeadersRequest, TopicPartitions
from kio.schema.errors import ErrorCode
from kio.schema.types import TopicName
from kio.static.primitive import i8, i32, i32Timedelta

from embedded_broker.controller.elections import elect_leaders, rebalance_records
from embedded_broker.controller.quorum import Controller
from embedded_broker.metadata.records import (
    NO_LEADER,
    PartitionChange,
)

from .controller_setup import TID, Clock, make_cluster, silence


def test_a_silent_broker_is_fenced_and_an_isr_member_takes_over(tmp_path: Path) -> None:
    clock = Clock()
    controller = make_cluster(tmp_path, clock)
    silence(controller, clock, alive={102, 103})
    image = controller.image
    assert image.brokers[101].fenced
    p0 = image.topics["t"].partitions[0]
    assert (p0.leader, p0.isr, p0.leader_epoch) == (102, (102, 103), 1)
    # clean election only: the out-of-sync replica 102 does not take partition 1
    p1 = image.topics["t"].partitions[1]
    assert (p1.leader, p1.isr) == (NO_LEADER, (101,))
    # the log replays to the same image after a restart
    again = Controller(tmp_path, session_timeout_ms=2000, unclean_election=lambda _: False)
    assert again.image.topics["t"].partitions == image.topics["t"].partitions
    # the broker comes back: unfenced, and it leads the partition only it was in sync for
    asyncio.run(controller.append(lambda: controller.unfence_records(101)))
    p1 = controller.image.topics["t"].partitions[1]
    assert (p1.leader, p1.isr) == (101, (101,))


def test_unclean_election_picks_a_live_out_of_sync_replica() -> None:
    clock = Clock()
    controller = make_cluster(None, clock, unclean=True)
    silence(controller, clock, alive={102, 103})
    p1 = controller.image.topics["t"].partitions[1]
    assert (p1.leader, p1.isr) == (102, (102,))


def test_a_broker_that_keeps_sending_heartbeats_is_not_fenced() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)
    silence(controller, clock, alive={101, 102, 103})
    assert not any(b.fenced for b in controller.image.brokers.values())


def _elect(controller: Controller, election: int, partition: int) -> ErrorCode:
    request = ElectLeadersRequest(
        election_type=i8(election),
        topic_partitions=(TopicPartitions(topic=TopicName("t"), partitions=(i32(partition),)),),
        timeout=i32Timedelta.parse(datetime.timedelta(seconds=5)),
    )
    response = asyncio.run(elect_leaders(controller, request))
    code: ErrorCode = response.replica_election_results[0].partition_result[0].error_code
    return code


def test_preferred_election_gives_leadership_back_once_the_replica_is_in_sync() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)
    silence(controller, clock, alive={102, 103})
    asyncio.run(controller.append(lambda: controller.unfence_records(101)))
    assert _elect(controller, 0, 0) == ErrorCode.preferred_leader_not_available  # not in ISR
    # the leader takes 101 back into the ISR (what AlterPartition commits)
    asyncio.run(controller.append(lambda: [PartitionChange(TID, 0, isr=(102, 103, 101))]))
    assert _elect(controller, 0, 0) == ErrorCode.none
    assert controller.image.topics["t"].partitions[0].leader == 101
    assert _elect(controller, 0, 0) == ErrorCode.election_not_needed


def test_unclean_election_on_request_takes_a_live_replica() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)  # unclean.leader.election.enable is off
    silence(controller, clock, alive={102, 103})
    assert controller.image.topics["t"].partitions[1].leader == NO_LEADER
    assert _elect(controller, 1, 1) == ErrorCode.none
    assert controller.image.topics["t"].partitions[1].leader == 102
    assert _elect(controller, 1, 0) == ErrorCode.election_not_needed


def test_auto_rebalance_moves_leadership_back_only_to_an_in_sync_preferred_replica() -> None:
    clock = Clock()
    controller = make_cluster(None, clock)
    silence(controller, clock, alive={102, 103})
    asyncio.run(controller.append(lambda: controller.unfence_records(101)))
    assert rebalance_records(controller) == []  # 101 is live but not in the ISR yet
    asyncio.run(controller.append(lambda: [PartitionChange(TID, 0, isr=(102, 103, 101))]))
    assert rebalance_records(controller) == [PartitionChange(TID, 0, leader=101)]
