"""Apache Kafka's CLI against consumer groups: console consumer --group, kafka-consumer-groups."""

from __future__ import annotations

import subprocess
import time

import pytest
from confluent_kafka import Producer

from tests.kafka.cli import KafkaCli

from .clients import TIMEOUT_S, Poller, create_topic, group_consumer, unique

pytestmark = pytest.mark.realkafka

PARTITIONS = 2
OLD_MS = 1_609_459_200_000  # 2021-01-01: the first 5 records of each partition
CUTOFF = "2022-01-01T00:00:00.000"


def ok(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 0, f"{proc.args[-8:]} exited {proc.returncode}:\n{proc.stderr}"
    return proc.stdout


def rows(output: str, first_column: str) -> list[dict[str, str]]:
    """Parse the whitespace-aligned table that starts with a header naming first_column."""
    lines = [line.split() for line in output.splitlines() if line.strip()]
    start = next(i for i, cols in enumerate(lines) if cols and cols[0] == first_column)
    header = lines[start]
    return [
        dict(zip(header, cols, strict=False))
        for cols in lines[start + 1 :]
        if len(cols) == len(header)
    ]


def test_kafka_cli_consumer_groups(bootstrap: str, kafka_cli: KafkaCli) -> None:
    topic, group, live = unique("cli"), unique("cg"), unique("live")
    create_topic(bootstrap, topic, PARTITIONS)
    producer = Producer({"bootstrap.servers": bootstrap})
    now_ms = int(time.time() * 1000)
    for i in range(20):
        ts = OLD_MS + i if i < 10 else now_ms
        producer.produce(topic, value=str(i).encode(), partition=i % PARTITIONS, timestamp=ts)
    assert producer.flush(TIMEOUT_S) == 0

    def groups(*args: str) -> str:
        return ok(kafka_cli.run("kafka-consumer-groups", ["--bootstrap-server", bootstrap, *args]))

    consumed = ok(
        kafka_cli.run(
            "kafka-console-consumer",
            [
                "--bootstrap-server",
                bootstrap,
                "--topic",
                topic,
                "--group",
                group,
                "--from-beginning",
                "--max-messages",
                "12",
                "--timeout-ms",
                "60000",
            ],
            timeout=120,
        )
    )
    assert len(consumed.split()) == 12
    assert group in groups("--list").split()

    described = rows(groups("--describe", "--group", group), "GROUP")
    assert sorted(r["PARTITION"] for r in described) == ["0", "1"]
    for r in described:
        assert r["LOG-END-OFFSET"] == "10"
        assert int(r["CURRENT-OFFSET"]) + int(r["LAG"]) == 10
        assert (r["CONSUMER-ID"], r["HOST"], r["CLIENT-ID"]) == ("-", "-", "-")
    assert 12 <= sum(int(r["CURRENT-OFFSET"]) for r in described) <= 20

    probe = group_consumer(bootstrap, live, **{"client.id": "probe"})
    try:
        probe.subscribe([topic])
        poller = Poller([probe])
        poller.until(lambda: len(poller.all_values()) >= 20, what="20 messages")
        probe.commit(asynchronous=False)
        active = rows(groups("--describe", "--group", live), "GROUP")
        assert len(active) == PARTITIONS
        for r in active:
            assert (r["CURRENT-OFFSET"], r["LOG-END-OFFSET"], r["LAG"]) == ("10", "10", "0")
            assert r["CONSUMER-ID"].startswith("probe-")
            assert (r["HOST"], r["CLIENT-ID"]) == ("/127.0.0.1", "probe")
        refused = groups("--delete-offsets", "--group", live, "--topic", topic)
        assert "GroupSubscribedToTopicException" in refused
    finally:
        probe.close()

    def reset(*how: str) -> dict[str, str]:
        out = groups("--reset-offsets", "--group", group, "--topic", topic, *how, "--execute")
        return {r["PARTITION"]: r["NEW-OFFSET"] for r in rows(out, "GROUP")}

    assert reset("--to-earliest") == {"0": "0", "1": "0"}
    assert reset("--shift-by", "3") == {"0": "3", "1": "3"}
    assert reset("--to-datetime", CUTOFF) == {"0": "5", "1": "5"}

    deleted = groups("--delete-offsets", "--group", group, "--topic", topic)
    assert [r["STATUS"] for r in rows(deleted, "TOPIC")] == ["Successful", "Successful"]
    assert "was successful" in groups("--delete", "--group", group)
    assert group not in groups("--list").split()
