"""LogManager keeps open files bounded, opens lazily, and closes many partitions at once."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from embedded_broker.storage import Log, LogConfig, LogManager
from embedded_broker.storage.descriptors import open_log_budget
from embedded_broker.storage.log import CLEAN_SHUTDOWN_FILE
from tests.unit.storage.batches import simple_batch

NOW = 1_700_000_000_000


def _open_files_under(directory: Path) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        count += target.startswith(str(directory))
    return count


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/fd")
def test_open_files_stay_under_the_bound(tmp_path: Path) -> None:
    manager = LogManager(tmp_path, max_open=5)
    manager.register("t", range(40), LogConfig(segment_bytes=300))
    for p in range(40):
        log = manager.get("t", p)
        assert log is not None
        for _ in range(4):  # several segments, then reads of old ones
            log.append(simple_batch(2, value_size=100), now_ms=NOW)
        log.read(0, 1 << 20)
        log.read(2, 1 << 20)
    assert manager.open_count() == 5
    assert _open_files_under(tmp_path) <= 5 * 3
    # a released partition reopens its files on the next use
    first = manager.get("t", 0)
    assert first is not None and first.log_end_offset == 8
    first.append(simple_batch(1), now_ms=NOW)
    assert len(first.read(0, 1 << 20)) > 0
    manager.close_all()
    assert _open_files_under(tmp_path) == 0


def test_partitions_open_on_first_use_only(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    manager.register("t", range(3), LogConfig())
    manager.get("t", 1).append(simple_batch(2), now_ms=NOW)  # type: ignore[union-attr]
    manager.close_all()
    again = LogManager(tmp_path)
    again.register("t", range(3), LogConfig())
    assert again.open_unclean() == 0  # closed cleanly: nothing to recover up front
    assert again.open_count() == 0
    log = again.get("t", 1)
    assert log is not None and log.log_end_offset == 2
    assert again.get("t", 3) is None
    again.close_all()


def test_partitions_left_unclean_open_at_start(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    manager.register("t", range(2), LogConfig())
    manager.get("t", 0).append(simple_batch(2), now_ms=NOW)  # type: ignore[union-attr]
    manager.get("t", 1)  # opened, no data
    # no close: the process was killed
    again = LogManager(tmp_path)
    again.register("t", range(2), LogConfig())
    assert again.open_unclean() == 1
    again.close_all()


def test_prepared_logs_are_adopted_and_unused_ones_need_no_closing(tmp_path: Path) -> None:
    manager = LogManager(tmp_path)
    prepared = manager.prepare("t", range(3), LogConfig())
    manager.register("t", range(3), LogConfig())
    manager.adopt("t", prepared)
    assert manager.get("t", 2) is prepared[2]
    prepared[2].append(simple_batch(1), now_ms=NOW)
    manager.close_all()
    assert (tmp_path / "t-2" / CLEAN_SHUTDOWN_FILE).exists()
    assert not (tmp_path / "t-0" / CLEAN_SHUTDOWN_FILE).exists()  # never used: not touched


def test_closes_run_in_parallel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    manager = LogManager(tmp_path)
    manager.register("t", range(32), LogConfig())
    for p in range(32):
        manager.get("t", p).append(simple_batch(1), now_ms=NOW)  # type: ignore[union-attr]
    close = Log.close

    def slow_close(log: Log) -> None:  # a slow disk: each close waits 0.25 s on fsyncs
        time.sleep(0.25)
        close(log)

    monkeypatch.setattr(Log, "close", slow_close)
    started = time.monotonic()
    assert manager.close_all(timeout=30) == 0
    assert time.monotonic() - started < 4  # one after another: 8 s
    assert len(list(tmp_path.glob(f"t-*/{CLEAN_SHUTDOWN_FILE}"))) == 32


def test_open_log_budget_leaves_headroom() -> None:
    assert open_log_budget(1024) == (1024 - 512) // 3
    assert open_log_budget(64) == (64 - 32) // 3
    assert open_log_budget(16) == 8  # never fewer
    assert open_log_budget(1_048_576) == (1_048_576 - 2048) // 3


def test_retention_reaches_partitions_not_opened_since_start(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=300, retention_ms=1_000)
    manager = LogManager(tmp_path)
    manager.register("t", range(2), config)
    for _ in range(6):
        manager.get("t", 0).append(simple_batch(2, value_size=100), now_ms=NOW)  # type: ignore[union-attr]
    manager.close_all()
    again = LogManager(tmp_path)
    again.register("t", range(2), config)
    again.enforce_retention(NOW + 10_000)
    log = again.get("t", 0)
    assert log is not None and log.log_start_offset == log.log_end_offset == 12
    assert not (tmp_path / "t-1").exists()  # never written: left alone, not even created
    again.close_all()
