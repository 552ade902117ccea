"""The seam to the replica manager: a broker's image changes become local topics and
``state.replicas.apply`` calls for the partitions this broker holds."""

from __future__ import annotations

import asyncio
import sys
import types
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

from embedded_broker.cluster_link.link import BrokerLink
from embedded_broker.config import BrokerConfig
from embedded_broker.handlers import offsets
from embedded_broker.metadata.records import (
    PartitionChange,
    PartitionRecord,
    RegisterBroker,
    RemoveTopic,
    TopicRecord,
    UnfenceBroker,
)
from embedded_broker.state import BrokerState

TID = uuid.UUID(int=5)


@dataclass(frozen=True, slots=True)
class PartitionState:  # the replication layer's type, as agreed
    leader: int
    leader_epoch: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    partition_epoch: int


class FakeReplicaManager:
    def __init__(self) -> None:
        self.applied: list[tuple[str, int, Any]] = []
        self.lookup: Any = None
        self.sender: Any = None

    def apply(self, topic: str, partition: int, ps: Any) -> None:
        self.applied.append((topic, partition, ps))

    def remove(self, topic: str, partition: int) -> None:
        self.applied.append((topic, partition, "removed"))

    def set_endpoints(self, lookup: Any) -> None:
        self.lookup = lookup

    def set_isr_sender(self, send: Any) -> None:
        self.sender = send


@pytest.fixture
def partition_state_module(monkeypatch: pytest.MonkeyPatch) -> None:
    module = types.ModuleType("embedded_broker.replication.partition_state")
    module.PartitionState = PartitionState  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "embedded_broker.replication.partition_state", module)


def _link(state: BrokerState) -> BrokerLink:
    return BrokerLink(
        state,
        host="127.0.0.1",
        port=9092,
        rack=None,
        cluster_id="c",
        controller=("127.0.0.1", 1),
        heartbeat_ms=1000,
        metadata_dir=None,
    )


def test_image_changes_reach_the_replica_manager(partition_state_module: None) -> None:
    async def body() -> None:
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        manager = FakeReplicaManager()
        state.replicas = manager  # type: ignore[attr-defined]
        link = _link(state)
        assert link.replicas.install(link._endpoint, link.send_isr)
        records = [
            RegisterBroker(101, "127.0.0.1", 9092, None, "a"),
            UnfenceBroker(101, 0),
            RegisterBroker(102, "127.0.0.1", 9093, None, "b"),
            TopicRecord("t", TID),
            PartitionRecord(TID, 0, (101, 102), (101, 102), 101, 0, 0),
            PartitionRecord(TID, 1, (102,), (102,), 102, 0, 0),
        ]
        for offset, record in enumerate(records):
            link.image.replay(offset, record)
        link.image_trusted = True  # caught up with the controller
        await link._reconcile_all()
        assert state.topics["t"].topic_id == TID  # the controller's id, not a new one
        assert state.topics["t"].partitions == 2
        assert manager.applied == [("t", 0, PartitionState(101, 0, (101, 102), (101, 102), 0))]
        # a log only for the partition this broker holds a replica of
        assert state.logs.has("t", 0) and not state.logs.has("t", 1)
        assert manager.lookup(102) == ("127.0.0.1", 9093)
        # a leader change is applied once; an unchanged partition is not applied again
        link.image.replay(6, PartitionChange(TID, 0, leader=102, isr=(102,)))
        await link._reconcile_all()
        assert manager.applied[1:] == [("t", 0, PartitionState(102, 1, (101, 102), (102,), 1))]
        # the topic is deleted: the partition leaves the manager and the broker
        link.image.replay(7, RemoveTopic(TID))
        await link._reconcile_all()
        assert manager.applied[2] == ("t", 0, "removed")
        assert "t" not in state.topics
        await state.shutdown()

    asyncio.run(body())


def test_a_replica_moved_away_stops_following_and_loses_its_log() -> None:
    """The real replica manager: a partition reassigned away is forgotten (its fetcher stops)
    rather than kept following under its last state."""

    async def body() -> None:
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        link = _link(state)
        assert link.replicas.install(link._endpoint, link.send_isr, link._rack)
        records = [
            RegisterBroker(101, "127.0.0.1", 9092, "a", "i1"),
            RegisterBroker(102, "127.0.0.1", 1, "b", "i2"),
            RegisterBroker(103, "127.0.0.1", 1, "c", "i3"),
            TopicRecord("t", TID),
            PartitionRecord(TID, 0, (102, 101), (102, 101), 102, 0, 0),
        ]
        for offset, record in enumerate(records):
            link.image.replay(offset, record)
        link.image_trusted = True  # caught up with the controller
        await link._reconcile_all()
        assert state.replicas.get("t", 0) is not None  # following 102
        assert state.replicas.rack_of(103) == "c"
        link.image.replay(5, PartitionChange(TID, 0, replicas=(102, 103), isr=(102, 103)))
        await link._reconcile_all()
        assert state.replicas.get("t", 0) is None
        assert not state.logs.has("t", 0)
        assert state.partition("t", 0) is None
        assert state.replicas.absent_error("t", 0).name == "not_leader_or_follower"
        # ListOffsets there answers as Kafka does for a partition held elsewhere
        assert offsets._lookup(state, "t", 0, -1)[0].name == "not_leader_or_follower"
        assert offsets._lookup(state, "t", 5, -1)[0].name == "unknown_topic_or_partition"
        # assigned here again: a log again
        link.image.replay(6, PartitionChange(TID, 0, replicas=(102, 101), isr=(102,)))
        await link._reconcile_all()
        assert state.partition("t", 0) is not None
        assert state.replicas.get("t", 0) is not None
        await state.shutdown()

    asyncio.run(body())


def test_before_catching_up_local_partitions_are_held_without_a_leader(
    partition_state_module: None,
) -> None:
    """A restarted broker's own copy of the metadata may name it leader of partitions that
    moved while it was down: it leads none of them until it has caught up."""

    async def body() -> None:
        state = BrokerState(BrokerConfig({"node.id": "101"}), None, in_memory=True)
        manager = FakeReplicaManager()
        state.replicas = manager  # type: ignore[attr-defined]
        link = _link(state)
        assert link.replicas.install(link._endpoint, link.send_isr)
        records = [
            RegisterBroker(101, "127.0.0.1", 9092, None, "a"),
            TopicRecord("t", TID),
            PartitionRecord(TID, 0, (101, 102), (101, 102), 101, 3, 3),
        ]
        for offset, record in enumerate(records):
            link.image.replay(offset, record)
        await link._reconcile_all()
        assert manager.applied == [("t", 0, PartitionState(-1, 3, (101, 102), (101, 102), 3))]
        link.image_trusted = True
        await link._reconcile_all()
        assert manager.applied[1:] == [("t", 0, PartitionState(101, 3, (101, 102), (101, 102), 3))]
        await state.shutdown()

    asyncio.run(body())
