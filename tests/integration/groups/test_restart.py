"""Committed offsets survive a clean restart and a kill -9 of the topicscope-broker process."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, TopicPartition

from tests.broker_fixtures import RunningBroker

from .clients import TIMEOUT_S, Poller, create_topic, group_consumer, produce, unique

PARTITIONS = 3
PER_PARTITION = 10
COMMITTED = 4


def commit_and_close(bootstrap: str, topic: str, group: str) -> None:
    """Join the group, read a little, commit offset 4 on every partition with metadata, leave."""
    c = group_consumer(bootstrap, group, **{"enable.auto.commit": False})
    c.subscribe([topic])
    poller = Poller([c])
    poller.until(lambda: len(poller.all_values()) >= 3, what="some messages")
    offsets = [TopicPartition(topic, p, COMMITTED, metadata=f"meta-{p}") for p in range(3)]
    result = c.commit(offsets=offsets, asynchronous=False)
    assert result is not None and all(tp.error is None for tp in result)
    c.close()


def resumed_positions(
    bootstrap: str, topic: str, group: str
) -> tuple[set[tuple[int, int]], Consumer]:
    c = group_consumer(bootstrap, group, **{"enable.auto.commit": False})
    committed = c.committed(
        [TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=TIMEOUT_S
    )
    assert [(tp.offset, tp.metadata) for tp in committed] == [
        (COMMITTED, f"meta-{p}") for p in range(PARTITIONS)
    ]
    c.subscribe([topic])
    seen: set[tuple[int, int]] = set()
    deadline = time.monotonic() + TIMEOUT_S
    expected = (PER_PARTITION - COMMITTED) * PARTITIONS
    while len(seen) < expected and time.monotonic() < deadline:
        msg = c.poll(0.1)
        if msg is not None and not msg.error():
            seen.add((msg.partition(), msg.offset()))
    return seen, c


def expected_positions() -> set[tuple[int, int]]:
    return {(p, o) for p in range(PARTITIONS) for o in range(COMMITTED, PER_PARTITION)}


def test_offsets_survive_a_clean_restart(builtin_broker: RunningBroker) -> None:
    topic, group = unique("restart"), unique("g")
    create_topic(builtin_broker.bootstrap, topic, PARTITIONS)
    produce(builtin_broker.bootstrap, topic, PARTITIONS * PER_PARTITION, PARTITIONS)
    commit_and_close(builtin_broker.bootstrap, topic, group)
    builtin_broker.restart()
    seen, c = resumed_positions(builtin_broker.bootstrap, topic, group)
    c.close()
    assert seen == expected_positions()


class BrokerProcess:
    """topicscope-broker in a subprocess, so it can be killed with SIGKILL."""

    def __init__(self, data_dir: Path, log_path: Path) -> None:
        self.log_path = log_path
        self.log = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "embedded_broker",
                "--port",
                "0",
                "--data-dir",
                str(data_dir),
                "--config",
                "group.initial.rebalance.delay.ms=0",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.bootstrap = self._wait_ready()

    def _wait_ready(self) -> str:
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            text = self.log_path.read_text(errors="replace")
            found = re.findall(r"ready on ([\d.]+):(\d+)", text)
            if found:
                host, port = found[-1]
                return f"{host}:{port}"
            assert self.proc.poll() is None, f"broker exited:\n{text}"
            time.sleep(0.05)
        raise AssertionError("topicscope-broker did not become ready")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=TIMEOUT_S)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def broker_processes(tmp_path: Path) -> Iterator[list[BrokerProcess]]:
    started: list[BrokerProcess] = []
    yield started
    for p in started:
        p.stop()


def test_offsets_survive_kill_dash_nine(
    tmp_path: Path, broker_processes: list[BrokerProcess]
) -> None:
    data_dir = tmp_path / "data"
    first = BrokerProcess(data_dir, tmp_path / "broker-1.log")
    broker_processes.append(first)
    topic, group = unique("kill9"), unique("g")
    create_topic(first.bootstrap, topic, PARTITIONS)
    produce(first.bootstrap, topic, PARTITIONS * PER_PARTITION, PARTITIONS)
    commit_and_close(first.bootstrap, topic, group)
    first.kill()
    second = BrokerProcess(data_dir, tmp_path / "broker-2.log")
    broker_processes.append(second)
    seen, c = resumed_positions(second.bootstrap, topic, group)
    c.close()
    assert seen == expected_positions()
