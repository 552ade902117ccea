"""Transactions in a local cluster: the coordinator of a transactional id is the leader of its
__transaction_state partition, markers reach partitions led by other brokers, and the
coordinator's or a data leader's death (kill -9) leaves read_committed readers correct."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC, partition_for
from tests.integration.groups.wire import WireClient
from tests.integration.transactions.test_txn_exactly_once import _consume_transform_produce
from tests.integration.transactions.txn_clients import (
    SENTINEL,
    put_sentinels,
    read_to_sentinels,
)

from .local_cluster import LocalCluster, admin, start_timeout_s, wait_for

TOPIC = "payments"
PARTITIONS = 3
TXN_PARTITIONS = 50
NEAR = "near-txn"
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


def _create_topic(bootstrap: str) -> dict[int, int]:
    """An RF-3 topic; returns partition -> leader (several brokers lead its partitions)."""
    client = admin(bootstrap)
    topic = NewTopic(TOPIC, PARTITIONS, 3, config={"min.insync.replicas": "2"})
    for fut in client.create_topics([topic], operation_timeout=15).values():
        fut.result(timeout=15)
    return _leaders(bootstrap, TOPIC, PARTITIONS)


def _leaders(bootstrap: str, topic: str, partitions: int) -> dict[int, int]:
    def found() -> dict[int, int] | None:
        md = admin(bootstrap).list_topics(timeout=5).topics.get(topic)
        if md is None or md.error is not None or len(md.partitions) != partitions:
            return None
        leaders = {p: m.leader for p, m in md.partitions.items()}
        return leaders if all(v >= 0 for v in leaders.values()) else None

    result: dict[int, int] = wait_for(found, start_timeout_s(), f"leaders of {topic}")
    return result


def _txn_coordinator(
    cluster: LocalCluster, transactional_id: str, dead: int = -1, key_type: int = 1
) -> int:
    """The node id FindCoordinator(TRANSACTION) (or GROUP, key_type 0) names, asked until it
    answers one other than ``dead`` (metadata names a killed broker until it is fenced)."""

    def ask() -> int | None:
        for node_id in cluster.broker_ids:
            if node_id == dead:
                continue
            node = cluster.node(node_id)
            try:
                client = WireClient(f"{node['host']}:{node['port']}")
            except OSError:
                continue  # a killed broker
            try:
                found = client.send(
                    find_req.FindCoordinatorRequest(
                        key_type=i8(key_type), coordinator_keys=(transactional_id,)
                    )
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none and found.node_id != dead:
                return int(found.node_id)
        return None

    result: int = wait_for(ask, start_timeout_s(), "a transaction coordinator")
    return result


def _producer(bootstrap: str, transactional_id: str) -> Producer:
    prod = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": 60000,
            "linger.ms": 5,
            "topic.metadata.refresh.interval.ms": 1000,
        }
    )
    prod.init_transactions(start_timeout_s(60))
    return prod


def _send(prod: Producer, prefix: str, count: int) -> list[bytes]:
    values = [f"{prefix}-{i}".encode() for i in range(count)]
    for i, value in enumerate(values):
        prod.produce(TOPIC, value=value, partition=i % PARTITIONS)
    assert prod.flush(30) == 0
    return values


def test_cluster_transactions_commit_and_abort_across_leaders(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    leaders = _create_topic(bs)
    assert len(set(leaders.values())) >= 2, leaders
    # __transaction_state is made at cluster start, with Kafka's partitions and RF min(3, N)
    state_leaders = _leaders(bs, TRANSACTION_STATE_TOPIC, TXN_PARTITIONS)
    md = admin(bs).list_topics(timeout=5).topics[TRANSACTION_STATE_TOPIC]
    assert all(len(p.replicas) == 3 for p in md.partitions.values())
    tid = "cluster-txn"
    coordinator = _txn_coordinator(three_brokers, tid)
    assert coordinator == state_leaders[partition_for(tid, TXN_PARTITIONS)]

    prod = _producer(bs, tid)
    prod.begin_transaction()
    committed = _send(prod, "committed", 30)
    prod.commit_transaction(30)
    prod.begin_transaction()
    _send(prod, "aborted", 30)
    prod.abort_transaction(30)
    prod.begin_transaction()
    committed += _send(prod, "again", 30)
    prod.commit_transaction(30)
    put_sentinels(bs, TOPIC, PARTITIONS)

    read = read_to_sentinels(bs, TOPIC, PARTITIONS, "read_committed")
    assert sorted(read) == sorted(committed)
    every = read_to_sentinels(bs, TOPIC, PARTITIONS, "read_uncommitted")
    assert len(every) == 90


def test_cluster_coordinator_killed_mid_transaction_new_instance_fences_and_completes(
    three_brokers: LocalCluster,
) -> None:
    bs = three_brokers.bootstrap()
    _create_topic(bs)
    tid = "fence-me"
    coordinator = _txn_coordinator(three_brokers, tid)
    first = _producer(bs, tid)
    first.begin_transaction()
    committed = _send(first, "first", 9)
    first.commit_transaction(30)
    first.begin_transaction()
    _send(first, "zombie", 9)  # open when the coordinator dies

    three_brokers.kill(coordinator)
    survivors = three_brokers.bootstrap(without=coordinator)
    _txn_coordinator(three_brokers, tid, dead=coordinator)
    second = _producer(survivors, tid)  # fences the first and aborts its transaction
    second.begin_transaction()
    committed += _send(second, "second", 9)
    second.commit_transaction(60)

    try:
        first.commit_transaction(30)
    except KafkaException as exc:
        assert exc.args[0].fatal() or exc.args[0].txn_requires_abort(), exc
    else:
        raise AssertionError("the fenced producer committed")
    put_sentinels(survivors, TOPIC, PARTITIONS)
    read = read_to_sentinels(survivors, TOPIC, PARTITIONS, "read_committed", 60)
    assert sorted(read) == sorted(committed)


def test_cluster_read_committed_after_a_data_leader_dies(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    cluster = cluster_factory(3)
    bs = cluster.bootstrap()
    leaders = _create_topic(bs)
    tid = "survivor"
    coordinator = _txn_coordinator(cluster, tid)
    prod = _producer(bs, tid)
    prod.begin_transaction()
    committed = _send(prod, "kept", 30)
    prod.commit_transaction(30)
    prod.begin_transaction()
    _send(prod, "dropped", 30)
    prod.abort_transaction(30)
    put_sentinels(bs, TOPIC, PARTITIONS)
    # a broker leading a data partition, but not coordinating the transactions
    victim = next(b for b in leaders.values() if b != coordinator)
    cluster.kill(victim)
    survivors = cluster.bootstrap(without=victim)
    wait_for(
        lambda: victim not in _leaders(survivors, TOPIC, PARTITIONS).values(),
        start_timeout_s(),
        "new leaders for the killed broker's partitions",
    )
    # the new leaders filter the aborted records from their own replicas' markers
    read = read_to_sentinels(survivors, TOPIC, PARTITIONS, "read_committed", 60)
    assert sorted(read) == sorted(committed)


def test_cluster_consume_transform_produce_offsets_reach_the_replicated_group(
    three_brokers: LocalCluster,
) -> None:
    # the single node's body: TxnOffsetCommit goes to the group's coordinator, which stores
    # the offsets in __consumer_offsets when the commit marker reaches it (dropped on abort);
    # the transactional id is one another broker coordinates
    group = "ctp-group"
    group_coordinator = _txn_coordinator(three_brokers, group, key_type=0)
    tid = next(
        t
        for t in (f"ctp-{i}" for i in range(100))
        if _txn_coordinator(three_brokers, t) != group_coordinator
    )
    _consume_transform_produce(three_brokers.bootstrap(), group, tid)


def test_cluster_follower_serves_read_committed_with_its_own_aborted_index(
    tmp_path: Path,
) -> None:
    # KIP-392: a consumer in a follower's rack reads from that follower, which must know the
    # open and aborted transactions of what it copied after it first served the partition
    log_path = tmp_path / "cluster.log"
    extra = ["--racks", "a,b,c", "--config", f"replica.selector.class={RACK_AWARE}"]
    cluster = LocalCluster(tmp_path / "cluster", 3, extra, log_path=log_path)
    try:
        cluster.wait_all_active()
        bs = cluster.bootstrap()
        client = admin(bs)
        client.create_topics([NewTopic(NEAR, 1, 3)], operation_timeout=15)[NEAR].result(15)

        def in_sync() -> tuple[int, list[int]] | None:
            part = client.list_topics(NEAR, timeout=5).topics[NEAR].partitions.get(0)
            if part is None or len(part.isrs) != 3:
                return None
            return part.leader, part.replicas

        leader, replicas = wait_for(in_sync, start_timeout_s(), "an ISR of 3")
        racks = {b["id"]: b["rack"] for b in cluster.info()["brokers"]}
        near = next(r for r in replicas if r != leader)
        prod = _producer(bs, "near-txn")
        prod.begin_transaction()
        first = _send_to(prod, NEAR, "first", 20)
        prod.commit_transaction(30)
        cons = Consumer(
            {
                "bootstrap.servers": bs,
                "group.id": "near-reader",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
                "client.rack": racks[near],
            }
        )
        try:
            cons.assign([TopicPartition(NEAR, 0, 0)])
            seen: list[bytes] = []
            wait_for(lambda: _poll_into(cons, seen, len(first)), 30, "the first transaction")
            wait_for(
                lambda: f"Broker {near} serves consumer fetches of {NEAR}-0" in _text(log_path),
                30,
                "the follower to serve the consumer",
            )
            prod.begin_transaction()
            _send_to(prod, NEAR, "aborted", 20)
            prod.abort_transaction(30)
            prod.begin_transaction()
            later = _send_to(prod, NEAR, "later", 20)
            prod.commit_transaction(30)
            plain = Producer({"bootstrap.servers": bs, "acks": "all"})
            plain.produce(NEAR, value=SENTINEL, partition=0)
            assert plain.flush(30) == 0
            wait_for(lambda: _poll_into(cons, seen, None), 30, "the sentinel")
        finally:
            cons.close()
        assert seen == [*first, *later]
    finally:
        cluster.stop()


def _send_to(prod: Producer, topic: str, prefix: str, count: int) -> list[bytes]:
    values = [f"{prefix}-{i}".encode() for i in range(count)]
    for value in values:
        prod.produce(topic, value=value, partition=0)
    assert prod.flush(30) == 0
    return values


def _poll_into(cons: Consumer, seen: list[bytes], want: int | None) -> bool:
    """Poll once; True when ``want`` values were seen (None: when the sentinel came)."""
    msg = cons.poll(0.2)
    if msg is not None and msg.error() is None:
        if msg.value() == SENTINEL:
            return want is None
        seen.append(msg.value())
    return want is not None and len(seen) >= want


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""
