"""The per-partition producer table: Kafka's duplicate, epoch and sequence rules."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from embedded_broker.producers.entry import PartitionProducers
from embedded_broker.protocol.record_batch import BatchHeader, parse_header
from tests.unit.storage.batches import Rec, build_batch

PID = 4000


def header(
    seq: int, count: int = 1, *, epoch: int = 0, pid: int = PID, ts: int = 1000
) -> BatchHeader:
    records = [Rec(b"k", b"v")] * count
    return parse_header(
        build_batch(
            records, producer_id=pid, producer_epoch=epoch, base_sequence=seq, base_timestamp=ts
        )
    )


def appended(table: PartitionProducers, h: BatchHeader, offset: int) -> None:
    assert table.check([h], "t-0").error == ErrorCode.none
    table.append([h], offset, -1)


def test_unknown_producer_may_start_at_any_sequence_as_since_kip_360() -> None:
    table = PartitionProducers()
    assert table.check([header(42)], "t-0").error == ErrorCode.none


def test_duplicate_of_any_of_the_last_five_batches_gives_its_original_offset() -> None:
    table = PartitionProducers()
    offset = 0
    for i in range(6):
        appended(table, header(2 * i, 2), offset)
        offset += 2
    # batches 1..5 are cached (seq 2..11 at offsets 2..11); batch 0 has fallen out
    for i in range(1, 6):
        dup = table.check([header(2 * i, 2)], "t-0").duplicate
        assert dup is not None and dup.first_offset == 2 * i and dup.last_offset == 2 * i + 1
    too_old = table.check([header(0, 2)], "t-0")
    assert too_old.duplicate is None
    assert too_old.error == ErrorCode.out_of_order_sequence_number
    # same first sequence, different length: not the same batch
    assert table.check([header(10, 1)], "t-0").error == ErrorCode.out_of_order_sequence_number


def test_gap_older_epoch_and_epoch_bump() -> None:
    table = PartitionProducers()
    appended(table, header(0, 3, epoch=2), 0)
    assert table.check([header(5, epoch=2)], "t-0").error == ErrorCode.out_of_order_sequence_number
    assert table.check([header(3, epoch=1)], "t-0").error == ErrorCode.invalid_producer_epoch
    bumped = table.check([header(3, epoch=3)], "t-0")
    assert bumped.error == ErrorCode.out_of_order_sequence_number  # a new epoch starts at 0
    appended(table, header(0, epoch=3), 3)
    # the bump forgot the old epoch's batches: its retry is now a stale epoch
    assert table.check([header(0, 3, epoch=2)], "t-0").error == ErrorCode.invalid_producer_epoch
    assert table.check([header(1, epoch=3)], "t-0").error == ErrorCode.none


def test_sequence_wraps_after_int32_max() -> None:
    table = PartitionProducers()
    appended(table, header(2**31 - 2, 2), 0)  # last sequence 2**31 - 1
    assert table.check([header(0)], "t-0").error == ErrorCode.none
    wrapped = header(2**31 - 1, 3)  # sequences 2**31 - 1, 0, 1
    fresh = PartitionProducers()
    appended(fresh, wrapped, 0)
    dup = fresh.check([header(2**31 - 1, 3)], "t-0").duplicate
    assert dup is not None and dup.last_seq == 1


def test_several_batches_in_one_request_are_checked_in_order() -> None:
    table = PartitionProducers()
    appended(table, header(0), 0)
    assert table.check([header(1), header(2, 2)], "t-0").error == ErrorCode.none
    assert (
        table.check([header(1), header(3)], "t-0").error == ErrorCode.out_of_order_sequence_number
    )
    table.append([header(1), header(2, 2)], 1, -1)
    dup = table.check([header(2, 2)], "t-0").duplicate
    assert dup is not None and (dup.first_offset, dup.last_offset) == (2, 3)


def test_log_append_time_is_the_cached_timestamp() -> None:
    table = PartitionProducers()
    table.append([header(0, ts=5)], 0, 777)
    dup = table.check([header(0, ts=5)], "t-0").duplicate
    assert dup is not None and dup.timestamp == 777


def test_expiry_by_last_batch_timestamp() -> None:
    table = PartitionProducers()
    appended(table, header(0, ts=1_000), 0)
    appended(table, header(0, pid=PID + 1, ts=5_000), 1)
    assert table.expire(now_ms=10_999, expiration_ms=10_000) == 0
    assert table.expire(now_ms=11_000, expiration_ms=10_000) == 1
    assert list(table.entries) == [PID + 1]
    # an expired producer is unknown again: any sequence is accepted
    assert table.check([header(9)], "t-0").error == ErrorCode.none
