"""Recovery repairs only what is damaged, and opening after a clean shutdown reads no batch."""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig
from embedded_broker.storage import store as store_module
from embedded_broker.storage.log import CLEAN_SHUTDOWN_FILE, RECOVERY_POINT_FILE
from tests.unit.storage.batches import simple_batch
from tests.unit.storage.test_log import read_all

NOW = 1_700_000_000_000
CONFIG = LogConfig(segment_bytes=5000, index_interval_bytes=1000)
RECORDS = 2000


def write_log(directory: Path, config: LogConfig = CONFIG) -> Log:
    """2,000 records in 400 batches of 5, about 20 segments; left open."""
    log = Log(directory, config)
    for i in range(RECORDS // 5):
        log.append(simple_batch(5, value_size=20, base_timestamp=NOW + i), now_ms=NOW)
    return log


def crash(log: Log) -> None:
    """Drop the log as a killed process would: descriptors gone, nothing saved."""
    for segment in log._segments:
        segment.store.close()


def record_count(log: Log) -> int:
    return sum(h.records_count for h in read_all(log))


class PreadCounter:
    """Counts pread calls per file name."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self._real = store_module._pread

    def __call__(self, fd: int, length: int, position: int) -> bytes:
        self.calls[Path(os.readlink(f"/proc/self/fd/{fd}")).name] += 1
        return self._real(fd, length, position)


@pytest.fixture
def preads(monkeypatch: pytest.MonkeyPatch) -> Iterator[PreadCounter]:
    counter = PreadCounter()
    monkeypatch.setattr(store_module, "_pread", counter)
    yield counter


def test_damage_inside_an_older_segment_loses_only_the_damaged_records(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "orders-0"
    crash(write_log(directory))  # killed before any flush: every segment is scanned
    logs = sorted(directory.glob("*.log"))
    assert len(logs) >= 15
    victim = logs[3]
    data = bytearray(victim.read_bytes())
    batches = list(iter_batches(data))
    start = batches[5].position + 30
    data[start : start + 200] = os.urandom(200)  # overwrites parts of batches 5..7
    victim.write_bytes(data)
    damaged = [b for b in batches if b.position < start + 200 and b.end > start]
    lost = sum(b.records_count for b in damaged)
    assert 5 <= lost <= 20

    with caplog.at_level(logging.WARNING):
        log = Log(directory, CONFIG)
    try:
        assert record_count(log) == RECORDS - lost
        assert sorted(directory.glob("*.log")) == logs  # every later segment is kept
        first, last = damaged[0].base_offset, damaged[-1].last_offset
        readable = {h.base_offset for h in read_all(log)}
        assert not readable & {b.base_offset for b in damaged}
        assert {b.base_offset for b in batches} - readable == {b.base_offset for b in damaged}
        # a read inside the gap continues at the next offset that exists
        after = next(iter_batches(log.read(first, 1)))
        assert after.base_offset == last + 1
        copy = victim.with_name(victim.name + ".damaged-1")
        assert copy.read_bytes() == bytes(data[damaged[0].position : damaged[-1].end])
        assert log.append(simple_batch(1), now_ms=NOW).base_offset == RECORDS
    finally:
        log.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "orders-0" in warnings[0] and victim.stem in warnings[0]
    assert f"offsets {first} to {last} are lost" in warnings[0]

    reopened = Log(directory, CONFIG)  # the repair holds: nothing more is lost next time
    try:
        assert record_count(reopened) == RECORDS - lost + 1
    finally:
        reopened.close()


def test_damage_at_the_end_of_an_older_segment_keeps_the_segments_after_it(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "orders-0"
    crash(write_log(directory))
    logs = sorted(directory.glob("*.log"))
    victim = logs[2]
    data = victim.read_bytes()
    last = list(iter_batches(data))[-1]
    victim.write_bytes(data[: last.position + 20])  # the segment lost its last batch's end
    log = Log(directory, CONFIG)
    try:
        assert record_count(log) == RECORDS - last.records_count
        assert sorted(directory.glob("*.log")) == logs
    finally:
        log.close()


def test_a_clean_shutdown_makes_the_next_open_read_no_batch(
    tmp_path: Path, preads: PreadCounter
) -> None:
    directory = tmp_path / "orders-0"
    written = write_log(directory)
    by_time = written.offset_for_timestamp(NOW + 250)
    written.close()
    assert len(list(directory.glob("*.log"))) >= 15
    preads.calls.clear()
    log = Log(directory, CONFIG)
    try:
        assert sum(preads.calls.values()) == 0
        assert record_count(log) == RECORDS
        assert log.append(simple_batch(1), now_ms=NOW).base_offset == RECORDS
        assert log.offset_for_timestamp(NOW + 250) == by_time
    finally:
        log.close()


def test_after_an_unclean_stop_only_segments_after_the_recovery_point_are_scanned(
    tmp_path: Path, preads: PreadCounter
) -> None:
    directory = tmp_path / "orders-0"
    log = write_log(directory)
    log.flush()
    flushed = log.log_end_offset
    assert int((directory / RECOVERY_POINT_FILE).read_text()) == flushed
    for i in range(30):  # written after the flush: about two more segments
        log.append(simple_batch(5, value_size=20, base_timestamp=NOW + 400 + i), now_ms=NOW)
    crash(log)
    assert not (directory / CLEAN_SHUTDOWN_FILE).exists()
    bases = sorted(int(p.stem) for p in directory.glob("*.log"))
    preads.calls.clear()
    reopened = Log(directory, CONFIG)
    try:
        scanned = {name for name, count in preads.calls.items() if count > 1}
        # the segment holding the recovery point and the ones after it; one header each before
        assert scanned == {
            f"{b:020d}.log" for b in bases if b >= max(x for x in bases if x <= flushed)
        }
        assert record_count(reopened) == RECORDS + 150
    finally:
        reopened.close()
