"""Hand-written encoders for the hot responses (Produce, Fetch); kio stays the reference.

Each returns the response body (without size prefix and header); unit tests compare the bytes
with kio's encoder for every supported version.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_PRODUCE_PART = struct.Struct(">ihqq")  # index, error, base offset, log append time
_I64 = struct.Struct(">q")
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

ProducePartition = tuple[int, int, int, int, int, str | None, RecordErrors]
"""(index, error code, base offset, log append time, log start offset, error message,
record errors); the last two are sent from v8."""


def encode_produce_response(
    version: int, topics: list[tuple[str, list[ProducePartition]]]
) -> EncodedResponse:
    flexible = version >= 9
    parts: list[bytes] = [_array_len(len(topics), flexible)]
    for name, partitions in topics:
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
            if flexible:
                parts.append(b"\x00")
        if flexible:
            parts.append(b"\x00")
    parts.append(b"\x00\x00\x00\x00")  # throttle time
    if flexible:
        parts.append(b"\x00")
    return EncodedResponse(b"".join(parts), flexible)


FetchPartition = tuple[int, int, int, int, int, bytes | list[bytes] | None]
"""(index, error code, high watermark, last stable offset, log start offset, records)

Records are bytes or, for a large read, the pieces of whole batches read one after another."""


def encode_fetch_response(
    version: int,
    session_id: int,
    topics: list[tuple[str, list[FetchPartition]]],
    *,
    read_committed: bool = False,
) -> EncodedResponse:
    encoded = encode_fetch_response_parts(
        version, session_id, topics, read_committed=read_committed
    )
    return EncodedResponse(b"".join(encoded.parts), encoded.flexible_header)


def encode_fetch_response_parts(
    version: int,
    session_id: int,
    topics: list[tuple[str, list[FetchPartition]]],
    *,
    read_committed: bool = False,
) -> EncodedParts:
    flexible = version >= 12
    out: list[bytes] = []
    parts: list[bytes] = [b"\x00\x00\x00\x00"]  # throttle time
    if version >= 7:
        parts.append(b"\x00\x00" + _I32.pack(session_id))
    parts.append(_array_len(len(topics), flexible))
    for name, partitions in topics:
        parts.append(_string(name, flexible))
        parts.append(_array_len(len(partitions), flexible))
        for index, error, high, stable, log_start, records in partitions:
            parts.append(_FETCH_PART.pack(index, error, high, stable))
            if version >= 5:
                parts.append(_I64.pack(log_start))
            # aborted_transactions: null unless read_committed (no transactions exist here).
            if read_committed and not error:
                parts.append(_array_len(0, flexible))
            else:
                parts.append(b"\x00" if flexible else b"\xff\xff\xff\xff")
            if version >= 11:
                parts.append(b"\xff\xff\xff\xff")  # preferred read replica: none
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
                parts.append(b"\x00")
        if flexible:
            parts.append(b"\x00")
    if flexible:
        parts.append(b"\x00")
    out.append(b"".join(parts))
    return EncodedParts(out, flexible)
