"""Offsets sent to a transaction (TxnOffsetCommit) survive a broker killed -9 before EndTxn:
after the restart the producer's commit stores them for the group with the transaction's
records, as Kafka's __consumer_offsets keeps them until the marker."""

from __future__ import annotations

from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from tests.integration.broker.broker_process import free_port
from tests.integration.broker.clients import create_topic, produce_all, producer
from tests.integration.transactions.txn_clients import (
    TIMEOUT_S,
    put_sentinels,
    read_to_sentinels,
    start_broker,
    txn_producer,
)

GROUP = "offsets-restart"


def _committed(bootstrap: str, topic: str) -> int:
    cons = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP})
    try:
        [tp] = cons.committed([TopicPartition(topic, 0)], timeout=TIMEOUT_S)
    finally:
        cons.close()
    return int(tp.offset)


def test_sent_offsets_survive_a_kill_before_end_txn(tmp_path: Path) -> None:
    port = free_port()
    data_dir = tmp_path / "broker"
    proc = start_broker(data_dir, port, {})
    bootstrap = f"127.0.0.1:{port}"
    try:
        create_topic(bootstrap, "in", 1)
        create_topic(bootstrap, "out", 1)
        produce_all(producer(bootstrap), "in", [{"value": b"in-%d" % i} for i in range(3)])
        reader = Consumer({"bootstrap.servers": bootstrap, "group.id": GROUP})
        reader.assign([TopicPartition("in", 0, 0)])
        prod = txn_producer(bootstrap, "offsets-restart", **{"transaction.timeout.ms": 60_000})
        prod.begin_transaction()
        prod.produce("out", value=b"out-0")
        prod.send_offsets_to_transaction(
            [TopicPartition("in", 0, 3)], reader.consumer_group_metadata(), TIMEOUT_S
        )
        assert prod.flush(TIMEOUT_S) == 0
        reader.close()
        proc.kill()
        proc.wait(TIMEOUT_S)
        proc = start_broker(data_dir, port, {})
        prod.commit_transaction(TIMEOUT_S)
        assert _committed(bootstrap, "in") == 3
        put_sentinels(bootstrap, "out", 1)
        assert read_to_sentinels(bootstrap, "out", 1, "read_committed") == [b"out-0"]
    finally:
        proc.kill()
        proc.wait(TIMEOUT_S)
