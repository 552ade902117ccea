"""The log cleaner on a Log directly: latest value per key, offsets kept, tombstones, codecs,
segment merging, the crash-safe swap, and readers during cleaning."""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

import crc32c
import pytest

from embedded_broker.protocol.control_batch import Marker, MarkerType, build_marker
from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig
from embedded_broker.storage.cleaner import (
    Cleaner,
    CleaningAbortedError,
    clean_partition,
    cleanable_range,
    read_checkpoint,
)
from embedded_broker.storage.cleaner_batch import (
    DELETE_HORIZON_BIT,
    decode,
    records,
)
from embedded_broker.storage.cleaner_files import finish_interrupted_cleaning
from embedded_broker.storage.offset_map import ENTRY_SIZE, OffsetMap
from embedded_broker.storage.txn_index import AbortedTxn
from tests.unit.storage.batches import (
    GZIP,
    LZ4,
    NONE,
    SNAPPY,
    SNAPPY_XERIAL,
    ZSTD,
    Rec,
    build_batch,
    latest,
    read_all,
)

from .conftest import OpenLog

NOW = 1_700_000_000_000
DAY = 86_400_000
CODECS = [NONE, GZIP, SNAPPY, SNAPPY_XERIAL, LZ4, ZSTD]


def produce(
    log: Log,
    rng: random.Random,
    batches: int,
    keys: int,
    codec: int,
    *,
    now: int = NOW,
    tombstone_share: float = 0.0,
    per_batch: int = 5,
) -> None:
    for _ in range(batches):
        recs = []
        for _ in range(per_batch):
            key = b"k%d" % rng.randrange(keys)
            value = None if rng.random() < tombstone_share else os.urandom(8).hex().encode()
            recs.append(Rec(key, value))
        log.append(build_batch(recs, codec=codec, base_timestamp=now), now_ms=now)


def clean(log: Log, now: int = NOW, memory: int = 1 << 20) -> int:
    cleaner = Cleaner(OffsetMap(memory))
    stats = clean_partition(cleaner, log, read_checkpoint(log.directory), now)
    return -1 if stats is None else stats.end_offset


def compacted(open_log: OpenLog, **extra: object) -> Log:
    return open_log(segment_bytes=2000, cleanup_policy="compact", **extra)


@pytest.mark.parametrize("codec", CODECS)
def test_cleaning_keeps_the_latest_value_of_each_key_at_its_offset(
    open_log: OpenLog, codec: int
) -> None:
    log = compacted(open_log)
    produce(log, random.Random(codec), 60, 12, codec)
    before = read_all(log)
    log.flush()
    clean(log)
    # a second round merges the now small cleaned segments (compaction reduces their count)
    produce(log, random.Random(codec + 100), 60, 12, codec)
    before += read_all(log)[-300:]
    log.flush()
    segments_before = log.segment_count
    clean(log)
    after = read_all(log)
    assert latest(after) == latest(before)
    # every kept record sits at its original offset with its original value
    assert set(after) <= set(before)
    cleaned_part = [e for e in after if e[0] < log.segment_base_offsets()[-1]]
    assert len({key for _o, key, _v in cleaned_part}) == len(cleaned_part)
    assert log.segment_count < segments_before
    assert log.log_end_offset == before[-1][0] + 1


def test_the_active_segment_and_unflushed_data_are_never_cleaned(open_log: OpenLog) -> None:
    log = compacted(open_log)
    produce(log, random.Random(1), 30, 3, NONE)
    active_base = log.segment_base_offsets()[-1]
    if log.directory is not None:  # nothing flushed yet: the recovery point is 0
        assert cleanable_range(log, None, NOW) is None
    clean(log)  # flushes first
    after = read_all(log)
    assert all(o >= active_base for o, _k, _v in after if o >= active_base)
    tail = [e for e in after if e[0] >= active_base]
    assert len(tail) == log.log_end_offset - active_base


def test_tombstones_stay_for_delete_retention_then_go(open_log: OpenLog) -> None:
    log = compacted(open_log, delete_retention_ms=DAY)
    rng = random.Random(5)
    produce(log, rng, 40, 10, LZ4)
    for key in (b"k1", b"k2"):
        log.append(build_batch([Rec(key, None)], base_timestamp=NOW), now_ms=NOW)
    produce(
        log, random.Random(6), 20, 1, NONE
    )  # k0 only: pushes the tombstones out of the active segment
    log.flush()
    clean(log, now=NOW)
    first = latest(read_all(log))
    assert first[b"k1"] is None and first[b"k2"] is None  # kept, with a delete horizon
    # a later round before the horizon keeps them; one after it drops them
    produce(log, random.Random(7), 20, 1, NONE, now=NOW + DAY // 2)
    log.flush()
    clean(log, now=NOW + DAY // 2)
    assert b"k1" in latest(read_all(log))
    produce(log, random.Random(8), 20, 1, NONE, now=NOW + DAY + 1)
    log.flush()
    clean(log, now=NOW + DAY + 1)
    final = latest(read_all(log))
    assert b"k1" not in final and b"k2" not in final
    assert final.keys() >= {b"k0", b"k3"}


def test_a_tombstone_batch_gets_a_delete_horizon_and_keeps_its_timestamps(
    open_log: OpenLog,
) -> None:
    log = compacted(open_log, delete_retention_ms=1000)
    log.append(
        build_batch([Rec(b"a", b"1", 0), Rec(b"b", None, 7)], base_timestamp=NOW), now_ms=NOW
    )
    produce(log, random.Random(2), 30, 2, NONE)
    log.flush()
    clean(log, now=NOW + 5)
    raw = log.read(0, 1 << 20)
    length = int.from_bytes(raw[8:12], "big")
    batch = decode(raw[: length + 12])
    assert batch.attributes & DELETE_HORIZON_BIT
    assert batch.delete_horizon_ms == NOW + 5 + 1000
    (tomb,) = [r for r in records(batch) if r[8] < 0]
    assert batch.base_timestamp + tomb[4] == NOW + 7  # the record's own timestamp
    assert batch.last_offset == 1  # lastOffsetDelta kept


def test_offset_map_full_cleans_in_several_rounds(open_log: OpenLog) -> None:
    log = compacted(open_log)
    produce(log, random.Random(3), 80, 200, NONE)
    before = latest(read_all(log))
    log.flush()
    ends = []
    for _ in range(20):
        end = clean(log, memory=ENTRY_SIZE * 60)  # room for 54 keys a round
        if end < 0:
            break
        ends.append(end)
    assert len(ends) > 2 and ends == sorted(ends)
    assert latest(read_all(log)) == before


def test_a_reader_during_cleaning_always_sees_the_latest_value(open_log: OpenLog) -> None:
    log = compacted(open_log)
    produce(log, random.Random(4), 200, 20, GZIP)
    expected = latest(read_all(log))
    log.flush()
    stop = threading.Event()
    failures: list[str] = []

    def reader() -> None:
        while not stop.is_set():
            seen = latest(read_all(log))
            if seen != expected:
                failures.append("a read missed the latest value of a key")

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        clean(log)
    finally:
        stop.set()
        thread.join()
    assert not failures
    assert latest(read_all(log)) == expected


def test_cleanable_range_respects_min_compaction_lag(open_log: OpenLog) -> None:
    log = compacted(open_log, min_compaction_lag_ms=60_000)
    produce(log, random.Random(9), 40, 5, NONE)
    log.flush()
    assert cleanable_range(log, None, NOW + 1000) is None  # all younger than the lag
    assert cleanable_range(log, None, NOW + 61_000) is not None


def test_max_compaction_lag_rolls_the_active_segment() -> None:
    config = LogConfig(cleanup_policy="compact", segment_ms=DAY, max_compaction_lag_ms=1000)
    assert config.roll_ms == 1000
    assert LogConfig(segment_ms=DAY, max_compaction_lag_ms=1000).roll_ms == DAY


# --- crash safety -------------------------------------------------------------------------------


def _make_cleaned_partition(tmp_path: Path) -> tuple[Path, dict[bytes, bytes | None], list]:
    directory = tmp_path / "t-0"
    log = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    produce(log, random.Random(11), 60, 10, SNAPPY)
    before = read_all(log)
    log.flush()
    log.close()
    return directory, latest(before), before


@pytest.mark.parametrize("stage", ["cleaned", "swap", "swap-after-renames"])
def test_a_crash_mid_swap_recovers_whole_data(tmp_path: Path, stage: str) -> None:
    directory, expected, before = _make_cleaned_partition(tmp_path)
    pristine = tmp_path / "pristine"
    pristine.mkdir()
    for path in directory.iterdir():
        (pristine / path.name).write_bytes(path.read_bytes())
    log = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    clean(log)
    log.close()
    cleaned_files = {p.name: p.read_bytes() for p in directory.iterdir()}
    # rebuild the directory as a crash at ``stage`` would have left it
    for path in list(directory.iterdir()):
        path.unlink()
    for name, data in ((p.name, p.read_bytes()) for p in pristine.iterdir()):
        (directory / name).write_bytes(data)
    (directory / "clean-shutdown").unlink(missing_ok=True)
    first_base = min(int(n[:20]) for n in cleaned_files if n.endswith(".log"))
    new_log = cleaned_files[f"{first_base:020d}.log"]
    suffix = ".cleaned" if stage == "cleaned" else ".swap"
    (directory / f"{first_base:020d}.log{suffix}").write_bytes(new_log)
    if stage == "swap-after-renames":
        for path in directory.glob("*.log"):
            if int(path.stem) < int(max(n[:20] for n in cleaned_files if n.endswith(".log"))):
                path.rename(path.with_name(path.name + ".deleted"))
    finish_interrupted_cleaning(directory)
    assert not list(directory.glob("*.cleaned")) and not list(directory.glob("*.swap"))
    reopened = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    try:
        assert latest(read_all(reopened)) == expected
        assert reopened.log_end_offset == before[-1][0] + 1
    finally:
        reopened.close()


def test_a_cleaned_segment_rescanned_after_an_unclean_stop_keeps_its_gaps(tmp_path: Path) -> None:
    directory, expected, _ = _make_cleaned_partition(tmp_path)
    log = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    clean(log)
    log.close()
    # lose every index and the shutdown marker: every segment is scanned again
    for path in directory.iterdir():
        if path.suffix in (".index", ".timeindex") or path.name in (
            "clean-shutdown",
            "recovery-point",
        ):
            path.unlink()
    reopened = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    try:
        assert latest(read_all(reopened)) == expected
        assert not list(directory.glob("*.damaged-*"))
    finally:
        reopened.close()


def test_an_aborted_round_leaves_whole_data_and_no_files_behind(tmp_path: Path) -> None:
    directory, expected, before = _make_cleaned_partition(tmp_path)
    log = Log(directory, LogConfig(segment_bytes=2000, cleanup_policy="compact"))
    polls = iter(range(1000))
    # polled once per batch in each pass: the map pass reads at most the 60 batches produced,
    # then the copy pass is stopped part way
    cleaner = Cleaner(OffsetMap(1 << 20), should_stop=lambda: next(polls) > 60 + 30)
    with pytest.raises(CleaningAbortedError):
        clean_partition(cleaner, log, None, NOW)
    try:
        leftovers = [p.name for p in directory.iterdir() if p.name.endswith((".cleaned", ".swap"))]
        assert not leftovers
        after = read_all(log)
        assert latest(after) == expected  # groups swapped in before the stop stay swapped in
        assert set(after) <= set(before)
        assert len(after) < len(before)
        assert read_checkpoint(directory) is None  # the round did not finish
    finally:
        log.close()


@pytest.mark.parametrize("active", [True, False])
def test_the_last_batch_of_an_active_producer_stays_even_when_emptied(
    open_log: OpenLog, active: bool
) -> None:
    log = compacted(open_log)
    idempotent = build_batch(
        [Rec(b"a", b"1"), Rec(b"b", b"2")], producer_id=7, producer_epoch=0, base_sequence=0
    )
    log.append(idempotent, now_ms=NOW)  # offsets 0-1, then both keys are overwritten
    log.append(build_batch([Rec(b"a", b"3"), Rec(b"b", b"4")]), now_ms=NOW)
    produce(log, random.Random(12), 30, 2, NONE)
    log.flush()
    cleaner = Cleaner(OffsetMap(1 << 20))
    producers = {7: 1} if active else {}
    clean_partition(cleaner, log, None, NOW, lambda: producers)
    raw = log.read(0, 1 << 20)
    first = decode(raw[: int.from_bytes(raw[8:12], "big") + 12])
    if active:  # kept empty, with its producer id, epoch, sequence and last offset
        assert (first.producer_id, first.base_sequence, first.records_count) == (7, 0, 0)
        assert (first.base_offset, first.last_offset) == (0, 1)
    else:
        assert first.producer_id == -1 and first.base_offset > 1


def _transactional(batch: bytes) -> bytes:
    """The batch with its transactional attribute bit set (and its CRC fixed)."""
    data = bytearray(batch)
    data[22] |= 0x10  # attributes int16 at byte 21: the bit is in its low byte
    data[17:21] = crc32c.crc32c(bytes(data[21:])).to_bytes(4, "big")
    return bytes(data)


def _markers(log: Log) -> list[tuple[int, int | None]]:
    """(offset, delete horizon) of every control batch in the log."""
    found = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        if not data:
            break
        for header in iter_batches(data):
            if header.is_control:
                found.append(
                    (
                        header.base_offset,
                        decode(data[header.position : header.end]).delete_horizon_ms,
                    )
                )
            offset = header.last_offset + 1
    return found


def test_a_commit_marker_goes_once_its_transaction_is_cleaned_and_its_horizon_passed(
    open_log: OpenLog,
) -> None:
    log = compacted(open_log, delete_retention_ms=DAY)
    txn = build_batch([Rec(b"a", b"1"), Rec(b"b", b"2")], producer_id=9, producer_epoch=0)
    log.append(_transactional(txn), now_ms=NOW)  # offsets 0-1
    log.append(build_marker(Marker(MarkerType.COMMIT, 9, 0, 0), NOW), now_ms=NOW)  # offset 2
    log.append(build_batch([Rec(b"a", b"3"), Rec(b"b", b"4")]), now_ms=NOW)  # supersedes 0-1

    def round_at(now: int, seed: int) -> list[tuple[int, int | None]]:
        produce(log, random.Random(seed), 30, 2, NONE, now=now)
        clean(log, now=now)
        return _markers(log)

    # 1: the transaction's records go, the marker stays (its transaction still had data)
    assert round_at(NOW, 1) == [(2, None)]
    # 2: nothing of the transaction is left: the marker gets a delete horizon
    assert round_at(NOW + 1, 2) == [(2, NOW + 1 + DAY)]
    # 3: before the horizon it stays; after it, it goes
    assert round_at(NOW + DAY, 3) == [(2, NOW + 1 + DAY)]
    assert round_at(NOW + DAY + 2, 4) == []
    assert latest(read_all(log))[b"k0"] is not None


def test_aborted_records_go_and_their_abort_marker_follows(open_log: OpenLog) -> None:
    log = compacted(open_log, delete_retention_ms=DAY)
    txn = build_batch([Rec(b"x", b"1"), Rec(b"y", b"2")], producer_id=5, producer_epoch=0)
    log.append(_transactional(txn), now_ms=NOW)  # offsets 0-1: keys seen nowhere else
    log.append(build_marker(Marker(MarkerType.ABORT, 5, 0, 0), NOW), now_ms=NOW)  # offset 2
    aborted = [AbortedTxn(producer_id=5, first_offset=0, last_offset=2, last_stable_offset=0)]
    cleaner = Cleaner(OffsetMap(1 << 20))

    def round_at(now: int, seed: int) -> list[tuple[int, int | None]]:
        produce(log, random.Random(seed), 30, 2, NONE, now=now)
        log.flush()
        cleanable = cleanable_range(log, read_checkpoint(log.directory), now)
        assert cleanable is not None
        cleaner.clean(log, cleanable, now, aborted=aborted)
        return _markers(log)

    # the aborted records go at once although they are their keys' latest; the marker stays
    # while the round still met its transaction's records
    assert round_at(NOW, 1) == [(2, None)]
    assert b"x" not in latest(read_all(log)) and b"y" not in latest(read_all(log))
    assert round_at(NOW + 1, 2) == [(2, NOW + 1 + DAY)]
    assert round_at(NOW + DAY + 2, 3) == []
