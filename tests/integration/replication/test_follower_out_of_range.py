"""A follower answered OFFSET_OUT_OF_RANGE asks its leader for its log end and log start
(ListOffsets as a replica) and acts as Kafka's AbstractFetcherThread does: past the leader's
end it cuts to that end (not to the leader's high watermark), starting again empty there if
that is below its own log start; behind the leader's start it restarts there."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState

from .cluster import (
    Cluster,
    batch,
    delete_records,
    latest_offset,
    prefix_from,
    produce,
    wait_until,
)
from .conftest import ClusterFactory

TOPIC = "oor"


def test_a_follower_past_the_leaders_end_starts_again_at_that_end(
    cluster_factory: ClusterFactory,
) -> None:
    # a stopped ISR member holds a high watermark back
    cluster: Cluster = cluster_factory({"replica.lag.time.max.ms": "600000"})
    cluster.create_topic(TOPIC)
    cluster.stop(101)
    cluster.set_state(TOPIC, 0, leader=102, epoch=1, isr=(102, 103))
    assert produce(cluster.bootstrap(102), TOPIC, batch(2, "a"), acks=-1).error_code == 0
    cluster.stop(103)  # with offsets 0-1
    cluster.set_state(TOPIC, 0, leader=102, epoch=2, isr=(102,))
    assert produce(cluster.bootstrap(102), TOPIC, batch(6, "b"), acks=1).error_code == 0
    assert delete_records(cluster.bootstrap(102), TOPIC, 8).error_code == ErrorCode.none
    # 101 starts empty, behind its leader's log start: it restarts there, empty, at 8
    cluster.start(101)
    wait_until(lambda: cluster.on(101, _span) == (8, 8), what="101 at 8")
    cluster.stop(101)
    cluster.stop(102)
    # an unclean election: 103 leads with offsets 0-1 and appends 2-3, while 102, still in
    # its ISR, holds its high watermark below its end
    cluster.set_state(TOPIC, 0, leader=103, epoch=3, isr=(103, 102))
    cluster.start(103)
    assert produce(cluster.bootstrap(103), TOPIC, batch(2, "c"), acks=1).error_code == 0
    end, hw = cluster.offsets(103, TOPIC)
    assert end == 4 and hw < 4
    # 101 fetches at 8, past the new leader's end: it starts again empty at that end (4),
    # not at the leader's high watermark, and follows from there (before, it cut "to" the
    # high watermark inside an empty log, which removed nothing, and asked again for ever)
    cluster.start(101)
    wait_until(lambda: cluster.on(101, _span) == (4, 4), what="101 at 4")
    assert produce(cluster.bootstrap(103), TOPIC, batch(1, "d"), acks=1).error_code == 0
    wait_until(lambda: cluster.on(101, _span) == (4, 5), what="101 at 4-5")
    assert cluster.log_bytes(101, TOPIC) == prefix_from(cluster.log_bytes(103, TOPIC), 4)


def _span(state: BrokerState) -> tuple[int, int]:
    plog = state.partition(TOPIC, 0)
    assert plog is not None
    return plog.log_start_offset, plog.log_end_offset


def test_a_replica_asking_for_the_latest_offset_gets_the_log_end_not_the_high_watermark(
    cluster_factory: ClusterFactory,
) -> None:
    cluster: Cluster = cluster_factory({"replica.lag.time.max.ms": "600000"})
    cluster.create_topic(TOPIC)
    cluster.set_state(TOPIC, 0, leader=101, epoch=1, isr=(101, 102, 103))
    cluster.stop(102)
    cluster.stop(103)
    assert produce(cluster.bootstrap(101), TOPIC, batch(3), acks=1).error_code == 0
    consumer = latest_offset(cluster.bootstrap(101), TOPIC)
    replica = latest_offset(cluster.bootstrap(101), TOPIC, replica_id=102)
    assert (consumer.error_code, consumer.offset) == (ErrorCode.none, 0)  # the HW
    assert (replica.error_code, replica.offset) == (ErrorCode.none, 3)  # the log end
