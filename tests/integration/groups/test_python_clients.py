"""kafka-python and aiokafka group consumers: join, share partitions, commit, resume."""

from __future__ import annotations

import asyncio
import threading
import time

from aiokafka import AIOKafkaConsumer
from confluent_kafka import ConsumerGroupTopicPartitions
from confluent_kafka.admin import AdminClient
from kafka import KafkaConsumer

from .clients import SESSION_MS, TIMEOUT_S, create_topic, produce, unique, wait_for

PARTITIONS = 4


def test_kafka_python_group_consumers(bootstrap: str) -> None:
    topic, group = unique("kp"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 40, PARTITIONS)
    stop = threading.Event()
    values: list[bytes] = []
    sizes = [0, 0]
    failures: list[BaseException] = []

    def run(index: int) -> None:
        # One thread per consumer: a kafka-python poll may block in JoinGroup until every
        # member has rejoined, so the members must poll independently. A long poll timeout
        # keeps a join from straddling two polls: kafka-python 3.0 can then fail to re-enable
        # its heartbeat and the member is expelled after session.timeout.ms (on Kafka too).
        c = KafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            session_timeout_ms=SESSION_MS,
            heartbeat_interval_ms=500,
        )
        try:
            while not stop.is_set():
                for records in c.poll(timeout_ms=1000).values():
                    values.extend(r.value for r in records)
                sizes[index] = len(c.assignment())
                if sizes == [2, 2] and len(set(values)) >= 40:
                    c.commit()
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)
        finally:
            c.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    try:
        wait_for(
            lambda: failures != [] or (sizes == [2, 2] and len(set(values)) >= 40),
            what="two kafka-python consumers with 2 partitions each and 40 messages",
        )
        # Let each member commit under the stable assignment before leaving.
        wait_for(
            lambda: committed_total(bootstrap, group, topic) == 40 or failures != [],
            what="commits of both members",
        )
    finally:
        stop.set()
        for t in threads:
            t.join(TIMEOUT_S)
    assert not failures, failures
    # Partitions may move once while the group forms, so a message can repeat.
    assert sorted({int(v) for v in values}) == list(range(40))

    # A new member of the group resumes after the commits.
    produce(bootstrap, topic, 4, PARTITIONS, start=40)
    late = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=SESSION_MS,
    )
    try:
        got: list[bytes] = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(got) < 4 and time.monotonic() < deadline:
            for records in late.poll(timeout_ms=1000).values():
                got.extend(r.value for r in records)
        assert sorted(int(v) for v in got) == [40, 41, 42, 43]
    finally:
        late.close()


def committed_total(bootstrap: str, group: str, topic: str) -> int:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    request = [ConsumerGroupTopicPartitions(group)]
    result = admin.list_consumer_group_offsets(request)[group].result(timeout=TIMEOUT_S)
    return sum(tp.offset for tp in result.topic_partitions if tp.topic == topic and tp.offset > 0)


def test_aiokafka_group_consumers(bootstrap: str) -> None:
    topic, group = unique("aio"), unique("g")
    create_topic(bootstrap, topic, PARTITIONS)
    produce(bootstrap, topic, 40, PARTITIONS)

    async def run() -> tuple[list[int], list[int]]:
        consumers = [
            AIOKafkaConsumer(
                topic,
                bootstrap_servers=bootstrap,
                group_id=group,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                session_timeout_ms=SESSION_MS,
                heartbeat_interval_ms=500,
            )
            for _ in range(2)
        ]
        for c in consumers:
            await c.start()
        try:
            values: list[bytes] = []
            deadline = time.monotonic() + TIMEOUT_S
            while time.monotonic() < deadline:
                for c in consumers:
                    batches = await c.getmany(timeout_ms=100)
                    for records in batches.values():
                        values.extend(r.value for r in records if r.value is not None)
                sizes = [len(c.assignment()) for c in consumers]
                if sizes == [2, 2] and len(set(values)) >= 40:
                    break
            for c in consumers:
                await c.commit()
            return [len(c.assignment()) for c in consumers], sorted({int(v) for v in values})
        finally:
            for c in consumers:
                await c.stop()

    sizes, values = asyncio.run(run())
    assert sizes == [2, 2]
    assert values == list(range(40))
