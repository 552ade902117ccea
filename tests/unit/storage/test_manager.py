"""LogManager: partition directories, topic deletion, config updates, retention over all logs."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_broker.protocol.record_batch import parse_header
from embedded_broker.storage import LogConfig, LogManager
from tests.unit.storage.batches import simple_batch

NOW = 1_700_000_000_000


@pytest.fixture(params=["file", "memory"])
def manager(request: pytest.FixtureRequest, tmp_path: Path) -> LogManager:
    if request.param == "memory":
        return LogManager(None, in_memory=True)
    return LogManager(tmp_path / "data")


def test_open_get_and_enumerate(manager: LogManager) -> None:
    a = manager.open_partition("orders-eu", 0, LogConfig())
    b = manager.open_partition("orders-eu", 1, LogConfig())
    c = manager.open_partition("x", 0, LogConfig())
    assert manager.get("orders-eu", 0) is a
    assert manager.get("orders-eu", 2) is None
    assert manager.open_partition("orders-eu", 1, LogConfig()) is b
    assert c is not a
    assert manager.existing_partitions() == [("orders-eu", 0), ("orders-eu", 1), ("x", 0)]
    assert manager.partitions("orders-eu") == [("orders-eu", 0), ("orders-eu", 1)]
    manager.close_all()


def test_delete_topic_removes_only_its_partitions(manager: LogManager) -> None:
    for partition in range(3):
        log = manager.open_partition("doomed", partition, LogConfig())
        log.append(simple_batch(2), now_ms=NOW)
    kept = manager.open_partition("doomed-not", 0, LogConfig())
    kept.append(simple_batch(2), now_ms=NOW)
    manager.delete_topic("doomed")
    assert manager.get("doomed", 0) is None
    assert manager.existing_partitions() == [("doomed-not", 0)]
    if manager.data_dir is not None:
        assert sorted(p.name for p in manager.data_dir.iterdir()) == ["doomed-not-0"]
    recreated = manager.open_partition("doomed", 0, LogConfig())
    assert recreated.log_end_offset == 0
    assert kept.log_end_offset == 2
    manager.close_all()


def test_update_config_and_enforce_retention(manager: LogManager) -> None:
    log = manager.open_partition("t", 0, LogConfig(segment_bytes=500))
    other = manager.open_partition("u", 0, LogConfig(segment_bytes=500))
    for i in range(20):
        log.append(simple_batch(2, value_size=50, base_timestamp=NOW + i), now_ms=NOW)
        other.append(simple_batch(2, value_size=50, base_timestamp=NOW + i), now_ms=NOW)
    manager.enforce_retention(NOW + 1000)
    assert log.log_start_offset == 0
    manager.update_config("t", LogConfig(segment_bytes=500, retention_ms=100))
    manager.enforce_retention(NOW + 1000)
    assert log.log_start_offset == log.log_end_offset == 40
    assert other.log_start_offset == 0
    manager.close_all()


def test_a_partition_that_cannot_be_opened_does_not_stop_retention_of_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = LogManager(tmp_path / "data")
    # a partition with data on disk that fails to open (its segment is a directory): the
    # retention pass meets it first, every time
    (tmp_path / "data" / "broken-0" / f"{0:020d}.log").mkdir(parents=True)
    (tmp_path / "data" / "broken-0" / f"{0:020d}.log" / "x").write_bytes(b"x")
    manager.register("broken", [0], LogConfig())
    log = manager.open_partition("t", 0, LogConfig(segment_bytes=500, retention_ms=100))
    for i in range(20):
        log.append(simple_batch(2, value_size=50, base_timestamp=NOW + i), now_ms=NOW)
    manager.enforce_retention(NOW + 1000)
    assert log.log_start_offset == log.log_end_offset == 40
    assert "Retention failed for broken-0" in caplog.text
    manager.close_all()


def test_reopen_through_the_manager(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    manager.open_partition("t", 3, LogConfig()).append(simple_batch(5), now_ms=NOW)
    manager.flush_all()
    manager.close_all()
    again = LogManager(tmp_path)
    assert again.existing_partitions() == [("t", 3)]
    assert again.get("t", 3) is None
    log = again.open_partition("t", 3, LogConfig())
    assert log.log_end_offset == 5
    assert parse_header(log.read(2, 100)).records_count == 5
    again.close_all()


def test_a_data_dir_is_required_on_disk() -> None:
    with pytest.raises(ValueError, match="data directory"):
        LogManager(None)


def test_kafka_config_names() -> None:
    config = LogConfig().with_kafka_configs(
        {"retention.ms": "1000", "cleanup.policy": "compact", "min.insync.replicas": "1"}
    )
    assert config.retention_ms == 1000
    assert config.compacted
    with pytest.raises(ValueError, match=r"segment\.bytes"):
        LogConfig().with_kafka_configs({"segment.bytes": "big"})
