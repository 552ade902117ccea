"""A follower's cut of a divergent tail runs on the storage thread; the metadata can make that
broker the leader before the cut is done. Kafka's partition lock makes the new leader wait for
the cut. Here the new leader took a Produce meanwhile, acknowledged it, and then the cut
removed it (and its leader epoch's start) from the log: an acknowledged write lost."""

from __future__ import annotations

import threading

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState

from .cluster import Cluster, batch, produce, wait_until


def _block_storage(cluster: Cluster, node: int) -> threading.Event:
    """Hold the node's storage thread (a slow disk) until the returned event is set."""
    release = threading.Event()

    def block(state: BrokerState) -> None:
        state.logs.executor.submit(release.wait, 60)

    cluster.on(node, block)
    return release


def test_a_leader_elected_during_its_cut_loses_no_acknowledged_record(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="embedded_broker.replication")
    cluster.create_topic("cut", **{"min.insync.replicas": "1"})
    cluster.stop(101)
    cluster.stop(103)
    # 102 leads alone and writes three records no other replica has
    cluster.set_state("cut", 0, leader=102, epoch=1, isr=(102,))
    assert produce(cluster.bootstrap(102), "cut", batch(3, "tail"), acks=1).error_code == 0
    release = _block_storage(cluster, 102)
    try:
        # 101 (empty) leads now: 102 must cut its tail, and the cut waits for the disk
        cluster.set_state("cut", 0, leader=101, epoch=2, isr=(101, 102))
        cluster.start(101)
        wait_until(
            lambda: "Truncating cut-0 from 3 to 0" in caplog.text, what="102 to start its cut"
        )
        # 102 is elected again while the cut is still running
        cluster.set_state("cut", 0, leader=102, epoch=3, isr=(101, 102))
        during = produce(cluster.bootstrap(102), "cut", batch(1, "during"), acks=1)
        assert during.error_code == ErrorCode.not_leader_or_follower
    finally:
        release.set()
    # once the cut is done it leads from the log's new end, and what it takes it keeps
    wait_until(lambda: cluster.offsets(102, "cut")[0] == 0, what="102's cut to end")
    after = produce(cluster.bootstrap(102), "cut", batch(1, "after"), acks=1)
    assert (after.error_code, after.base_offset) == (ErrorCode.none, 0)
    wait_until(lambda: cluster.offsets(101, "cut")[0] == 1, what="101's copy of the record")
    assert cluster.offsets(102, "cut")[0] == 1
    epochs = cluster.on(102, lambda s: s.replicas.get("cut", 0).epochs.entries)
    assert epochs[-1] == (3, 0)
