"""Hand-written encoders for the hot responses (Produce, Fetch); kio stays the reference.

Each returns the response body (without size prefix and header); unit tests compare the bytes
with kio's encoder for every supported version.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_PRODUCE_PART = struct.Struct(">ihqq")  # index, error, base offset, log append time
_I64 = struct.Struct(">q")
_ABORTED = struct.Struct(">qq")  # producer id, first offset
_FETCH_PART = struct.Struct(">ihqq")  # index, error, high watermark, last stable offset


@dataclass(frozen=True, slots=True)
class EncodedResponse:
    """A response body already encoded; the server adds the size prefix and header."""

    body: bytes
    flexible_header: bool


@dataclass(frozen=True, slots=True)
class EncodedParts:
    """A response body in pieces: large record sets stay the objects read from the log rather
    than being copied into one buffer; the server sends the pieces in order."""

    parts: list[bytes]
    flexible_header: bool

    @property
    def size(self) -> int:
        return sum(len(part) for part in self.parts)


# Pieces of a response at least this large are kept as they are; smaller ones are joined.
_KEEP_PART = 64 * 1024


def uvarint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _string(value: str, flexible: bool) -> bytes:
    raw = value.encode()
    return (uvarint(len(raw) + 1) if flexible else _I16.pack(len(raw))) + raw


def _nullable_string(value: str | None, flexible: bool) -> bytes:
    if value is None:
        return b"\x00" if flexible else b"\xff\xff"
    return _string(value, flexible)


def _array_len(count: int, flexible: bool) -> bytes:
    return uvarint(count + 1) if flexible else _I32.pack(count)


RecordErrors = tuple[tuple[int, str | None], ...]
"""KIP-467 record errors: (batch index, message) of each record that failed validation."""

LeaderHints = Mapping[tuple[str, int], tuple[int, int]]
"""(topic, partition) -> (leader id, leader epoch): the current-leader hints of Produce v10+
and Fetch v12+ answers to a client that asked a broker which does not lead the partition."""

NodeEndpoint = tuple[int, str, int, str | None]
"""(node id, host, port, rack) of a leader named in a Produce v10+ hint."""


def _leader_tag(tag: int, hint: tuple[int, int]) -> bytes:
    """A tagged-field section holding one LeaderIdAndEpoch."""
    body = _I32.pack(hint[0]) + _I32.pack(hint[1]) + b"\x00"
    return b"\x01" + uvarint(tag) + uvarint(len(body)) + body


def _fetch_partition_tags(diverging: tuple[int, int] | None, hint: tuple[int, int] | None) -> bytes:
    """A Fetch v12+ partition's tagged fields, in tag order: DivergingEpoch (0), an
    EpochEndOffset, and CurrentLeader (1)."""
    fields: list[bytes] = []
    if diverging is not None:
        body = _I32.pack(diverging[0]) + _I64.pack(diverging[1]) + b"\x00"
        fields.append(b"\x00" + uvarint(len(body)) + body)
    if hint is not None:
        fields.append(_leader_tag(1, hint)[1:])
    return uvarint(len(fields)) + b"".join(fields)


def _endpoints_tag(endpoints: Sequence[NodeEndpoint]) -> bytes:
    body = [_array_len(len(endpoints), True)]
    for node, host, port, rack in endpoints:
        body += [_I32.pack(node), _string(host, True), _I32.pack(port)]
        body += [_nullable_string(rack, True), b"\x00"]
    data = b"".join(body)
    return b"\x01\x00" + uvarint(len(data)) + data


ProducePartition = tuple[int, int, int, int, int, str | None, RecordErrors]
"""(index, error code, base offset, log append time, log start offset, error message,
record errors); the last two are sent from v8."""


def encode_produce_response(
    version: int,
    topics: list[tuple[str, list[ProducePartition]]],
    *,
    leaders: LeaderHints | None = None,
    endpoints: Sequence[NodeEndpoint] = (),
    topic_ids: Sequence[uuid.UUID] | None = None,
) -> EncodedResponse:
    """``topic_ids``: from v13, the id of each topic in order (the answer names no topic)."""
    flexible = version >= 9
    parts: list[bytes] = [_array_len(len(topics), flexible)]
    for at, (name, partitions) in enumerate(topics):
        if version >= 13:
            assert topic_ids is not None, "Produce v13 answers name topics by id"
            parts.append(topic_ids[at].bytes)
        else:
            parts.append(_string(name, flexible))
        parts.append(_array_len(len(partitions), flexible))
        for index, error, base, append_time, log_start, message, record_errors in partitions:
            parts.append(_PRODUCE_PART.pack(index, error, base, append_time))
            if version >= 5:
                parts.append(_I64.pack(log_start))
            if version >= 8:
                parts.append(_array_len(len(record_errors), flexible))
                for batch_index, batch_message in record_errors:
                    parts.append(_I32.pack(batch_index))
                    parts.append(_nullable_string(batch_message, flexible))
                    if flexible:
                        parts.append(b"\x00")
                parts.append(_nullable_string(message, flexible))
            hint = leaders.get((name, index)) if leaders and version >= 10 else None
            if hint is not None:
                parts.append(_leader_tag(0, hint))
            elif flexible:
                parts.append(b"\x00")
        if flexible:
            parts.append(b"\x00")
    parts.append(b"\x00\x00\x00\x00")  # throttle time
    if endpoints and version >= 10:
        parts.append(_endpoints_tag(endpoints))
    elif flexible:
        parts.append(b"\x00")
    return EncodedResponse(b"".join(parts), flexible)


PreferredReplicas = Mapping[tuple[str, int], int]
"""(topic, partition) -> the replica a Fetch v11+ consumer should read from (KIP-392)."""

DivergingEpochs = Mapping[tuple[str, int], tuple[int, int]]
"""(topic, partition) -> (epoch, end offset) of a Fetch v12+ diverging-epoch answer."""

FetchPartition = tuple[int, int, int, int, int, bytes | list[bytes] | None]
"""(index, error code, high watermark, last stable offset, log start offset, records)

Records are bytes or, for a large read, the pieces of whole batches read one after another."""


def encode_fetch_response(
    version: int,
    session_id: int,
    topics: list[tuple[str, list[FetchPartition]]],
    *,
    read_committed: bool = False,
    leaders: LeaderHints | None = None,
    topic_ids: Sequence[uuid.UUID] = (),
    endpoints: Sequence[NodeEndpoint] = (),
    preferred: PreferredReplicas | None = None,
    diverging: DivergingEpochs | None = None,
) -> EncodedResponse:
    encoded = encode_fetch_response_parts(
        version,
        session_id,
        topics,
        read_committed=read_committed,
        leaders=leaders,
        topic_ids=topic_ids,
        endpoints=endpoints,
        preferred=preferred,
        diverging=diverging,
    )
    return EncodedResponse(b"".join(encoded.parts), encoded.flexible_header)


def encode_fetch_response_parts(
    version: int,
    session_id: int,
    topics: list[tuple[str, list[FetchPartition]]],
    *,
    read_committed: bool = False,
    leaders: LeaderHints | None = None,
    aborted: dict[tuple[str, int], list[tuple[int, int]]] | None = None,
    topic_ids: Sequence[uuid.UUID] = (),
    endpoints: Sequence[NodeEndpoint] = (),
    preferred: PreferredReplicas | None = None,
    diverging: DivergingEpochs | None = None,
    error_code: int = 0,
) -> EncodedParts:
    """``aborted``: per partition (producer id, first offset) of the aborted transactions in
    its records, for read_committed fetches. From v13 topics are named by id: ``topic_ids``
    holds each topic's, in order; from v16 ``endpoints`` are the leaders the hints name."""
    flexible = version >= 12
    out: list[bytes] = []
    parts: list[bytes] = [b"\x00\x00\x00\x00"]  # throttle time
    if version >= 7:  # the top-level error (a fetch session's) and the session id
        parts.append(_I16.pack(error_code) + _I32.pack(session_id))
    parts.append(_array_len(len(topics), flexible))
    for at, (name, partitions) in enumerate(topics):
        parts.append(topic_ids[at].bytes if version >= 13 else _string(name, flexible))
        parts.append(_array_len(len(partitions), flexible))
        for index, error, high, stable, log_start, records in partitions:
            parts.append(_FETCH_PART.pack(index, error, high, stable))
            if version >= 5:
                parts.append(_I64.pack(log_start))
            # aborted_transactions: null unless read_committed
            if read_committed and not error:
                found = aborted.get((name, index), []) if aborted else []
                parts.append(_array_len(len(found), flexible))
                for producer_id, first_offset in found:
                    parts.append(_ABORTED.pack(producer_id, first_offset))
                    if flexible:
                        parts.append(b"\x00")
            else:
                parts.append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            if version >= 11:
                chosen = preferred.get((name, index), -1) if preferred else -1
                parts.append(_I32.pack(chosen))  # KIP-392's preferred read replica
            if records is None:
                parts.append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            else:
                pieces = records if isinstance(records, list) else [records]
                size = sum(len(piece) for piece in pieces)
                parts.append(uvarint(size + 1) if flexible else _I32.pack(size))
                if size >= _KEEP_PART:
                    out.append(b"".join(parts))
                    out.extend(pieces)
                    parts.clear()
                else:
                    parts.extend(pieces)
            if flexible:
                hint = leaders.get((name, index)) if leaders else None
                diverged = diverging.get((name, index)) if diverging else None
                parts.append(_fetch_partition_tags(diverged, hint))
        if flexible:
            parts.append(b"\x00")
    if endpoints and version >= 16:
        parts.append(_endpoints_tag(endpoints))
    elif flexible:
        parts.append(b"\x00")
    out.append(b"".join(parts))
    return EncodedParts(out, flexible)
