"""Transaction markers: built as Kafka's EndTransactionMarker batches, parsed back, stored."""

from __future__ import annotations

import pytest

from embedded_broker.protocol.control_batch import Marker, MarkerType, build_marker, parse_marker
from embedded_broker.protocol.record_batch import (
    InvalidRecordBatchError,
    parse_header,
    verify_crc,
)
from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import Rec, build_batch


@pytest.mark.parametrize("kind", list(MarkerType))
def test_a_marker_round_trips_with_a_valid_crc(kind: MarkerType) -> None:
    marker = Marker(kind, producer_id=4001, producer_epoch=7, coordinator_epoch=12)
    batch = build_marker(marker, timestamp_ms=1_700_000_000_000, partition_leader_epoch=3)
    assert verify_crc(batch)
    header = parse_header(batch)
    assert header.is_control and header.is_transactional
    assert (header.records_count, header.last_offset_delta, header.base_sequence) == (1, 0, -1)
    assert header.partition_leader_epoch == 3
    assert parse_marker(batch) == marker


def test_the_log_stores_a_marker_at_the_next_offset() -> None:
    log = Log(None, LogConfig())
    log.append(build_batch([Rec(b"k", b"v")], producer_id=5, producer_epoch=0), now_ms=1)
    info = log.append(build_marker(Marker(MarkerType.COMMIT, 5, 0, 0), 2), now_ms=2)
    assert (info.base_offset, info.last_offset) == (1, 1)
    assert parse_marker(log.read(1, 1 << 20)).kind is MarkerType.COMMIT


def test_a_data_batch_is_not_a_marker() -> None:
    with pytest.raises(InvalidRecordBatchError, match="not a transaction marker"):
        parse_marker(build_batch([Rec(b"k", b"v")]))
