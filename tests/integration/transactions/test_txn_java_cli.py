"""kafka-transactions list / describe / describe-producers and kafka-console-consumer
--isolation-level read_committed: the same body against the built-in broker and Kafka 4.3.1."""

from __future__ import annotations

import uuid

import pytest

from tests.broker_fixtures import RunningBroker
from tests.integration.broker.clients import create_topic
from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaSingle

from .txn_clients import SENTINEL, TIMEOUT_S, put_sentinels, txn_producer

pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180


def _ok(cli: KafkaCli, name: str, args: list[str]) -> str:
    done = cli.run(name, args, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _rows(output: str) -> list[dict[str, str]]:
    """The tool's table (a header line of column names, then rows) as dicts."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    header = lines[0]
    return [dict(zip(header, row, strict=False)) for row in lines[1:]]


def _cli_body(cli: KafkaCli, bootstrap: str) -> None:
    topic = f"cli-txn-{uuid.uuid4().hex[:6]}"
    tid = f"cli-{topic}"
    create_topic(bootstrap, topic, 1)
    prod = txn_producer(bootstrap, tid)
    prod.begin_transaction()
    prod.produce(topic, value=b"committed")
    prod.commit_transaction(TIMEOUT_S)  # offsets 0 and its marker 1
    prod.begin_transaction()
    prod.produce(topic, value=b"aborted")
    assert prod.flush(TIMEOUT_S) == 0
    prod.abort_transaction(TIMEOUT_S)  # offsets 2 and 3
    prod.begin_transaction()
    prod.produce(topic, value=b"open")
    assert prod.flush(TIMEOUT_S) == 0  # offset 4, transaction left open

    listed = _rows(_ok(cli, "kafka-transactions", ["--bootstrap-server", bootstrap, "list"]))
    mine = [row for row in listed if row.get("TransactionalId") == tid]
    assert [row["TransactionState"] for row in mine] == ["Ongoing"], listed

    described = _rows(
        _ok(
            cli,
            "kafka-transactions",
            ["--bootstrap-server", bootstrap, "describe", "--transactional-id", tid],
        )
    )
    assert described[0]["TransactionalId"] == tid
    assert described[0]["TransactionState"] == "Ongoing"
    assert described[0]["TopicPartitions"] == f"{topic}-0"
    producer_id = described[0]["ProducerId"]

    producers = _rows(
        _ok(
            cli,
            "kafka-transactions",
            [
                "--bootstrap-server",
                bootstrap,
                "describe-producers",
                "--topic",
                topic,
                "--partition",
                "0",
            ],
        )
    )
    assert [(p["ProducerId"], p["CurrentTransactionStartOffset"]) for p in producers] == [
        (producer_id, "4")
    ]

    prod.commit_transaction(TIMEOUT_S)
    put_sentinels(bootstrap, topic, 1)
    out = _ok(
        cli,
        "kafka-console-consumer",
        [
            "--bootstrap-server",
            bootstrap,
            "--topic",
            topic,
            "--from-beginning",
            "--isolation-level",
            "read_committed",
            "--max-messages",
            "3",
            "--timeout-ms",
            "60000",
        ],
    )
    assert out.split() == ["committed", "open", SENTINEL.decode()]


def test_transactions_cli_builtin(builtin_broker: RunningBroker, kafka_cli: KafkaCli) -> None:
    _cli_body(kafka_cli, builtin_broker.bootstrap)


def test_transactions_cli_kafka(kafka_single: KafkaSingle, kafka_cli: KafkaCli) -> None:
    _cli_body(kafka_cli, kafka_single.bootstrap)
