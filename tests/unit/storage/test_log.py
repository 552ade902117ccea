"""Behaviour of a partition log, run on both backends: offsets, reads, indexes, retention."""

from __future__ import annotations

import pytest

from embedded_broker.protocol.record_batch import (
    BatchHeader,
    iter_batches,
    parse_header,
    verify_crc,
)
from embedded_broker.storage import Log, OffsetOutOfRange, StorageError
from tests.unit.storage.batches import Rec, build_batch, simple_batch
from tests.unit.storage.conftest import OpenLog

NOW = 1_700_000_000_000


def read_all(log: Log, start: int | None = None, max_bytes: int = 1 << 20) -> list[BatchHeader]:
    """Every batch from ``start`` to the log end, following the log across segments."""
    offset = log.log_start_offset if start is None else start
    headers: list[BatchHeader] = []
    while offset < log.log_end_offset:
        data = log.read(offset, max_bytes)
        assert data, f"no data at {offset} below the log end {log.log_end_offset}"
        found = list(iter_batches(data))
        assert sum(h.size for h in found) == len(data)
        headers.extend(found)
        offset = found[-1].next_offset
    return headers


def payload(batch: bytes) -> bytes:
    """A batch without its baseOffset and partitionLeaderEpoch (the fields append rewrites)."""
    return batch[8:12] + batch[16:]


def test_append_assigns_consecutive_offsets_and_reads_back(open_log: OpenLog) -> None:
    log = open_log()
    batches = [simple_batch(n) for n in (1, 5, 2, 10, 1)]
    infos = [log.append(b, now_ms=NOW) for b in batches]
    assert [(i.base_offset, i.last_offset) for i in infos] == [
        (0, 0),
        (1, 5),
        (6, 7),
        (8, 17),
        (18, 18),
    ]
    assert all(i.log_append_time_ms == -1 and i.log_start_offset == 0 for i in infos)
    assert log.log_end_offset == 19
    data = log.read(0, 1 << 20)
    headers = list(iter_batches(data))
    assert [h.base_offset for h in headers] == [0, 1, 6, 8, 18]
    assert all(h.partition_leader_epoch == 0 for h in headers)
    for header, original in zip(headers, batches, strict=True):
        stored = data[header.position : header.end]
        assert payload(stored) == payload(original)
        assert verify_crc(stored)
    assert log.size_bytes() == sum(map(len, batches))


def test_one_append_of_several_batches(open_log: OpenLog) -> None:
    log = open_log()
    log.append(simple_batch(3), now_ms=NOW)
    info = log.append(simple_batch(2) + simple_batch(4) + simple_batch(1), now_ms=NOW)
    assert (info.base_offset, info.last_offset) == (3, 9)
    assert [h.base_offset for h in read_all(log)] == [0, 3, 5, 9]


def test_leader_epoch_none_leaves_the_batch_epoch(open_log: OpenLog) -> None:
    log = open_log()
    log.append(simple_batch(1), now_ms=NOW, leader_epoch=None)
    log.append(simple_batch(1), now_ms=NOW, leader_epoch=5)
    assert [h.partition_leader_epoch for h in read_all(log)] == [-1, 5]


def test_read_from_the_middle_of_a_batch_returns_the_containing_batch(open_log: OpenLog) -> None:
    log = open_log()
    for _ in range(5):
        log.append(simple_batch(10), now_ms=NOW)
    for offset in (0, 13, 19, 20, 49):
        first = parse_header(log.read(offset, 1 << 20))
        assert first.base_offset == offset - offset % 10


def test_max_bytes_and_at_least_one_batch(open_log: OpenLog) -> None:
    log = open_log()
    batch = simple_batch(4, value_size=100)
    for _ in range(6):
        log.append(batch, now_ms=NOW)
    size = len(batch)
    assert len(log.read(0, size * 2 + size // 2)) == size * 2
    assert len(log.read(0, size * 2)) == size * 2
    assert len(log.read(4, 1)) == size  # above max_bytes, but one whole batch
    assert len(log.read(4, 0)) == size
    assert len(log.read(23, 1 << 20)) == size


def test_offsets_out_of_range(open_log: OpenLog) -> None:
    log = open_log()
    assert log.read(0, 100) == b""
    log.append(simple_batch(3), now_ms=NOW)
    assert log.read(3, 100) == b""
    with pytest.raises(OffsetOutOfRange) as info:
        log.read(4, 100)
    assert (info.value.log_start_offset, info.value.log_end_offset) == (0, 3)
    with pytest.raises(OffsetOutOfRange):
        log.read(-1, 100)


def test_roll_by_segment_bytes_and_index_lookups_across_segments(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=2000, index_interval_bytes=150)
    sizes = [1, 3, 7, 2, 5, 1, 1, 9, 4]
    expected: list[tuple[int, int]] = []
    offset = 0
    for i in range(120):
        n = sizes[i % len(sizes)]
        log.append(simple_batch(n, value_size=7 * (i % 5)), now_ms=NOW)
        expected.append((offset, offset + n - 1))
        offset += n
    assert log.segment_count > 5
    bases = log.segment_base_offsets()
    assert bases[0] == 0 and bases == sorted(bases)
    for base, last in expected:
        for target in {base, last, (base + last) // 2}:
            header = parse_header(log.read(target, 1))
            assert (header.base_offset, header.last_offset) == (base, last)
    assert [(h.base_offset, h.last_offset) for h in read_all(log)] == expected
    # reading with small max_bytes walks the same batches
    assert [(h.base_offset, h.last_offset) for h in read_all(log, max_bytes=300)] == expected


def test_roll_by_segment_ms(open_log: OpenLog) -> None:
    log = open_log(segment_ms=1000)
    log.append(simple_batch(1), now_ms=NOW)
    log.append(simple_batch(1), now_ms=NOW + 999)
    assert log.segment_count == 1
    log.append(simple_batch(1), now_ms=NOW + 1000)
    assert log.segment_base_offsets() == [0, 2]
    # retention check rolls an old active segment too
    log.enforce_retention(NOW + 2500)
    assert log.segment_base_offsets() == [0, 2, 3]


def test_offset_for_timestamp_and_max_timestamp(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=1500, index_interval_bytes=100)
    assert log.offset_for_timestamp(0) is None
    assert log.max_timestamp() is None
    # batch i holds 3 records with timestamps 1000 + 10 i + (0, 1, 2)
    for i in range(60):
        log.append(simple_batch(3, base_timestamp=1000 + 10 * i), now_ms=NOW)
    assert log.segment_count > 3
    for i in range(60):
        for j in range(3):
            assert log.offset_for_timestamp(1000 + 10 * i + j) == (3 * i + j, 1000 + 10 * i + j)
        assert log.offset_for_timestamp(1000 + 10 * i + 5) == (3 * i + 3, 1010 + 10 * i) or i == 59
    assert log.offset_for_timestamp(0) == (0, 1000)
    assert log.offset_for_timestamp(1000 + 10 * 59 + 3) is None
    assert log.max_timestamp() == (179, 1592)


def test_out_of_order_timestamps(open_log: OpenLog) -> None:
    log = open_log(index_interval_bytes=1)
    log.append(build_batch([Rec(b"k", b"v", 50), Rec(b"k", b"v", 0)], base_timestamp=100), now_ms=1)
    log.append(build_batch([Rec(b"k", b"v", 0)], base_timestamp=120), now_ms=1)
    log.append(build_batch([Rec(b"k", b"v", 0)], base_timestamp=150), now_ms=1)
    assert log.offset_for_timestamp(101) == (0, 150)
    assert log.offset_for_timestamp(110) == (0, 150)
    assert log.offset_for_timestamp(151) is None
    assert log.max_timestamp() == (0, 150)


def test_log_append_time(open_log: OpenLog) -> None:
    log = open_log(message_timestamp_type="LogAppendTime")
    info = log.append(simple_batch(2, base_timestamp=5), now_ms=NOW)
    assert info.log_append_time_ms == NOW
    header = parse_header(log.read(0, 1000))
    assert header.is_log_append_time and header.max_timestamp == NOW
    assert verify_crc(log.read(0, 1000))
    assert log.offset_for_timestamp(NOW) == (0, NOW)
    assert log.max_timestamp() == (0, NOW)


def test_retention_by_bytes(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=1000, retention_bytes=2500, retention_ms=-1)
    for _ in range(40):
        log.append(simple_batch(2, value_size=50), now_ms=NOW)
    total = log.size_bytes()
    segments = log.segment_count
    assert log.enforce_retention(NOW) > 0
    assert log.segment_count < segments
    assert log.size_bytes() < total
    first = log.segment_base_offsets()[0]
    assert log.log_start_offset == first > 0
    # whole segments go only while at least retention.bytes stay
    assert 2500 <= log.size_bytes() < 2500 + 1000
    with pytest.raises(OffsetOutOfRange):
        log.read(first - 1, 100)
    assert parse_header(log.read(first, 100)).base_offset == first
    assert read_all(log)[-1].last_offset == 79


def test_retention_by_time(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=500, retention_ms=10_000)
    for i in range(20):
        log.append(simple_batch(2, value_size=50, base_timestamp=NOW + 1000 * i), now_ms=NOW)
    assert log.segment_count > 3
    assert log.enforce_retention(NOW + 10_000) == 0
    # segments whose newest record is older than 5 s before "now" go
    log.enforce_retention(NOW + 15_000)
    assert log.log_start_offset > 0
    # batch i (offsets 2i, 2i+1) has max timestamp NOW + 1000 i + 1: batch 5 must survive
    assert 0 < log.log_start_offset <= 10
    assert log.log_start_offset == log.segment_base_offsets()[0]
    assert read_all(log)[0].max_timestamp < NOW + 5_000 or log.log_start_offset == 10
    # everything expired: the active segment is rolled and dropped, the log stays usable
    log.enforce_retention(NOW + 100_000)
    assert log.log_start_offset == log.log_end_offset == 40
    assert log.size_bytes() == 0
    assert log.read(40, 100) == b""
    log.append(simple_batch(1), now_ms=NOW + 100_000)
    assert parse_header(log.read(40, 100)).base_offset == 40


def test_delete_records_before(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=600)
    for _ in range(20):
        log.append(simple_batch(5, value_size=20), now_ms=NOW)
    segments = log.segment_count
    assert log.delete_records_before(3) == 3
    assert parse_header(log.read(3, 100)).base_offset == 0  # the containing batch
    with pytest.raises(OffsetOutOfRange):
        log.read(2, 100)
    assert log.delete_records_before(1) == 3  # never moves backwards
    assert log.delete_records_before(62) == 62
    assert log.segment_count < segments
    assert log.segment_base_offsets()[0] <= 62
    assert log.offset_for_timestamp(0) == (62, 1_700_000_000_002)
    with pytest.raises(OffsetOutOfRange):
        log.delete_records_before(101)
    assert log.delete_records_before(100) == 100
    assert log.size_bytes() == 0
    assert log.log_end_offset == 100
    assert log.append(simple_batch(1), now_ms=NOW).base_offset == 100


def test_truncate_all(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=600)
    for _ in range(10):
        log.append(simple_batch(5, value_size=20), now_ms=NOW)
    log.truncate_all()
    assert log.log_start_offset == log.log_end_offset == 50
    assert log.size_bytes() == 0
    assert log.append(simple_batch(1), now_ms=NOW).base_offset == 50


def test_flush_after_rolls_and_deletions(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=400, retention_bytes=800, retention_ms=-1)
    for _ in range(20):
        log.append(simple_batch(2, value_size=40), now_ms=NOW)
    log.enforce_retention(NOW)  # deletes segments rolled but not yet synced
    log.flush()
    log.flush()
    log.append(simple_batch(1), now_ms=NOW)
    log.flush()
    assert read_all(log)[-1].last_offset == 40


def test_every_max_bytes_returns_the_longest_whole_batch_prefix(open_log: OpenLog) -> None:
    log = open_log(index_interval_bytes=150)
    sizes = []
    for i in range(30):
        batch = simple_batch(1 + i % 3, value_size=(i * 37) % 120)
        log.append(batch, now_ms=NOW)
        sizes.append(len(batch))
    starts = [sum(sizes[:i]) for i in range(len(sizes) + 1)]
    offsets = [0]
    for i in range(30):
        offsets.append(offsets[-1] + 1 + i % 3)
    for first in (0, 7, 29):
        for max_bytes in range(0, starts[-1] - starts[first] + 20, 7):
            data = log.read(offsets[first], max_bytes)
            fitting = [j for j in range(first + 1, 31) if starts[j] - starts[first] <= max_bytes]
            expected_end = starts[fitting[-1]] if fitting else starts[first + 1]
            assert len(data) == expected_end - starts[first], (first, max_bytes)
            assert parse_header(data).base_offset == offsets[first]


def test_a_closed_log_refuses_work(open_log: OpenLog) -> None:
    log = open_log()
    log.append(simple_batch(1), now_ms=NOW)
    log.close()
    for call in (
        lambda: log.read(0, 100),
        lambda: log.append(simple_batch(1), now_ms=NOW),
        lambda: log.offset_for_timestamp(0),
        log.max_timestamp,
    ):
        with pytest.raises(StorageError, match="closed"):
            call()
    log.flush()  # harmless
    log.close()
