"""A real full disk (an 8 MiB tmpfs): nothing acknowledged is lost, nothing half-made survives.

Needs root to mount the tmpfs: skipped (with the reason) elsewhere, never skipped in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import NewTopic

from tests.small_disk import fill, mounted_tmpfs

from .broker_process import free_port, start_broker_process
from .clients import TIMEOUT_S, admin, consume, consumer, create_topic

TOPIC = "full"
RECORD = 4000  # bytes of value per record: a 4 KiB page each, incompressible


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """An 8 MiB tmpfs mounted for the test and unmounted after it."""
    with mounted_tmpfs(tmp_path / "disk", "8m") as mount:
        yield mount


class Sender:
    """A producer that sends one record at a time and reports each outcome."""

    def __init__(self, bootstrap: str) -> None:
        self._producer = Producer(
            {
                "bootstrap.servers": bootstrap,
                "acks": "all",
                "linger.ms": 0,
                "retries": 0,
                "enable.idempotence": False,
                "message.timeout.ms": 10_000,
            }
        )

    def send(self, value: bytes) -> int | None:
        """The record's offset once acknowledged, or None; raises on other errors."""
        outcome: list[tuple[KafkaError | None, int]] = []
        self._producer.produce(
            TOPIC, value, on_delivery=lambda err, msg: outcome.append((err, msg.offset()))
        )
        assert self._producer.flush(TIMEOUT_S) == 0
        err, offset = outcome[0]
        if err is None:
            return offset
        assert err.code() == KafkaError.KAFKA_STORAGE_ERROR, err
        return None


def _stored_values(bootstrap: str) -> list[bytes]:
    cons = consumer(bootstrap)
    try:
        low, high = cons.get_watermark_offsets(TopicPartition(TOPIC, 0), timeout=TIMEOUT_S)
    finally:
        cons.close()
    assert low == 0
    got = consume(bootstrap, TOPIC, high)
    assert [m.offset() for m in got] == list(range(high))
    return [bytes(m.value()) for m in got]


def _topics(bootstrap: str) -> set[str]:
    return set(admin(bootstrap).list_topics(timeout=TIMEOUT_S).topics)


class Broker:
    """A broker process on the small disk, restarted on the same port and data directory."""

    def __init__(self, disk: Path) -> None:
        self.port = free_port()
        self.bootstrap = f"127.0.0.1:{self.port}"
        self.data_dir = disk / "data"
        self.proc = start_broker_process(self.data_dir, self.port)

    def restart(self, sig: int) -> None:
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=TIMEOUT_S)
        assert code == (0 if sig == signal.SIGTERM else -sig)
        self.proc = start_broker_process(self.data_dir, self.port)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def broker(small_disk: Path) -> Iterator[Broker]:
    started = Broker(small_disk)
    try:
        yield started
    finally:
        started.kill()


def test_full_disk_loses_no_acknowledged_record(small_disk: Path, broker: Broker) -> None:
    bootstrap = broker.bootstrap
    create_topic(bootstrap, TOPIC, 1, {"segment.bytes": "262144"})  # rolls on the full disk too
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * (shutil.disk_usage(small_disk).free - 600 * 1024))
    sender = Sender(bootstrap)
    acked: list[bytes] = []
    refused = 0
    for i in range(400):
        value = b"%06d" % i + os.urandom(RECORD)
        if sender.send(value) is None:
            refused += 1
            if refused == 3:  # refused again and again while the disk stays full
                break
        else:
            assert refused == 0, "acknowledged after a refusal with the disk still full"
            acked.append(value)
    assert refused == 3 and len(acked) > 50

    filler.unlink()  # space is back: writes work again, and land after the last good batch
    for i in range(20):
        value = b"after-%02d" % i + os.urandom(RECORD)
        assert sender.send(value) is not None
        acked.append(value)
    assert _stored_values(bootstrap) == acked

    broker.restart(signal.SIGKILL)
    assert _stored_values(bootstrap) == acked
    broker.restart(signal.SIGTERM)
    assert _stored_values(bootstrap) == acked


def test_create_topics_on_a_full_disk_creates_nothing(small_disk: Path, broker: Broker) -> None:
    bootstrap = broker.bootstrap
    fill(small_disk / "filler")  # not a page left: topics.json cannot be written
    client = admin(bootstrap)  # kept: the futures die with the client
    futures = client.create_topics([NewTopic("later", 3, 1)])
    with pytest.raises(KafkaException) as failed:
        futures["later"].result(timeout=TIMEOUT_S)
    error = failed.value.args[0]
    assert error.code() == KafkaError.KAFKA_STORAGE_ERROR
    assert "Free disk space" in error.str()
    assert "later" not in _topics(bootstrap)

    (small_disk / "filler").unlink()
    broker.restart(signal.SIGKILL)
    assert "later" not in _topics(bootstrap)
    broker.restart(signal.SIGTERM)
    assert "later" not in _topics(bootstrap)
    assert not list(broker.data_dir.glob("later-*"))
    create_topic(bootstrap, "later", 3)  # with space, the same request works
    assert "later" in _topics(bootstrap)
