"""Fixtures for the consumer group tests: the built-in broker, and the same scenarios on Kafka."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.broker_fixtures import RunningBroker, builtin_broker, builtin_broker_factory
from tests.integration.broker.broker_process import LoggedBrokerProcess

__all__ = ["builtin_broker", "builtin_broker_factory"]

BUILTIN = "builtin"
KAFKA = "kafka"

# Key scenarios run on both; the real Kafka run proves the expectations are Kafka's.
BOTH = [BUILTIN, pytest.param(KAFKA, marks=pytest.mark.realkafka)]


@pytest.fixture(params=BOTH)
def bootstrap(request: pytest.FixtureRequest) -> str:
    """The bootstrap address of a fresh built-in broker, or of the shared real Kafka node."""
    if request.param == KAFKA:
        return str(request.getfixturevalue("kafka_single").bootstrap)
    broker: RunningBroker = request.getfixturevalue("builtin_broker")
    return broker.bootstrap


@pytest.fixture
def brokers() -> Iterator[list[LoggedBrokerProcess]]:
    """The broker processes a test starts (it appends them), killed after it."""
    started: list[LoggedBrokerProcess] = []
    yield started
    for broker in started:
        broker.stop()
