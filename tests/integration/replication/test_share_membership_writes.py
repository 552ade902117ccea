"""A cluster broker's share-group membership writes to __consumer_offsets, when they fail: a
write the log refuses is undone in memory before anything else runs, and one the high watermark
does not reach in time is answered COORDINATOR_NOT_AVAILABLE and is not shown by
ShareGroupDescribe until it is committed (Kafka reads at the last committed offset)."""

from __future__ import annotations

import asyncio
import base64
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.coordinator import GroupError
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.group_runtime.runtime import GroupRuntime
from embedded_broker.group_runtime.share_membership import save_membership
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from embedded_broker.share.groups import Heartbeat
from embedded_broker.share.runtime import share_coordinator
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.integration.groups.clients import create_topic
from tests.integration.share.wire import ShareWire, describe

from .group_setup import install_group_runtime, run_broker, until

ME, OTHER = 101, 102
GROUP = "written-share"
TOPIC = "share-input"
COMMIT_TIMEOUT_MS = 300
SESSION_MS = 1500
BROKER_CONFIG = {
    "node.id": str(ME),
    "offsets.topic.num.partitions": "1",
    "offsets.commit.timeout.ms": str(COMMIT_TIMEOUT_MS),
    "group.share.session.timeout.ms": str(SESSION_MS),
}


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRunner]:
    yield from run_broker(tmp_path, BROKER_CONFIG)


def _addr(broker: BrokerRunner) -> str:
    assert broker.address is not None
    return broker.address.bootstrap


def _cluster_coordinator(state: BrokerState, isr: tuple[int, ...]) -> GroupRuntime:
    """Make this broker a cluster's group coordinator: it leads __consumer_offsets-0 with
    ``isr`` (the other replica never fetches, so with it in the ISR nothing is committed)."""
    runtime, _ = install_group_runtime(state, {}, register=True)
    state.replicas.apply(OFFSETS_TOPIC, 0, PartitionState(ME, 1, (ME, OTHER), isr, 1))
    return runtime


def _until(condition: Callable[[], Any], what: str) -> None:
    until(condition, what, start_timeout_s(10))


def _start(broker: BrokerRunner, isr: tuple[int, ...]) -> uuid.UUID:
    create_topic(_addr(broker), TOPIC, 2)
    runtime = broker.call(lambda s: _cluster_coordinator(s, isr))
    _until(
        lambda: broker.call(lambda s: runtime.group_error(GROUP)) is GroupError.NONE,
        "the group's partition to be loaded",
    )
    [topic_id] = [
        i.topic_id for n, i in broker.call(lambda s: dict(s.registry.topics)).items() if n == TOPIC
    ]
    return topic_id


def _members(bootstrap: str) -> tuple[int, set[str]]:
    group = describe(bootstrap, GROUP)
    return int(group.error_code), {m.member_id for m in group.members}


def test_a_join_refused_by_the_log_is_undone_before_anything_else_runs(
    broker: BrokerRunner,
) -> None:
    tid = _start(broker, isr=(ME,))
    first = ShareWire(_addr(broker), GROUP, tid)
    try:
        first.join(TOPIC)
        assert _members(_addr(broker)) == (ErrorCode.none, {first.member_id})

        def disk_full(*args: Any, **kwargs: Any) -> None:
            raise StorageError("No space left on device")

        async def join_while_the_disk_is_full(state: BrokerState) -> tuple[Any, set[str]]:
            share = await share_coordinator(state)
            plog = state.partition(OFFSETS_TOPIC, 0)
            assert plog is not None
            plog.append = disk_full  # type: ignore[method-assign]
            newcomer = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()
            try:
                answer = share.groups.heartbeat(
                    Heartbeat(GROUP, newcomer, 0, None, (TOPIC,), "late", "/127.0.0.1"),
                    lambda t: 2,
                    share.settings(GROUP).limits,
                    state.now_ms(),
                )
                assert answer.error == 0
                error = await save_membership(state, share)
            finally:
                del plog.append
            # what a request handled next would see, in the same turn of the loop
            return error, set(share.groups.groups[GROUP].members)

        error, members = asyncio.run_coroutine_threadsafe(
            join_while_the_disk_is_full(broker._state),  # type: ignore[arg-type]
            broker._loop,  # type: ignore[arg-type]
        ).result(10)
        assert error is GroupError.NOT_COORDINATOR  # Kafka's answer to a storage error
        assert members == {first.member_id}  # the newcomer's join was not written: undone

        # the coordinator reads its partition back and serves the group as it was written
        def settled() -> bool:
            code, found = _members(_addr(broker))
            return code == ErrorCode.none and found == {first.member_id}

        _until(settled, "the group as written")
        assert first.heartbeat(None).error_code == ErrorCode.none
    finally:
        first.close()


def test_a_join_not_replicated_in_time_is_not_described_until_it_is_committed(
    broker: BrokerRunner,
) -> None:
    tid = _start(broker, isr=(ME, OTHER))
    member = ShareWire(_addr(broker), GROUP, tid)
    try:
        answer = member.heartbeat((TOPIC,))
        # Kafka answers a write its high watermark did not reach within
        # offsets.commit.timeout.ms with COORDINATOR_NOT_AVAILABLE
        assert answer.error_code == ErrorCode.coordinator_not_available
        code, found = _members(_addr(broker))
        assert (code, found) == (ErrorCode.group_id_not_found, set())
        # the other replica drops out of the ISR: the high watermark covers the write
        broker.call(
            lambda s: s.replicas.apply(
                OFFSETS_TOPIC, 0, PartitionState(ME, 1, (ME, OTHER), (ME,), 2)
            )
        )

        def described() -> bool:
            return _members(_addr(broker)) == (ErrorCode.none, {member.member_id})

        _until(described, "the committed member to be described")
        # the client retries its join and is given the member's epoch and assignment
        retried = member.heartbeat((TOPIC,))
        assert retried.error_code == ErrorCode.none
        assert retried.member_epoch >= 1
    finally:
        member.close()


def test_a_member_whose_session_ran_out_is_written_gone_and_a_successor_does_not_bring_it_back(
    broker: BrokerRunner,
) -> None:
    tid = _start(broker, isr=(ME,))
    member = ShareWire(_addr(broker), GROUP, tid)

    def log_end(state: BrokerState) -> int:
        plog = state.partition(OFFSETS_TOPIC, 0)
        assert plog is not None
        return plog.log_end_offset

    try:
        member.join(TOPIC)
        joined = broker.call(log_end)
        # the member stops heartbeating; nothing else asks about the group: its removal is
        # written when its session runs out all the same
        _until(lambda: broker.call(log_end) > joined, "the member's removal to be written")
    finally:
        member.close()
    # leadership of the group's partition moves away and back: the group is read back
    broker.call(
        lambda s: s.replicas.apply(
            OFFSETS_TOPIC, 0, PartitionState(OTHER, 2, (ME, OTHER), (OTHER,), 2)
        )
    )
    broker.call(
        lambda s: s.replicas.apply(OFFSETS_TOPIC, 0, PartitionState(ME, 3, (ME, OTHER), (ME,), 3))
    )

    def described() -> tuple[int, set[str]] | None:
        code, found = _members(_addr(broker))
        return (
            None
            if code in (ErrorCode.coordinator_load_in_progress, ErrorCode.not_coordinator)
            else (code, found)
        )

    _until(described, "the group to be loaded again")
    assert described() == (ErrorCode.none, set())  # an empty group, not the expired member
