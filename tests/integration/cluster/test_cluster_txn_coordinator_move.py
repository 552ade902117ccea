"""A transaction whose coordinator moves mid-way: the __transaction_state partition of its id
is handed to another broker by a reassignment and a preferred-leader election while the old
coordinator keeps running. The old one must answer NOT_COORDINATOR (as Kafka's
TransactionStateManager does for a partition it no longer owns) and the producer finishes the
transaction through the new one; read_committed readers see exactly what was committed."""

from __future__ import annotations

from typing import Any

from confluent_kafka import ElectionType, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import NewTopic
from kio.schema.add_partitions_to_txn.v3 import request as add_req
from kio.schema.add_partitions_to_txn.v4 import request as verify_req
from kio.schema.describe_transactions.v0 import request as describe_req
from kio.schema.end_txn.v3 import request as end_req
from kio.schema.errors import ErrorCode
from kio.schema.types import ProducerId, TopicName, TransactionalId
from kio.static.primitive import i16, i32

from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC, partition_for
from tests.integration.groups.wire import WireClient
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels

from .local_cluster import LocalCluster, admin, start_timeout_s, unless_not_yet, wait_for
from .test_cluster_reassign import _reassign
from .test_cluster_transactions import TXN_PARTITIONS, _coordinator, _describe_error

TOPIC = "coordinator-move"
TID = "moving-coordinator"


def _address(cluster: LocalCluster, broker: int) -> str:
    node = cluster.node(broker)
    return f"{node['host']}:{node['port']}"


def _state_partition(address: str, p: int) -> tuple[int, list[int], list[int]] | None:
    """(leader, replicas, isr) of __transaction_state-p in one broker's own Metadata."""
    md = unless_not_yet(lambda: admin(address).list_topics(TRANSACTION_STATE_TOPIC, timeout=5))
    topic = None if md is None else md.topics.get(TRANSACTION_STATE_TOPIC)
    part = None if topic is None else topic.partitions.get(p)
    return None if part is None else (part.leader, list(part.replicas), list(part.isrs))


def _send(address: str, request: Any) -> Any:
    client = WireClient(address)
    try:
        return client.send(request)
    finally:
        client.close()


def _described(address: str) -> Any:
    """The id's DescribeTransactions state on its coordinator (kio decodes it once the
    transaction has a start time, which an ongoing one has)."""
    request = describe_req.DescribeTransactionsRequest(transactional_ids=(TransactionalId(TID),))
    return _send(address, request).transaction_states[0]


def _produce(prod: Producer, partition: int, prefix: str, count: int) -> list[bytes]:
    values = [f"{prefix}-{i}".encode() for i in range(count)]
    for value in values:
        prod.produce(TOPIC, value=value, partition=partition)
    assert prod.flush(start_timeout_s(30)) == 0
    return values


def _move(cluster: LocalCluster, p: int, order: tuple[int, ...]) -> None:
    """Make ``order[0]`` lead __transaction_state-p: the replica order first, then a
    preferred-leader election; returns once the broker that led it has seen the move."""
    bs = cluster.bootstrap()
    leader = _state_partition(bs, p)
    wire = WireClient(bs.split(",")[0])
    try:
        assert _reassign(wire, TRANSACTION_STATE_TOPIC, p, order) == ErrorCode.none
    finally:
        wire.close()
    wait_for(
        lambda: (s := _state_partition(bs, p)) is not None and tuple(s[1]) == order,
        30,
        "the new replica order",
    )
    tp = TopicPartition(TRANSACTION_STATE_TOPIC, p)
    client = admin(bs)
    elected = client.elect_leaders(ElectionType.PREFERRED, [tp]).result(start_timeout_s(15))
    assert elected[tp] is None or elected[tp].code() == KafkaError.NO_ERROR, elected[tp]
    if leader is not None:
        was = _address(cluster, leader[0])
        wait_for(
            lambda: (s := _state_partition(was, p)) is not None and s[0] == order[0],
            30,
            f"broker {leader[0]} to see {order[0]} lead {TRANSACTION_STATE_TOPIC}-{p}",
        )


def test_cluster_old_coordinator_answers_not_coordinator_and_the_txn_ends_on_the_new(
    three_brokers: LocalCluster,
) -> None:
    cluster = three_brokers
    bs = cluster.bootstrap()
    client = admin(bs)
    client.create_topics([NewTopic(TOPIC, 2, 3)], operation_timeout=15)[TOPIC].result(15)
    prod = Producer({"bootstrap.servers": bs, "transactional.id": TID, "acks": "all"})
    prod.init_transactions(start_timeout_s(30))
    old = _coordinator(cluster, TID, 1)
    p = partition_for(TID, TXN_PARTITIONS)
    # every replica of the id's partition in sync, so any of them can take over
    state = wait_for(
        lambda: (s := _state_partition(bs, p)) is not None and len(s[2]) == 3 and s,
        30,
        f"{TRANSACTION_STATE_TOPIC}-{p} in sync on 3 brokers",
    )
    assert state[0] == old
    prod.begin_transaction()
    before = _produce(prod, 0, "before", 10)  # AddPartitionsToTxn for partition 0 on `old`

    # hand the partition to another broker: put it first in the replica list, then elect it
    new = next(b for b in state[1] if b != old)
    _move(cluster, p, (new, *(b for b in state[1] if b != new)))
    # the new coordinator has loaded the open transaction
    old_address, new_address = _address(cluster, old), _address(cluster, new)
    wait_for(
        lambda: _describe_error(new_address, TID) == ErrorCode.none,
        30,
        f"broker {new} to coordinate {TID!r}",
    )
    ongoing = _described(new_address)
    assert ongoing.transaction_state == "Ongoing"
    assert [(t.topic, list(t.partitions)) for t in ongoing.topics] == [(TOPIC, [0])]
    pid, epoch = ProducerId(ongoing.producer_id), i16(ongoing.producer_epoch)

    # the old coordinator refuses what a client with a stale coordinator would send it
    assert _describe_error(old_address, TID) == ErrorCode.not_coordinator
    added = _send(
        old_address,
        add_req.AddPartitionsToTxnRequest(
            v3_and_below_transactional_id=TransactionalId(TID),
            v3_and_below_producer_id=pid,
            v3_and_below_producer_epoch=epoch,
            v3_and_below_topics=(
                add_req.AddPartitionsToTxnTopic(name=TopicName(TOPIC), partitions=(i32(1),)),
            ),
        ),
    )
    codes = [
        r.partition_error_code
        for t in added.results_by_topic_v3_and_below
        for r in t.results_by_partition
    ]
    assert codes == [ErrorCode.not_coordinator]
    # a partition leader's verification (v4, verify only) of a partition already added
    verified = _send(
        old_address,
        verify_req.AddPartitionsToTxnRequest(
            transactions=(
                verify_req.AddPartitionsToTxnTransaction(
                    transactional_id=TransactionalId(TID),
                    producer_id=pid,
                    producer_epoch=epoch,
                    verify_only=True,
                    topics=(
                        verify_req.AddPartitionsToTxnTopic(
                            name=TopicName(TOPIC), partitions=(i32(0),)
                        ),
                    ),
                ),
            )
        ),
    )
    assert verified.error_code == ErrorCode.none
    codes = [
        r.partition_error_code
        for t in verified.results_by_transaction[0].topic_results
        for r in t.results_by_partition
    ]
    assert codes == [ErrorCode.not_coordinator]
    ended = _send(
        old_address,
        end_req.EndTxnRequest(
            transactional_id=TransactionalId(TID),
            producer_id=pid,
            producer_epoch=epoch,
            committed=True,
        ),
    )
    assert ended.error_code == ErrorCode.not_coordinator
    # nothing of that reached the new coordinator: the transaction is still open on it
    still = _described(new_address)
    assert (still.transaction_state, still.producer_epoch) == ("Ongoing", epoch)

    # the client's own requests: a new partition (AddPartitionsToTxn) and the commit, first
    # to the coordinator it knew, then to the new one
    after = _produce(prod, 1, "after", 10)
    prod.commit_transaction(start_timeout_s(30))
    prod.begin_transaction()
    _produce(prod, 0, "aborted", 5)
    prod.abort_transaction(start_timeout_s(30))

    # and back (as the automatic preferred-leader election would): the old coordinator reads
    # again what the new one wrote while it followed, and the producer goes on with it
    _move(cluster, p, tuple(state[1]))
    prod.begin_transaction()
    back = _produce(prod, 1, "back", 10)
    prod.commit_transaction(start_timeout_s(30))
    assert _coordinator(cluster, TID, 1) == old

    put_sentinels(bs, TOPIC, 2)
    committed = read_to_sentinels(bs, TOPIC, 2, "read_committed", start_timeout_s(30))
    assert sorted(committed) == sorted([*before, *after, *back])
