"""Transactions in a local cluster, built-in only (the bodies shared with real Kafka are in
cluster_parity/test_cluster_txn_parity.py): __transaction_state made on first use, transactional
offsets through a group coordinator on another broker, and read_committed from a follower."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from kio.schema.describe_transactions.v0 import request as describe_req
from kio.schema.errors import ErrorCode
from kio.schema.find_coordinator.v4 import request as find_req
from kio.static.primitive import i8

from embedded_broker.protocol.codec import RequestHeader, encode_request
from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC
from tests.integration.groups.wire import WireClient
from tests.integration.transactions.test_txn_exactly_once import _consume_transform_produce
from tests.integration.transactions.txn_clients import (
    SENTINEL,
    put_sentinels,
    read_to_sentinels,
)

from .local_cluster import LocalCluster, admin, start_timeout_s, unless_not_yet, wait_for

TXN_PARTITIONS = 50
NEAR = "near-txn"
RACK_AWARE = "org.apache.kafka.common.replica.RackAwareReplicaSelector"


def _coordinator(cluster: LocalCluster, key: str, key_type: int) -> int:
    """The node FindCoordinator names for a group (key_type 0) or a transactional id (1),
    asked until a broker answers one."""

    def ask() -> int | None:
        for node_id in cluster.broker_ids:
            node = cluster.node(node_id)
            try:
                client = WireClient(f"{node['host']}:{node['port']}")
            except OSError:
                continue  # a killed broker
            try:
                found = client.send(
                    find_req.FindCoordinatorRequest(key_type=i8(key_type), coordinator_keys=(key,))
                ).coordinators[0]
            except OSError:
                continue
            finally:
                client.close()
            if found.error_code == ErrorCode.none:
                return int(found.node_id)
        return None

    result: int = wait_for(ask, start_timeout_s(), f"a coordinator of {key!r}")
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


def test_cluster_consume_transform_produce_offsets_reach_the_replicated_group(
    three_brokers: LocalCluster,
) -> None:
    # the single node's body: TxnOffsetCommit goes to the group's coordinator, which stores
    # the offsets in __consumer_offsets when the commit marker reaches it (dropped on abort);
    # the transactional id is one another broker coordinates
    group = "ctp-group"
    group_coordinator = _coordinator(three_brokers, group, 0)
    tid = next(
        t
        for t in (f"ctp-{i}" for i in range(100))
        if _coordinator(three_brokers, t, 1) != group_coordinator
    )
    # the first transactional FindCoordinator made __transaction_state, as in Kafka, with
    # Kafka's 50 partitions and RF min(3, N)
    md = wait_for(
        lambda: (
            (
                found := unless_not_yet(
                    lambda: admin(three_brokers.bootstrap()).list_topics(timeout=5)
                )
            )
            and found.topics.get(TRANSACTION_STATE_TOPIC)
        ),
        start_timeout_s(),
        "__transaction_state in Metadata",
    )
    assert len(md.partitions) == TXN_PARTITIONS
    assert all(len(p.replicas) == 3 for p in md.partitions.values())
    _consume_transform_produce(three_brokers.bootstrap(), group, tid)
    # DescribeTransactions: the coordinator answers for the id, the other brokers refuse it
    # (the admin client asks FindCoordinator first, and retries on NOT_COORDINATOR)
    coordinator = _coordinator(three_brokers, tid, 1)
    for node_id in three_brokers.broker_ids:
        node = three_brokers.node(node_id)
        expected = ErrorCode.none if node_id == coordinator else ErrorCode.not_coordinator
        # a broker learns who leads each __transaction_state partition from the metadata log
        wait_for(
            lambda a=f"{node['host']}:{node['port']}", e=expected: _describe_error(a, tid) == e,
            15,
            lambda n=node_id, e=expected: (
                f"broker {n} to answer {e.name} (coordinator {coordinator})"
            ),
        )


def _describe_error(address: str, transactional_id: str) -> ErrorCode:
    """The error code of DescribeTransactions v0 for one id, read from the raw answer (kio
    cannot decode the start time -1 that Kafka and this broker send for an id with none)."""
    client = WireClient(address)
    try:
        client.correlation += 1
        header = RequestHeader(65, 0, client.correlation, client.client_id)
        request = describe_req.DescribeTransactionsRequest(transactional_ids=(transactional_id,))
        client.sock.sendall(encode_request(header, request))
        (size,) = struct.unpack(">i", client._read_exact(4))
        frame = client._read_exact(size)
    finally:
        client.close()
    # v0 is flexible: correlation id, header tags (1), throttle time, the states' compact
    # array length (1 byte for one state), then the first state's error code
    (code,) = struct.unpack_from(">h", frame, 4 + 1 + 4 + 1)
    return ErrorCode(code)


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
            md = unless_not_yet(lambda: client.list_topics(NEAR, timeout=5))
            part = None if md is None else md.topics[NEAR].partitions.get(0)
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


def test_cluster_restarted_whole_keeps_transactions_on_their_coordinators(
    cluster_factory: Callable[..., LocalCluster],
) -> None:
    # a restarted broker finds __transaction_state in its own logs before it has rejoined the
    # cluster: it must not coordinate every id from its replicas as a single node would
    cluster = cluster_factory(3)
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic(NEAR, 1, 3)], operation_timeout=15)[NEAR].result(15)
    tid = "restarted"
    prod = _producer(bs, tid)
    prod.begin_transaction()
    kept = _send_to(prod, NEAR, "kept", 10)
    prod.commit_transaction(30)
    cluster.stop()
    again = LocalCluster(cluster.data_dir, 3, [])
    try:
        again.wait_all_active()
        coordinator = _coordinator(again, tid, 1)

        def answers() -> dict[int, ErrorCode]:
            found = {}
            for node_id in again.broker_ids:
                node = again.node(node_id)
                found[node_id] = _describe_error(f"{node['host']}:{node['port']}", tid)
            return found

        expected = {
            b: ErrorCode.none if b == coordinator else ErrorCode.not_coordinator
            for b in again.broker_ids
        }
        wait_for(lambda: answers() == expected, start_timeout_s(), lambda: f"{answers()}")
        assert sorted(_read_near(again.bootstrap())) == sorted(kept)
    finally:
        again.stop()


def _read_near(bootstrap: str) -> list[bytes]:
    put_sentinels(bootstrap, NEAR, 1)
    return read_to_sentinels(bootstrap, NEAR, 1, "read_committed", 60)
