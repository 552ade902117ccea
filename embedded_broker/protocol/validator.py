"""Kafka's produce-path checks of client record batches (LogValidator's rules) over raw bytes.

Two stages, in Kafka's order: :func:`check_request_records` is what Kafka checks while reading
the request (one v2 batch per partition, a known codec, zstd only from Produce v7);
:func:`validate_batch` is what its log validator checks before appending (size, CRC, offsets
and counts, control bit, sequences, then every record: its framing, varints, headers, keys on
compacted topics and timestamps). Records are walked straight from the request bytes; compressed
records are inflated once, under a memory limit, and only to be checked: the original bytes are
what gets stored.

Where Kafka would rewrite rather than reject (a compressed batch whose inner offsets are not
0, 1, 2, ...), this broker rejects with INVALID_RECORD, because it never rewrites records.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from kio.schema.errors import ErrorCode

from . import record_batch as rb

NO_TIMESTAMP = -1
LONG_MAX = 2**63 - 1

# Inflated records may be this many times max.message.bytes, within these bounds: enough for
# text that compresses 64:1, small enough that a decompression bomb costs a bounded buffer.
DECOMPRESSION_RATIO = 64
MIN_DECOMPRESSION_LIMIT = 16 * 1024 * 1024
MAX_DECOMPRESSION_LIMIT = 256 * 1024 * 1024

_COUNTS = struct.Struct(">i")  # recordsCount at byte 57
_UINT32_LIMIT = 1 << 32
_UINT64_LIMIT = 1 << 64


@dataclass(frozen=True, slots=True)
class RecordError:
    """KIP-467: the index of a failing record within its batch, and why it failed."""

    batch_index: int
    message: str | None

    def __str__(self) -> str:
        # The same shape as Kafka's ProduceResponse.RecordError, which clients log verbatim.
        message = "null" if self.message is None else f"'{self.message}'"
        return f"RecordError(batchIndex={self.batch_index}, message={message})"


class BatchRejectedError(Exception):
    """The partition's records are refused: ``code`` for every client, ``record_errors`` for
    Produce v8+ when specific records are at fault."""

    def __init__(
        self,
        code: ErrorCode,
        message: str | None,
        record_errors: tuple[RecordError, ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.record_errors = record_errors


@dataclass(frozen=True, slots=True)
class ValidationPolicy:
    """The topic settings validation depends on, read once per partition."""

    max_message_bytes: int
    compacted: bool
    log_append_time: bool
    timestamp_before_max_ms: int = LONG_MAX
    timestamp_after_max_ms: int = LONG_MAX

    @classmethod
    def from_topic_config(cls, cfg: dict[str, str]) -> ValidationPolicy:
        return cls(
            max_message_bytes=int(cfg["max.message.bytes"]),
            compacted="compact" in cfg["cleanup.policy"],
            log_append_time=cfg["message.timestamp.type"] == "LogAppendTime",
            timestamp_before_max_ms=int(cfg.get("message.timestamp.before.max.ms", LONG_MAX)),
            timestamp_after_max_ms=int(cfg.get("message.timestamp.after.max.ms", LONG_MAX)),
        )

    @property
    def decompression_limit(self) -> int:
        wanted = DECOMPRESSION_RATIO * self.max_message_bytes
        return min(MAX_DECOMPRESSION_LIMIT, max(MIN_DECOMPRESSION_LIMIT, wanted))


def check_request_records(records: bytes | None, api_version: int) -> rb.BatchHeader:
    """Kafka's checks while reading a Produce request: exactly one whole v2 batch, known codec.

    Returns the batch header; raises BatchRejectedError.
    """
    if not records or len(records) < rb.HEADER_SIZE:
        raise BatchRejectedError(
            ErrorCode.invalid_record,
            f"Produce requests with version {api_version} must have at least one record batch "
            "per partition",
        )
    magic = records[rb.MAGIC_OFFSET]
    if magic != 2:
        raise BatchRejectedError(
            ErrorCode.invalid_record,
            f"Produce requests with version {api_version} are only allowed to contain record "
            f"batches with magic version 2 (this one has magic {magic})",
        )
    try:
        header = rb.parse_header(records, 0)
    except rb.InvalidRecordBatchError as exc:
        raise BatchRejectedError(
            ErrorCode.corrupt_message, f"Record batch is corrupt: {exc}"
        ) from None
    codec = header.compression
    if codec > rb.COMPRESSION_ZSTD:
        raise BatchRejectedError(
            ErrorCode.unsupported_compression_type,
            f"Unknown compression type id {codec} in the record batch attributes; Kafka knows "
            "0 (none), 1 (gzip), 2 (snappy), 3 (lz4) and 4 (zstd)",
        )
    if codec == rb.COMPRESSION_ZSTD and api_version < 7:
        raise BatchRejectedError(
            ErrorCode.unsupported_compression_type,
            f"Produce requests with version {api_version} are not allowed to use ZStandard "
            "compression",
        )
    if header.end > len(records):
        raise BatchRejectedError(
            ErrorCode.invalid_record,
            f"The record batch is truncated: its header says {header.size} bytes, "
            f"{len(records)} arrived",
        )
    if header.end < len(records):
        raise BatchRejectedError(
            ErrorCode.invalid_record,
            f"Produce requests with version {api_version} are only allowed to contain exactly "
            f"one record batch per partition ({len(records) - header.end} bytes follow the "
            "first batch)",
        )
    return header


def validate_batch(
    records: bytes,
    header: rb.BatchHeader,
    policy: ValidationPolicy,
    *,
    now_ms: int,
    partition: str,
) -> None:
    """Kafka's log-validator checks on the one batch :func:`check_request_records` accepted.

    ``partition`` names the topic partition in messages ("topic-0"). Raises BatchRejectedError.
    """
    if header.base_offset != 0:
        raise _invalid(
            f"The baseOffset of the record batch in the append to {partition} should be 0, "
            f"but it is {header.base_offset}"
        )
    if header.size > policy.max_message_bytes:
        raise BatchRejectedError(
            ErrorCode.message_too_large,
            f"The record batch size in the append to {partition} is {header.size} bytes which "
            f"exceeds the maximum configured value of {policy.max_message_bytes}.",
        )
    if not rb.verify_crc(records):
        raise BatchRejectedError(
            ErrorCode.corrupt_message,
            f"Record is corrupt (stored crc = {header.crc}) in topic partition {partition}.",
        )
    count = header.records_count
    count_from_offsets = header.last_offset_delta + 1
    if count_from_offsets <= 0:
        raise _invalid(
            f"Batch has an invalid offset range: [0, {header.last_offset_delta}] in topic "
            f"partition {partition}"
        )
    if count <= 0:
        raise _invalid(
            f"Invalid reported count for record batch: {count} in topic partition {partition}"
        )
    if count_from_offsets != count:
        raise _invalid(
            f"Inconsistent batch offset range [0, {header.last_offset_delta}] and count of "
            f"records {count} in topic partition {partition}"
        )
    if header.is_control:
        raise _invalid(
            f"Clients are not allowed to write control records in topic partition {partition}"
        )
    if header.producer_id >= 0 and header.base_sequence < 0:
        raise _invalid(
            f"Invalid sequence number {header.base_sequence} in record batch with producerId "
            f"{header.producer_id} in topic partition {partition}"
        )
    body: bytes | bytearray
    if header.compression == rb.COMPRESSION_NONE:
        body, start, end = records, rb.HEADER_SIZE, len(records)
    else:
        try:
            body = rb.decompress_records(
                header.compression, records[rb.HEADER_SIZE :], policy.decompression_limit
            )
        except rb.RecordsTooLargeError as exc:
            raise BatchRejectedError(
                ErrorCode.message_too_large,
                f"The records of the batch in the append to {partition} decompress to more "
                f"than {exc.limit} bytes, the most this broker inflates (raise max.message.bytes "
                "of the topic to allow more)",
            ) from None
        except rb.InvalidRecordBatchError as exc:
            raise BatchRejectedError(
                ErrorCode.corrupt_message,
                f"The compressed records in the append to {partition} are corrupt: {exc}",
            ) from None
        start, end = 0, len(body)
    errors = _walk_records(
        body, start, end, header=header, policy=policy, now_ms=now_ms, partition=partition
    )
    if errors:
        raise _record_errors(errors)


def _invalid(message: str) -> BatchRejectedError:
    return BatchRejectedError(ErrorCode.invalid_record, message)


def _record_errors(errors: list[tuple[ErrorCode, RecordError]]) -> BatchRejectedError:
    listed = tuple(error for _, error in errors)
    if any(code == ErrorCode.invalid_timestamp for code, _ in errors):
        return BatchRejectedError(
            ErrorCode.invalid_timestamp,
            "One or more records have been rejected due to invalid timestamp",
            listed,
        )
    shown = ", ".join(str(error) for error in listed[:3])
    return BatchRejectedError(
        ErrorCode.invalid_record,
        f"One or more records have been rejected due to {len(listed)} record errors in total, "
        f"and only showing the first three errors at most: [{shown}]",
        listed,
    )


def _varint_slow(buf: bytes | bytearray, pos: int, limit: int) -> tuple[int, int]:
    """The unsigned (still zig-zagged) value of the varint at ``pos`` and the next position;
    ``limit`` (2**32 or 2**64) bounds the value and so its length (5 or 10 bytes), as Kafka's
    readVarint / readVarlong do."""
    max_shift = 35 if limit == _UINT32_LIMIT else 70
    raw = 0
    shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift >= max_shift:
            raise _invalid("Found invalid record structure: a varint is longer than its type")
    if raw >= limit:
        raise _invalid("Found invalid record structure: a varint is out of range")
    return raw, pos


def _walk_records(
    buf: bytes | bytearray,
    pos: int,
    end: int,
    *,
    header: rb.BatchHeader,
    policy: ValidationPolicy,
    now_ms: int,
    partition: str,
) -> list[tuple[ErrorCode, RecordError]]:
    """Walk ``header.records_count`` records in ``buf[pos:end]``; structural faults raise at
    once, per-record faults (null key, timestamp) are returned with their batch index."""
    errors: list[tuple[ErrorCode, RecordError]] = []
    compacted = policy.compacted
    before, after = policy.timestamp_before_max_ms, policy.timestamp_after_max_ms
    lat_batch = header.is_log_append_time
    create_time = not policy.log_append_time
    check_range = create_time and (before < LONG_MAX or after < LONG_MAX)
    time_rules = check_range or lat_batch
    base_ts = header.max_timestamp if lat_batch else header.base_timestamp
    u32, u64 = _UINT32_LIMIT, _UINT64_LIMIT
    slow = _varint_slow
    index = 0
    try:
        for index in range(header.records_count):
            # The produce hot path: varints of one or two bytes (nearly all of them) are read
            # inline, longer ones through _varint_slow.
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u32)
            length = (raw >> 1) ^ -(raw & 1)
            record_end = pos + length
            if length < 0 or record_end > end:
                raise _invalid(
                    f"Invalid record size: record {index} expects {length} bytes in its payload, "
                    f"but the batch has only {end - pos} remaining bytes"
                )
            pos += 1  # attributes: unused in v2
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u64)
            ts_delta = (raw >> 1) ^ -(raw & 1)
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u32)
            offset_delta = (raw >> 1) ^ -(raw & 1)
            if offset_delta != index:
                raise _invalid(
                    f"Record {index} of the batch has offset delta {offset_delta}; the records "
                    f"of a batch must have offset deltas 0, 1, 2, ... in topic partition "
                    f"{partition}"
                )
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u32)
            key_len = (raw >> 1) ^ -(raw & 1)
            if key_len >= 0:
                pos += key_len
            elif key_len != -1:
                raise _invalid(
                    f"Found invalid record structure: key size {key_len} in record {index}"
                )
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u32)
            value_len = (raw >> 1) ^ -(raw & 1)
            if value_len >= 0:
                pos += value_len
            elif value_len != -1:
                raise _invalid(
                    f"Found invalid record structure: value size {value_len} in record {index}"
                )
            raw = buf[pos]
            if raw < 0x80:
                pos += 1
            elif buf[pos + 1] < 0x80:
                raw = (raw & 0x7F) | buf[pos + 1] << 7
                pos += 2
            else:
                raw, pos = slow(buf, pos, u32)
            n_headers = (raw >> 1) ^ -(raw & 1)
            if n_headers < 0 or n_headers > record_end - pos:
                raise _invalid(
                    f"Found invalid number of record headers {n_headers} in record {index}"
                )
            for _ in range(n_headers):
                raw, pos = slow(buf, pos, u32)
                hkey = (raw >> 1) ^ -(raw & 1)
                if hkey < 0:
                    raise _invalid(f"Invalid negative header key size {hkey} in record {index}")
                pos += hkey
                raw, pos = slow(buf, pos, u32)
                hvalue = (raw >> 1) ^ -(raw & 1)
                if hvalue >= 0:
                    pos += hvalue
                elif hvalue != -1:
                    raise _invalid(
                        f"Found invalid record structure: header value size {hvalue} in record "
                        f"{index}"
                    )
            if pos != record_end:
                raise _invalid(
                    f"Invalid record size: expected to read {length} bytes in the payload of "
                    f"record {index}, but the fields take {length + pos - record_end}"
                )
            if compacted and key_len < 0:
                errors.append(
                    (
                        ErrorCode.invalid_record,
                        RecordError(
                            index,
                            "Compacted topic cannot accept message without key in topic "
                            f"partition {partition}.",
                        ),
                    )
                )
            elif time_rules:
                # LogValidator.validateTimestamp: the range applies under CreateTime, and a
                # producer may never set the LogAppendTime bit itself.
                timestamp = base_ts if lat_batch else base_ts + ts_delta
                if create_time and timestamp != NO_TIMESTAMP:
                    if check_range and (now_ms - timestamp > before or timestamp - now_ms > after):
                        errors.append(
                            (
                                ErrorCode.invalid_timestamp,
                                RecordError(
                                    index,
                                    f"Timestamp {timestamp} of message with offset {index} is "
                                    f"out of range. The timestamp should be within "
                                    f"[{now_ms - before}, {now_ms + after}]",
                                ),
                            )
                        )
                elif lat_batch:
                    errors.append(
                        (
                            ErrorCode.invalid_timestamp,
                            RecordError(
                                index,
                                f"Invalid timestamp type in message {index}. Producer should "
                                "not set timestamp type to LogAppendTime.",
                            ),
                        )
                    )
    except IndexError:
        raise _invalid(
            f"Found invalid record structure: record {index} runs past the end of its batch"
        ) from None
    if pos != end:
        raise _invalid(
            f"Incorrect declared batch size, records still remaining in the batch after "
            f"{header.records_count} records ({end - pos} bytes) in topic partition {partition}"
        )
    return errors
