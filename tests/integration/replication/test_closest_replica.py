"""Fetch from the closest replica (KIP-392) between three in-process brokers in racks a, b, c:
the leader's preferred-read-replica answer and followers serving consumers."""

from __future__ import annotations

import pytest
from kio.schema.errors import ErrorCode

from .cluster import NODES, Cluster, batch, fetch, produce, wait_until
from .conftest import ClusterFactory

RACKS = {101: "a", 102: "b", 103: "c"}
RACK_AWARE = {"replica.selector.class": "org.apache.kafka.common.replica.RackAwareReplicaSelector"}


@pytest.fixture
def racked(cluster_factory: ClusterFactory) -> Cluster:
    return cluster_factory(RACK_AWARE, RACKS)


def _replicated(cluster: Cluster, topic: str, count: int) -> None:
    cluster.create_topic(topic)
    cluster.set_state(topic, 0, leader=101, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(101), topic, batch(count), acks=-1).error_code == 0
    wait_until(
        lambda: all(cluster.offsets(n, topic) == (count, count) for n in NODES),
        what="every replica at the high watermark",
    )


def test_the_leader_sends_a_consumer_to_the_in_sync_replica_in_its_rack(racked: Cluster) -> None:
    _replicated(racked, "near", 5)
    leader = racked.bootstrap(101)
    redirected = fetch(leader, "near", version=11, rack="b")
    assert redirected.error_code == ErrorCode.none
    assert redirected.preferred_read_replica == 102
    assert not redirected.records  # Kafka sends only where to read, no data
    assert redirected.high_watermark == 5
    # the leader's own rack, an unknown rack, or no rack: read here
    for rack in ("a", "z", ""):
        answer = fetch(leader, "near", version=11, rack=rack)
        assert answer.preferred_read_replica == -1
        assert answer.records


def test_a_replica_out_of_the_isr_or_behind_the_offset_is_not_chosen(racked: Cluster) -> None:
    _replicated(racked, "lagging", 5)
    leader = racked.bootstrap(101)
    # 103 may be anywhere behind the fetch offset: not a candidate
    assert fetch(leader, "lagging", version=11, rack="c", offset=6).preferred_read_replica == -1
    racked.stop(103)
    racked.set_state("lagging", 0, leader=101, epoch=2, isr=(101, 102))
    # the new leader epoch forgets what followers had until they fetch again
    wait_until(
        lambda: fetch(leader, "lagging", version=11, rack="b").preferred_read_replica == 102,
        what="102 chosen again once it fetched at the new epoch",
    )
    assert fetch(leader, "lagging", version=11, rack="c").preferred_read_replica == -1


def test_without_a_replica_selector_consumers_read_from_the_leader(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory(None, RACKS)
    _replicated(cluster, "plain", 3)
    answer = fetch(cluster.bootstrap(101), "plain", version=11, rack="b")
    assert answer.preferred_read_replica == -1
    assert answer.records


def test_a_follower_serves_consumers_up_to_its_high_watermark(racked: Cluster) -> None:
    _replicated(racked, "served", 4)
    follower = racked.bootstrap(102)
    answer = fetch(follower, "served", version=11, rack="b")
    assert answer.error_code == ErrorCode.none
    assert answer.high_watermark == 4
    assert bytes(answer.records) == racked.log_bytes(101, "served")
    # at its end: nothing yet; past its end: OFFSET_OUT_OF_RANGE (the client goes back to
    # the leader); before Fetch v11 a follower serves no consumer
    at_end = fetch(follower, "served", version=11, offset=4)
    assert at_end.error_code == ErrorCode.none and not at_end.records
    past = fetch(follower, "served", version=11, offset=9)
    assert past.error_code == ErrorCode.offset_out_of_range
    old = fetch(follower, "served", version=10)
    assert old.error_code == ErrorCode.not_leader_or_follower
    # a follower does not redirect: it is not the leader
    assert fetch(follower, "served", version=11, rack="c").preferred_read_replica == -1
