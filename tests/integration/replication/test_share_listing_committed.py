"""ListGroups on a cluster broker lists a share group as of its last membership write the
high watermark covers, as Kafka's coordinator reads at the last committed offset: a group whose
first join is not yet replicated is not listed, and one whose next join is not is listed as it
was (Empty), not as the uncommitted join left it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode
from kio.schema.list_groups.v5.request import ListGroupsRequest

from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from tests.integration.groups.wire import WireClient
from tests.integration.share.wire import ShareWire

from .group_setup import run_broker
from .test_share_membership_writes import (
    BROKER_CONFIG,
    GROUP,
    ME,
    OTHER,
    TOPIC,
    _addr,
    _start,
    _until,
)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRunner]:
    yield from run_broker(tmp_path, BROKER_CONFIG)


def _listed(bootstrap: str) -> dict[str, str]:
    """Share group id -> state, from ListGroups."""
    client = WireClient(bootstrap)
    try:
        response = client.send(ListGroupsRequest(states_filter=(), types_filter=("share",)))
    finally:
        client.close()
    assert response.error_code == ErrorCode.none
    return {str(g.group_id): str(g.group_state) for g in response.groups}


def _isr(broker: BrokerRunner, isr: tuple[int, ...], epoch: int) -> None:
    broker.call(
        lambda s: s.replicas.apply(OFFSETS_TOPIC, 0, PartitionState(ME, 1, (ME, OTHER), isr, epoch))
    )


def test_a_share_group_whose_join_is_not_committed_is_not_listed_until_it_is(
    broker: BrokerRunner,
) -> None:
    tid = _start(broker, isr=(ME, OTHER))
    member = ShareWire(_addr(broker), GROUP, tid)
    try:
        assert member.heartbeat((TOPIC,)).error_code == ErrorCode.coordinator_not_available
        assert GROUP not in _listed(_addr(broker))
        _isr(broker, (ME,), 2)  # the other replica drops out: the write is committed
        _until(lambda: _listed(_addr(broker)).get(GROUP) == "Stable", "the group to be listed")
    finally:
        member.close()


def test_a_share_group_is_listed_in_its_committed_state(broker: BrokerRunner) -> None:
    tid = _start(broker, isr=(ME,))
    first = ShareWire(_addr(broker), GROUP, tid)
    try:
        first.join(TOPIC)
        assert first.heartbeat(None, epoch=-1).error_code == ErrorCode.none  # leaves
        _until(lambda: _listed(_addr(broker)).get(GROUP) == "Empty", "the empty group")
        _isr(broker, (ME, OTHER), 2)  # from now on nothing is committed
        second = ShareWire(_addr(broker), GROUP, tid)
        try:
            assert second.heartbeat((TOPIC,)).error_code == ErrorCode.coordinator_not_available
            assert _listed(_addr(broker)).get(GROUP) == "Empty"
        finally:
            second.close()
    finally:
        first.close()
