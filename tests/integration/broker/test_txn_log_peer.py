"""The __transaction_state codec reads what real Kafka 4.3.1 writes: a confluent-kafka
transaction on the harness node, then every record of __transaction_state decoded."""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from embedded_broker.coordinator.txn_log import decode_key, decode_value
from embedded_broker.coordinator.txn_state import TxnState
from embedded_broker.protocol.control_batch import MarkerType, build_marker, parse_marker
from embedded_broker.protocol.record_batch import iter_batches
from tests.kafka.fixtures import KafkaSingle

from .clients import TIMEOUT_S, create_topic

pytestmark = pytest.mark.realkafka
STATE_PARTITIONS = 5  # transaction.state.log.num.partitions of the harness


def test_kafka_transaction_records_decode(kafka_single: KafkaSingle) -> None:
    bootstrap = kafka_single.bootstrap
    topic = f"txn-golden-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic, partitions=2)
    txn_id = f"golden-{uuid.uuid4().hex[:8]}"
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": txn_id,
            "transaction.timeout.ms": 45000,
        }
    )
    producer.init_transactions(TIMEOUT_S)
    producer.begin_transaction()
    producer.produce(topic, b"v", b"k", partition=1)
    producer.commit_transaction(TIMEOUT_S)

    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "golden-reader", "enable.auto.commit": False}
    )
    try:
        consumer.assign(
            [TopicPartition("__transaction_state", p, 0) for p in range(STATE_PARTITIONS)]
        )
        ours = []
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error():
                if ours and ours[-1].state is TxnState.COMPLETE_COMMIT:
                    break
                continue
            if decode_key(msg.key()) == txn_id:
                value = decode_value(msg.value())
                assert value is not None
                ours.append(value)
    finally:
        consumer.close()
    states = [value.state for value in ours]
    assert states[0] is TxnState.EMPTY and states[-1] is TxnState.COMPLETE_COMMIT
    assert TxnState.ONGOING in states and TxnState.PREPARE_COMMIT in states
    ongoing = next(v for v in ours if v.state is TxnState.ONGOING)
    assert ongoing.partitions == {topic: [1]}
    assert ongoing.timeout_ms == 45000
    assert {v.producer_id for v in ours} == {ours[0].producer_id}
    assert ours[0].partitions == {}
    # the COMMIT marker Kafka wrote in the data partition is byte for byte what build_marker
    # makes from the same fields
    segment = kafka_single.cluster.brokers[0].data_dir / f"{topic}-1" / f"{0:020d}.log"
    data = segment.read_bytes()
    control = [h for h in iter_batches(data) if h.is_control]
    assert len(control) == 1
    header = control[0]
    written = data[header.position : header.end]
    marker = parse_marker(written)
    assert marker.kind is MarkerType.COMMIT and marker.producer_id == ours[-1].producer_id
    ours_bytes = build_marker(marker, header.max_timestamp, header.partition_leader_epoch)
    assert ours_bytes[8:] == written[8:]  # all but baseOffset, which the log assigns
