"""The follower side of the partition log: appending a leader's batches unchanged and
cutting a divergent tail."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_broker.protocol.record_batch import InvalidRecordBatchError, parse_header
from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import simple_batch
from tests.unit.storage.conftest import OpenLog


def _leader_batches(count: int, epoch: int, start: int = 0) -> list[bytes]:
    """Batches as a leader stores them: offsets assigned, its epoch stamped."""
    leader = Log(None, LogConfig())
    if start:
        leader.append(simple_batch(start), now_ms=0, leader_epoch=0)
    out = []
    for i in range(count):
        data = simple_batch(3, base_timestamp=1_000 + i)
        info = leader.append(data, now_ms=0, leader_epoch=epoch)
        out.append(leader.read(info.base_offset, 1 << 20))
    return out


def _all_bytes(log: Log) -> bytes:
    out = b""
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        at = 0
        while at < len(data):
            header = parse_header(data[at:])
            offset = header.base_offset + header.last_offset_delta + 1
            at += 12 + header.batch_length
        out += data
    return out


def test_a_follower_append_keeps_offsets_epochs_and_bytes(open_log: OpenLog) -> None:
    follower = open_log()
    batches = _leader_batches(4, epoch=7)
    info = follower.append_replicated(b"".join(batches[:2]), now_ms=0)
    assert (info.base_offset, info.last_offset) == (0, 5)
    follower.append_replicated(batches[2] + batches[3], now_ms=0)
    assert follower.log_end_offset == 12
    assert follower.read(0, 1 << 20) == b"".join(batches)
    assert parse_header(follower.read(9, 1 << 20)).partition_leader_epoch == 7


def test_a_follower_append_below_the_log_end_is_refused(open_log: OpenLog) -> None:
    follower = open_log()
    batches = _leader_batches(2, epoch=1)
    follower.append_replicated(b"".join(batches), now_ms=0)
    with pytest.raises(InvalidRecordBatchError):
        follower.append_replicated(batches[1], now_ms=0)
    assert follower.log_end_offset == 6


def test_truncation_cuts_whole_batches_across_segments(open_log: OpenLog) -> None:
    log = open_log(segment_bytes=200)  # a few batches per segment
    batches = _leader_batches(10, epoch=1)
    for data in batches:
        log.append_replicated(data, now_ms=0)
    assert log.segment_count > 2
    assert log.truncate_to(13) == 12  # offset 13 is inside the batch 12-14: it goes whole
    assert log.log_end_offset == 12
    assert _all_bytes(log) == b"".join(batches[:4])
    # the log goes on from there with the new leader's batches
    newer = _leader_batches(1, epoch=2, start=12)[0]
    log.append_replicated(newer, now_ms=0)
    assert log.log_end_offset == 15
    assert log.truncate_to(99) == 15  # at or past the end: nothing to cut


def test_truncation_survives_a_reopen(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = Log(directory, LogConfig(segment_bytes=200))
    for data in _leader_batches(6, epoch=1):
        log.append_replicated(data, now_ms=0)
    log.flush()  # the recovery point is past the cut: it must move back with it
    log.truncate_to(6)
    log.close()
    again = Log(directory, LogConfig(segment_bytes=200))
    try:
        assert again.log_end_offset == 6
    finally:
        again.close()
