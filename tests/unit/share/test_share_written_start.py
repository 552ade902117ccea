"""What a share-partition reports as written (Kafka's share coordinator's view): the start
offset before the last change, with the records finished past it, kept across a save."""

from __future__ import annotations

from embedded_broker.share.partition import AckType, SharePartition


def _take(part: SharePartition, first: int, last: int) -> None:
    part.acquire(
        [(o, o) for o in range(first, last + 1)],
        "m",
        now_ms=0,
        lock_ms=1000,
        max_records=100,
        max_in_flight=100,
        high_watermark=100,
    )


def test_an_acknowledgement_is_written_with_the_start_offset_it_found() -> None:
    part = SharePartition(0)
    _take(part, 0, 2)
    part.acknowledge("m", 0, 2, (AckType.ACCEPT,), 5)
    assert part.start_offset == 3  # delivery goes on from 3 at once
    assert part.written() == (0, 3)
    assert part.written_batches() == [(0, 2, 2, 1)]
    _take(part, 3, 4)
    part.acknowledge("m", 3, 4, (AckType.RELEASE,), 5)
    assert part.written() == (3, 0)
    assert part.written_batches() == [(3, 4, 0, 1)]


def test_the_written_start_survives_a_save_and_a_coordinators_snapshot() -> None:
    part = SharePartition(0)
    _take(part, 0, 4)
    part.acknowledge("m", 0, 2, (AckType.ACCEPT,), 5)
    saved = SharePartition.from_json(part.to_json())
    assert saved.written() == (0, 3)
    assert (saved.start_offset, saved.first_available()) == (3, 3)
    # a new leader loads the coordinator's snapshot: start 0, the finished 0-2 kept in it
    loaded = SharePartition.from_json(
        {"start_offset": 0, "end_offset": 5, "runs": [list(r) for r in part.written_batches()]}
    )
    assert loaded.start_offset == 3
    assert loaded.written() == (0, 3)
