"""Exactly-once with confluent-kafka against the built-in broker: a consume-transform-produce
loop with send_offsets_to_transaction, aborted transactions, and the last stable offset."""

from __future__ import annotations

import time
import uuid
from collections import Counter

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.kafka.fixtures import KafkaSingle

from .txn_clients import (
    TIMEOUT_S,
    end_offsets,
    put_sentinels,
    read_to_sentinels,
    txn_producer,
    wait_for,
)

INPUTS = 120
PARTITIONS = 2


def _committed(cons: Consumer, topic: str, timeout_s: float = TIMEOUT_S) -> list[int]:
    parts = cons.committed([TopicPartition(topic, p) for p in range(PARTITIONS)], timeout_s)
    return [tp.offset for tp in parts]


def _committed_or_none(cons: Consumer, topic: str) -> list[int] | None:
    """The committed offsets, or None for a "not yet" answer (a cluster's coordinator may
    move or still be loading: librdkafka gives NOT_COORDINATOR to committed() then)."""
    try:
        return _committed(cons, topic, timeout_s=5.0)
    except KafkaException as exc:
        if exc.args[0].code() in (
            KafkaError.NOT_COORDINATOR,
            KafkaError.COORDINATOR_LOAD_IN_PROGRESS,
            KafkaError.COORDINATOR_NOT_AVAILABLE,
        ):
            return None
        raise


def _group_reader(bootstrap: str, group: str) -> Consumer:
    """A consumer of ``group`` that only reads its offsets: read_uncommitted, so it asks for
    them without require_stable and sees the last committed ones at once."""
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "isolation.level": "read_uncommitted",
        }
    )


def _consume_transform_produce(
    bootstrap: str, group: str | None = None, transactional_id: str | None = None
) -> None:
    src, out = f"in-{uuid.uuid4().hex[:6]}", f"out-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, src, PARTITIONS)
    create_topic(bootstrap, out, PARTITIONS)
    plain = Producer({"bootstrap.servers": bootstrap})
    for i in range(INPUTS):
        plain.produce(src, key=b"k%d" % i, value=b"v%d" % i, partition=i % PARTITIONS)
    assert plain.flush(TIMEOUT_S) == 0

    group = group or f"eos-{uuid.uuid4().hex[:6]}"
    cons = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
        }
    )
    prod = txn_producer(bootstrap, transactional_id or f"eos-{group}")
    offsets = _group_reader(bootstrap, group)
    cons.subscribe([src])
    processed = 0
    rounds = 0
    aborted_round = False
    deadline = time.monotonic() + start_timeout_s(60)
    try:
        while processed < INPUTS:
            assert time.monotonic() < deadline, f"only {processed} of {INPUTS} processed"
            batch = [m for m in cons.consume(25, 1.0) if not m.error()]
            if not batch:
                continue
            rounds += 1
            # require_stable (read_committed): waits for any transaction still being completed
            before = _committed(cons, src)
            prod.begin_transaction()
            for msg in batch:
                value = b"T:" + msg.value()
                prod.produce(out, key=msg.key(), value=value, partition=msg.partition())
            positions = cons.position(cons.assignment())
            prod.send_offsets_to_transaction(positions, cons.consumer_group_metadata(), TIMEOUT_S)
            if rounds == 1:
                # offsets sent in a transaction are not the group's until it commits: a
                # read_committed member asking for them (require_stable) is told to wait
                # until the transaction is over (KIP-447), so it times out here
                with pytest.raises(KafkaException):
                    _committed(cons, src, timeout_s=1.0)
            if rounds == 2 and not aborted_round:
                aborted_round = True
                assert prod.flush(TIMEOUT_S) == 0  # its records reach the log, then abort
                prod.abort_transaction(TIMEOUT_S)
                # the aborted offsets never become the group's (Kafka writes the markers
                # after EndTxn returns, so this may take a moment there)
                wait_for(
                    lambda before=before: _committed(cons, src) == before,
                    TIMEOUT_S,
                    "the aborted transaction's offsets to go",
                )
                for tp, offset in zip(
                    [TopicPartition(src, p) for p in range(PARTITIONS)], before, strict=True
                ):
                    # start again from what the group committed (the beginning if nothing)
                    cons.seek(TopicPartition(src, tp.partition, max(offset, 0)))
                continue
            prod.commit_transaction(TIMEOUT_S)
            processed += len(batch)
        assert aborted_round
        # the group's offsets advanced exactly with the committed output
        assert _committed(cons, src) == [INPUTS // PARTITIONS] * PARTITIONS
        wait_for(
            lambda: _committed_or_none(offsets, src) == [INPUTS // PARTITIONS] * PARTITIONS,
            TIMEOUT_S,
            "the group's offsets, read without require_stable",
        )
    finally:
        cons.close()
        offsets.close()

    put_sentinels(bootstrap, out, PARTITIONS)
    committed = Counter(read_to_sentinels(bootstrap, out, PARTITIONS, "read_committed"))
    assert committed == Counter(b"T:v%d" % i for i in range(INPUTS))
    everything = read_to_sentinels(bootstrap, out, PARTITIONS, "read_uncommitted")
    assert len(everything) > INPUTS  # the aborted round's records are in the log
    assert set(everything) == set(committed)


def _aborted_records(bootstrap: str) -> None:
    topic = f"abort-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    prod = txn_producer(bootstrap, f"abort-{topic}")
    prod.begin_transaction()
    for i in range(3):
        prod.produce(topic, value=b"committed-%d" % i)
    prod.commit_transaction(TIMEOUT_S)
    prod.begin_transaction()
    for i in range(3):
        prod.produce(topic, value=b"aborted-%d" % i)
    assert prod.flush(TIMEOUT_S) == 0
    prod.abort_transaction(TIMEOUT_S)
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [
        b"committed-0",
        b"committed-1",
        b"committed-2",
    ]
    uncommitted = read_to_sentinels(bootstrap, topic, 1, "read_uncommitted")
    assert [v for v in uncommitted if v.startswith(b"aborted")] == [
        b"aborted-0",
        b"aborted-1",
        b"aborted-2",
    ]


def _last_stable_offset(bootstrap: str) -> None:
    topic = f"lso-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    prod = txn_producer(bootstrap, f"lso-{topic}")
    prod.begin_transaction()
    prod.produce(topic, value=b"first")
    prod.commit_transaction(TIMEOUT_S)  # offsets 0 and 1 (its marker)
    prod.begin_transaction()
    prod.produce(topic, value=b"open")
    assert prod.flush(TIMEOUT_S) == 0  # offset 2, its transaction still open
    put_sentinels(bootstrap, topic, 1)  # offset 3: a plain record behind the open transaction
    assert end_offsets(bootstrap, topic, 1, committed=True) == [2]
    assert end_offsets(bootstrap, topic, 1, committed=False) == [4]
    prod.commit_transaction(TIMEOUT_S)
    assert end_offsets(bootstrap, topic, 1, committed=True) == [5]
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"first", b"open"]


def _fencing(bootstrap: str) -> None:
    topic = f"fence-{uuid.uuid4().hex[:6]}"
    create_topic(bootstrap, topic, 1)
    tid = f"fence-{topic}"
    zombie = txn_producer(bootstrap, tid)
    zombie.begin_transaction()
    zombie.produce(topic, value=b"zombie")
    assert zombie.flush(TIMEOUT_S) == 0
    fresh = txn_producer(bootstrap, tid)  # aborts the zombie's open transaction
    with pytest.raises(KafkaException) as raised:
        zombie.commit_transaction(TIMEOUT_S)
    assert raised.value.args[0].fatal(), raised.value
    fresh.begin_transaction()
    fresh.produce(topic, value=b"fresh")
    fresh.commit_transaction(TIMEOUT_S)
    put_sentinels(bootstrap, topic, 1)
    assert read_to_sentinels(bootstrap, topic, 1, "read_committed") == [b"fresh"]


BODIES = {
    "consume-transform-produce": _consume_transform_produce,
    "aborted records": _aborted_records,
    "last stable offset": _last_stable_offset,
    "fencing": _fencing,
}


@pytest.mark.parametrize("case", list(BODIES))
def test_exactly_once_builtin(builtin_broker: RunningBroker, case: str) -> None:
    BODIES[case](builtin_broker.bootstrap)


@pytest.mark.realkafka
@pytest.mark.parametrize("case", list(BODIES))
def test_exactly_once_kafka(kafka_single: KafkaSingle, case: str) -> None:
    BODIES[case](kafka_single.bootstrap)
