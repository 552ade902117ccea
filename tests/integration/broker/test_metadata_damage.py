"""A damaged metadata file: an error naming the file, what is wrong and what to do; no traceback."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from confluent_kafka import TopicPartition

from embedded_broker.runner import BrokerRunner, BrokerStartError
from tests.broker_fixtures import BrokerFactory

from .clients import TIMEOUT_S, admin, consumer, create_topic


def _cli(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "embedded_broker", "--port", "0", "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _with_topic(factory: BrokerFactory, *, restarts: int = 0) -> Path:
    """A data directory holding topic "kept", its broker stopped (restarted ``restarts`` times)."""
    broker = factory()
    create_topic(broker.bootstrap, "kept", partitions=2)
    for _ in range(restarts):
        broker.restart()
    broker.stop()
    assert broker.data_dir is not None
    return broker.data_dir


def _truncate(text: str) -> str:
    return text[: len(text) // 2]


def _wrong_partitions(text: str) -> str:
    data = json.loads(text)
    data["topics"][0]["partitions"] = "two"
    return json.dumps(data)


DAMAGE: dict[str, tuple[Callable[[str], str], str]] = {
    "truncated": (_truncate, "the file looks cut short"),
    "not JSON": (lambda _: "\x00\x17garbage{{", "it is not valid JSON"),
    "empty": (lambda _: "", "the file is empty"),
    "wrong type": (_wrong_partitions, 'topics[0].partitions is "two"'),
    "not an object": (lambda _: "[1, 2, 3]", "instead of an object"),
}


@pytest.mark.parametrize("kind", sorted(DAMAGE))
def test_cli_names_the_damaged_topic_list_and_exits_without_traceback(
    builtin_broker_factory: BrokerFactory, kind: str
) -> None:
    damage, problem = DAMAGE[kind]
    data_dir = _with_topic(builtin_broker_factory)
    path = data_dir / "topics.json"
    path.write_text(damage(path.read_text()))
    result = _cli(data_dir)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr, result.stderr
    assert f"The broker's topic list {path} is damaged" in result.stderr, result.stderr
    assert problem in result.stderr, result.stderr
    assert "move the damaged file aside" in result.stderr.lower()


def test_previous_copy_is_offered_and_restores_the_topics(
    builtin_broker_factory: BrokerFactory,
) -> None:
    data_dir = _with_topic(builtin_broker_factory, restarts=1)  # the restart keeps a good copy
    path = data_dir / "topics.json"
    prev = data_dir / "topics.json.prev"
    path.write_text(_truncate(path.read_text()))
    result = _cli(data_dir)
    assert result.returncode != 0
    assert f"A copy saved when the broker last started successfully is in {prev}" in result.stderr
    prev.replace(path)  # what the message tells the user to do
    runner = BrokerRunner(port=0, data_dir=data_dir)
    try:
        address = runner.start()
        topics = admin(address.bootstrap).list_topics(timeout=TIMEOUT_S).topics
        assert len(topics["kept"].partitions) == 2
        # a partition's files are read on its first use: ask for its offsets
        reader = consumer(address.bootstrap)
        try:
            low, high = reader.get_watermark_offsets(TopicPartition("kept", 0), timeout=TIMEOUT_S)
        finally:
            reader.close()
        assert 0 <= low <= high
    finally:
        runner.stop()


def test_app_runner_raises_the_message_and_logs_no_traceback(
    builtin_broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = _with_topic(builtin_broker_factory)
    path = data_dir / "topics.json"
    path.write_text(_wrong_partitions(path.read_text()))
    caplog.set_level(logging.INFO)
    runner = BrokerRunner(port=0, data_dir=data_dir)
    with pytest.raises(BrokerStartError) as caught:
        runner.start()
    message = str(caught.value)
    assert message.startswith(f"The broker's topic list {path} is damaged: topics[0].partitions")
    # the broker's own records: earlier tests' app threads may still log in this process
    assert not any(r.exc_info for r in caplog.records if r.name.startswith("embedded_broker"))
    assert not runner.running


def test_damaged_log_start_checkpoint_is_named_and_the_partition_still_serves(
    builtin_broker_factory: BrokerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = _with_topic(builtin_broker_factory)
    checkpoint = data_dir / "kept-0" / "log-start-offset"
    checkpoint.write_bytes(b"\x00\x01 not a number")
    caplog.set_level(logging.INFO)
    runner = BrokerRunner(port=0, data_dir=data_dir)
    try:
        address = runner.start()
        topics = admin(address.bootstrap).list_topics(timeout=TIMEOUT_S).topics
        assert len(topics["kept"].partitions) == 2
        # a partition's files are read on its first use: ask for its offsets
        reader = consumer(address.bootstrap)
        try:
            low, high = reader.get_watermark_offsets(TopicPartition("kept", 0), timeout=TIMEOUT_S)
        finally:
            reader.close()
        assert 0 <= low <= high
    finally:
        runner.stop()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"partition checkpoint {checkpoint} is damaged" in w for w in warnings), warnings
