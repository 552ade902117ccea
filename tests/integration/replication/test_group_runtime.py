"""The coordinator of a cluster broker follows leadership of its __consumer_offsets partition:
NOT_COORDINATOR while it does not lead it, the groups loaded from the partition's records when
it comes to lead it, and unloaded when leadership moves away."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from embedded_broker.coordinator import (
    GroupCoordinator,
    GroupError,
    OffsetCommitEntry,
)
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.group_runtime.runtime import GroupRuntime
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from tests.integration.cluster.local_cluster import start_timeout_s

from .group_setup import install_group_runtime, run_broker, until

ME, OTHER = 101, 102


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRunner]:
    yield from run_broker(tmp_path, {"node.id": str(ME), "offsets.topic.num.partitions": "1"})


def _install(state: BrokerState) -> dict[str, Any]:
    runtime, coord = install_group_runtime(state, {})
    return {"runtime": runtime, "coordinator": coord}


def _lead(state: BrokerState, leader: int, epoch: int) -> None:
    ps = PartitionState(
        leader, epoch, (ME, OTHER), (ME, OTHER) if leader == OTHER else (ME,), epoch
    )
    state.replicas.apply(OFFSETS_TOPIC, 0, ps)


def _until(condition: Callable[[], Any], what: str) -> None:
    until(condition, what, start_timeout_s(10))


def test_coordinator_follows_leadership_of_the_groups_partition(broker: BrokerRunner) -> None:
    parts = broker.call(_install)
    runtime: GroupRuntime = parts["runtime"]
    coord: GroupCoordinator = parts["coordinator"]

    def error() -> GroupError:
        return broker.call(lambda s: runtime.group_error("g"))

    assert error() is GroupError.NOT_COORDINATOR  # no leader known yet

    def lead_and_ask(state: BrokerState) -> GroupError:
        _lead(state, ME, 1)
        return runtime.group_error("g")  # the load has not had a turn of the loop yet

    assert broker.call(lead_and_ask) is GroupError.COORDINATOR_LOAD_IN_PROGRESS
    _until(lambda: error() is GroupError.NONE, "the partition to be loaded")

    def commit(state: BrokerState) -> tuple[int, list[Any]]:
        mark = coord.journal.mark()
        return mark, coord.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 42)])

    mark, results = broker.call(commit)
    assert [code for _, code in results] == [GroupError.NONE]
    # the leader is alone in its ISR: the high watermark covers the records at once
    _until(lambda: broker.call(lambda s: coord.journal.barrier().done()), "the commit")
    assert not coord.journal.failed_since(mark)
    assert broker.call(lambda s: s.partition(OFFSETS_TOPIC, 0).log_end_offset) == 2

    # another broker leads now: the group is unloaded, and requests go elsewhere
    broker.call(lambda s: _lead(s, OTHER, 2))
    assert error() is GroupError.NOT_COORDINATOR
    assert "g" not in coord.groups
    refused = broker.call(lambda s: coord.journal.mark())
    broker.call(lambda s: coord.commit_offsets("h", "", -1, [OffsetCommitEntry("t", 0, 1)]))
    assert coord.journal.failed_since(refused)  # a non-leader never appends

    # leadership comes back: the group is read back from the partition's records
    broker.call(lambda s: _lead(s, ME, 3))
    _until(lambda: error() is GroupError.NONE, "the partition to be loaded again")
    [fetched] = broker.call(lambda s: coord.fetch_offsets("g", [("t", 0)]))
    assert fetched.offset == 42
