"""A partition leader refuses a transaction marker from a coordinator older than the last one
that wrote there (TRANSACTION_COORDINATOR_FENCED), so a replaced coordinator's late marker
cannot end a transaction the new one runs. The same body on the built-in broker and on real
Kafka 4.3.1 (raw WriteTxnMarkers, as a coordinator sends them)."""

from __future__ import annotations

import uuid

import pytest
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.kafka.fixtures import KafkaSingle

from .raw_txn import (
    add_partition,
    coordinator_address,
    end_txn,
    init_producer,
    produce,
    transactional_batch,
    write_marker,
)


def _fenced_coordinator_body(bootstrap: str) -> None:
    topic = f"fenced-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, 1)
    tid = f"fenced-{topic}"
    coordinator = coordinator_address(bootstrap, tid)
    producer = init_producer(coordinator, tid)
    add_partition(coordinator, tid, producer, topic, 0)
    target = (topic, 0)
    batch = transactional_batch(*producer, 0)
    assert produce(coordinator, tid, target, batch, version=9) == ErrorCode.none
    # the coordinator of a fresh single node has epoch 0: its marker is taken ...
    assert write_marker(coordinator, producer, target, coordinator_epoch=0) == ErrorCode.none
    # ... and then one from an older coordinator is refused
    later = transactional_batch(*producer, 2)
    assert produce(coordinator, tid, target, later, version=9) == ErrorCode.none
    assert (
        write_marker(coordinator, producer, target, coordinator_epoch=-1)
        == ErrorCode.transaction_coordinator_fenced
    )
    end_txn(coordinator, tid, producer, commit=False)  # the real coordinator closes it


def test_coordinator_fenced_builtin(builtin_broker: RunningBroker) -> None:
    _fenced_coordinator_body(builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_coordinator_fenced_kafka(kafka_single: KafkaSingle) -> None:
    _fenced_coordinator_body(kafka_single.bootstrap)
