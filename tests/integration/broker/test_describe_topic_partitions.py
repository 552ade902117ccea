"""DescribeTopicPartitions (API 75): sorted topics, partition paging with a cursor, kafka-topics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from kio.schema.describe_topic_partitions.v0 import request as dtp
from kio.schema.errors import ErrorCode

from tests.broker_fixtures import RunningBroker
from tests.integration.groups.wire import WireClient
from tests.kafka.cli import KafkaCli

from .clients import create_topic

CLI_TIMEOUT = 180


def describe(
    client: WireClient, names: list[str], limit: int = 2000, cursor: tuple[str, int] | None = None
) -> Any:
    return client.send(
        dtp.DescribeTopicPartitionsRequest(
            topics=tuple(dtp.TopicRequest(name=n) for n in names),
            response_partition_limit=limit,
            cursor=None
            if cursor is None
            else dtp.Cursor(topic_name=cursor[0], partition_index=cursor[1]),
        )
    )


def test_topics_sorted_with_unknown_ones_flagged(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "dtp-b", 2)
    create_topic(builtin_broker.bootstrap, "dtp-a", 1)
    client = WireClient(builtin_broker.bootstrap)
    try:
        response = describe(client, ["dtp-b", "nope", "dtp-a"])
        assert [(t.name, t.error_code) for t in response.topics] == [
            ("dtp-a", ErrorCode.none),
            ("dtp-b", ErrorCode.none),
            ("nope", ErrorCode.unknown_topic_or_partition),
        ]
        a, b, nope = response.topics
        assert nope.topic_id is None and nope.partitions == ()  # kio reads the zero UUID as None
        assert a.topic_id != uuid.UUID(int=0) and not a.is_internal
        assert [(p.partition_index, p.leader_id, p.isr_nodes) for p in b.partitions] == [
            (0, 1, (1,)),
            (1, 1, (1,)),
        ]
        assert response.next_cursor is None
        everything = describe(client, [])
        assert [t.name for t in everything.topics] == ["dtp-a", "dtp-b"]
    finally:
        client.close()


def test_partition_limit_pages_with_a_cursor(builtin_broker: RunningBroker) -> None:
    create_topic(builtin_broker.bootstrap, "page-a", 3)
    create_topic(builtin_broker.bootstrap, "page-b", 2)
    client = WireClient(builtin_broker.bootstrap)
    try:
        seen: list[tuple[str, int]] = []
        cursor: tuple[str, int] | None = None
        pages = 0
        while True:
            response = describe(client, ["page-a", "page-b"], limit=2, cursor=cursor)
            pages += 1
            seen.extend((t.name, p.partition_index) for t in response.topics for p in t.partitions)
            if response.next_cursor is None:
                break
            cursor = (response.next_cursor.topic_name, response.next_cursor.partition_index)
            assert pages < 10
        assert seen == [("page-a", 0), ("page-a", 1), ("page-a", 2), ("page-b", 0), ("page-b", 1)]
        assert pages == 3
    finally:
        client.close()


@pytest.mark.realkafka
def test_kafka_topics_describe_pages_through_the_partitions(
    builtin_broker: RunningBroker, kafka_cli: KafkaCli
) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "described", 5)
    done = kafka_cli.run(
        "kafka-topics.sh",
        [
            "--describe",
            "--topic",
            "described",
            "--bootstrap-server",
            bs,
            "--partition-size-limit-per-response",
            "2",
        ],
        timeout=CLI_TIMEOUT,
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "PartitionCount: 5" in done.stdout and "ReplicationFactor: 1" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if "Partition: " in line]
    assert [row[row.index("Partition:") + 1] for row in rows] == ["0", "1", "2", "3", "4"]
    assert all(row[row.index("Leader:") + 1] == "1" for row in rows)
