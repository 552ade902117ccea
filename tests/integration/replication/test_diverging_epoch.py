"""Fetch v12's diverging-epoch answer: a leader tells a fetcher whose last fetched epoch does
not match its epoch cache where their logs part, and followers cut their tail by it."""

from __future__ import annotations

import logging

import pytest
from kio.schema.errors import ErrorCode

from .cluster import Cluster, batch, fetch, prefix_below, produce, wait_until

PAIR = (101, 102)


def _two_epochs(cluster: Cluster, topic: str) -> None:
    """Offsets 0-9 written at leader epoch 1, 10-14 at epoch 2, all on broker 101."""
    cluster.create_topic(topic)
    cluster.set_state(topic, 0, leader=101, epoch=1, isr=(101,), replicas=PAIR)
    assert produce(cluster.bootstrap(101), topic, batch(10, "one"), acks=1).error_code == 0
    cluster.set_state(topic, 0, leader=101, epoch=2, isr=(101,), replicas=PAIR)
    assert produce(cluster.bootstrap(101), topic, batch(5, "two"), acks=1).error_code == 0


def test_the_leader_answers_where_a_fetchers_last_epoch_ends(cluster: Cluster) -> None:
    _two_epochs(cluster, "div")
    leader = cluster.bootstrap(101)
    # epoch 1 ended at 10 here: a fetcher at 12 with epoch 1 has a tail the leader lacks
    parted = fetch(leader, "div", offset=12, last_fetched_epoch=1)
    assert parted.error_code == ErrorCode.none
    assert (parted.diverging_epoch.epoch, parted.diverging_epoch.end_offset) == (1, 10)
    assert not parted.records
    # agreeing: records, and no diverging epoch
    agreeing = fetch(leader, "div", offset=10, last_fetched_epoch=1)
    assert agreeing.diverging_epoch.epoch == -1 and agreeing.records
    assert fetch(leader, "div", offset=13, last_fetched_epoch=2).diverging_epoch.epoch == -1
    # an epoch older than any here ends where the first one starts
    older = fetch(leader, "div", offset=3, last_fetched_epoch=0)
    assert (older.diverging_epoch.epoch, older.diverging_epoch.end_offset) == (0, 0)
    # an epoch newer than the leader's: OFFSET_OUT_OF_RANGE, as Kafka
    assert fetch(leader, "div", offset=3, last_fetched_epoch=7).error_code == (
        ErrorCode.offset_out_of_range
    )
    # before v12 there is no last fetched epoch: plain records
    assert fetch(leader, "div", offset=12, version=11).records


def test_a_former_leader_cuts_its_tail_by_the_diverging_epoch(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.create_topic("cut")
    cluster.set_state("cut", 0, leader=101, epoch=1, isr=PAIR, replicas=PAIR)
    assert produce(cluster.bootstrap(101), "cut", batch(6, "ok"), acks=-1).error_code == 0
    cluster.stop(102)
    assert produce(cluster.bootstrap(101), "cut", batch(4, "lost"), acks=1).error_code == 0
    cluster.stop(101)
    cluster.start(102)
    cluster.set_state("cut", 0, leader=102, epoch=2, isr=(102,), replicas=PAIR)
    assert produce(cluster.bootstrap(102), "cut", batch(3, "new"), acks=1).error_code == 0
    with caplog.at_level(logging.INFO, logger="embedded_broker.replication.fetcher"):
        cluster.start(101)  # follows 102 at epoch 2 with a tail of epoch 1 that 102 lacks
        wait_until(lambda: set(cluster.isr("cut")) == set(PAIR), what="101 back in the ISR")
    cuts = [r.getMessage() for r in caplog.records if "Truncating cut-0" in r.getMessage()]
    assert cuts == [
        "Truncating cut-0 from 10 to 6 (a tail its leader 102 does not have; found by the "
        "leader's diverging epoch)"
    ]
    old, new = cluster.log_bytes(101, "cut"), cluster.log_bytes(102, "cut")
    assert old == new and b"lost" not in old
    assert prefix_below(old, 9) == old
