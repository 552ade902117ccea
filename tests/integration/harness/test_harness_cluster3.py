"""The 3-broker cluster: RF 3 topics, produce/consume, and ISR shrinking/growing with brokers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.kafka.fixtures import KafkaCluster3

pytestmark = pytest.mark.realkafka

PARTITIONS = 3
WAIT = 120.0
V = TypeVar("V")


def _isr_by_partition(admin: AdminClient, topic: str) -> dict[int, set[int]]:
    md = admin.list_topics(topic=topic, timeout=10)
    t = md.topics[topic]
    if t.error is not None:
        return {}
    return {p.id: set(p.isrs) for p in t.partitions.values()}


def _replicas_by_partition(admin: AdminClient, topic: str) -> dict[int, list[int]]:
    t = admin.list_topics(topic=topic, timeout=10).topics[topic]
    return {} if t.error is not None else {p.id: sorted(p.replicas) for p in t.partitions.values()}


def _wait_for(
    description: str,
    probe: Callable[[], dict[int, V]],
    ok: Callable[[dict[int, V]], bool],
) -> dict[int, V]:
    """Poll probe() until ok(value) holds; fail with the last value seen."""
    deadline = time.monotonic() + WAIT
    last: dict[int, Any] = {}
    while time.monotonic() < deadline:
        try:
            last = probe()
        except Exception as exc:  # a broker going away can fail one metadata call
            last = {-1: {-1}}
            print(f"probe failed: {exc}")
        if ok(last):
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out after {WAIT:.0f}s waiting for {description}; last ISR: {last}")


def _create_rf3_topic(admin: AdminClient) -> str:
    topic = f"harness-rf3-{uuid.uuid4().hex[:8]}"
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=PARTITIONS, replication_factor=3)]
    )
    futures[topic].result(timeout=60)
    return topic


def test_rf3_topic_produce_consume_and_isr_of_three(kafka_cluster3: KafkaCluster3) -> None:
    admin = AdminClient(kafka_cluster3.client_config())
    topic = _create_rf3_topic(admin)

    # Describe (metadata may reach the broker we ask a moment after the create returns).
    isr = _wait_for(
        "an ISR of 3 on every partition",
        lambda: _isr_by_partition(admin, topic),
        lambda isr: len(isr) == PARTITIONS and all(s == {1, 2, 3} for s in isr.values()),
    )
    assert all(len(members) == 3 for members in isr.values())
    # asked again, maybe of another broker, which may not know the topic yet
    _wait_for(
        "every partition on brokers 1, 2 and 3",
        lambda: _replicas_by_partition(admin, topic),
        lambda replicas: (
            len(replicas) == PARTITIONS and all(r == [1, 2, 3] for r in replicas.values())
        ),
    )

    producer = Producer({**kafka_cluster3.client_config(), "acks": "all"})
    sent = {f"key-{i}": f"value-{i}" for i in range(30)}
    for key, value in sent.items():
        producer.produce(topic, key=key, value=value)
    assert producer.flush(60) == 0

    consumer = Consumer(
        {
            **kafka_cluster3.client_config(),
            "group.id": f"harness-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    received: dict[str, str] = {}
    deadline = time.monotonic() + WAIT
    try:
        while len(received) < len(sent) and time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            k, v = msg.key(), msg.value()
            assert isinstance(k, bytes) and isinstance(v, bytes)
            received[k.decode()] = v.decode()
    finally:
        consumer.close()
    assert received == sent


@pytest.mark.parametrize("how", ["stop", "kill"])
def test_isr_shrinks_when_a_broker_goes_and_grows_when_it_returns(
    kafka_cluster3: KafkaCluster3, how: str
) -> None:
    admin = AdminClient(kafka_cluster3.client_config())
    topic = _create_rf3_topic(admin)
    probe = lambda: _isr_by_partition(admin, topic)  # noqa: E731
    _wait_for(
        "an ISR of 3 on every partition",
        probe,
        lambda isr: len(isr) == PARTITIONS and all(s == {1, 2, 3} for s in isr.values()),
    )
    # Writes keep the followers fetching, as in a live cluster.
    producer = Producer({**kafka_cluster3.client_config(), "acks": "all"})
    for i in range(10):
        producer.produce(topic, value=f"before-{i}")
    assert producer.flush(60) == 0

    victim = 2
    if how == "stop":
        kafka_cluster3.stop(victim)
    else:
        kafka_cluster3.kill(victim)

    # Every partition was hosted on the victim (RF 3 on 3 brokers): all drop to an ISR of 2.
    shrunk = _wait_for(
        f"broker {victim} to leave every ISR",
        probe,
        lambda isr: len(isr) == PARTITIONS and all(s == {1, 3} for s in isr.values()),
    )
    assert all(len(s) == 2 for s in shrunk.values())

    for i in range(10):
        producer.produce(topic, value=f"while-down-{i}")
    assert producer.flush(60) == 0

    kafka_cluster3.start(victim)
    _wait_for(
        f"broker {victim} to rejoin every ISR",
        probe,
        lambda isr: len(isr) == PARTITIONS and all(s == {1, 2, 3} for s in isr.values()),
    )
