"""The share-partition state machine without a broker: acquisition, locks, acknowledgements,
the delivery count limit, the in-flight limit and the durable form."""

from __future__ import annotations

from embedded_broker.share.groups import ShareMember, assign
from embedded_broker.share.partition import (
    AckError,
    AckType,
    Acquired,
    RecordState,
    SharePartition,
)

LOCK = 1000
LIMIT = 3


def _acquire(
    part: SharePartition,
    member: str,
    now: int,
    batches: list[tuple[int, int]],
    *,
    max_records: int = 100,
    max_in_flight: int = 100,
) -> list[Acquired]:
    return part.acquire(
        batches,
        member,
        now_ms=now,
        lock_ms=LOCK,
        max_records=max_records,
        max_in_flight=max_in_flight,
        high_watermark=100,
    )


def test_whole_batches_are_acquired_up_to_max_records() -> None:
    part = SharePartition(0)
    # the second batch passes max_records: it is taken whole, the third is not
    got = _acquire(part, "a", 0, [(0, 1), (2, 4), (5, 6)], max_records=3)
    assert got == [Acquired(0, 4, 1)]
    assert part.end_offset == 5
    assert _acquire(part, "b", 0, [(0, 1), (2, 4), (5, 6)]) == [Acquired(5, 6, 1)]


def test_an_expired_lock_makes_records_available_with_their_count_kept() -> None:
    part = SharePartition(0)
    _acquire(part, "a", 0, [(0, 2)])
    assert not part.expire(LOCK - 1, LIMIT)
    assert part.expire(LOCK, LIMIT)
    assert part.first_available() == 0
    assert _acquire(part, "b", LOCK, [(0, 2)]) == [Acquired(0, 2, 2)]
    assert part.acknowledge("a", 0, 2, (AckType.ACCEPT,), LIMIT) is AckError.INVALID_RECORD_STATE


def test_acknowledgements_move_the_start_offset_past_finished_records() -> None:
    part = SharePartition(10)
    _acquire(part, "a", 0, [(10, 13)])
    assert part.acknowledge("a", 11, 11, (AckType.ACCEPT,), LIMIT) is AckError.NONE
    assert part.start_offset == 10  # 10 is still in flight
    types = (AckType.REJECT, AckType.RELEASE)
    assert part.acknowledge("a", 12, 13, types, LIMIT) is AckError.NONE
    assert part.acknowledge("a", 10, 10, (AckType.ACCEPT,), LIMIT) is AckError.NONE
    assert part.start_offset == 13  # 10-12 done; 13 released
    assert part.records[13].state is RecordState.AVAILABLE


def test_a_record_released_at_the_delivery_count_limit_is_archived() -> None:
    part = SharePartition(0)
    for delivery in range(1, LIMIT + 1):
        assert _acquire(part, "a", 0, [(0, 0)]) == [Acquired(0, 0, delivery)]
        part.acknowledge("a", 0, 0, (AckType.RELEASE,), LIMIT)
    assert part.start_offset == 1  # archived, so done
    assert _acquire(part, "a", 0, [(0, 0)]) == []


def test_the_in_flight_limit_stops_acquisition() -> None:
    part = SharePartition(0)
    assert _acquire(part, "a", 0, [(0, 9)], max_in_flight=4) == [Acquired(0, 3, 1)]
    assert _acquire(part, "b", 0, [(0, 9)], max_in_flight=4) == []
    part.acknowledge("a", 0, 1, (AckType.ACCEPT,), LIMIT)
    assert _acquire(part, "b", 0, [(4, 9)], max_in_flight=4) == [Acquired(4, 5, 1)]


def test_bad_acknowledgement_batches_are_refused() -> None:
    part = SharePartition(0)
    _acquire(part, "a", 0, [(0, 3)])
    assert part.acknowledge("a", 2, 1, (1,), LIMIT) is AckError.INVALID_REQUEST
    assert part.acknowledge("a", 0, 3, (1, 1), LIMIT) is AckError.INVALID_REQUEST
    assert part.acknowledge("a", 0, 0, (9,), LIMIT) is AckError.INVALID_REQUEST
    assert part.acknowledge("b", 0, 0, (1,), LIMIT) is AckError.INVALID_RECORD_STATE


def test_the_durable_form_turns_held_records_available_and_keeps_counts() -> None:
    part = SharePartition(0)
    _acquire(part, "a", 0, [(0, 5)])
    part.acknowledge("a", 1, 1, (AckType.ACCEPT,), LIMIT)
    part.acknowledge("a", 2, 2, (AckType.REJECT,), LIMIT)
    back = SharePartition.from_json(part.to_json())
    assert (back.start_offset, back.end_offset) == (0, 6)
    assert {o: (r.state, r.delivery_count) for o, r in back.records.items()} == {
        0: (RecordState.AVAILABLE, 1),
        1: (RecordState.ACKNOWLEDGED, 1),
        2: (RecordState.ARCHIVED, 1),
        3: (RecordState.AVAILABLE, 1),
        4: (RecordState.AVAILABLE, 1),
        5: (RecordState.AVAILABLE, 1),
    }
    assert _acquire(back, "b", 0, [(0, 5)]) == [Acquired(0, 0, 2), Acquired(3, 5, 2)]


def _member(name: str, *topics: str) -> ShareMember:
    return ShareMember(name, 0, topics, "", "", None, 0)


def test_the_simple_assignor_shares_partitions_only_when_members_outnumber_them() -> None:
    two = assign([_member("a", "t"), _member("b", "t")], {"t": 4})
    assert two == {"a": {"t": frozenset({0, 2})}, "b": {"t": frozenset({1, 3})}}
    three = assign([_member("a", "t"), _member("b", "t"), _member("c", "t")], {"t": 2})
    assert three == {
        "a": {"t": frozenset({0})},
        "b": {"t": frozenset({1})},
        "c": {"t": frozenset({0})},
    }
    apart = assign([_member("a", "t"), _member("b", "u")], {"t": 1, "u": 1})
    assert apart == {"a": {"t": frozenset({0})}, "b": {"u": frozenset({0})}}
