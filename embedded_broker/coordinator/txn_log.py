"""The records of ``__transaction_state``: Kafka's TransactionLogKey and TransactionLogValue.

A record's key is int16 version 0 then the transactional id (int16-length string); its value is
int16 version then the fields: version 0 is the classic encoding, version 1 the flexible one
(compact strings and arrays, tagged fields: 0 PreviousProducerId, 1 NextProducerId,
2 ClientTransactionVersion, each written only when it differs from its default). A null value is
the tombstone of an expired transactional id. Kafka writes no partition list (null) for Empty.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from embedded_broker.coordinator.txn_state import TxnState

KEY_VERSION = 0
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_I64 = struct.Struct(">q")
_HEAD_V0 = struct.Struct(">qhib")  # producerId, producerEpoch, timeoutMs, status
_TIMES = struct.Struct(">qq")  # lastUpdateTimestampMs, startTimestampMs

_TAG_PREVIOUS_PRODUCER_ID = 0
_TAG_NEXT_PRODUCER_ID = 1
_TAG_CLIENT_TRANSACTION_VERSION = 2


class TxnLogError(ValueError):
    """A __transaction_state record that cannot be decoded."""


@dataclass(frozen=True, slots=True)
class TxnLogValue:
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: dict[str, list[int]] = field(default_factory=dict)
    last_update_ms: int = -1
    start_ms: int = -1
    previous_producer_id: int = -1
    next_producer_id: int = -1
    client_transaction_version: int = 0


# --- encoding -------------------------------------------------------------------------------


def _uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def encode_key(transactional_id: str) -> bytes:
    raw = transactional_id.encode()
    return _I16.pack(KEY_VERSION) + _I16.pack(len(raw)) + raw


def encode_value(value: TxnLogValue, version: int = 0) -> bytes:
    """Encode as TransactionLogValue ``version`` (0 or 1)."""
    if version not in (0, 1):
        raise ValueError(f"TransactionLogValue version {version} does not exist")
    flexible = version == 1
    out = bytearray(_I16.pack(version))
    out += _HEAD_V0.pack(value.producer_id, value.producer_epoch, value.timeout_ms, value.state.id)
    partitions = None if value.state is TxnState.EMPTY else value.partitions
    if partitions is None:
        out += b"\x00" if flexible else _I32.pack(-1)
    else:
        out += _uvarint(len(partitions) + 1) if flexible else _I32.pack(len(partitions))
        for topic, ids in partitions.items():
            raw = topic.encode()
            out += (_uvarint(len(raw) + 1) if flexible else _I16.pack(len(raw))) + raw
            out += _uvarint(len(ids) + 1) if flexible else _I32.pack(len(ids))
            out += b"".join(_I32.pack(i) for i in ids)
            if flexible:
                out += b"\x00"  # no tagged fields in the partitions struct
    out += _TIMES.pack(value.last_update_ms, value.start_ms)
    if flexible:
        tags: list[tuple[int, bytes]] = []
        if value.previous_producer_id != -1:
            tags.append((_TAG_PREVIOUS_PRODUCER_ID, _I64.pack(value.previous_producer_id)))
        if value.next_producer_id != -1:
            tags.append((_TAG_NEXT_PRODUCER_ID, _I64.pack(value.next_producer_id)))
        if value.client_transaction_version != 0:
            tags.append(
                (_TAG_CLIENT_TRANSACTION_VERSION, _I16.pack(value.client_transaction_version))
            )
        out += _uvarint(len(tags))
        for tag, data in tags:
            out += _uvarint(tag) + _uvarint(len(data)) + data
    return bytes(out)


# --- decoding -------------------------------------------------------------------------------


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, size: int) -> bytes:
        if self.pos + size > len(self.data):
            raise TxnLogError("the record ends early")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[int, ...]:
        return fmt.unpack(self.take(fmt.size))

    def uvarint(self) -> int:
        value = shift = 0
        while True:
            byte = self.take(1)[0]
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value
            shift += 7
            if shift > 35:
                raise TxnLogError("a length is longer than 5 bytes")


def decode_key(data: bytes) -> str:
    reader = _Reader(data)
    (version,) = reader.unpack(_I16)
    if version != KEY_VERSION:
        raise TxnLogError(f"TransactionLogKey version {version} is unknown")
    (length,) = reader.unpack(_I16)
    return reader.take(length).decode()


def decode_value(data: bytes | None) -> TxnLogValue | None:
    """The value, or None for a tombstone; raises TxnLogError on malformed bytes."""
    if data is None:
        return None
    reader = _Reader(data)
    (version,) = reader.unpack(_I16)
    if version not in (0, 1):
        raise TxnLogError(f"TransactionLogValue version {version} is unknown")
    flexible = version == 1
    producer_id, epoch, timeout_ms, status = reader.unpack(_HEAD_V0)
    try:
        state = TxnState.from_id(status)
    except ValueError as exc:
        raise TxnLogError(str(exc)) from None
    count = reader.uvarint() - 1 if flexible else reader.unpack(_I32)[0]
    partitions: dict[str, list[int]] = {}
    for _ in range(max(count, 0)):
        length = reader.uvarint() - 1 if flexible else reader.unpack(_I16)[0]
        topic = reader.take(length).decode()
        ids = reader.uvarint() - 1 if flexible else reader.unpack(_I32)[0]
        partitions[topic] = [reader.unpack(_I32)[0] for _ in range(max(ids, 0))]
        if flexible:
            _skip_tags(reader)
    last_update_ms, start_ms = reader.unpack(_TIMES)
    extra: dict[int, bytes] = _skip_tags(reader) if flexible else {}
    value = TxnLogValue(
        producer_id,
        epoch,
        timeout_ms,
        state,
        partitions,
        last_update_ms,
        start_ms,
        previous_producer_id=_tag_int(extra, _TAG_PREVIOUS_PRODUCER_ID, _I64, -1),
        next_producer_id=_tag_int(extra, _TAG_NEXT_PRODUCER_ID, _I64, -1),
        client_transaction_version=_tag_int(extra, _TAG_CLIENT_TRANSACTION_VERSION, _I16, 0),
    )
    if reader.pos != len(data):
        raise TxnLogError("bytes left over after the value")
    return value


def _skip_tags(reader: _Reader) -> dict[int, bytes]:
    tags = {}
    for _ in range(reader.uvarint()):
        tag = reader.uvarint()
        tags[tag] = reader.take(reader.uvarint())
    return tags


def _tag_int(tags: dict[int, bytes], tag: int, fmt: struct.Struct, default: int) -> int:
    data = tags.get(tag)
    if data is None:
        return default
    if len(data) != fmt.size:
        raise TxnLogError(f"tagged field {tag} has {len(data)} bytes")
    return int(fmt.unpack(data)[0])
