"""Transactions v2 (KIP-890 part 2) on the wire: Produce v12 adds its partition to the
transaction without AddPartitionsToTxn, TxnOffsetCommit v5 adds the group's offsets partition
without AddOffsetsToTxn, and every EndTxn v5 bumps the producer epoch and answers the new one
(a retry with the old epoch gets the same answer, not a second bump). The same body on the
single node, on real Kafka 4.3.1 and (tests/integration/cluster) on 3 brokers."""

from __future__ import annotations

import uuid

import pytest
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import BrokerFactory, RunningBroker
from tests.integration.broker.clients import create_topic
from tests.integration.cluster.local_cluster import start_timeout_s, wait_for
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels
from tests.kafka.fixtures import KafkaSingle

from .raw_txn import coordinator_address, leaders, produce, transactional_batch
from .raw_txn_v2 import (
    committed_offset,
    describe,
    end_txn,
    group_coordinator,
    init_producer_v5,
    txn_offset_commit,
    wait_state,
)

PARTITIONS = 3
OFFSETS = "__consumer_offsets"


def tv2_body(bootstrap: str) -> None:
    topic = f"tv2-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, PARTITIONS)
    tid = f"tv2-{topic}"
    group = f"group-{topic}"
    coordinator = coordinator_address(bootstrap, tid)
    led = leaders(bootstrap, topic, PARTITIONS)
    # in a cluster, a partition whose leader adds it through a coordinator on another broker
    remote = [i for i, address in sorted(led.items()) if address != coordinator]
    index = (remote or sorted(led))[0]
    target = (topic, index)
    pid, epoch = init_producer_v5(coordinator, tid)

    # Produce v12 with no AddPartitionsToTxn: appended, and the partition is in the transaction
    first = transactional_batch(pid, epoch, 0, [b"committed-0", b"committed-1"])
    assert produce(led[index], tid, target, first, version=12) == ErrorCode.none
    state, _, _, parts = describe(coordinator, tid)
    assert (state, parts) == ("Ongoing", {target})
    # a batch of a later epoch is not let into the open transaction unasked (it would be ended
    # by the open transaction's marker): the coordinator, at the older epoch, refuses it
    ahead = transactional_batch(pid, epoch + 1, 0, [b"ahead"])
    assert produce(led[index], tid, target, ahead, version=12) == ErrorCode.invalid_producer_epoch

    # TxnOffsetCommit v5 with no AddOffsetsToTxn: the group's offsets partition joins too
    groups = group_coordinator(bootstrap, group)
    assert txn_offset_commit(groups, tid, (pid, epoch), group, (topic, index, 7)) == ErrorCode.none
    state, _, _, parts = describe(coordinator, tid)
    assert state == "Ongoing"
    assert target in parts
    assert [tp for tp in parts if tp[0] == OFFSETS], parts

    # EndTxn v5: the epoch is bumped and answered; a retry with the old epoch gets the same
    assert end_txn(coordinator, tid, (pid, epoch), commit=True) == (ErrorCode.none, pid, epoch + 1)
    assert wait_state(coordinator, tid, "CompleteCommit")[1:3] == (pid, epoch + 1)
    assert end_txn(coordinator, tid, (pid, epoch), commit=True) == (ErrorCode.none, pid, epoch + 1)
    # the offsets reached the group with the commit
    wait_for(
        lambda: committed_offset(groups, group, topic, index) == 7,
        start_timeout_s(),
        "the transaction's offset committed for the group",
    )
    # nothing is open at the new epoch: a commit is refused, the old epoch can write no more
    assert end_txn(coordinator, tid, (pid, epoch + 1), commit=True)[0] == (
        ErrorCode.invalid_txn_state
    )
    stale = transactional_batch(pid, epoch, 2, [b"stale"])
    assert produce(led[index], tid, target, stale, version=12) == ErrorCode.invalid_producer_epoch

    # the next transaction at the new epoch starts at sequence 0; it is aborted
    second = transactional_batch(pid, epoch + 1, 0, [b"aborted-0"])
    assert produce(led[index], tid, target, second, version=12) == ErrorCode.none
    assert end_txn(coordinator, tid, (pid, epoch + 1), commit=False) == (
        ErrorCode.none,
        pid,
        epoch + 2,
    )
    wait_state(coordinator, tid, "CompleteAbort")
    # an abort with nothing open is taken (a client aborting after an error) and bumps too
    assert end_txn(coordinator, tid, (pid, epoch + 2), commit=False) == (
        ErrorCode.none,
        pid,
        epoch + 3,
    )
    wait_state(coordinator, tid, "CompleteAbort")

    put_sentinels(bootstrap, topic, PARTITIONS)
    assert read_to_sentinels(bootstrap, topic, PARTITIONS, "read_committed") == [
        b"committed-0",
        b"committed-1",
    ]


def test_transactions_v2_builtin(builtin_broker: RunningBroker) -> None:
    tv2_body(builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_transactions_v2_kafka(kafka_single: KafkaSingle) -> None:
    tv2_body(kafka_single.bootstrap)


def test_a_timed_out_v2_transaction_fences_its_epoch_twice(
    builtin_broker_factory: BrokerFactory,
) -> None:
    """The coordinator aborts a timed-out transaction as Kafka does under transactions v2:
    the fence bumps the epoch and the abort bumps it again, so the client's late EndTxn v5 at
    its old epoch is fenced rather than taken for a retry of an ended transaction."""
    broker = builtin_broker_factory(
        {"transaction.abort.timed.out.transaction.cleanup.interval.ms": "200"}
    )
    bootstrap = broker.bootstrap
    topic = f"tv2-timeout-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    tid = f"late-{topic}"
    pid, epoch = init_producer_v5(bootstrap, tid, timeout_ms=1000)
    batch = transactional_batch(pid, epoch, 0, [b"timed-out"])
    assert produce(bootstrap, tid, (topic, 0), batch, version=12) == ErrorCode.none

    assert wait_state(bootstrap, tid, "CompleteAbort")[1:3] == (pid, epoch + 2)
    for commit in (True, False):
        assert end_txn(bootstrap, tid, (pid, epoch), commit=commit)[0] == (
            ErrorCode.producer_fenced
        )
    late = transactional_batch(pid, epoch, 1, [b"late"])
    assert produce(bootstrap, tid, (topic, 0), late, version=12) == (
        ErrorCode.invalid_producer_epoch
    )
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == []
