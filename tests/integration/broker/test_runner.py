"""BrokerRunner and topicscope-broker: start/stop semantics and user-readable failures."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from embedded_broker.runner import BrokerAddress, BrokerRunner, BrokerStartError, default_data_dir

from .clients import TIMEOUT_S, admin, consume, create_topic, produce_all, producer


def test_port_zero_gives_a_real_port_and_stop_is_idempotent(tmp_path: Path) -> None:
    runner = BrokerRunner(data_dir=tmp_path / "d")
    address = runner.start()
    try:
        assert runner.running
        assert address.port > 0 and address.host == "127.0.0.1"
        assert address.bootstrap == f"127.0.0.1:{address.port}"
        assert runner.address == address
        assert runner.data_dir == tmp_path / "d"
        assert admin(address.bootstrap).list_topics(timeout=TIMEOUT_S).brokers
    finally:
        runner.stop()
    assert not runner.running
    assert runner.address is None
    runner.stop()  # idempotent


def test_stop_from_another_thread(tmp_path: Path) -> None:
    runner = BrokerRunner(in_memory=True)
    runner.start()
    stopper = threading.Thread(target=runner.stop)
    stopper.start()
    stopper.join(TIMEOUT_S)
    assert not stopper.is_alive()
    assert not runner.running


def test_stop_without_start_is_harmless() -> None:
    BrokerRunner(in_memory=True).stop()


def test_port_in_use_is_a_readable_error(tmp_path: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        runner = BrokerRunner(port=port, data_dir=tmp_path)
        with pytest.raises(BrokerStartError, match="already in use"):
            runner.start()
        assert not runner.running


def test_data_dir_that_is_a_file_is_a_readable_error(tmp_path: Path) -> None:
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("x")
    with pytest.raises(BrokerStartError, match="data directory"):
        BrokerRunner(data_dir=not_a_dir / "sub").start()


def test_bad_setting_is_a_readable_error() -> None:
    with pytest.raises(BrokerStartError, match=r"num\.partitions"):
        BrokerRunner(in_memory=True, config={"num.partitions": "many"}).start()
    with pytest.raises(BrokerStartError, match="Unknown broker setting"):
        BrokerRunner(in_memory=True, config={"no.such.setting": "1"}).start()


def test_settings_apply(tmp_path: Path) -> None:
    runner = BrokerRunner(in_memory=True, config={"num.partitions": "4"})
    address = runner.start()
    try:
        produce_all(producer(address.bootstrap), "auto4", [{"value": b"x"}])
        md = admin(address.bootstrap).list_topics(timeout=TIMEOUT_S)
        assert len(md.topics["auto4"].partitions) == 4
    finally:
        runner.stop()


def test_in_memory_broker_works_and_forgets(tmp_path: Path) -> None:
    runner = BrokerRunner(in_memory=True)
    address = runner.start()
    try:
        assert runner.data_dir is None
        create_topic(address.bootstrap, "mem")
        produce_all(producer(address.bootstrap), "mem", [{"value": b"v", "partition": 0}])
        assert consume(address.bootstrap, "mem", 1)[0].value() == b"v"
    finally:
        runner.stop()


def test_wildcard_bind_advertises_a_reachable_host(tmp_path: Path) -> None:
    runner = BrokerRunner(host="0.0.0.0", data_dir=tmp_path)
    address = runner.start()
    try:
        assert address == BrokerAddress("127.0.0.1", address.port)
        md = admin(address.bootstrap).list_topics(timeout=TIMEOUT_S)
        (broker,) = md.brokers.values()
        assert (broker.host, broker.port) == ("127.0.0.1", address.port)
    finally:
        runner.stop()


def test_default_data_dir_is_per_user() -> None:
    assert default_data_dir().name == "broker"
    assert "topicscope" in str(default_data_dir()).lower()


def test_cli_rejects_bad_config_with_a_message() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "embedded_broker", "--in-memory", "--config", "num.partitions=x"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "num.partitions" in done.stderr
    done = subprocess.run(
        [sys.executable, "-m", "embedded_broker", "--in-memory", "--config", "oops"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "KEY=VALUE" in done.stderr


def test_stop_does_not_wait_for_long_polls() -> None:
    from confluent_kafka import TopicPartition

    from .clients import consumer

    runner = BrokerRunner(in_memory=True)
    address = runner.start()
    create_topic(address.bootstrap, "long-poll")
    cons = consumer(address.bootstrap, **{"fetch.wait.max.ms": 60_000})
    try:
        cons.assign([TopicPartition("long-poll", 0, 0)])
        for _ in range(3):
            cons.poll(0.2)
        stopper = threading.Thread(target=runner.stop)
        stopper.start()
        # Far below the 60 s fetch wait: shutdown answers waiting fetches at once.
        stopper.join(20)
        assert not stopper.is_alive()
    finally:
        cons.close()


def test_data_dir_is_locked_against_a_second_broker(tmp_path: Path) -> None:
    first = BrokerRunner(data_dir=tmp_path)
    first.start()
    try:
        second = BrokerRunner(data_dir=tmp_path)
        with pytest.raises(BrokerStartError, match="in use by another broker"):
            second.start()
        assert not second.running
    finally:
        first.stop()
    again = BrokerRunner(data_dir=tmp_path)
    again.start()
    again.stop()
