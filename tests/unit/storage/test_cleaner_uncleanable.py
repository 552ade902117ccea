"""A partition the cleaner cannot clean (a damaged segment) is set aside, and the others are
still cleaned: the filthiest partition failing every round must not starve the rest."""

from __future__ import annotations

import logging
import random
import struct
import time
from pathlib import Path

import pytest

from embedded_broker.storage import LogConfig, LogManager
from embedded_broker.storage.cleaner import read_checkpoint
from embedded_broker.storage.cleaner_manager import LogCleaner
from tests.small_disk import fill, mounted_tmpfs
from tests.unit.storage.batches import Rec, build_batch, latest, read_all

NOW = 1_700_000_000_000
CONFIG = LogConfig(segment_bytes=4000, cleanup_policy="compact", min_cleanable_dirty_ratio=0.01)


def _fill(manager: LogManager, partition: int, batches: int) -> Path:
    log = manager.open_partition("t", partition, CONFIG)
    rng = random.Random(partition)
    for _ in range(batches):
        recs = [Rec(b"k%d" % rng.randrange(8), b"v" * 40) for _ in range(5)]
        log.append(build_batch(recs, base_timestamp=NOW), now_ms=NOW)
    log.flush()
    assert log.directory is not None
    return log.directory


def _damage_second_batch(directory: Path) -> None:
    """Overwrite the length of the first segment's second batch."""
    segment = min(directory.glob("*.log"))
    data = segment.read_bytes()
    second = 12 + struct.unpack_from(">i", data, 8)[0]
    segment.write_bytes(data[: second + 8] + struct.pack(">i", -7) + data[second + 12 :])


def test_a_damaged_partition_is_set_aside_and_the_others_are_cleaned(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    manager = LogManager(tmp_path / "data")
    damaged = _fill(manager, 0, 120)  # the filthiest: picked first every round
    healthy = _fill(manager, 1, 60)
    manager.close_all()
    manager.wait_closed()
    _damage_second_batch(damaged)
    manager = LogManager(tmp_path / "data")
    for partition in (0, 1):
        manager.open_partition("t", partition, CONFIG)
    cleaner = LogCleaner(manager, backoff_ms=lambda: 20, clock=lambda: NOW + 1000)
    caplog.set_level(logging.DEBUG, logger="embedded_broker.storage.cleaner_manager")
    cleaner.start()
    try:
        deadline = time.monotonic() + 20
        while read_checkpoint(healthy) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.3)  # more rounds: the damaged partition must not be retried in them
    finally:
        cleaner.stop()
        manager.close_all()
    assert read_checkpoint(healthy) is not None, "the healthy partition was never cleaned"
    assert read_checkpoint(damaged) is None
    assert list(cleaner.uncleanable()) == [("t", 0)]
    assert "damaged" in cleaner.uncleanable()[("t", 0)]
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "t-0 is uncleanable" in errors[0].getMessage()
    assert not [r for r in caplog.records if "still uncleanable" in r.getMessage()]


def test_a_full_disk_fails_the_round_cleanly_and_it_is_cleaned_once_space_is_freed(
    tmp_path: Path,
) -> None:
    with mounted_tmpfs(tmp_path / "disk", "4m") as disk:
        manager = LogManager(disk / "data")
        log = manager.open_partition("t", 0, CONFIG)
        rng = random.Random(5)
        for _ in range(300):  # ~1 MiB in ~300 segments; 400 keys, most of them kept
            recs = [Rec(b"k%d" % rng.randrange(400), rng.randbytes(600)) for _ in range(5)]
            log.append(build_batch(recs, base_timestamp=NOW), now_ms=NOW)
        log.flush()
        assert log.directory is not None
        before = read_all(log)
        filler = disk / "filler"
        fill(filler)  # not a page left for a cleaned segment
        cleaner = LogCleaner(
            manager, backoff_ms=lambda: 20, clock=lambda: NOW + 1000, uncleanable_retry_s=0.5
        )
        cleaner.start()
        try:
            deadline = time.monotonic() + 20
            while not cleaner.uncleanable() and time.monotonic() < deadline:
                time.sleep(0.02)
            why = cleaner.uncleanable().get(("t", 0), "")
            assert "No space left" in why
            leftovers = [
                p.name for p in log.directory.iterdir() if p.suffix in (".cleaned", ".swap")
            ]
            assert not leftovers  # a failed round removes what it wrote
            assert read_all(log) == before
            filler.unlink()  # space again: the next try (after 0.5 s) cleans it
            while read_checkpoint(log.directory) is None and time.monotonic() < deadline:
                time.sleep(0.02)
        finally:
            cleaner.stop()
        assert read_checkpoint(log.directory) is not None
        assert not cleaner.uncleanable()
        after = read_all(log)
        assert len(after) < len(before)
        assert latest(after) == latest(before)
        manager.close_all()
        manager.wait_closed()
