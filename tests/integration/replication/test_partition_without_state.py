"""A cluster broker leads a partition only once the metadata has given it a state. Its log
exists a moment earlier (a cluster broker creates a new topic's files, then applies the
partition's state), and a Produce landing in between was appended and answered as on a single
broker: acks=all acknowledged with no follower holding the record, so killing that broker
right after (as the app's self-test does) lost it. Kafka answers NOT_LEADER_OR_FOLLOWER for a
partition that is not online on the broker yet."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from .cluster import Cluster, batch, fetch, produce, wait_until


def test_a_partition_without_a_state_is_not_led_by_a_cluster_broker(cluster: Cluster) -> None:
    # the topic's files exist on every broker; the controller has not given a state yet
    cluster.create_topic("early", **{"min.insync.replicas": "2"})
    answer = produce(cluster.bootstrap(101), "early", batch(1, "unsafe"), acks=-1)
    assert answer.error_code == ErrorCode.not_leader_or_follower
    assert cluster.offsets(101, "early") == (0, 0)  # nothing appended
    assert fetch(cluster.bootstrap(101), "early").error_code == ErrorCode.not_leader_or_follower
    # once the state arrives, acks=all is answered only when the followers have the record
    cluster.set_state("early", 0, leader=101, epoch=1, isr=(101, 102, 103))
    answer = produce(cluster.bootstrap(101), "early", batch(1, "safe"), acks=-1)
    assert (answer.error_code, answer.base_offset) == (ErrorCode.none, 0)
    for node in (102, 103):
        wait_until(lambda n=node: cluster.offsets(n, "early")[0] == 1, what=f"{node}'s copy")
