"""Periodic fsync (log.flush.interval.ms) and retention run off the event loop; stop is clean."""

from __future__ import annotations

import logging
import time

import pytest
from kio.schema.describe_configs.v4 import request as dc4

from embedded_broker.config import BrokerConfig, ConfigError
from tests.broker_fixtures import BrokerFactory, RunningBroker
from tests.integration.groups.wire import WireClient

from .clients import TIMEOUT_S, consume, create_topic, produce_all, producer

FLUSH_LOGGER = "embedded_broker.flusher"


def _flushes(caplog: pytest.LogCaptureFixture) -> int:
    records = caplog.records
    return sum(
        1 for r in records if r.name == FLUSH_LOGGER and r.getMessage().startswith("Flushed")
    )


def _wait_for_flushes(caplog: pytest.LogCaptureFixture, count: int) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while _flushes(caplog) < count:
        assert time.monotonic() < deadline, f"fewer than {count} flushes in {TIMEOUT_S} s"
        time.sleep(0.02)


def test_partitions_are_flushed_periodically_while_serving(
    builtin_broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=FLUSH_LOGGER)
    broker = builtin_broker_factory({"log.flush.interval.ms": "20"})
    create_topic(broker.bootstrap, "flushed", 3)
    prod = producer(broker.bootstrap, acks="all")
    for round_ in range(3):
        before = _flushes(caplog)
        items = [{"value": b"r%d-%d" % (round_, i), "partition": i % 3} for i in range(50)]
        produce_all(prod, "flushed", items)
        _wait_for_flushes(caplog, before + 2)
    broker.restart()  # stop waits for a flush in progress, then closes every log
    assert len(consume(broker.bootstrap, "flushed", 150, partitions=[0, 1, 2])) == 150
    # the broker's own records: earlier tests' app threads may still log in this process
    problems = [
        r for r in caplog.records if r.levelno >= logging.ERROR and r.name.startswith("embedded_")
    ]
    assert not problems, [r.getMessage() for r in problems]


def test_in_memory_broker_does_not_flush(
    builtin_broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger=FLUSH_LOGGER)
    broker = builtin_broker_factory({"log.flush.interval.ms": "1"}, in_memory=True)
    create_topic(broker.bootstrap, "nothing-to-sync")
    broker.stop()
    assert _flushes(caplog) == 0


def test_flush_interval_is_validated() -> None:
    assert BrokerConfig().get_int("log.flush.interval.ms") == 60_000
    with pytest.raises(ConfigError, match=r"log\.flush\.interval\.ms"):
        BrokerConfig({"log.flush.interval.ms": "0"})


def test_describe_configs_documents_the_settings_we_chose(builtin_broker: RunningBroker) -> None:
    client = WireClient(builtin_broker.bootstrap)
    try:
        names = ("log.flush.interval.ms", "max.connections")
        response = client.send(
            dc4.DescribeConfigsRequest(
                resources=(
                    dc4.DescribeConfigsResource(
                        resource_type=4, resource_name="1", configuration_keys=names
                    ),
                ),
                include_synonyms=False,
                include_documentation=True,
            )
        )
    finally:
        client.close()
    ((result,),) = [response.results]
    found = {c.name: (c.value, c.documentation) for c in result.configs}
    assert found["log.flush.interval.ms"][0] == "60000"
    assert "power loss" in str(found["log.flush.interval.ms"][1])
    assert found["max.connections"][0] == "1000"
    assert "unbounded" in str(found["max.connections"][1])
