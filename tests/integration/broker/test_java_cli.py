"""The Apache Kafka 4.3.1 command-line tools against the built-in broker (through the harness)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from embedded_broker.txn.version import tv2_enabled
from tests.broker_fixtures import RunningBroker
from tests.kafka.cli import KafkaCli

from .clients import admin

pytestmark = pytest.mark.realkafka

CLI_TIMEOUT = 180


def _ok(cli: KafkaCli, name: str, args: list[str], stdin: str | None = None) -> str:
    done = cli.run(name, args, input=stdin, timeout=CLI_TIMEOUT)
    assert done.returncode == 0, f"{name} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_quickstart_walkthrough(builtin_broker: RunningBroker, kafka_cli: KafkaCli) -> None:
    bs = builtin_broker.bootstrap
    out = _ok(
        kafka_cli,
        "kafka-topics.sh",
        ["--create", "--topic", "quickstart-events", "--bootstrap-server", bs, "--partitions", "3"],
    )
    assert "Created topic quickstart-events." in out
    out = _ok(kafka_cli, "kafka-topics.sh", ["--list", "--bootstrap-server", bs])
    assert "quickstart-events" in out.split()
    out = _ok(
        kafka_cli,
        "kafka-topics.sh",
        ["--describe", "--topic", "quickstart-events", "--bootstrap-server", bs],
    )
    assert "PartitionCount: 3" in out and "ReplicationFactor: 1" in out
    _ok(
        kafka_cli,
        "kafka-console-producer.sh",
        [
            "--topic",
            "quickstart-events",
            "--bootstrap-server",
            bs,
            "--reader-property",
            "parse.key=true",
            "--reader-property",
            "key.separator=:",
        ],
        stdin="user1:This is my first event\nuser1:This is my second event\n",
    )
    out = _ok(
        kafka_cli,
        "kafka-console-consumer.sh",
        [
            "--topic",
            "quickstart-events",
            "--from-beginning",
            "--bootstrap-server",
            bs,
            "--formatter-property",
            "print.key=true",
            "--max-messages",
            "2",
            "--timeout-ms",
            "60000",
        ],
    )
    assert out.splitlines() == [
        "user1\tThis is my first event",
        "user1\tThis is my second event",
    ]
    done = kafka_cli.run(
        "kafka-topics.sh",
        ["--create", "--topic", "bad", "--bootstrap-server", bs, "--replication-factor", "3"],
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode != 0
    assert "replication factor" in (done.stdout + done.stderr).lower()


def test_kafka_configs_describe_and_alter(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli
) -> None:
    bs = builtin_broker.bootstrap
    _ok(kafka_cli, "kafka-topics", ["--create", "--topic", "cfg", "--bootstrap-server", bs])
    _ok(
        kafka_cli,
        "kafka-configs",
        [
            "--bootstrap-server",
            bs,
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "cfg",
            "--add-config",
            "retention.ms=3600000,max.message.bytes=2000000",
        ],
    )
    out = _ok(
        kafka_cli,
        "kafka-configs",
        ["--bootstrap-server", bs, "--describe", "--entity-type", "topics", "--entity-name", "cfg"],
    )
    assert "retention.ms=3600000" in out
    assert "max.message.bytes=2000000" in out
    _ok(
        kafka_cli,
        "kafka-configs",
        [
            "--bootstrap-server",
            bs,
            "--alter",
            "--entity-type",
            "topics",
            "--entity-name",
            "cfg",
            "--delete-config",
            "retention.ms",
        ],
    )
    out = _ok(
        kafka_cli,
        "kafka-configs",
        [
            "--bootstrap-server",
            bs,
            "--describe",
            "--all",
            "--entity-type",
            "topics",
            "--entity-name",
            "cfg",
        ],
    )
    assert "retention.ms=604800000" in out
    node_id = admin(bs).list_topics(timeout=60).controller_id
    out = _ok(
        kafka_cli,
        "kafka-configs",
        [
            "--bootstrap-server",
            bs,
            "--describe",
            "--all",
            "--entity-type",
            "brokers",
            "--entity-name",
            str(node_id),
        ],
    )
    assert "log.retention.hours=168" in out


def test_producer_perf_test(builtin_broker: RunningBroker, kafka_cli: KafkaCli) -> None:
    bs = builtin_broker.bootstrap
    _ok(kafka_cli, "kafka-topics", ["--create", "--topic", "perf", "--bootstrap-server", bs])
    out = _ok(
        kafka_cli,
        "kafka-producer-perf-test",
        [
            "--topic",
            "perf",
            "--num-records",
            "20000",
            "--record-size",
            "1024",
            "--throughput",
            "-1",
            "--producer-props",
            f"bootstrap.servers={bs}",
            "acks=1",
        ],
    )
    assert "20000 records sent" in out


def test_get_offsets_delete_records_and_api_versions(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli, tmp_path: Path
) -> None:
    bs = builtin_broker.bootstrap
    _ok(
        kafka_cli,
        "kafka-topics",
        ["--create", "--topic", "go", "--partitions", "2", "--bootstrap-server", bs],
    )
    _ok(
        kafka_cli,
        "kafka-console-producer",
        ["--topic", "go", "--bootstrap-server", bs],
        stdin="".join(f"line {i}\n" for i in range(7)),
    )
    latest = _ok(kafka_cli, "kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "go"])
    ends = dict(line.rsplit(":", 1) for line in latest.split())
    assert sum(int(v) for v in ends.values()) == 7
    full = max(ends, key=lambda k: int(ends[k]))
    partition = int(full.split(":")[1])
    spec = tmp_path / "delete.json"
    spec.write_text(
        json.dumps(
            {"version": 1, "partitions": [{"topic": "go", "partition": partition, "offset": 1}]}
        )
    )
    out = _ok(
        kafka_cli,
        "kafka-delete-records",
        ["--bootstrap-server", bs, "--offset-json-file", str(spec)],
    )
    assert f"partition: go-{partition}\tlow_watermark: 1" in out
    earliest = _ok(
        kafka_cli, "kafka-get-offsets", ["--bootstrap-server", bs, "--topic", "go", "--time", "-2"]
    )
    assert f"go:{partition}:1" in earliest.split()
    versions = _ok(kafka_cli, "kafka-broker-api-versions", ["--bootstrap-server", bs])
    # v12 is transactions v2 (txn/version.py), v13 topic ids (KIP-516): Kafka 4.3.1's range
    produce_max = 13 if tv2_enabled() else 11
    assert f"Produce(0): 3 to {produce_max} [usable: {produce_max}]" in versions
    assert "Fetch(1): 4 to 18 [usable: 18]" in versions  # Kafka 4.3.1's range
    assert "ApiVersions(18): 0 to 4 [usable: 4]" in versions
    assert "SaslHandshake(17): 0 to 1 [usable: 1]" in versions
    assert "ShareFetch(78): 1 to 2 [usable: 2]" in versions  # share groups, KIP-932
    assert "StreamsGroupHeartbeat(88): UNSUPPORTED" in versions  # one it does not serve yet
