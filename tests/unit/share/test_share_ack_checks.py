"""A partition's acknowledgement batches checked as a whole before any is applied, a log
start offset moving past the share-partition start without a write, and the record-limit acquire
mode (Kafka's rules)."""

from __future__ import annotations

from embedded_broker.share.acks import malformed, refusal
from embedded_broker.share.partition import AckError, AckType, SharePartition

A = (int(AckType.ACCEPT),)


def _holding(count: int, member: str = "m") -> SharePartition:
    part = SharePartition(0)
    part.acquire(
        [(o, o) for o in range(count)],
        member,
        now_ms=0,
        lock_ms=1000,
        max_records=100,
        max_in_flight=100,
        high_watermark=100,
    )
    return part


def test_malformed_lists() -> None:
    assert not malformed([(0, 1, A), (1, 2, A), (4, 5, (1, 2))])
    assert malformed([(2, 2, A), (0, 0, A)])  # out of order
    assert malformed([(0, 2, A), (1, 1, A)])  # overlapping
    assert malformed([(2, 1, A)])
    assert malformed([(0, 0, ())])
    assert malformed([(0, 1, (1, 1, 1))])
    assert malformed([(0, 0, (5,))])


def test_refusals_look_at_every_batch_and_change_nothing() -> None:
    part = _holding(4)
    before = {o: (r.state, r.member_id) for o, r in part.records.items()}
    assert refusal(part, "m", [(0, 1, A), (9, 9, A)]) is AckError.INVALID_REQUEST
    assert refusal(part, "m", [(0, 0, A), (2, 5, A)]) is AckError.INVALID_REQUEST
    assert refusal(part, "other", [(0, 0, A)]) is AckError.INVALID_RECORD_STATE
    assert refusal(part, "m", [(0, 1, A), (1, 1, A)]) is AckError.INVALID_RECORD_STATE
    assert refusal(part, "m", [(0, 3, A)]) is AckError.NONE
    assert {o: (r.state, r.member_id) for o, r in part.records.items()} == before


def test_batches_below_the_start_offset_are_skipped() -> None:
    part = _holding(4)
    part.acknowledge("m", 0, 1, A, 5)
    assert part.start_offset == 2
    assert refusal(part, "m", [(0, 1, A), (2, 2, A)]) is AckError.NONE
    assert refusal(SharePartition(3), "m", [(5, 5, A)]) is AckError.INVALID_RECORD_STATE


def test_a_log_start_move_is_not_written_until_the_next_change() -> None:
    part = _holding(3)
    part.acknowledge("m", 0, 2, A, 5)
    assert part.written() == (0, 3)
    part.move_start(5)  # DeleteRecords before 5
    assert (part.start_offset, part.written()) == (5, (0, 3))
    assert part.written_batches()[0] == (0, 2, 2, 1)
    part.acquire(
        [(5, 5)], "m", now_ms=0, lock_ms=1000, max_records=1, max_in_flight=10, high_watermark=6
    )
    part.acknowledge("m", 5, 5, A, 5)
    assert part.written() == (5, 1)


def test_record_limit_splits_a_batch_at_max_records() -> None:
    part = SharePartition(0)
    take = {"now_ms": 0, "lock_ms": 1000, "max_in_flight": 100, "high_watermark": 100}
    got = part.acquire([(0, 4)], "m", max_records=2, record_limit=True, **take)
    assert [(r.first_offset, r.last_offset) for r in got] == [(0, 1)]
    got = part.acquire([(0, 4)], "m", max_records=2, **take)
    assert [(r.first_offset, r.last_offset) for r in got] == [(2, 4)]
