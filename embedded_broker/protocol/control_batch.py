"""Transaction markers: the control batches that end a transaction in each of its partitions.

A marker is a v2 batch with the transactional and control attribute bits, the producer's id and
epoch, baseSequence -1 and one record whose key is (int16 version 0, int16 type: 0 ABORT,
1 COMMIT) and whose value is (int16 version 0, int32 coordinator epoch), as Kafka's
EndTransactionMarker. WriteTxnMarkers appends one to every partition of a transaction.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

import crc32c

from embedded_broker.protocol.record_batch import (
    CONTROL_BIT,
    HEADER_SIZE,
    LOG_OVERHEAD,
    TRANSACTIONAL_BIT,
    InvalidRecordBatchError,
    _read_varint,
    parse_header,
)

_KEY = struct.Struct(">hh")  # version, type
_VALUE = struct.Struct(">hi")  # version, coordinator epoch
_TAIL = struct.Struct(">hiqqqhii")  # attributes .. recordsCount
_PREFIX = struct.Struct(">qiib")  # baseOffset, batchLength, partitionLeaderEpoch, magic
_CONTROL_ATTRIBUTES = TRANSACTIONAL_BIT | CONTROL_BIT


class MarkerType(IntEnum):
    ABORT = 0
    COMMIT = 1


@dataclass(frozen=True, slots=True)
class Marker:
    kind: MarkerType
    producer_id: int
    producer_epoch: int
    coordinator_epoch: int
    # the transaction version the coordinator names in WriteTxnMarkers v2 (KIP-1228); not in
    # the record, so a marker read back from the log has 0 (the lenient legacy check)
    transaction_version: int = 0


def _record(key: bytes, value: bytes) -> bytes:
    # attributes 0, timestampDelta 0, offsetDelta 0, key, value, no headers (zig-zag varints;
    # every length here is below 64, so each varint is one byte)
    body = b"\x00\x00\x00" + bytes([len(key) << 1]) + key + bytes([len(value) << 1]) + value
    body += b"\x00"
    return bytes([len(body) << 1]) + body


def build_marker(marker: Marker, timestamp_ms: int, partition_leader_epoch: int = -1) -> bytes:
    """One control batch at baseOffset 0 (the log assigns the real offset on append)."""
    record = _record(_KEY.pack(0, marker.kind), _VALUE.pack(0, marker.coordinator_epoch))
    tail = _TAIL.pack(
        _CONTROL_ATTRIBUTES,
        0,  # lastOffsetDelta
        timestamp_ms,
        timestamp_ms,
        marker.producer_id,
        marker.producer_epoch,
        -1,  # baseSequence: markers carry none
        1,
    )
    crc = crc32c.crc32c(record, crc32c.crc32c(tail))
    length = HEADER_SIZE - LOG_OVERHEAD + len(record)
    return (
        _PREFIX.pack(0, length, partition_leader_epoch, 2) + struct.pack(">I", crc) + tail + record
    )


def parse_marker(batch: bytes) -> Marker:
    """The marker in a control batch; raises InvalidRecordBatchError if it is not one."""
    header = parse_header(batch)
    if not header.is_control or header.records_count != 1:
        raise InvalidRecordBatchError("not a transaction marker batch")
    body = batch[HEADER_SIZE : header.batch_length + LOG_OVERHEAD]
    _length, pos = _read_varint(body, 0)
    _timestamp_delta, pos = _read_varint(body, pos + 1)  # after the attributes byte
    _offset_delta, pos = _read_varint(body, pos)
    key_length, pos = _read_varint(body, pos)
    key = body[pos : pos + max(key_length, 0)]
    value_length, pos = _read_varint(body, pos + max(key_length, 0))
    value = body[pos : pos + max(value_length, 0)]
    if len(key) < _KEY.size or len(value) < _VALUE.size:
        raise InvalidRecordBatchError("transaction marker record is truncated")
    kind = _KEY.unpack_from(key)[1]
    if kind not in (MarkerType.ABORT, MarkerType.COMMIT):
        raise InvalidRecordBatchError(f"unknown control record type {kind}")
    coordinator_epoch = _VALUE.unpack_from(value)[1]
    return Marker(MarkerType(kind), header.producer_id, header.producer_epoch, coordinator_epoch)
