"""kcat, kafka-python and aiokafka against the built-in broker (explicit partition assignment)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess

import pytest

from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, consume, create_topic, produce_all, producer

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
# CI installs kcat, so a missing kcat fails there instead of skipping.
needs_kcat = pytest.mark.skipif(
    KCAT is None and os.environ.get("CI") != "true", reason="kcat is not installed"
)


def _kcat(args: list[str], stdin: str | None = None) -> str:
    assert KCAT is not None
    done = subprocess.run(
        [KCAT, *args], input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@needs_kcat
def test_kcat_metadata_produce_consume(builtin_broker: RunningBroker) -> None:
    bs = builtin_broker.bootstrap
    create_topic(bs, "kcat-topic", partitions=2)
    listing = _kcat(["-b", bs, "-L"])
    assert 'topic "kcat-topic" with 2 partitions' in listing
    assert "1 brokers:" in listing
    _kcat(["-b", bs, "-P", "-t", "kcat-topic", "-p", "1", "-K", ":"], stdin="k1:one\nk2:two\n")
    out = _kcat(
        ["-b", bs, "-C", "-t", "kcat-topic", "-p", "1", "-o", "beginning", "-e", "-f", "%k=%s\\n"]
    )
    assert out.splitlines() == ["k1=one", "k2=two"]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_kafka_python_produce_and_consume(builtin_broker: RunningBroker) -> None:
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    bs = builtin_broker.bootstrap
    create_topic(bs, "kp-topic", partitions=2)
    prod = KafkaProducer(bootstrap_servers=bs, acks="all", compression_type="gzip")
    try:
        futures = [
            prod.send("kp-topic", key=f"k{i}".encode(), value=f"v{i}".encode(), partition=i % 2)
            for i in range(20)
        ]
        prod.flush(timeout=TIMEOUT_S)
        for fut in futures:
            fut.get(timeout=TIMEOUT_S)
    finally:
        prod.close(timeout=TIMEOUT_S)
    cons = KafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False, consumer_timeout_ms=10_000)
    try:
        cons.assign([TopicPartition("kp-topic", 0), TopicPartition("kp-topic", 1)])
        cons.seek_to_beginning()
        got = []
        for msg in cons:
            got.append((msg.key, msg.value))
            if len(got) == 20:
                break
    finally:
        cons.close()
    assert sorted(got) == sorted((f"k{i}".encode(), f"v{i}".encode()) for i in range(20))
    # And what kafka-python wrote reads back with librdkafka.
    assert len(consume(bs, "kp-topic", 10, partitions=[0])) == 10


def test_aiokafka_produce_and_consume(builtin_broker: RunningBroker) -> None:
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    bs = builtin_broker.bootstrap
    create_topic(bs, "aio-topic")
    produce_all(producer(bs), "aio-topic", [{"value": b"from-confluent", "partition": 0}])

    async def scenario() -> list[bytes]:
        prod = AIOKafkaProducer(bootstrap_servers=bs, enable_idempotence=True)
        await prod.start()
        try:
            for i in range(10):
                await prod.send_and_wait("aio-topic", f"aio-{i}".encode(), partition=0)
        finally:
            await prod.stop()
        cons = AIOKafkaConsumer(bootstrap_servers=bs, enable_auto_commit=False)
        await cons.start()
        try:
            tp = TopicPartition("aio-topic", 0)
            cons.assign([tp])
            await cons.seek_to_beginning(tp)
            values: list[bytes] = []
            while len(values) < 11:
                batch = await asyncio.wait_for(cons.getmany(timeout_ms=1000), TIMEOUT_S)
                for messages in batch.values():
                    values.extend(m.value for m in messages)
            return values
        finally:
            await cons.stop()

    values = asyncio.run(asyncio.wait_for(scenario(), 120))
    assert values == [b"from-confluent"] + [f"aio-{i}".encode() for i in range(10)]
