"""One log segment: a byte store of whole batches plus its sparse offset and time indexes."""

from __future__ import annotations

import logging
import os
import struct
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    fsync_path,
    write_atomically,
)
from embedded_broker.storage.store import ByteStore, FileStore, MemoryStore
from embedded_broker.storage.txn_index import AbortedTxn, TxnIndex, TxnIndexDamagedError

log = logging.getLogger(__name__)

# baseOffset, batchLength, lastOffsetDelta, maxTimestamp (skipping the fields in between)
_META = struct.Struct(">qi11xi8xq")
# baseOffset, batchLength, lastOffsetDelta
_SPAN = struct.Struct(">qi11xi")
# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp
_RECOVER = struct.Struct(">qiibIhiqq")

_MAGIC_AT = 16  # the magic byte's position in a batch header
_MAX_RELATIVE = 2**31 - 1  # index entries hold offsets relative to the segment base as int32

SCAN_CHUNK = 64 * 1024
_HEADER_CHUNK = 8 * 1024
RECOVER_CHUNK = 4 * 1024 * 1024

# A batch as the append path describes it: (position in data, size, base offset, max timestamp)
BatchMeta = tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class DamagedRange:
    """Bytes recovery removed from a segment, the offsets they held and where a copy is kept.

    ``last_offset`` is -1 when unknown (damage at the end of the active segment)."""

    first_offset: int
    last_offset: int
    size: int
    copy: Path | None


@dataclass(slots=True)
class Recovery:
    """What recover() dropped: a torn tail (truncated bytes) and cut-out damaged ranges."""

    truncated: int = 0
    damaged: list[DamagedRange] = field(default_factory=list)


def _complement(ranges: list[tuple[int, int]], size: int) -> list[tuple[int, int]]:
    kept = []
    at = 0
    for start, end in ranges:
        if start > at:
            kept.append((at, start))
        at = end
    if at < size:
        kept.append((at, size))
    return kept


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
        self._txn_index: TxnIndex | None = None  # read from <base>.txnindex on first use

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

    @property
    def txn_index(self) -> TxnIndex:
        """The transactions aborted with data in this segment (``<base>.txnindex``)."""
        if self._txn_index is None:
            index = TxnIndex()
            if self.directory is not None:
                try:
                    index = TxnIndex.load(self.directory / f"{self.name}.txnindex")
                except TxnIndexDamagedError as exc:
                    # rebuilt from the markers by the producer state load of the partition
                    log.warning("Ignoring %s/%s.txnindex: %s", self.directory, self.name, exc)
            self._txn_index = index
        return self._txn_index

    def add_aborted_txn(self, aborted: AbortedTxn) -> None:
        """Record an aborted transaction (its ABORT marker is in this segment) and save the
        index (small and whole, like Kafka's append to the .txnindex file)."""
        index = self.txn_index
        if index.entries and aborted.last_offset <= index.entries[-1].last_offset:
            return  # already known (a rebuild replaying markers already indexed)
        index.append(aborted)
        if self.directory is not None:
            index.save(self.directory / f"{self.name}.txnindex")

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

    def truncate_to(self, offset: int) -> int:
        """Drop the batch holding ``offset`` and every later one (a follower cutting a
        divergent tail); returns the new next offset (the base of the first batch dropped)."""
        position = self.find_position(offset)
        if position is None:
            return self.next_offset
        new_next = self._span_at(position)[0]
        self.store.truncate(position)
        self.offset_index.truncate_to_position(position)
        self.time_index.truncate_to_offset(new_next - self.base_offset)
        self.next_offset = new_next
        self._read_hint = (-1, -1)
        self._bytes_since_index = 0
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        for _position, base, _size, _last, max_ts in self.scan(0):
            if max_ts > self.max_timestamp:
                self.max_timestamp = max_ts
                self.offset_of_max_timestamp = base
        return new_next

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
        """Write both index files atomically (raises OSError, e.g. on a full disk).

        ``durable`` fsyncs the files; the caller fsyncs the directory once for all of them."""
        if self.directory is None:
            return
        final = None
        if self.max_timestamp >= 0:
            final = (self.max_timestamp, self.offset_of_max_timestamp - self.base_offset)
        write_atomically(
            self.directory / f"{self.name}.index",
            self.offset_index.to_bytes(),
            durable=durable,
            sync_directory=False,
        )
        write_atomically(
            self.directory / f"{self.name}.timeindex",
            self.time_index.to_bytes(final),
            durable=durable,
            sync_directory=False,
        )

    def file_paths(self) -> list[Path]:
        """The segment's files (log and indexes), for syncing by path; empty in memory."""
        if self.directory is None:
            return []
        return [
            self.directory / f"{self.name}{suffix}" for suffix in (".log", ".index", ".timeindex")
        ]

    def load_indexes(self) -> None:
        """Load both index files; raises IndexDamagedError if either is missing or inconsistent.

        Leaves next_offset and the times to the caller: restore() after a clean shutdown,
        load_times() with a known next offset, or a recover() scan.
        """
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

    def restore(self, next_offset: int, roll_reference_ms: int | None) -> None:
        """Take the state saved at a clean shutdown instead of reading any batch."""
        self.next_offset = next_offset
        self.roll_reference_ms = roll_reference_ms
        _, position = self.offset_index.last()
        self._bytes_since_index = self.store.size - position
        log_path = self.log_path
        if log_path is not None:
            self.last_modified_ms = int(os.stat(log_path).st_mtime * 1000)

    def load_times(self) -> None:
        """last-modified from the file, the roll reference from the first batch header."""
        log_path = self.log_path
        if log_path is not None:
            self.last_modified_ms = int(os.stat(log_path).st_mtime * 1000)
        if self.store.size >= _META.size:
            max_ts = _META.unpack(self.store.pread(_META.size, 0))[3]
            self.roll_reference_ms = max_ts if max_ts >= 0 else self.last_modified_ms

    def _scan_valid(
        self,
        position: int,
        expected: int,
        limit: int | None,
        interval: int,
        *,
        verify: bool,
        gaps: frozenset[int] = frozenset(),
        compacted: bool = False,
    ) -> tuple[int, int]:
        """Index the run of valid batches from ``position``; returns (where it ends, next offset).

        A batch is valid when it is whole, has magic 2, a plausible length, offsets below
        ``limit`` (the next segment's base) and, with ``verify``, a matching CRC-32C. Offsets
        continue from ``expected``; a jump (the gap a repair leaves) is taken only where the
        next batch continues from the jumped batch, or at one of the known ``gaps`` (base
        offsets): the CRC does not cover baseOffset, so a damaged one must not pass as a gap.
        In a ``compacted`` log every jump is taken: the cleaner leaves gaps between batches.
        """
        size = self.store.size
        unpack = _RECOVER.unpack_from
        while position < size:
            chunk = self.store.pread(RECOVER_CHUNK, position)
            view = memoryview(chunk)
            at = 0
            stop = False
            while at + HEADER_SIZE <= len(chunk):
                base, length, _epoch, magic, _crc, _attrs, last_delta, _bts, max_ts = unpack(
                    chunk, at
                )
                if (
                    magic != 2
                    or length < MIN_BATCH_LENGTH
                    or base < expected
                    or last_delta < 0
                    or base + last_delta - self.base_offset > _MAX_RELATIVE
                    or (limit is not None and base + last_delta >= limit)
                ):
                    stop = True
                    break
                end = at + length + LOG_OVERHEAD
                if end > len(chunk):
                    if position + end > size:
                        stop = True  # torn
                    elif at == 0:  # a batch bigger than the chunk: read exactly that batch
                        view.release()
                        chunk = self.store.pread(length + LOG_OVERHEAD, position)
                        view = memoryview(chunk)
                        continue
                    break
                if verify and not verify_crc(view[at:end]):
                    stop = True
                    break
                if base > expected and not compacted and base not in gaps:
                    follower = self._next_base(position + end)
                    if follower is not None and follower != base + last_delta + 1:
                        stop = True
                        break
                self._index_batch(position + at, end - at, base, max_ts, interval)
                expected = base + last_delta + 1
                at = end
            view.release()
            position += at
            if stop or at == 0:  # at == 0: a torn header at the end of the file
                break
        return position, expected

    def _next_base(self, position: int) -> int | None:
        """The base offset of the batch header at ``position``, if one starts there."""
        head = self.store.pread(HEADER_SIZE, position)
        if len(head) < HEADER_SIZE or head[_MAGIC_AT] != 2:
            return None  # nothing (or nothing valid) to compare with: the jump stands
        return int(_SPAN.unpack_from(head)[0])

    def _resync(self, position: int, expected: int, limit: int | None) -> int | None:
        """The first position at or after ``position`` where a valid batch starts, or None."""
        size = self.store.size
        unpack = _RECOVER.unpack_from
        while position + HEADER_SIZE <= size:
            chunk = self.store.pread(RECOVER_CHUNK + HEADER_SIZE, position)
            last_start = len(chunk) - HEADER_SIZE
            found = chunk.find(b"\x02", _MAGIC_AT)  # every candidate has magic 2
            while found != -1 and found - _MAGIC_AT <= last_start:
                at = found - _MAGIC_AT
                base, length, _epoch, _magic, _crc, _attrs, last_delta, _bts, _ts = unpack(
                    chunk, at
                )
                end = position + at + length + LOG_OVERHEAD
                if (
                    length >= MIN_BATCH_LENGTH
                    and end <= size
                    and base >= expected
                    and last_delta >= 0
                    and base + last_delta - self.base_offset <= _MAX_RELATIVE
                    and (limit is None or base + last_delta < limit)
                ):
                    batch = self.store.pread(length + LOG_OVERHEAD, position + at)
                    if verify_crc(batch):
                        return position + at
                found = chunk.find(b"\x02", found + 1)
            position += last_start + 1
        return None

    def recover(
        self,
        index_interval: int,
        *,
        from_last_index_entry: bool = False,
        limit: int | None = None,
        keep_tail: bool = False,
        gaps: frozenset[int] = frozenset(),
        compacted: bool = False,
    ) -> Recovery:
        """Rescan the store, keep every valid batch, rebuild indexes; returns what was dropped.

        With ``from_last_index_entry`` (after an old-style clean shutdown, indexes loaded) only
        the batches after the last index entry are walked and CRCs are not checked; any damage
        there falls back to a full scan. A full scan checks every batch (magic, length, CRC-32C,
        increasing offsets below ``limit``). Damaged bytes followed by a valid batch are cut out
        (the batches after them are kept, their offsets become a gap) and saved beside the
        segment as ``<name>.log.damaged-<n>``; damage with nothing valid after it is cut off the
        end, and saved too with ``keep_tail`` (an older segment; the active segment's torn tail
        is an unacknowledged write).
        """
        self._bytes_since_index = 0
        self._read_hint = (-1, -1)
        if from_last_index_entry:
            relative, position = self.offset_index.last()
            expected = self.base_offset + relative
            if len(self.offset_index):  # walked again from that entry, which is re-added
                self.offset_index.truncate_to_position(position)
                self._bytes_since_index = index_interval
            end, expected = self._scan_valid(
                position, expected, limit, index_interval, verify=False, compacted=compacted
            )
            if end == self.store.size:
                self.next_offset = expected
                self.load_times()
                return Recovery()
            # the saved indexes described bytes that are gone or damaged: scan everything
        self.offset_index = OffsetIndex()
        self.time_index = TimeIndex()
        self.max_timestamp = -1
        self.offset_of_max_timestamp = -1
        self._bytes_since_index = 0
        self.rescanned = True
        size = self.store.size
        position, expected = self._scan_valid(
            0, self.base_offset, limit, index_interval, verify=True, gaps=gaps, compacted=compacted
        )
        cut: list[tuple[int, int, int, int]] = []  # (start, end, first lost, last lost offset)
        while position < size:
            resume = self._resync(position + 1, expected, limit)
            if resume is None:
                break
            resumed_base = _SPAN.unpack(self.store.pread(_SPAN.size, resume))[0]
            cut.append((position, resume, expected, resumed_base - 1))
            position, expected = self._scan_valid(
                resume,
                resumed_base,
                limit,
                index_interval,
                verify=True,
                gaps=gaps,
                compacted=compacted,
            )
        recovery = Recovery()
        if position < size:
            last_lost = -1 if limit is None else limit - 1
            if keep_tail:
                cut.append((position, size, expected, last_lost))
            else:
                recovery.truncated = size - position
                self.store.truncate(position)
        if cut:
            try:
                recovery.damaged = [
                    DamagedRange(first, last, end - start, self._save_damaged(start, end))
                    for start, end, first, last in cut
                ]
                # the second scan meets the gaps just made (and finds nothing else to repair)
                made = frozenset(last + 1 for _, end, _, last in cut if end < self.store.size)
                self._cut_out([(start, end) for start, end, _, _ in cut])
            except OSError as exc:
                raise StorageError(
                    f"segment {self.log_path} is damaged and could not be repaired "
                    f"({exc.strerror or exc}). Free disk space and start the broker again."
                ) from exc
            again = self.recover(index_interval, limit=limit, gaps=gaps | made, compacted=compacted)
            recovery.truncated += again.truncated
            recovery.damaged += again.damaged
            return recovery
        self.next_offset = expected
        self.load_times()
        return recovery

    def _save_damaged(self, start: int, end: int) -> Path | None:
        """Copy damaged bytes to ``<name>.log.damaged-<n>`` (none in memory); returns the path."""
        log_path = self.log_path
        if log_path is None:
            return None
        n = 1
        while (target := log_path.with_name(f"{log_path.name}.damaged-{n}")).exists():
            n += 1
        with open(target, "wb") as out:
            self._copy_range(start, end, out.fileno())
            os.fsync(out.fileno())
        return target

    def _copy_range(self, start: int, end: int, fd: int) -> None:
        while start < end:
            data = self.store.pread(min(RECOVER_CHUNK, end - start), start)
            if not data:
                raise StorageError(f"segment {self.name} shrank while it was being repaired")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            start += len(data)

    def _cut_out(self, ranges: list[tuple[int, int]]) -> None:
        """Rewrite the segment without the byte ``ranges`` (sorted, disjoint)."""
        log_path = self.log_path
        if log_path is None:  # in memory: rebuild the store from the kept pieces
            kept = MemoryStore()
            for start, end in _complement(ranges, self.store.size):
                kept.append(self.store.pread(end - start, start))
            self.store = kept
            return
        tmp = log_path.with_name(log_path.name + ".tmp")
        try:
            with open(tmp, "wb") as out:
                for start, end in _complement(ranges, self.store.size):
                    self._copy_range(start, end, out.fileno())
                os.fsync(out.fileno())
            self.store.close()
            os.replace(tmp, log_path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        fsync_path(log_path.parent, directory=True)
        self.store = FileStore(log_path)

    def flush(self) -> None:
        self.store.flush()

    def close(self) -> None:
        self.store.close()

    def delete(self) -> None:
        self.store.delete()
        if self.directory is not None:
            for suffix in (".index", ".timeindex", ".index.tmp", ".timeindex.tmp", ".txnindex"):
                (self.directory / f"{self.name}{suffix}").unlink(missing_ok=True)
