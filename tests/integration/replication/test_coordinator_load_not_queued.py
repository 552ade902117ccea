"""A coordinator that comes to lead a __transaction_state or __consumer_offsets partition reads
it at once, not behind the broker's storage jobs: after a whole-cluster restart every broker's
storage thread holds one leader-epoch checkpoint write (two fsyncs) per partition whose
leadership changed, and the first transaction waited 2-3 s (COORDINATOR_LOAD_IN_PROGRESS)
behind them. The storage thread is held busy here while leadership arrives."""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.coordinator import GroupError
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.runner import BrokerRunner
from embedded_broker.state import BrokerState
from embedded_broker.txn.leadership import TxnLeadership
from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.unit.storage.batches import Rec, build_batch

from .group_setup import install_group_runtime, run_broker, until

ME = 101
LEADING = PartitionState(ME, 3, (ME,), (ME,), 3)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[BrokerRunner]:
    yield from run_broker(
        tmp_path,
        {
            "node.id": str(ME),
            "offsets.topic.num.partitions": "1",
            "transaction.state.log.num.partitions": "1",
        },
    )


def _hold_storage(broker: BrokerRunner) -> threading.Event:
    """Keep the broker's storage thread busy until the returned event is set."""
    release = threading.Event()
    started = threading.Event()

    def busy() -> None:
        started.set()
        release.wait(start_timeout_s(60))

    def queue(state: BrokerState) -> None:
        state.spawn(state.run_storage(busy), name="test-busy-storage")

    broker.call(queue)
    assert started.wait(start_timeout_s(10)), "the storage thread never took the job"
    return release


def test_transaction_coordinator_loads_while_storage_is_busy(broker: BrokerRunner) -> None:
    loaded: list[int] = []

    async def on_loaded(p: int, records: list[Any]) -> None:
        loaded.append(p)

    def install(state: BrokerState) -> TxnLeadership:
        configs = {"cleanup.policy": "compact"}
        state.create_topic(TRANSACTION_STATE_TOPIC, 1, configs, internal=True)
        leadership = TxnLeadership(state)
        leadership.attach(on_loaded, lambda p: None)
        return leadership

    leadership = broker.call(install)
    release = _hold_storage(broker)
    try:
        broker.call(lambda s: s.replicas.apply(TRANSACTION_STATE_TOPIC, 0, LEADING))
        until(
            lambda: broker.call(lambda s: leadership.error("tid")) == ErrorCode.none,
            "the transaction coordinator to load with the storage thread busy",
            start_timeout_s(10),
        )
        assert loaded == [0]
    finally:
        release.set()


def test_group_coordinator_loads_while_storage_is_busy(broker: BrokerRunner) -> None:
    def install(state: BrokerState) -> Any:
        runtime, _ = install_group_runtime(state, {})
        # a record to read back (of a kind the coordinator skips): an empty log is not read
        plog = state.partition(OFFSETS_TOPIC, 0)
        assert plog is not None
        skipped = build_batch([Rec(struct.pack(">h", 99), b"x")], base_timestamp=state.now_ms())
        plog.append(skipped, now_ms=state.now_ms(), leader_epoch=0)
        return runtime

    runtime = broker.call(install)
    release = _hold_storage(broker)
    try:
        broker.call(lambda s: s.replicas.apply(OFFSETS_TOPIC, 0, LEADING))
        until(
            lambda: broker.call(lambda s: runtime.group_error("g")) is GroupError.NONE,
            "the group coordinator to load with the storage thread busy",
            start_timeout_s(10),
        )
    finally:
        release.set()
