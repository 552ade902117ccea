"""KIP-890 part 1: a partition leader appends a transactional batch only once the transaction
coordinator confirms the partition is in the producer's transaction, so a write to a partition
never added, or from a fenced instance, cannot leave a hanging transaction that holds back
read_committed readers. The same body on the single node, on real Kafka 4.3.1 and on a
3-broker cluster (where the leader asks a coordinator on another broker)."""

from __future__ import annotations

import uuid

import pytest
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.integration.cluster.local_cluster import (
    start_timeout_s,
    unless_not_yet,
    wait_for,
)
from tests.integration.transactions.txn_clients import end_offsets
from tests.kafka.fixtures import KafkaSingle

from .raw_txn import (
    add_partition,
    coordinator_address,
    init_producer,
    leaders,
    produce,
    transactional_batch,
)

PARTITIONS = 6


def _nothing_hangs(bootstrap: str, topic: str) -> None:
    """Every partition's last stable offset is its high watermark: no open transaction."""

    def settled() -> bool:
        stable = unless_not_yet(lambda: end_offsets(bootstrap, topic, PARTITIONS, committed=True))
        ends = unless_not_yet(lambda: end_offsets(bootstrap, topic, PARTITIONS, committed=False))
        return stable is not None and stable == ends

    wait_for(settled, start_timeout_s(), f"the last stable offsets of {topic} to catch up")


def verification_body(bootstrap: str) -> None:
    topic = f"verify-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, PARTITIONS)
    tid = f"verifier-{topic}"
    coordinator = coordinator_address(bootstrap, tid)
    led = leaders(bootstrap, topic, PARTITIONS)
    # in a cluster, partitions whose leader must ask a coordinator on another broker
    remote = [i for i, address in sorted(led.items()) if address != coordinator]
    candidates = remote or sorted(led)
    assert len(candidates) >= 2, led
    first, second = candidates[:2]
    pid, epoch = init_producer(coordinator, tid)

    # a partition never added to the transaction: refused, as each Produce version says it
    batch = transactional_batch(pid, epoch, 0)
    assert produce(led[first], tid, (topic, first), batch, version=9) == ErrorCode.invalid_txn_state
    assert (
        produce(led[first], tid, (topic, first), batch, version=11)
        == ErrorCode.transaction_abortable
    )
    _nothing_hangs(bootstrap, topic)

    # once added, the same write is appended
    add_partition(coordinator, tid, (pid, epoch), topic, first)
    assert produce(led[first], tid, (topic, first), batch, version=11) == ErrorCode.none

    # a new instance fences this one (its transaction is aborted); the fenced instance's
    # first write to another partition is refused instead of opening a transaction there
    newer_pid, newer_epoch = init_producer(coordinator, tid)
    assert newer_pid == pid
    assert newer_epoch > epoch
    zombie = transactional_batch(pid, epoch, 0)
    assert (
        produce(led[second], tid, (topic, second), zombie, version=11)
        == ErrorCode.invalid_producer_epoch
    )
    _nothing_hangs(bootstrap, topic)


def test_verification_builtin(builtin_broker: RunningBroker) -> None:
    verification_body(builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_verification_kafka(kafka_single: KafkaSingle) -> None:
    verification_body(kafka_single.bootstrap)
