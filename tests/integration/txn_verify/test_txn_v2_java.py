"""A real transactional client speaking transactions v2: Kafka 4.3.1's Java producer (through
kafka-producer-perf-test --transactional-id) takes the finalized transaction.version 2, so it
sends Produce v13 (v12 naming topics by id) without AddPartitionsToTxn and EndTxn v5, whose
epoch bump it goes on with. Every record it reports sent is read once by a read_committed
consumer, and the coordinator's
epoch shows one bump per committed transaction (under transactions v1 it stays at 0). The same
body against the built-in broker and Kafka 4.3.1."""

from __future__ import annotations

import uuid

import pytest

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.integration.transactions.txn_clients import put_sentinels, read_to_sentinels
from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaSingle

from .raw_txn import coordinator_address
from .raw_txn_v2 import wait_state

RECORDS = 3000
PARTITIONS = 2
CLI_TIMEOUT = 180


def java_tv2_body(cli: KafkaCli, bootstrap: str) -> None:
    topic = f"java-tv2-{uuid.uuid4().hex[:6]}"
    tid = f"perf-{topic}"
    create_topic(bootstrap, topic, PARTITIONS)
    done = cli.run(
        "kafka-producer-perf-test",
        [
            "--topic",
            topic,
            "--num-records",
            str(RECORDS),
            "--record-size",
            "100",
            "--throughput",
            "2000",
            "--transactional-id",
            tid,
            "--transaction-duration-ms",
            "100",
            "--command-property",
            f"bootstrap.servers={bootstrap}",
        ],
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert f"{RECORDS} records sent" in done.stdout, done.stdout

    # one epoch bump per committed transaction: the client spoke transactions v2
    _, _, epoch, _ = wait_state(coordinator_address(bootstrap, tid), tid, "CompleteCommit")
    assert epoch >= 2, f"epoch {epoch}: the producer did not use transactions v2"

    put_sentinels(bootstrap, topic, PARTITIONS)
    values = read_to_sentinels(bootstrap, topic, PARTITIONS, "read_committed")
    assert len(values) == RECORDS


def test_java_producer_uses_transactions_v2_builtin(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli
) -> None:
    java_tv2_body(kafka_cli, builtin_broker.bootstrap)


@pytest.mark.realkafka
def test_java_producer_uses_transactions_v2_kafka(
    kafka_single: KafkaSingle, kafka_cli: KafkaCli
) -> None:
    java_tv2_body(kafka_cli, kafka_single.bootstrap)
