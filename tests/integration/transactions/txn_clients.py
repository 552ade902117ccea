"""Helpers for the transaction tests: transactional producers, reading a topic to a sentinel,
and a broker process with settings (for kill -9 and restarts)."""

from __future__ import annotations

import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer, IsolationLevel, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from tests.integration.cluster.local_cluster import start_timeout_s

TIMEOUT_S = 30.0
SENTINEL = b"--sentinel--"


def txn_producer(bootstrap: str, transactional_id: str, **extra: Any) -> Producer:
    prod = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "linger.ms": 5,
            **extra,
        }
    )
    prod.init_transactions(TIMEOUT_S)
    return prod


def put_sentinels(bootstrap: str, topic: str, partitions: int) -> None:
    """A plain record at the end of each partition: a read_committed reader that reaches it
    has read everything the partition's transactions will ever show before it."""
    prod = Producer({"bootstrap.servers": bootstrap})
    for p in range(partitions):
        prod.produce(topic, value=SENTINEL, partition=p)
    assert prod.flush(TIMEOUT_S) == 0


def read_to_sentinels(
    bootstrap: str, topic: str, partitions: int, isolation: str, timeout_s: float = TIMEOUT_S
) -> list[bytes]:
    """Every value before the sentinel of each partition (assign, from the beginning)."""
    cons = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "txn-reader",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "isolation.level": isolation,
        }
    )
    try:
        cons.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        values: list[bytes] = []
        done: set[int] = set()
        deadline = time.monotonic() + timeout_s
        while len(done) < partitions:
            assert time.monotonic() < deadline, f"sentinels of {sorted(done)} only"
            msg = cons.poll(0.5)
            if msg is None or msg.error():
                continue
            if msg.value() == SENTINEL:
                done.add(msg.partition())
            elif msg.partition() not in done:
                values.append(msg.value())
        return values
    finally:
        cons.close()


def end_offsets(bootstrap: str, topic: str, partitions: int, *, committed: bool) -> list[int]:
    """ListOffsets latest per partition: the LSO for read_committed, else the high watermark."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    level = IsolationLevel.READ_COMMITTED if committed else IsolationLevel.READ_UNCOMMITTED
    futures = admin.list_offsets(
        {TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)},
        isolation_level=level,
        request_timeout=TIMEOUT_S,
    )
    return [futures[TopicPartition(topic, p)].result(TIMEOUT_S).offset for p in range(partitions)]


def wait_for(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until true; ``timeout_s`` (the idle-machine deadline) stretches with
    the load."""
    deadline = time.monotonic() + start_timeout_s(timeout_s)
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def start_broker(data_dir: Path, port: int, config: dict[str, str]) -> subprocess.Popen[str]:
    """A topicscope-broker process with ``config``, returned once it is ready."""
    args = [sys.executable, "-m", "embedded_broker", "--port", str(port)]
    args += ["--data-dir", str(data_dir)]
    for key, value in config.items():
        args += ["--config", f"{key}={value}"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    deadline = time.monotonic() + 60
    for line in proc.stdout:
        if re.search(r"Topicscope broker ready on 127\.0\.0\.1:\d+", line):
            break
        assert time.monotonic() < deadline, "broker did not start"
    else:
        raise AssertionError(f"broker exited with {proc.wait()}")
    threading.Thread(target=lambda: proc.stdout and proc.stdout.read(), daemon=True).start()
    return proc
