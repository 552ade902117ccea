"""The coordinator epoch a partition leader fences stale markers with survives a restart: it is
read back from the markers in the log after kill -9 and from the producer-state snapshot after
a clean stop, as Kafka keeps it (ProducerStateEntry.coordinatorEpoch). Before, a restart forgot
it and a replaced coordinator's late WriteTxnMarkers was taken again."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kio.schema.describe_producers.v0 import request as describe_req
from kio.schema.errors import ErrorCode
from kio.schema.types import TopicName
from kio.static.primitive import i32

from tests.integration.broker.broker_process import free_port
from tests.integration.broker.clients import create_topic
from tests.integration.groups.wire import WireClient
from tests.integration.transactions.txn_clients import TIMEOUT_S, start_broker

from .raw_txn import coordinator_address, init_producer, write_marker

TOPIC = "coord-epoch-restart"
TID = "coord-epoch-restart"
NEW, OLD = 5, 3  # a coordinator that moved twice, and one it replaced


def _coordinator_epoch_shown(bootstrap: str, producer_id: int) -> int:
    """The CoordinatorEpoch DescribeProducers gives the producer (kafka-transactions
    describe-producers shows it)."""
    client = WireClient(bootstrap)
    try:
        got = client.send(
            describe_req.DescribeProducersRequest(
                topics=(
                    describe_req.TopicRequest(name=TopicName(TOPIC), partition_indexes=(i32(0),)),
                )
            )
        )
    finally:
        client.close()
    [state] = [
        p for p in got.topics[0].partitions[0].active_producers if p.producer_id == producer_id
    ]
    return int(state.coordinator_epoch)


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.kill()
    proc.wait(TIMEOUT_S)


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()  # a clean stop: the producer tables are snapshotted
    assert proc.wait(TIMEOUT_S) == 0


def test_stale_coordinator_fenced_after_kill_9_and_clean_restart(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "broker"
    proc = start_broker(data_dir, port, {})
    bootstrap = f"127.0.0.1:{port}"
    target = (TOPIC, 0)
    try:
        create_topic(bootstrap, TOPIC, 1)
        producer = init_producer(coordinator_address(bootstrap, TID), TID)
        assert write_marker(bootstrap, producer, target, coordinator_epoch=NEW) == ErrorCode.none
        assert (
            write_marker(bootstrap, producer, target, coordinator_epoch=OLD)
            == ErrorCode.transaction_coordinator_fenced
        )

        _kill(proc)  # no snapshot: the epoch comes back from the marker in the log
        proc = start_broker(data_dir, port, {})
        assert (
            write_marker(bootstrap, producer, target, coordinator_epoch=OLD)
            == ErrorCode.transaction_coordinator_fenced
        )
        # the current coordinator is still taken
        assert write_marker(bootstrap, producer, target, coordinator_epoch=NEW) == ErrorCode.none

        _stop(proc)  # the snapshot at the log end: nothing left to replay after it
        proc = start_broker(data_dir, port, {})
        assert (
            write_marker(bootstrap, producer, target, coordinator_epoch=OLD)
            == ErrorCode.transaction_coordinator_fenced
        )
        assert _coordinator_epoch_shown(bootstrap, producer[0]) == NEW
    finally:
        _kill(proc)
