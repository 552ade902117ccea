"""What a group's commit becomes when __consumer_offsets cannot take it as asked, on one
in-process cluster broker whose partition state the test sets (Kafka's coordinator is the
model): a write the high watermark does not reach in offsets.commit.timeout.ms is answered
COORDINATOR_NOT_AVAILABLE and not seen until it is replicated; a write the log refuses is
answered NOT_COORDINATOR and the change it made in memory is undone."""

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
from embedded_broker.group_runtime.journal import ReplicatedJournal
from embedded_broker.group_runtime.runtime import GroupRuntime
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError

from .group_setup import install_group_runtime, run_broker, until

ME, OTHER = 101, 102


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRunner]:
    config = {
        "node.id": str(ME),
        "offsets.topic.num.partitions": "1",
        "offsets.commit.timeout.ms": "300",
    }
    yield from run_broker(tmp_path, config)


def _lead(state: BrokerState, isr: tuple[int, ...]) -> None:
    state.replicas.apply(OFFSETS_TOPIC, 0, PartitionState(ME, 1, (ME, OTHER), isr, len(isr)))


def _until(condition: Callable[[], Any], what: str) -> None:
    until(condition, what, 10)


def _setup(
    broker: BrokerRunner, isr: tuple[int, ...], min_isr: str = "2"
) -> tuple[GroupRuntime, GroupCoordinator]:
    runtime, coord = broker.call(
        lambda s: install_group_runtime(s, {"min.insync.replicas": min_isr})
    )
    broker.call(lambda s: _lead(s, isr))
    _until(lambda: broker.call(lambda s: runtime.group_error("g")) is GroupError.NONE, "load")
    return runtime, coord


def _commit(broker: BrokerRunner, coord: GroupCoordinator, offset: int) -> GroupError:
    """Commit an offset as the OffsetCommit handler does: the answer once it is settled."""

    def start(state: BrokerState) -> int:
        mark = coord.journal.mark()
        [(_, code)] = coord.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, offset)])
        assert code is GroupError.NONE
        return mark

    mark = broker.call(start)
    _until(lambda: broker.call(lambda s: coord.journal.barrier().done()), "the write to settle")
    journal = coord.journal
    assert isinstance(journal, ReplicatedJournal)
    return journal.error_since(mark)


def _seen(broker: BrokerRunner, coord: GroupCoordinator) -> int:
    return broker.call(lambda s: coord.fetch_offsets("g", [("t", 0)]))[0].offset


def test_a_commit_not_replicated_in_time_is_unavailable_and_unseen_until_replicated(
    broker: BrokerRunner,
) -> None:
    # the follower is out of the ISR: the leader alone is below min.insync.replicas=2
    _, coord = _setup(broker, (ME,))
    # appended as Kafka's coordinator appends (acks=1), but the high watermark stands still
    assert _commit(broker, coord, 42) is GroupError.COORDINATOR_NOT_AVAILABLE
    assert broker.call(lambda s: s.partition(OFFSETS_TOPIC, 0).log_end_offset) == 2
    assert _seen(broker, coord) == -1

    # the follower comes back and fetches up to the leader's end: the write counts now
    def caught_up(state: BrokerState) -> None:
        plog = state.partition(OFFSETS_TOPIC, 0)
        assert plog is not None
        _lead(state, (ME, OTHER))
        state.replicas.follower_fetched(OFFSETS_TOPIC, 0, OTHER, plog.log_end_offset, plog)

    broker.call(caught_up)
    _until(lambda: _seen(broker, coord) == 42, "the late commit to be seen")


def test_a_commit_the_log_refuses_is_not_coordinator_and_undone(
    broker: BrokerRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # min.insync.replicas=1: the leader alone commits what it appends
    runtime, coord = _setup(broker, (ME,), min_isr="1")
    assert _commit(broker, coord, 7) is GroupError.NONE
    assert _seen(broker, coord) == 7

    def broken(state: BrokerState) -> None:
        plog = state.partition(OFFSETS_TOPIC, 0)
        assert plog is not None

        def refuse(*_args: Any, **_kwargs: Any) -> None:
            raise StorageError("disk full")

        monkeypatch.setattr(plog, "append", refuse)

    # the disk refuses the next write: what the commit changed in memory is read back
    broker.call(broken)
    assert _commit(broker, coord, 9) is GroupError.NOT_COORDINATOR
    _until(lambda: broker.call(lambda s: runtime.group_error("g")) is GroupError.NONE, "reload")
    assert _seen(broker, coord) == 7
