"""A failed or short write leaves the log as it was (or refuses writes), never a torn batch."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from embedded_broker.storage import Log, LogConfig, StorageError
from embedded_broker.storage import index as index_module
from embedded_broker.storage import segment as segment_module
from embedded_broker.storage import store as store_module
from embedded_broker.storage.log import LOG_START_FILE
from tests.unit.storage.batches import simple_batch
from tests.unit.storage.test_log import payload, read_all

NOW = 1_700_000_000_000
Pwrite = Callable[[int, memoryview, int], int]


def enospc() -> OSError:
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class FlakyDisk:
    """Real pwrite, except that an armed write is cut short and the call after it fails."""

    def __init__(self) -> None:
        self.real: Pwrite = store_module._pwrite
        self.armed = False
        self._shortened = False

    def pwrite(self, fd: int, data: memoryview, position: int) -> int:
        if not self.armed:
            return self.real(fd, data, position)
        if not self._shortened and len(data) > 1:  # some of it lands, as on a filling disk
            self._shortened = True
            return self.real(fd, data[: len(data) // 2], position)
        self.armed = self._shortened = False
        raise enospc()


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> Iterator[FlakyDisk]:
    flaky = FlakyDisk()
    monkeypatch.setattr(store_module, "_pwrite", flaky.pwrite)
    yield flaky


def fill(log: Log, count: int) -> list[bytes]:
    batches = [simple_batch(1 + i % 3, value_size=40, base_timestamp=NOW + i) for i in range(count)]
    for batch in batches:
        log.append(batch, now_ms=NOW)
    return batches


def payloads(log: Log) -> list[bytes]:
    return [payload(log.read(h.base_offset, 1)[: h.size]) for h in read_all(log)]


def active_file(directory: Path) -> Path:
    return sorted(directory.glob("*.log"))[-1]


def crash(log: Log) -> None:
    """Drop the log as a killed process would: descriptors gone, nothing saved."""
    for segment in log._segments:
        segment.store.close()


def test_a_short_write_is_cut_back_and_later_appends_follow_the_last_whole_batch(
    tmp_path: Path, disk: FlakyDisk
) -> None:
    log = Log(tmp_path, LogConfig())
    good = fill(log, 5)
    end, size = log.log_end_offset, active_file(tmp_path).stat().st_size

    disk.armed = True  # half the batch lands, then ENOSPC
    with pytest.raises(StorageError, match="No space left on device"):
        log.append(simple_batch(3, value_size=40), now_ms=NOW)
    assert log.log_end_offset == end
    assert active_file(tmp_path).stat().st_size == size  # cut back: no torn bytes
    assert payloads(log) == [payload(b) for b in good]

    later = fill(log, 4)  # the disk has room again
    assert payloads(log) == [payload(b) for b in good + later]
    crash(log)
    reopened = Log(tmp_path, LogConfig())
    try:
        assert payloads(reopened) == [payload(b) for b in good + later]
    finally:
        reopened.close()


def test_a_tear_that_cannot_be_cut_back_takes_the_log_offline_for_writes(
    tmp_path: Path, disk: FlakyDisk, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Log(tmp_path, LogConfig())
    good = fill(log, 5)

    def broken_ftruncate(fd: int, size: int) -> None:
        raise OSError(errno.EIO, os.strerror(errno.EIO))

    monkeypatch.setattr(store_module.os, "ftruncate", broken_ftruncate)
    disk.armed = True
    with pytest.raises(StorageError, match="no more writes until the broker restarts"):
        log.append(simple_batch(2), now_ms=NOW)
    monkeypatch.undo()  # the disk is fine again, but the file still ends in a torn batch
    for _ in range(3):
        with pytest.raises(StorageError, match="no more writes"):
            log.append(simple_batch(1), now_ms=NOW)
    assert payloads(log) == [payload(b) for b in good]  # reads still work
    log.close()

    reopened = Log(tmp_path, LogConfig())  # the restart removes the partial write
    try:
        assert payloads(reopened) == [payload(b) for b in good]
        more = fill(reopened, 2)
        assert payloads(reopened) == [payload(b) for b in good + more]
    finally:
        reopened.close()


def test_a_roll_on_a_full_disk_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=2000))
    good = fill(log, 3)
    segments = sorted(p.name for p in tmp_path.iterdir())
    real = index_module.write_atomically

    def full(path: Path, data: bytes, **kwargs: bool | None) -> None:
        raise enospc()

    monkeypatch.setattr(segment_module, "write_atomically", full)
    for _ in range(3):  # this append needs a new segment, whose indexes cannot be written
        with pytest.raises(StorageError, match="No space left on device"):
            log.append(simple_batch(3, value_size=600), now_ms=NOW)
    assert sorted(p.name for p in tmp_path.iterdir()) == segments
    assert log.segment_count == 1
    monkeypatch.setattr(segment_module, "write_atomically", real)
    later = [simple_batch(3, value_size=600)]
    log.append(later[0], now_ms=NOW)
    assert log.segment_count == 2
    assert payloads(log) == [payload(b) for b in good + later]
    log.close()


def test_a_log_start_offset_that_cannot_be_saved_deletes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=300))
    good = fill(log, 12)
    segments = log.segment_count

    def full(path: Path, data: bytes, **kwargs: bool | None) -> None:
        raise enospc()

    monkeypatch.setattr("embedded_broker.storage.log.write_atomically", full)
    with pytest.raises(StorageError, match="no records were deleted"):
        log.delete_records_before(10)
    assert log.log_start_offset == 0 and log.segment_count == segments
    monkeypatch.undo()
    assert payloads(log) == [payload(b) for b in good]
    assert log.delete_records_before(10) == 10
    assert (tmp_path / LOG_START_FILE).read_text().strip() == "10"
    log.close()


def test_an_atomic_write_that_fails_keeps_the_old_file_and_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "checkpoint"
    index_module.write_atomically(target, b"old")
    real_write = os.write

    def half_then_full(fd: int, data: bytes | memoryview) -> int:
        if len(data) > 1:
            return real_write(fd, bytes(data[:1]))
        raise enospc()

    monkeypatch.setattr(index_module.os, "write", half_then_full)
    with pytest.raises(OSError, match="No space left on device"):
        index_module.write_atomically(target, b"new contents")
    monkeypatch.undo()
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]


def test_a_clean_close_on_a_full_disk_leaves_no_clean_shutdown_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = Log(tmp_path, LogConfig(segment_bytes=400))
    good = fill(log, 8)

    def full(path: Path, data: bytes, **kwargs: bool | None) -> None:
        raise enospc()

    monkeypatch.setattr(segment_module, "write_atomically", full)
    log.close()  # logs a warning instead of raising: the broker still stops
    monkeypatch.undo()
    assert not (tmp_path / "clean-shutdown").exists()
    reopened = Log(tmp_path, LogConfig(segment_bytes=400))
    try:
        assert payloads(reopened) == [payload(b) for b in good]
    finally:
        reopened.close()
