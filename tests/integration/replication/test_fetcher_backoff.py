"""A follower fetches every partition of one leader in one loop: a partition that leader does
not yet agree it leads (the metadata reached the follower first) must back off alone, not
hold up the replication of the others for replica.fetch.backoff.ms each round."""

from __future__ import annotations

import time

from kio.schema.errors import ErrorCode

from embedded_broker.replication.partition_state import PartitionState

from .cluster import batch, produce
from .conftest import ClusterFactory

PAIR = (101, 102)
BACKOFF_MS = 6000


def test_one_partition_waiting_for_its_leader_does_not_hold_up_the_others(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory({"replica.fetch.backoff.ms": str(BACKOFF_MS)})
    for topic in ("ahead", "steady"):
        cluster.create_topic(topic)
        cluster.set_state(topic, 0, leader=101, epoch=1, isr=PAIR, replicas=PAIR)
        assert produce(cluster.bootstrap(101), topic, batch(3), acks=-1).error_code == 0
    # only 102 hears of leader epoch 7 for "ahead": 101, still at epoch 1, answers its
    # fetches of it with UNKNOWN_LEADER_EPOCH until it hears of it too
    ahead = PartitionState(101, 7, PAIR, PAIR, 7)
    cluster.on(102, lambda s: s.replicas.apply("ahead", 0, ahead))
    time.sleep(1)  # a fetch or two of "ahead" refused meanwhile
    for i in range(3):
        answer = produce(
            cluster.bootstrap(101), "steady", batch(1, f"s{i}"), acks=-1, timeout_ms=3000
        )
        assert answer.error_code == ErrorCode.none
    assert cluster.offsets(102, "steady")[0] == 6
    cluster.set_state("ahead", 0, leader=101, epoch=7, isr=PAIR, replicas=PAIR)
    answer = produce(cluster.bootstrap(101), "ahead", batch(2, "late"), acks=-1, timeout_ms=15_000)
    assert answer.error_code == ErrorCode.none
    assert cluster.offsets(102, "ahead")[0] == 5
