"""A lagging follower counts for the high watermark until the controller has taken it out of
the ISR: otherwise acks=all is answered for data only the leader has, and a failover to that
follower loses it (Kafka's rule: every member of the maximal ISR holds the high watermark)."""

from __future__ import annotations

import asyncio
import time

from kio.schema.errors import ErrorCode

from embedded_broker.replication.partition_state import PartitionState
from embedded_broker.state import BrokerState

from .cluster import Cluster, batch, produce, wait_until
from .conftest import ClusterFactory

LAG_MS = 1000


def _slow_controller(state: BrokerState) -> None:
    """The leader's ISR proposals reach a controller that does not answer (busy, or a
    network partition): the ISR stays as it was."""

    async def never(_topic: str, _partition: int, _ps: PartitionState) -> PartitionState | None:
        await asyncio.sleep(3600)
        return None

    state.replicas.set_isr_sender(never)


def test_acks_all_waits_for_a_lagging_follower_still_in_the_isr(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.lag.time.max.ms": str(LAG_MS)})
    cluster.create_topic("lag", **{"min.insync.replicas": "2"})
    cluster.set_state("lag", 0, leader=101, epoch=1, isr=(101, 102, 103))
    cluster.on(101, _slow_controller)
    assert produce(cluster.bootstrap(101), "lag", batch(2), acks=-1).error_code == 0
    cluster.stop(103)
    assert produce(cluster.bootstrap(101), "lag", batch(1, "behind"), acks=1).error_code == 0
    time.sleep(3 * LAG_MS / 1000)  # 103 is no longer caught up, but still in the ISR
    assert cluster.isr("lag") == (101, 102, 103)
    answer = produce(cluster.bootstrap(101), "lag", batch(1, "unsafe"), acks=-1, timeout_ms=1500)
    assert answer.error_code == ErrorCode.request_timed_out
    end, hw = cluster.offsets(101, "lag")
    assert hw == 2 < end  # nothing above what 103 has is visible to consumers


def test_acks_all_is_answered_once_the_lagging_follower_is_out_of_the_isr(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.lag.time.max.ms": str(LAG_MS)})
    cluster.create_topic("out", **{"min.insync.replicas": "2"})
    cluster.set_state("out", 0, leader=101, epoch=1, isr=(101, 102, 103))
    cluster.stop(103)
    assert produce(cluster.bootstrap(101), "out", batch(1, "behind"), acks=1).error_code == 0
    wait_until(lambda: cluster.isr("out") == (101, 102), timeout=15, what="103 out of the ISR")
    assert produce(cluster.bootstrap(101), "out", batch(1, "safe"), acks=-1).error_code == 0
    wait_until(lambda: cluster.offsets(102, "out")[0] == 2, what="102 has both records")
