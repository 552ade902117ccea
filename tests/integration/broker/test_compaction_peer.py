"""The same keyed input on a compacted topic of the built-in broker and of real Apache Kafka:
after each broker's cleaner has run, reading from the beginning gives the identical key → value
map, one record per key outside the active segment, every record at its produced offset."""

from __future__ import annotations

import time
from typing import Any

import pytest
from confluent_kafka.admin import AlterConfigOpType, ConfigEntry, ConfigResource, ResourceType

from tests.broker_fixtures import BrokerFactory

from .clients import TIMEOUT_S, admin, create_topic, produce_all, producer
from .test_compaction import CODECS, keyed_input, latest_by_key, read_from_start

SEGMENT_MS = 200
TOPIC_CONFIG = {
    "cleanup.policy": "compact",
    "segment.ms": str(SEGMENT_MS),  # Kafka 4 refuses segments under 1 MiB: roll by time
    "min.cleanable.dirty.ratio": "0.01",
}
WAIT_S = 90.0  # Kafka's cleaner runs on its own schedule (its backoff is lowered below)


def _bootstrap(request: pytest.FixtureRequest, which: str) -> str:
    if which == "kafka":
        bootstrap = str(request.getfixturevalue("kafka_single").bootstrap)
        # the cleaner looks for work every 15 s by default; the setting is dynamic in Kafka
        client = admin(bootstrap)
        entry = ConfigEntry(
            "log.cleaner.backoff.ms", "200", incremental_operation=AlterConfigOpType.SET
        )
        resource = ConfigResource(ResourceType.BROKER, "1", incremental_configs=[entry])
        for fut in client.incremental_alter_configs([resource]).values():
            fut.result(timeout=TIMEOUT_S)
        return bootstrap
    factory: BrokerFactory = request.getfixturevalue("builtin_broker_factory")
    broker = factory({"log.cleaner.backoff.ms": "50", "log.retention.check.interval.ms": "100"})
    return broker.bootstrap


@pytest.mark.parametrize("which", ["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)])
def test_compacted_topic_gives_the_same_map_on_both_brokers(
    request: pytest.FixtureRequest, which: str
) -> None:
    bs = _bootstrap(request, which)
    topic = f"compacted-{which}-{int(time.time() * 1000)}"
    create_topic(bs, topic, config=TOPIC_CONFIG)
    items = keyed_input(42, 2500, 80, tombstones=0.05)
    produced: dict[int, Any] = {}
    chunk = len(items) // len(CODECS) + 1
    for n, codec in enumerate(CODECS):  # one segment per codec: each chunk outlives segment.ms
        prod = producer(bs, **{"compression.type": codec, "linger.ms": 2})
        for msg in produce_all(prod, topic, items[n * chunk : (n + 1) * chunk]):
            produced[msg.offset()] = (msg.key(), msg.value())
        time.sleep(SEGMENT_MS * 1.5 / 1000)
    # one more record rolls the last chunk's segment on Kafka (it rolls only on an append)
    trigger = produce_all(producer(bs), topic, [{"key": b"roll", "value": b"x", "partition": 0}])
    produced[trigger[0].offset()] = (b"roll", b"x")
    expected = latest_by_key((o, k, v) for o, (k, v) in sorted(produced.items()))
    assert expected == EXPECTED_MAP  # the input is fixed: both brokers must end here

    deadline = time.monotonic() + WAIT_S
    entries = read_from_start(bs, topic)
    while len(entries) > len(expected) and time.monotonic() < deadline:
        time.sleep(0.5)
        entries = read_from_start(bs, topic)
    assert len(entries) == len(expected), f"{which} did not compact within {WAIT_S} s"
    assert latest_by_key(entries) == EXPECTED_MAP
    for offset, key, value in entries:
        assert produced[offset] == (key, value)


def _expected_map() -> dict[bytes, bytes | None]:
    result = latest_by_key(
        (i, it["key"], it["value"]) for i, it in enumerate(keyed_input(42, 2500, 80, 0.05))
    )
    result[b"roll"] = b"x"
    return result


EXPECTED_MAP = _expected_map()
