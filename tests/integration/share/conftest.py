"""Fixtures of the share group tests: a topic with records, one batch per record."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest
from confluent_kafka import Producer
from kio.schema.metadata.v13.request import MetadataRequest, MetadataRequestTopic
from kio.schema.types import TopicName

from tests.integration.groups.clients import create_topic
from tests.integration.groups.wire import WireClient

DEADLINE_S = 30
# the smallest lock Kafka allows, so tests see locks expire quickly
LOCK_MS = 1000

TopicMaker = Callable[..., tuple[str, uuid.UUID]]


def produce(bootstrap: str, topic: str, count: int, partition: int = 0) -> None:
    """``count`` records, each in a batch of its own (so max_records counts records)."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for n in range(count):
        producer.produce(topic, value=b"v%d" % n, partition=partition)
        assert producer.flush(DEADLINE_S) == 0


def topic_id(bootstrap: str, name: str) -> uuid.UUID:
    client = WireClient(bootstrap)
    try:
        response = client.send(
            MetadataRequest(
                topics=(MetadataRequestTopic(topic_id=None, name=TopicName(name)),),
                allow_auto_topic_creation=False,
                include_topic_authorized_operations=False,
            )
        )
    finally:
        client.close()
    found = response.topics[0].topic_id
    assert isinstance(found, uuid.UUID)
    return found


@pytest.fixture
def make_topic() -> TopicMaker:
    def make(bootstrap: str, partitions: int = 1) -> tuple[str, uuid.UUID]:
        name = f"share-{uuid.uuid4().hex[:8]}"
        create_topic(bootstrap, name, partitions)
        return name, topic_id(bootstrap, name)

    return make
