"""The course notes' Kafka CLI walkthrough, run verbatim against the single node."""

from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka.admin import AdminClient

from tests.kafka.cli import KafkaCli
from tests.kafka.fixtures import KafkaSingle

pytestmark = pytest.mark.realkafka

TOPIC = "first_topic"


def _ok(proc: subprocess.CompletedProcess[str]) -> str:
    """stdout of a finished CLI run, failing the test with its stderr if it did not succeed."""
    assert proc.returncode == 0, f"{proc.args[-6:]} exited {proc.returncode}:\n{proc.stderr}"
    return proc.stdout


def test_course_cli_walkthrough(kafka_single: KafkaSingle, kafka_cli: KafkaCli) -> None:
    bs = ["--bootstrap-server", kafka_single.bootstrap]

    out = _ok(
        kafka_cli.run(
            "kafka-topics.sh",
            [*bs, "--topic", TOPIC, "--create", "--partitions", "1", "--replication-factor", "1"],
        )
    )
    assert f"Created topic {TOPIC}." in out

    assert TOPIC in _ok(kafka_cli.run("kafka-topics.sh", [*bs, "--list"])).split()

    described = _ok(kafka_cli.run("kafka-topics.sh", [*bs, "--describe"]))
    summary = next(line for line in described.splitlines() if line.startswith(f"Topic: {TOPIC}\t"))
    assert "PartitionCount: 1" in summary
    assert "ReplicationFactor: 1" in summary
    assert f"Topic: {TOPIC}\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1" in described

    # Null keys, only values ...
    _ok(kafka_cli.run("kafka-console-producer.sh", [*bs, "--topic", TOPIC], input="just a value\n"))
    # ... but you can produce keys.
    _ok(
        kafka_cli.run(
            "kafka-console-producer.sh",
            [
                *bs,
                "--topic",
                TOPIC,
                "--property",
                "parse.key=true",
                "--property",
                "key.separator=:",
            ],
            input="user1:hello\nuser2:world\n",
        )
    )

    consumed = _ok(
        kafka_cli.run(
            "kafka-console-consumer.sh",
            [
                *bs,
                "--topic",
                TOPIC,
                "--from-beginning",
                "--property",
                "print.key=true",
                "--max-messages",
                "3",
                "--timeout-ms",
                "60000",
            ],
            timeout=120,
        )
    )
    # Kafka 4.3 still accepts the notes' --property but prints a deprecation notice first.
    records = [line for line in consumed.splitlines() if not line.startswith("Option --property")]
    assert records == ["null\tjust a value", "user1\thello", "user2\tworld"]

    _ok(kafka_cli.run("kafka-topics.sh", [*bs, "--topic", TOPIC, "--delete"]))
    admin = AdminClient(kafka_single.client_config())
    deadline = time.monotonic() + 60
    while TOPIC in admin.list_topics(timeout=10).topics:
        assert time.monotonic() < deadline, f"{TOPIC} still listed 60s after --delete"
        time.sleep(0.2)
    assert TOPIC not in _ok(kafka_cli.run("kafka-topics.sh", [*bs, "--list"])).split()
