"""A follower's truncation as Kafka's AbstractFetcherThread does it: an epoch it led without
writing anything is forgotten, so it fetches from the next leader; and when the leader answers
with an epoch the follower never had, it cuts to the end of its last epoch before that one and
asks again, instead of cutting once to a point that may leave a divergent tail."""

from __future__ import annotations

from typing import Any

import pytest

from embedded_broker.replication.fetcher import FollowerFetcher
from embedded_broker.state import BrokerState

from .cluster import Cluster, batch, produce, wait_until

PAIR = (101, 102)


def _write(cluster: Cluster, node: int, topic: str, count: int, tag: str, *, acks: int = 1) -> None:
    """``count`` records, one batch each (so a cut can land between any two of them)."""
    for i in range(count):
        answer = produce(cluster.bootstrap(node), topic, batch(1, f"{tag}{i}"), acks=acks)
        assert answer.error_code == 0, (node, tag, i, answer.error_code)


def test_a_replica_that_led_without_writing_follows_the_next_leader(cluster: Cluster) -> None:
    cluster.create_topic("idle")
    cluster.set_state("idle", 0, leader=101, epoch=1, isr=PAIR, replicas=PAIR)
    _write(cluster, 101, "idle", 3, "one", acks=-1)
    # leadership goes to 102 and back (a failover, then a preferred election) with no write
    # in between: 102's epoch 2 starts at its log end and holds nothing, and 101 never had it
    cluster.set_state("idle", 0, leader=102, epoch=2, isr=PAIR, replicas=PAIR)
    cluster.set_state("idle", 0, leader=101, epoch=3, isr=PAIR, replicas=PAIR)
    _write(cluster, 101, "idle", 2, "three")
    wait_until(lambda: cluster.offsets(102, "idle")[0] == 5, what="102 to copy the new records")
    assert cluster.log_bytes(102, "idle") == cluster.log_bytes(101, "idle")


def test_a_follower_asks_again_about_an_epoch_it_never_had(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    topic = "again"
    cluster.create_topic(topic)
    cluster.set_state(topic, 0, leader=102, epoch=1, isr=PAIR, replicas=PAIR)
    _write(cluster, 102, topic, 5, "both", acks=-1)  # 0-4 on both, epoch 1
    cluster.stop(101)
    _write(cluster, 102, topic, 5, "lost")  # 5-9 on 102 only, epoch 1
    cluster.stop(102)
    cluster.start(101)
    cluster.set_state(topic, 0, leader=101, epoch=2, isr=(101,), replicas=PAIR)
    _write(cluster, 101, topic, 3, "two")  # 5-7 on 101, epoch 2
    cluster.stop(101)
    cluster.start(102)
    cluster.set_state(topic, 0, leader=102, epoch=3, isr=(102,), replicas=PAIR)
    _write(cluster, 102, topic, 10, "three")  # 10-19 on 102, epoch 3
    cluster.stop(102)
    cluster.start(101)
    cluster.set_state(topic, 0, leader=101, epoch=4, isr=(101,), replicas=PAIR)
    _write(cluster, 101, topic, 4, "four")  # 8-11 on 101, epoch 4

    def no_fetch_check(state: BrokerState) -> None:
        # the leader leaves the divergence to the follower's OffsetForLeaderEpoch, as a Kafka
        # leader without truncation on fetch (Fetch before v12) does
        def agree(*_args: Any) -> None:
            return None

        setattr(state.replicas, "diverging_epoch", agree)  # noqa: B010

    cluster.on(101, no_fetch_check)
    # ... and so its follower asks OffsetForLeaderEpoch before it fetches, as Kafka's does
    monkeypatch.setattr(FollowerFetcher, "truncation_on_fetch", False)
    # 102 (epochs 1 from 0, 3 from 10; log end 20) follows 101 (epochs 1 from 0, 2 from 5,
    # 4 from 8; log end 12). For 102's epoch 3, 101 answers its epoch 2 ending at 8: 102
    # never had epoch 2, so 8 says nothing about 102's log (its 5-7 are epoch 1 records 101
    # does not have). 102 cuts to 10, where its epoch 1 ends, asks about epoch 1, and cuts to 5.
    cluster.start(102)
    wait_until(lambda: cluster.offsets(102, topic)[0] == 12, what="102 to follow 101")
    assert cluster.log_bytes(102, topic) == cluster.log_bytes(101, topic)
