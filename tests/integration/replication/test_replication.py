"""Replication between three in-process brokers whose partition states the test sets."""

from __future__ import annotations

import concurrent.futures
import logging
import time

import pytest
from confluent_kafka import TopicPartition
from kio.schema.errors import ErrorCode

from tests.integration.broker.clients import consumer, produce_all, producer

from .cluster import (
    NODES,
    Cluster,
    batch,
    delete_records,
    fetch,
    latest_offset,
    prefix_below,
    produce,
    produce_response,
    wait_until,
)
from .conftest import ClusterFactory


def _all_caught_up(cluster: Cluster, topic: str, nodes: tuple[int, ...] = NODES) -> bool:
    offsets = [cluster.offsets(node, topic) for node in nodes]
    leo = offsets[0][0]
    return all(end == leo and hw == leo for end, hw in offsets) and leo > 0


def test_followers_replicate_everything_byte_for_byte(cluster: Cluster) -> None:
    cluster.create_topic("rep")
    cluster.set_state("rep", 0, leader=101, epoch=1, isr=NODES)
    prod = producer(cluster.bootstrap(101), acks="all", **{"batch.num.messages": 7})
    produce_all(prod, "rep", [{"value": b"m%d" % i} for i in range(200)])
    wait_until(lambda: _all_caught_up(cluster, "rep"), what="every replica at the leader's end")
    leader = cluster.log_bytes(101, "rep")
    assert cluster.offsets(101, "rep")[0] == 200
    for node in (102, 103):
        assert cluster.log_bytes(node, "rep") == leader
    # the batches keep the epoch their leader stamped
    assert int.from_bytes(leader[12:16], "big") == 1


def test_acks_all_is_answered_only_once_every_isr_member_has_the_batch(
    cluster: Cluster,
) -> None:
    cluster.create_topic("acks")
    cluster.set_state("acks", 0, leader=101, epoch=1, isr=NODES)
    for i in range(5):
        answer = produce(cluster.bootstrap(101), "acks", batch(3, f"r{i}"), acks=-1)
        assert answer.error_code == ErrorCode.none
        end = answer.base_offset + 3
        for node in (102, 103):  # already there when the leader answered
            assert cluster.offsets(node, "acks")[0] >= end


def test_acks_all_times_out_while_a_stopped_follower_is_still_in_the_isr(
    cluster: Cluster,
) -> None:
    cluster.create_topic("slow")
    cluster.set_state("slow", 0, leader=101, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(101), "slow", batch(2), acks=-1).error_code == 0
    cluster.stop(103)
    answer = produce(cluster.bootstrap(101), "slow", batch(2), acks=-1, timeout_ms=1500)
    assert answer.error_code == ErrorCode.request_timed_out
    assert cluster.isr("slow") == NODES  # nobody removed it (the lag time is 30 s)
    # acks=1 does not wait for the followers
    assert produce(cluster.bootstrap(101), "slow", batch(2), acks=1).error_code == 0


def test_min_insync_replicas_refuses_acks_all_but_not_acks_1(cluster: Cluster) -> None:
    cluster.create_topic("mir", **{"min.insync.replicas": "2"})
    cluster.stop(102)  # (a running follower would fetch and be taken back into the ISR)
    cluster.stop(103)
    cluster.set_state("mir", 0, leader=101, epoch=1, isr=(101,))
    answer = produce(cluster.bootstrap(101), "mir", batch(1), acks=-1)
    assert answer.error_code == ErrorCode.not_enough_replicas
    assert cluster.offsets(101, "mir")[0] == 0  # refused before the append
    assert produce(cluster.bootstrap(101), "mir", batch(1), acks=1).error_code == 0


def test_the_isr_shrinks_when_a_follower_stops_and_grows_when_it_is_back(
    cluster_factory: ClusterFactory,
) -> None:
    cluster = cluster_factory({"replica.lag.time.max.ms": "1000"})
    cluster.create_topic("isr")
    cluster.set_state("isr", 0, leader=101, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(101), "isr", batch(5), acks=-1).error_code == 0
    cluster.stop(102)
    # behind the leader's end (a follower at the end stays in sync, as in Kafka: removing a
    # dead broker that missed nothing is the controller's job, by its heartbeats)
    assert produce(cluster.bootstrap(101), "isr", batch(1, "behind"), acks=1).error_code == 0
    wait_until(lambda: cluster.isr("isr") == (101, 103), timeout=10, what="102 out of the ISR")
    # with 102 out, acks=all is answered by 101 and 103 alone
    assert produce(cluster.bootstrap(101), "isr", batch(5, "more"), acks=-1).error_code == 0
    cluster.start(102)
    wait_until(lambda: set(cluster.isr("isr")) == set(NODES), timeout=10, what="102 back in")
    wait_until(lambda: _all_caught_up(cluster, "isr"), what="102 caught up")
    assert cluster.log_bytes(102, "isr") == cluster.log_bytes(101, "isr")


def test_a_former_leader_truncates_its_unreplicated_tail_when_it_follows(
    cluster: Cluster,
) -> None:
    cluster.create_topic("div")
    pair = (101, 102)
    cluster.set_state("div", 0, leader=101, epoch=1, isr=pair, replicas=pair)
    assert produce(cluster.bootstrap(101), "div", batch(10, "ok"), acks=-1).error_code == 0
    cluster.stop(102)
    # acks=1 writes that the follower never gets
    for i in range(3):
        assert produce(cluster.bootstrap(101), "div", batch(2, f"lost{i}"), acks=1).error_code == 0
    assert cluster.offsets(101, "div")[0] == 16
    cluster.stop(101)
    cluster.start(102)
    cluster.set_state("div", 0, leader=102, epoch=2, isr=(102,), replicas=pair)
    assert produce(cluster.bootstrap(102), "div", batch(4, "new"), acks=1).error_code == 0
    assert produce(cluster.bootstrap(102), "div", batch(5, "new2"), acks=1).error_code == 0
    cluster.start(101)  # gets the current state: follow 102 at epoch 2
    wait_until(lambda: set(cluster.isr("div")) == set(pair), what="101 back in the ISR")
    wait_until(lambda: _all_caught_up(cluster, "div", pair), what="101 caught up")
    old, new = cluster.log_bytes(101, "div"), cluster.log_bytes(102, "div")
    assert old == new
    hw = cluster.offsets(102, "div")[1]
    assert hw == 19
    assert prefix_below(old, hw) == prefix_below(new, hw)
    assert b"lost" not in old


def test_consumers_never_see_records_above_the_high_watermark(cluster: Cluster) -> None:
    cluster.create_topic("hw")
    pair = (101, 102)
    # epoch 0: what this broker's Metadata still reports (librdkafka fences itself otherwise)
    cluster.set_state("hw", 0, leader=101, epoch=0, isr=pair, replicas=pair)
    assert produce(cluster.bootstrap(101), "hw", batch(4, "committed"), acks=-1).error_code == 0
    cluster.stop(102)
    assert produce(cluster.bootstrap(101), "hw", batch(3, "pending"), acks=1).error_code == 0
    assert cluster.offsets(101, "hw") == (7, 4)
    listed = latest_offset(cluster.bootstrap(101), "hw")
    assert listed.error_code == ErrorCode.none and listed.offset == 4
    answer = fetch(cluster.bootstrap(101), "hw")
    assert answer.high_watermark == 4
    assert b"pending" not in bytes(answer.records or b"")
    # DeleteRecords stops at the high watermark too
    refused = delete_records(cluster.bootstrap(101), "hw", 6)
    assert refused.error_code == ErrorCode.offset_out_of_range
    cons = consumer(cluster.bootstrap(101))
    try:
        cons.assign([TopicPartition("hw", 0, 0)])
        seen: list[bytes] = []
        wait_until(lambda: _poll_into(cons, seen) and len(seen) >= 4, what="4 committed")
        for _ in range(5):  # and nothing more while the follower is away
            _poll_into(cons, seen, 0.2)
        assert [v.split(b"-")[0] for v in seen] == [b"committed"] * 4
        cluster.start(102)  # the follower catches up: the high watermark moves on
        wait_until(lambda: _poll_into(cons, seen) and len(seen) >= 7, what="the rest")
        assert [v.split(b"-")[0] for v in seen] == [b"committed"] * 4 + [b"pending"] * 3
    finally:
        cons.close()


def _poll_into(cons: object, seen: list[bytes], timeout: float = 0.1) -> bool:
    msg = cons.poll(timeout)  # type: ignore[attr-defined]
    if msg is not None and msg.error() is None:
        seen.append(msg.value())
    return True


def test_a_follower_refuses_produce_and_fetch_with_kafkas_errors(cluster: Cluster) -> None:
    cluster.create_topic("lead")
    cluster.set_state("lead", 0, leader=101, epoch=3, isr=NODES)
    follower = cluster.bootstrap(102)
    answer = produce(follower, "lead", batch(1), acks=1)
    assert answer.error_code == ErrorCode.not_leader_or_follower
    # before Fetch v11 (KIP-392) only the leader serves consumers
    assert fetch(follower, "lead", version=10).error_code == ErrorCode.not_leader_or_follower
    assert latest_offset(follower, "lead").error_code == ErrorCode.not_leader_or_follower
    leader = cluster.bootstrap(101)
    assert fetch(leader, "lead", current_leader_epoch=2).error_code == ErrorCode.fenced_leader_epoch
    assert fetch(leader, "lead", current_leader_epoch=4).error_code == (
        ErrorCode.unknown_leader_epoch
    )
    assert fetch(leader, "lead", current_leader_epoch=3).error_code == ErrorCode.none


def test_a_follower_names_the_current_leader_in_produce_v10_and_fetch_v12(
    cluster: Cluster,
) -> None:
    cluster.create_topic("hint")
    cluster.set_state("hint", 0, leader=101, epoch=3, isr=NODES)
    follower = cluster.bootstrap(102)
    response = produce_response(follower, "hint", batch(1), acks=1, version=11, whole=True)
    answer = response.responses[0].partition_responses[0]
    assert answer.error_code == ErrorCode.not_leader_or_follower
    assert (answer.current_leader.leader_id, answer.current_leader.leader_epoch) == (101, 3)
    (endpoint,) = response.node_endpoints
    assert (endpoint.node_id, endpoint.port) == (101, int(cluster.bootstrap(101).split(":")[1]))
    # a consumer's Fetch v12 may read from a follower, but not with an old leader epoch
    refused = fetch(follower, "hint", current_leader_epoch=2)
    assert refused.error_code == ErrorCode.fenced_leader_epoch
    assert (refused.current_leader.leader_id, refused.current_leader.leader_epoch) == (101, 3)


def test_high_watermarks_are_checkpointed_and_restored(cluster: Cluster) -> None:
    cluster.create_topic("ckpt")
    cluster.set_state("ckpt", 0, leader=101, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(101), "ckpt", batch(5), acks=-1).error_code == 0
    wait_until(lambda: cluster.offsets(102, "ckpt") == (5, 5), what="the follower's HW")
    for node in NODES:
        cluster.stop(node)
    saved = (cluster.root / "broker-102" / "replication-offset-checkpoint").read_text()
    assert saved.split("\n")[:3] == ["0", "1", "ckpt 0 5"]
    cluster.start(102)
    # 102 leads with 101 still in the ISR but away: the HW it starts from is the saved one
    cluster.set_state("ckpt", 0, leader=102, epoch=2, isr=(101, 102), replicas=(101, 102))
    assert cluster.offsets(102, "ckpt") == (5, 5)
    epochs = cluster.root / "broker-102" / "ckpt-0" / "leader-epoch-checkpoint"
    # the new epoch starts at 5 (written on the storage thread, soon)
    wait_until(lambda: epochs.read_text() == "0\n2\n1 0\n2 5\n", what="epoch 2 saved")


def test_a_follower_without_epoch_checkpoint_keeps_its_agreeing_log(
    cluster: Cluster, caplog: pytest.LogCaptureFixture
) -> None:
    cluster.create_topic("seed")
    pair = (101, 102)
    cluster.set_state("seed", 0, leader=101, epoch=0, isr=pair, replicas=pair)
    assert produce(cluster.bootstrap(101), "seed", batch(5), acks=-1).error_code == 0
    wait_until(lambda: cluster.offsets(102, "seed") == (5, 5), what="the follower's HW")
    cluster.stop(102)
    # as data written before replication was turned on: no checkpoints at all
    (cluster.root / "broker-102" / "seed-0" / "leader-epoch-checkpoint").unlink()
    (cluster.root / "broker-102" / "replication-offset-checkpoint").unlink()
    cluster.set_state("seed", 0, leader=101, epoch=1, isr=(101,), replicas=pair)
    assert produce(cluster.bootstrap(101), "seed", batch(2, "later"), acks=-1).error_code == 0
    with caplog.at_level(logging.INFO, logger="embedded_broker.replication.fetcher"):
        cluster.start(102)
        wait_until(lambda: set(cluster.isr("seed")) == set(pair), what="102 back in")
    assert not [r for r in caplog.records if "Truncating" in r.getMessage()]
    assert cluster.log_bytes(102, "seed") == cluster.log_bytes(101, "seed")


def test_a_broker_removed_from_the_replicas_stops_serving_the_partition(
    cluster: Cluster,
) -> None:
    cluster.create_topic("moved")
    cluster.set_state("moved", 0, leader=103, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(103), "moved", batch(1), acks=1).error_code == 0
    cluster.set_state("moved", 0, leader=101, epoch=2, isr=(101, 102), replicas=(101, 102))
    answer = produce(cluster.bootstrap(103), "moved", batch(1), acks=1)
    assert answer.error_code == ErrorCode.not_leader_or_follower
    assert fetch(cluster.bootstrap(103), "moved").error_code == ErrorCode.not_leader_or_follower


def test_a_follower_behind_the_leaders_log_start_restarts_there(cluster: Cluster) -> None:
    cluster.create_topic("start")
    pair = (101, 102)
    cluster.stop(102)
    cluster.set_state("start", 0, leader=101, epoch=1, isr=(101,), replicas=pair)
    for i in range(5):
        assert produce(cluster.bootstrap(101), "start", batch(2, f"b{i}"), acks=1).error_code == 0
    cluster.on(101, lambda s: s.partition("start", 0).delete_records_before(6))
    cluster.start(102)
    wait_until(lambda: cluster.offsets(102, "start")[0] == 10, what="102 caught up")
    start = cluster.on(102, lambda s: s.partition("start", 0).log_start_offset)
    assert start == 6
    assert cluster.log_bytes(102, "start") == cluster.log_bytes(101, "start")


def test_followers_reconnect_to_a_leader_that_comes_back(cluster: Cluster) -> None:
    cluster.create_topic("back")
    cluster.set_state("back", 0, leader=101, epoch=1, isr=NODES)
    assert produce(cluster.bootstrap(101), "back", batch(3), acks=-1).error_code == 0
    cluster.stop(101)
    time.sleep(0.3)  # the followers meet a closed port and back off
    cluster.start(101)  # on a new port: the followers find it through the endpoint lookup
    answer = produce(cluster.bootstrap(101), "back", batch(3, "again"), acks=-1)
    assert answer.error_code == ErrorCode.none
    assert cluster.offsets(102, "back")[0] == cluster.offsets(103, "back")[0] == 6


def test_an_isr_shrunk_below_min_insync_replicas_holds_the_high_watermark(
    cluster: Cluster,
) -> None:
    """Kafka 4 (KIP-966): the leader alone is too few to commit, so the high watermark
    stands still and a waiting acks=all produce times out instead of being committed."""
    cluster.create_topic("after", **{"min.insync.replicas": "2"})
    pair = (101, 102)
    cluster.set_state("after", 0, leader=101, epoch=1, isr=pair, replicas=pair)
    cluster.stop(102)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(
            produce, cluster.bootstrap(101), "after", batch(1), acks=-1, timeout_ms=3000
        )
        wait_until(lambda: cluster.offsets(101, "after")[0] == 1, what="the append")
        assert not pending.done()  # waiting for 102
        # the controller takes 102 out: 101 alone is below min.insync.replicas
        cluster.set_state("after", 0, leader=101, epoch=1, isr=(101,), replicas=pair)
        answer = pending.result(timeout=10)
    assert answer.error_code == ErrorCode.request_timed_out
    assert cluster.offsets(101, "after") == (1, 0)  # appended, not committed


def test_a_waiting_acks_all_produce_fails_when_leadership_moves(cluster: Cluster) -> None:
    cluster.create_topic("moves")
    pair = (101, 102)
    cluster.set_state("moves", 0, leader=101, epoch=1, isr=pair, replicas=pair)
    cluster.stop(102)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pending = pool.submit(produce, cluster.bootstrap(101), "moves", batch(1), acks=-1)
        wait_until(lambda: cluster.offsets(101, "moves")[0] == 1, what="the append")
        cluster.set_state("moves", 0, leader=102, epoch=2, isr=(102,), replicas=pair)
        answer = pending.result(timeout=10)
    assert answer.error_code == ErrorCode.not_leader_or_follower
