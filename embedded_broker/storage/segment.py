"""One log segment: a byte store of whole batches plus its sparse offset and time indexes."""

from __future__ import annotations

import logging
import os
import struct
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path

from embedded_broker.protocol.record_batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    MIN_BATCH_LENGTH,
    verify_crc,
)
from embedded_broker.storage.api import StorageError
from embedded_broker.storage.index import (
    IndexDamagedError,
    OffsetIndex,
    TimeIndex,
    write_atomically,
)
from embedded_broker.storage.store import ByteStore, FileStore, MemoryStore

log = logging.getLogger(__name__)

# baseOffset, batchLength, lastOffsetDelta, maxTimestamp (skipping the fields in between)
_META = struct.Struct(">qi11xi8xq")
# baseOffset, batchLength, lastOffsetDelta
_SPAN = struct.Struct(">qi11xi")
# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp
_RECOVER = struct.Struct(">qiibIhiqq")

SCAN_CHUNK = 64 * 1024
_HEADER_CHUNK = 8 * 1024
RECOVER_CHUNK = 4 * 1024 * 1024

# A batch as the append path describes it: (position in data, size, base offset, max timestamp)
BatchMeta = tuple[int, int, int, int]


def segment_name(base_offset: int) -> str:
    return f"{base_offset:020d}"


class Segment:
    """Batches with consecutive offsets from ``base_offset``; only the last segment is written."""

    def __init__(self, base_offset: int, store: ByteStore, directory: Path | None) -> None:
        self.base_offset = base_offset
        self.store = store
        self.directory = directory
        self.offset_index = OffsetIndex()
        self.time_index = TimeIndex()
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        # when this segment started, for segment.ms: first append time, or first batch timestamp
        self.roll_reference_ms: int | None = None
        self.last_modified_ms = 0
        self._bytes_since_index = 0
        self._read_hint = (-1, -1)  # (offset, position) of a batch start seen by the last read
        self.rescanned = False  # recovered by a full rescan since it was opened

    # --- construction -------------------------------------------------------------------

    @classmethod
    def create(cls, base_offset: int, directory: Path | None) -> Segment:
        if directory is None:
            return cls(base_offset, MemoryStore(), None)
        store = FileStore(directory / (segment_name(base_offset) + ".log"))
        return cls(base_offset, store, directory)

    @property
    def log_path(self) -> Path | None:
        return None if self.directory is None else self.directory / f"{self.name}.log"

    @property
    def name(self) -> str:
        return segment_name(self.base_offset)

    @property
    def size(self) -> int:
        return self.store.size

    @property
    def is_empty(self) -> bool:
        return self.store.size == 0

    def largest_timestamp(self) -> int:
        """The segment's max record timestamp, or its last-modified time if it has none."""
        return self.max_timestamp if self.max_timestamp >= 0 else self.last_modified_ms

    # --- appending ----------------------------------------------------------------------

    def _index_batch(self, position: int, size: int, base: int, max_ts: int, interval: int) -> None:
        if max_ts > self.max_timestamp:
            self.max_timestamp = max_ts
            self.offset_of_max_timestamp = base
        if self._bytes_since_index >= interval:
            self.offset_index.append(base - self.base_offset, position)
            if self.max_timestamp >= 0:
                self.time_index.maybe_append(
                    self.max_timestamp, self.offset_of_max_timestamp - self.base_offset
                )
            self._bytes_since_index = 0
        self._bytes_since_index += size

    def append(
        self,
        data: bytes | bytearray,
        batches: list[BatchMeta],
        next_offset: int,
        now_ms: int,
        index_interval: int,
    ) -> None:
        """Write ``data`` (whole batches with offsets already assigned) at the end."""
        start = self.store.size
        self.store.append(data)
        index = self._index_batch
        for position, size, base, max_ts in batches:
            index(start + position, size, base, max_ts, index_interval)
        self.next_offset = next_offset
        if self.roll_reference_ms is None:
            self.roll_reference_ms = now_ms
        self.last_modified_ms = now_ms

    # --- reading ------------------------------------------------------------------------

    def scan(
        self, position: int, chunk_size: int = SCAN_CHUNK
    ) -> Iterator[tuple[int, int, int, int, int]]:
        """(position, base offset, size, last offset, max timestamp) of each batch from position."""
        size = self.store.size
        unpack = _META.unpack_from
        while position + _META.size <= size:
            chunk = self.store.pread(chunk_size, position)
            at = 0
            while at + _META.size <= len(chunk):
                base, length, last_delta, max_ts = unpack(chunk, at)
                if length < MIN_BATCH_LENGTH:
                    # a segment holds only whole batches: this is damage, not the end
                    raise StorageError(f"segment {self.name} is damaged at byte {position + at}")
                yield position + at, base, length + LOG_OVERHEAD, base + last_delta, max_ts
                at += length + LOG_OVERHEAD
            if at == 0:  # the file is shorter than this segment was (shrunk behind our back)
                raise StorageError(f"segment {self.name} is damaged at byte {position}")
            position += at

    def find_position(self, offset: int) -> int | None:
        """Byte position of the batch containing ``offset`` (or the first one after it)."""
        if offset >= self.next_offset:
            return None
        hint_offset, hint_position = self._read_hint
        if hint_offset == offset:
            return hint_position
        _, position = self.offset_index.lookup(offset - self.base_offset)
        for batch_position, _base, _size, last, _ts in self.scan(position, _HEADER_CHUNK):
            if last >= offset:
                return batch_position
        return None

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches from the one containing ``offset``, up to max_bytes but at least one.

        The end is found from the index and a few headers first, so the data is read exactly
        once with no copy to trim a partial batch off.
        """
        position = self.find_position(offset)
        if position is None:
            return b""
        end, next_offset = self._end_of_batches(position, position + max(max_bytes, 0))
        data = self.store.pread(end - position, position)
        if len(data) != end - position:
            raise StorageError(f"segment {self.name} is damaged at byte {position}")
        self._read_hint = (next_offset, end)
        return data

    def _end_of_batches(self, position: int, limit: int) -> tuple[int, int]:
        """(end, next offset) of the longest run of whole batches from ``position`` that ends
        at or before ``limit``, but at least one batch."""
        size = self.store.size
        if limit >= size:  # a segment holds only whole batches
            return size, self.next_offset
        positions = self.offset_index.positions
        i = bisect_right(positions, limit) - 1
        at = positions[i] if i >= 0 and positions[i] > position else position
        unpack = _SPAN.unpack_from
        while True:
            chunk = self.store.pread(_HEADER_CHUNK, at)
            walked = 0
            while walked + _SPAN.size <= len(chunk):
                base, length, last_delta = unpack(chunk, walked)
                if length < MIN_BATCH_LENGTH:
                    raise StorageError(f"segment {self.name} is damaged at byte {at + walked}")
                batch_end = at + walked + length + LOG_OVERHEAD
                if batch_end > limit:
                    if at + walked == position:  # the first batch alone is above the limit
                        return batch_end, base + last_delta + 1
                    return at + walked, base
                walked += length + LOG_OVERHEAD
            if walked == 0:
                raise StorageError(f"segment {self.name} is damaged at byte {at}")
            at += walked

    def _span_at(self, position: int) -> tuple[int, int, int]:
        """(base offset, batchLength, lastOffsetDelta) of the batch at ``position``."""
        head = self.store.pread(_SPAN.size, position)
        if len(head) < _SPAN.size:
            raise StorageError(f"segment {self.name} is damaged at byte {position}")
        base, length, last_delta = _SPAN.unpack(head)
        if length < MIN_BATCH_LENGTH or position + length + LOG_OVERHEAD > self.store.size:
            raise StorageError(f"segment {self.name} is damaged at byte {position}")
        return base, length, last_delta

    def read_batch_at(self, position: int) -> bytes:
        _, length, _ = self._span_at(position)
        return self.store.pread(length + LOG_OVERHEAD, position)

    def find_timestamp(self, timestamp: int, min_offset: int) -> tuple[int, int, int] | None:
        """(position, base offset, maxTimestamp) of the first batch with maxTimestamp >=
        timestamp that has offsets at or after ``min_offset``."""
        if self.max_timestamp < timestamp:
            return None
        relative = max(self.time_index.lookup(timestamp), min_offset - self.base_offset, 0)
        _, position = self.offset_index.lookup(relative)
        for batch_position, base, _size, last, max_ts in self.scan(position):
            if last >= min_offset and max_ts >= timestamp:
                return batch_position, base, max_ts
        return None

    # --- persistence and recovery ---------------------------------------------------------

    def save_indexes(self, *, durable: bool = False) -> None:
        if self.directory is None:
            return
        final = None
        if self.max_timestamp >= 0:
            final = (self.max_timestamp, self.offset_of_max_timestamp - self.base_offset)
        write_atomically(
            self.directory / f"{self.name}.index", self.offset_index.to_bytes(), durable=durable
        )
        write_atomically(
            self.directory / f"{self.name}.timeindex",
            self.time_index.to_bytes(final),
            durable=durable,
        )

    def file_paths(self) -> list[Path]:
        """The segment's files (log and indexes), for syncing by path; empty in memory."""
        if self.directory is None:
            return []
        return [
            self.directory / f"{self.name}{suffix}" for suffix in (".log", ".index", ".timeindex")
        ]

    def load_indexes(self) -> None:
        """Load both index files; raises IndexDamagedError if either is missing or inconsistent."""
        if self.directory is None:
            raise IndexDamagedError("in-memory segment has no index files")
        try:
            offsets = (self.directory / f"{self.name}.index").read_bytes()
            times = (self.directory / f"{self.name}.timeindex").read_bytes()
        except FileNotFoundError as exc:
            raise IndexDamagedError(f"missing index file {exc.filename}") from None
        self.offset_index = OffsetIndex.from_bytes(offsets, self.store.size)
        self.time_index = TimeIndex.from_bytes(times)
        last = self.time_index.last()
        if last is not None:
            self.max_timestamp, relative = last
            self.offset_of_max_timestamp = self.base_offset + relative
        self._load_times()

    def _load_times(self) -> None:
        log_path = self.log_path
        if log_path is not None:
            self.last_modified_ms = int(os.stat(log_path).st_mtime * 1000)
        if self.store.size >= _META.size:
            max_ts = _META.unpack(self.store.pread(_META.size, 0))[3]
            self.roll_reference_ms = max_ts if max_ts >= 0 else self.last_modified_ms

    def recover(self, index_interval: int, *, from_last_index_entry: bool = False) -> int:
        """Rescan the store, keep the valid prefix, rebuild indexes; returns bytes truncated.

        With ``from_last_index_entry`` (after a clean shutdown, indexes loaded) only the batches
        after the last index entry are scanned and CRCs are not checked; otherwise every batch
        from the start is checked (magic, length, CRC-32C, consecutive offsets).
        """
        self._bytes_since_index = 0
        # the batch at the last index entry is already indexed (and in the saved max timestamp)
        skip_first = False
        if from_last_index_entry:
            relative, position = self.offset_index.last()
            expected = self.base_offset + relative
            verify = False
            skip_first = len(self.offset_index) > 0
        else:
            self.offset_index = OffsetIndex()
            self.time_index = TimeIndex()
            self.max_timestamp = -1
            self.offset_of_max_timestamp = -1
            position = 0
            expected = self.base_offset
            verify = True
            self.rescanned = True
        size = self.store.size
        unpack = _RECOVER.unpack_from
        damaged = False
        while position < size and not damaged:
            chunk = self.store.pread(RECOVER_CHUNK, position)
            view = memoryview(chunk)
            at = 0
            while True:
                if at + HEADER_SIZE > len(chunk):
                    if position + at + HEADER_SIZE > size and position + at < size:
                        damaged = True  # a torn header at the end of the file
                    break
                base, length, _epoch, magic, _crc, _attrs, last_delta, _bts, max_ts = unpack(
                    chunk, at
                )
                if magic != 2 or length < MIN_BATCH_LENGTH or base != expected:
                    damaged = True
                    break
                end = at + length + LOG_OVERHEAD
                if end > len(chunk):
                    if position + end > size:
                        damaged = True  # torn tail
                    elif at == 0:  # a batch bigger than the chunk: read exactly that batch
                        chunk = self.store.pread(length + LOG_OVERHEAD, position)
                        view = memoryview(chunk)
                        continue
                    break
                if verify and not verify_crc(view[at:end]):
                    damaged = True
                    break
                if skip_first:
                    self._bytes_since_index = end - at
                    skip_first = False
                else:
                    self._index_batch(position + at, end - at, base, max_ts, index_interval)
                expected = base + last_delta + 1
                at = end
            view.release()
            position += at
        self.next_offset = expected
        self._load_times()
        truncated = size - position
        if truncated and from_last_index_entry:
            # the saved indexes described bytes that are gone: rebuild everything from scratch
            self.store.truncate(position)
            return truncated + self.recover(index_interval)
        if truncated:
            self.store.truncate(position)
            self.offset_index.truncate_to_position(position)
            self.time_index.truncate_to_offset(expected - self.base_offset)
            self._read_hint = (-1, -1)
        return truncated

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.close()

    def delete(self) -> None:
        self.store.delete()
        if self.directory is not None:
            for suffix in (".index", ".timeindex", ".index.tmp", ".timeindex.tmp"):
                (self.directory / f"{self.name}{suffix}").unlink(missing_ok=True)
