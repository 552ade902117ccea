"""Sans-IO parsing of Kafka v2 record batches: the 61-byte header, CRC-32C and in-place rewrites.

Records stay bytes on the hot path: append only reads and rewrites headers. Record-level walking
(and decompression) happens only where a check needs it (null keys on compacted topics,
timestamp look-ups), never on produce or fetch of ordinary topics.

Header layout (big-endian), offsets in bytes:
  0 baseOffset int64 | 8 batchLength int32 | 12 partitionLeaderEpoch int32 | 16 magic int8
  17 crc uint32 | 21 attributes int16 | 23 lastOffsetDelta int32 | 27 baseTimestamp int64
  35 maxTimestamp int64 | 43 producerId int64 | 51 producerEpoch int16 | 53 baseSequence int32
  57 recordsCount int32 | 61 records...
The CRC covers bytes 21 to the end of the batch, so baseOffset and partitionLeaderEpoch can be
rewritten without touching it.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import cramjam
import crc32c

HEADER_SIZE = 61
LOG_OVERHEAD = 12  # baseOffset + batchLength: the bytes not counted by batchLength
MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
MAGIC_OFFSET = 16
CRC_OFFSET = 17
ATTRIBUTES_OFFSET = 21
MAX_TIMESTAMP_OFFSET = 35
PARTITION_LEADER_EPOCH_OFFSET = 12

COMPRESSION_MASK = 0x07
TIMESTAMP_TYPE_BIT = 0x08
TRANSACTIONAL_BIT = 0x10
CONTROL_BIT = 0x20

COMPRESSION_NONE = 0
COMPRESSION_GZIP = 1
COMPRESSION_SNAPPY = 2
COMPRESSION_LZ4 = 3
COMPRESSION_ZSTD = 4

_HEADER = struct.Struct(">qiibIhiqqqhii")
_PREFIX = struct.Struct(">qi")  # baseOffset, batchLength
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")
_UINT32 = struct.Struct(">I")
_INT16 = struct.Struct(">h")

_XERIAL_MAGIC = b"\x82SNAPPY\x00"


class InvalidRecordBatchError(ValueError):
    """The bytes are not a well-formed v2 record batch (maps to CORRUPT_MESSAGE)."""


class UnsupportedMagicError(InvalidRecordBatchError):
    """A batch with magic other than 2 (old message formats are not supported)."""

    def __init__(self, magic: int, position: int) -> None:
        super().__init__(
            f"record batch at byte {position} has magic {magic}; only magic 2 "
            "(Kafka 0.11+ record batches) is supported"
        )
        self.magic = magic
        self.position = position


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """One parsed v2 batch header; ``position`` is where the batch starts in the scanned buffer."""

    position: int
    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int

    @property
    def size(self) -> int:
        """Total bytes of the batch, including baseOffset and batchLength."""
        return self.batch_length + LOG_OVERHEAD

    @property
    def end(self) -> int:
        return self.position + self.batch_length + LOG_OVERHEAD

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def next_offset(self) -> int:
        return self.base_offset + self.last_offset_delta + 1

    @property
    def compression(self) -> int:
        return self.attributes & COMPRESSION_MASK

    @property
    def is_log_append_time(self) -> bool:
        return bool(self.attributes & TIMESTAMP_TYPE_BIT)

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & TRANSACTIONAL_BIT)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & CONTROL_BIT)


def parse_header(buf: bytes | bytearray | memoryview, pos: int = 0) -> BatchHeader:
    """Parse the header at ``pos``; the caller guarantees HEADER_SIZE bytes are there."""
    fields = _HEADER.unpack_from(buf, pos)
    magic = fields[3]
    if magic != 2:
        raise UnsupportedMagicError(magic, pos)
    if fields[1] < MIN_BATCH_LENGTH:
        raise InvalidRecordBatchError(f"record batch at byte {pos} has batchLength {fields[1]}")
    return BatchHeader(pos, *fields)


def iter_batches(buf: bytes | bytearray | memoryview, start: int = 0) -> Iterator[BatchHeader]:
    """Yield the header of every complete batch from ``start``; stop quietly at a partial tail.

    Raises InvalidRecordBatchError (UnsupportedMagicError for magic != 2) on a bad header.
    Use :func:`complete_length` afterwards to learn how many bytes were whole batches.
    """
    end = len(buf)
    pos = start
    while pos + HEADER_SIZE <= end:
        header = parse_header(buf, pos)
        nxt = pos + header.batch_length + LOG_OVERHEAD
        if nxt > end:
            return
        yield header
        pos = nxt


def complete_length(buf: bytes | bytearray | memoryview, start: int = 0) -> int:
    """Bytes from ``start`` that form whole batches (cheap: reads only the 12-byte prefixes).

    Does not check magic; a batchLength below the v2 minimum ends the scan.
    """
    end = len(buf)
    pos = start
    unpack = _PREFIX.unpack_from
    while pos + LOG_OVERHEAD <= end:
        length = unpack(buf, pos)[1]
        if length < MIN_BATCH_LENGTH:
            break
        nxt = pos + length + LOG_OVERHEAD
        if nxt > end:
            break
        pos = nxt
    return pos - start


def compute_crc(batch: bytes | bytearray | memoryview) -> int:
    """CRC-32C of a whole batch's checksummed part (attributes to the end)."""
    view = memoryview(batch)
    return int(crc32c.crc32c(view[ATTRIBUTES_OFFSET:]))


def verify_crc(batch: bytes | bytearray | memoryview) -> bool:
    """True if the stored CRC matches; ``batch`` is exactly one batch (header + records)."""
    if len(batch) < HEADER_SIZE:
        return False
    stored: int = _UINT32.unpack_from(batch, CRC_OFFSET)[0]
    return compute_crc(batch) == stored


def set_base_offset(buf: bytearray | memoryview, pos: int, offset: int) -> None:
    """Rewrite baseOffset of the batch at ``pos`` in place (the CRC does not cover it)."""
    _INT64.pack_into(buf, pos, offset)


def set_partition_leader_epoch(buf: bytearray | memoryview, pos: int, epoch: int) -> None:
    """Rewrite partitionLeaderEpoch of the batch at ``pos`` in place (not covered by the CRC)."""
    _INT32.pack_into(buf, pos + PARTITION_LEADER_EPOCH_OFFSET, epoch)


def set_log_append_time(buf: bytearray | memoryview, pos: int, timestamp_ms: int) -> None:
    """Stamp LogAppendTime: set maxTimestamp and the timestamp-type bit, then fix the CRC."""
    attributes: int = _INT16.unpack_from(buf, pos + ATTRIBUTES_OFFSET)[0]
    _INT16.pack_into(buf, pos + ATTRIBUTES_OFFSET, attributes | TIMESTAMP_TYPE_BIT)
    _INT64.pack_into(buf, pos + MAX_TIMESTAMP_OFFSET, timestamp_ms)
    length: int = _INT32.unpack_from(buf, pos + 8)[0]
    view = memoryview(buf)[pos : pos + length + LOG_OVERHEAD]
    _UINT32.pack_into(buf, pos + CRC_OFFSET, compute_crc(view))


# --- record-level walking: only for validation and timestamp look-ups, never on the hot path ---


@dataclass(frozen=True, slots=True)
class RecordInfo:
    """The fields of one record that the broker ever needs; the value and headers are skipped."""

    offset_delta: int
    timestamp_delta: int
    key_is_null: bool


def _read_varint(buf: bytes | bytearray | memoryview, pos: int) -> tuple[int, int]:
    """Decode a zig-zag varint; returns (value, next position)."""
    shift = 0
    raw = 0
    while True:
        if pos >= len(buf):
            raise InvalidRecordBatchError("record truncated inside a varint")
        byte = buf[pos]
        pos += 1
        raw |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise InvalidRecordBatchError("varint longer than 10 bytes")
    return (raw >> 1) ^ -(raw & 1), pos


MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
_GZIP_CHUNK = 1024 * 1024


class RecordsTooLargeError(InvalidRecordBatchError):
    """The records of a compressed batch inflate past the decompression limit (a bomb, or a
    legitimately huge batch the broker refuses to hold in memory)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the batch's records are larger than {limit} bytes when decompressed")
        self.limit = limit


def _buffer_full(exc: Exception) -> bool:
    # cramjam reports an output buffer that is too small with this wording (std::io WriteZero).
    return "failed to write whole buffer" in str(exc)


def _zstd_content_size(data: bytes) -> int | None:
    """The decompressed size a zstd frame header declares, if it declares one."""
    if len(data) < 6 or data[:4] != b"\x28\xb5\x2f\xfd":
        return None
    descriptor = data[4]
    fcs_flag, single_segment = descriptor >> 6, descriptor >> 5 & 1
    field_size = (1 if single_segment else 0, 2, 4, 8)[fcs_flag]
    if not field_size:
        return None
    start = 5 + (0 if single_segment else 1) + (0, 1, 2, 4)[descriptor & 3]
    if len(data) < start + field_size:
        return None
    size = int.from_bytes(data[start : start + field_size], "little")
    return size + 256 if field_size == 2 else size


def _decompress_bounded(
    decompress_into: Callable[[bytes, bytearray], int],
    data: bytes,
    limit: int,
    expected: int | None = None,
) -> bytearray:
    """Decompress into buffers that grow geometrically up to ``limit`` (no decompression bombs).

    ``expected`` is a size the frame declares, used for the first buffer when within the limit
    (it may lie; past the limit it is ignored, so that garbage still reads as corrupt rather than
    too large). Memory stays below about 1.25 x ``limit``: the previous buffer is freed before a
    larger one is allocated, and output never grows past the buffer it is written into.
    """
    if expected is not None and expected < limit:
        size = expected + 1
    else:
        size = min(limit, max(64 * 1024, 8 * len(data)))
    while True:
        out = bytearray(size)
        try:
            written = decompress_into(data, out)
        except cramjam.DecompressionError as exc:
            if not _buffer_full(exc):
                raise InvalidRecordBatchError(f"cannot decompress records: {exc}") from exc
            if size >= limit:
                raise RecordsTooLargeError(limit) from exc
            del out
            size = min(limit, size * 4)
            continue
        except (ValueError, OSError) as exc:
            raise InvalidRecordBatchError(f"cannot decompress records: {exc}") from exc
        # cramjam raises when the buffer is too small, so no error means it is all there
        del out[written:]
        return out


def _gunzip(data: bytes, limit: int) -> bytearray:
    """Inflate gzip members in bounded chunks, stopping as soon as the output passes ``limit``."""
    out = bytearray()
    rest = data
    inflater = zlib.decompressobj(wbits=31)
    while True:
        try:
            chunk = inflater.decompress(rest, _GZIP_CHUNK)
        except zlib.error as exc:
            raise InvalidRecordBatchError(f"cannot decompress gzip records: {exc}") from exc
        out += chunk
        if len(out) > limit:
            raise RecordsTooLargeError(limit)
        if inflater.eof:
            rest = inflater.unused_data
            if not rest:
                return out
            inflater = zlib.decompressobj(wbits=31)  # Kafka's gzip streams may hold members
            continue
        rest = inflater.unconsumed_tail
        if not chunk and not rest:
            raise InvalidRecordBatchError("cannot decompress gzip records: the stream is truncated")


def _snappy_raw(data: bytes, limit: int) -> bytes:
    try:
        size = int(cramjam.snappy.decompress_raw_len(data))
        if size > limit:
            raise RecordsTooLargeError(limit)
        return bytes(cramjam.snappy.decompress_raw(data))
    except cramjam.DecompressionError as exc:
        raise InvalidRecordBatchError(f"cannot decompress snappy records: {exc}") from exc


def _unxerial(data: bytes, limit: int) -> bytearray:
    """Undo the xerial snappy framing the Java client uses (header, then length-prefixed blocks)."""
    pos = 16  # magic (8) + version (4) + compatible version (4)
    out = bytearray()
    while pos < len(data):
        if pos + 4 > len(data):
            raise InvalidRecordBatchError("truncated xerial snappy block")
        (size,) = _INT32.unpack_from(data, pos)
        pos += 4
        if size < 0 or pos + size > len(data):
            raise InvalidRecordBatchError("truncated xerial snappy block")
        out += _snappy_raw(data[pos : pos + size], limit - len(out))
        pos += size
    return out


def decompress_records(
    codec: int, data: bytes, limit: int = MAX_DECOMPRESSED_BYTES
) -> bytes | bytearray:
    """Decompress the records section of a batch (gzip, snappy raw or xerial, lz4 frame, zstd).

    Raises RecordsTooLargeError past ``limit`` bytes of output (without producing more) and
    InvalidRecordBatchError if the data is corrupt.
    """
    if codec == COMPRESSION_NONE:
        return data
    if codec == COMPRESSION_GZIP:
        return _gunzip(data, limit)
    if codec == COMPRESSION_SNAPPY:
        if data.startswith(_XERIAL_MAGIC):
            return _unxerial(data, limit)
        return _snappy_raw(data, limit)
    if codec == COMPRESSION_LZ4:
        return _decompress_bounded(cramjam.lz4.decompress_into, data, limit)
    if codec == COMPRESSION_ZSTD:
        return _decompress_bounded(
            cramjam.zstd.decompress_into, data, limit, _zstd_content_size(data)
        )
    raise InvalidRecordBatchError(f"unknown compression codec {codec}")


def iter_records(
    batch: bytes | bytearray | memoryview, max_decompressed: int = MAX_DECOMPRESSED_BYTES
) -> Iterator[RecordInfo]:
    """Walk the records of one whole batch, decompressing if needed.

    Yields at most recordsCount records; raises InvalidRecordBatchError if the records section is
    malformed (a record running past the end, a bad varint, bytes left over).
    """
    header = parse_header(batch, 0)
    end = header.batch_length + LOG_OVERHEAD
    if len(batch) < end:
        raise InvalidRecordBatchError("batch shorter than its batchLength")
    body: bytes | bytearray | memoryview
    if header.compression == COMPRESSION_NONE:
        body = memoryview(batch)[HEADER_SIZE:end]
    else:
        body = decompress_records(
            header.compression, bytes(memoryview(batch)[HEADER_SIZE:end]), max_decompressed
        )
    pos = 0
    for _ in range(header.records_count):
        length, pos = _read_varint(body, pos)
        record_end = pos + length
        if length < 0 or record_end > len(body):
            raise InvalidRecordBatchError("record runs past the end of its batch")
        pos += 1  # attributes
        timestamp_delta, pos = _read_varint(body, pos)
        offset_delta, pos = _read_varint(body, pos)
        key_length, pos = _read_varint(body, pos)
        if pos > record_end:
            raise InvalidRecordBatchError("record header runs past the record")
        yield RecordInfo(offset_delta, timestamp_delta, key_length < 0)
        pos = record_end
    if pos != len(body):
        raise InvalidRecordBatchError("bytes left over after the last record of a batch")


def has_null_key(
    batch: bytes | bytearray | memoryview, max_decompressed: int = MAX_DECOMPRESSED_BYTES
) -> bool:
    """True if any record of this one batch has a null key (compacted topics reject those).

    Raises InvalidRecordBatchError for malformed records or more than ``max_decompressed`` bytes
    of decompressed records.
    """
    return any(record.key_is_null for record in iter_records(batch, max_decompressed))


def record_timestamp(header: BatchHeader, record: RecordInfo) -> int:
    """A record's effective timestamp: the batch maxTimestamp under LogAppendTime."""
    if header.is_log_append_time:
        return header.max_timestamp
    return header.base_timestamp + record.timestamp_delta
