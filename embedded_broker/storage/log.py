"""A partition log: an ordered list of segments, offset assignment, retention and recovery.

On disk a partition is a directory ``<topic>-<partition>/`` holding, per segment, ``<base>.log``
(whole v2 batches), ``<base>.index`` and ``<base>.timeindex`` (base = first offset, 20 digits),
plus ``log-start-offset`` (a checkpoint written atomically whenever it moves) and, only between a
clean close and the next open, ``clean-shutdown``. Opening after a clean close trusts every index
and scans only the tail of the active segment after its last index entry; after an unclean stop
the active segment (and any segment with a missing or damaged index) is rescanned, checking magic,
lengths, consecutive offsets and CRC-32C, and the first damaged byte onwards is cut off.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from bisect import bisect_right
from pathlib import Path

from embedded_broker.protocol.record_batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    MIN_BATCH_LENGTH,
    InvalidRecordBatchError,
    UnsupportedMagicError,
    iter_records,
    parse_header,
    record_timestamp,
    set_log_append_time,
)
from embedded_broker.storage.api import AppendInfo, OffsetOutOfRange, PartitionLog, StorageError
from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.index import IndexDamagedError, fsync_path, write_atomically
from embedded_broker.storage.segment import BatchMeta, Segment
from embedded_broker.storage.store import FileStore

log = logging.getLogger(__name__)

LOG_START_FILE = "log-start-offset"
CLEAN_SHUTDOWN_FILE = "clean-shutdown"
_MAX_RELATIVE_OFFSET = 2**31 - 1

# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp
_APPEND = struct.Struct(">qiibIhiqq")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class Log:
    """One partition's log, on disk (``directory``) or in memory (``directory`` is None).

    Thread-safe: every public method holds the log's lock for its (short) duration.
    """

    def __init__(self, directory: Path | None, config: LogConfig) -> None:
        self.directory = directory
        self.config = config
        self._lock = threading.Lock()
        # serialises writes of the log-start checkpoint, which retention makes outside _lock
        self._checkpoint_lock = threading.Lock()
        self._log_start_saved: int | None = None
        self._segments: list[Segment] = []
        self._bases: list[int] = []
        self._log_start_offset = 0
        self._closed = False
        # inactive segments whose file descriptors are open for reading, most recent last
        self._recent: list[Segment] = []
        # rolled segments not yet fsynced (flush() does it, off the append path)
        self._unsynced: list[Segment] = []
        if directory is None:
            self._add_segment(Segment.create(0, None))
        else:
            directory.mkdir(parents=True, exist_ok=True)
            self._load()
            # what the checkpoint file says now (0 when absent, as _load reads it): closing
            # thousands of partitions must not rewrite a file that already says the same
            self._log_start_saved = self._read_log_start()

    # --- opening and recovery -------------------------------------------------------------

    def _add_segment(self, segment: Segment) -> None:
        self._segments.append(segment)
        self._bases.append(segment.base_offset)

    def _load(self) -> None:
        assert self.directory is not None
        directory = self.directory
        for leftover in directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)
        clean_marker = directory / CLEAN_SHUTDOWN_FILE
        clean = clean_marker.exists()
        bases = sorted(int(path.stem) for path in directory.glob("*.log") if path.stem.isdigit())
        interval = self.config.index_interval_bytes
        for i, base in enumerate(bases):
            segment = Segment(base, FileStore(directory / f"{base:020d}.log"), directory)
            last = i == len(bases) - 1
            if not last and segment.is_empty:
                segment.delete()  # an empty segment that is not the active one has no offsets
                continue
            truncated = 0
            try:
                if last and not clean:
                    raise IndexDamagedError("active segment after an unclean stop")
                segment.load_indexes()
                # a cheap check of every segment's tail: headers after the last index entry must
                # be whole and consecutive up to the end of the file
                truncated = segment.recover(interval, from_last_index_entry=True)
            except IndexDamagedError as reason:
                log.debug("rescanning segment %s in %s: %s", segment.name, directory, reason)
                truncated = segment.recover(interval)
            if truncated:
                log.warning(
                    "Recovered %s: dropped %d damaged or incomplete bytes at the end of segment %s",
                    directory.name,
                    truncated,
                    segment.name,
                )
            if self._segments and self._segments[-1].next_offset != base:
                # an earlier segment lost its tail: later offsets can no longer be reached
                log.warning(
                    "Recovered %s: segment %s no longer follows its predecessor; deleting it",
                    directory.name,
                    segment.name,
                )
                segment.delete()
                continue
            self._add_segment(segment)
        if not self._segments:
            self._add_segment(Segment.create(0, directory))
        for segment in self._segments[:-1]:
            if segment.rescanned:
                segment.save_indexes()
            segment.close()  # reopened on demand: only the active segment stays open
        self._log_start_offset = max(self._read_log_start(), self._segments[0].base_offset)
        self._log_start_offset = min(self._log_start_offset, self.log_end_offset)
        clean_marker.unlink(missing_ok=True)

    def _read_log_start(self) -> int:
        assert self.directory is not None
        try:
            return int((self.directory / LOG_START_FILE).read_text().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def _write_log_start(self) -> None:
        if self.directory is not None:
            with self._checkpoint_lock:
                value = self._log_start_offset
                if value == self._log_start_saved:
                    return
                write_atomically(self.directory / LOG_START_FILE, f"{value}\n".encode())
                self._log_start_saved = value

    def _checkpoint_log_start(self) -> None:
        """Write the log-start checkpoint without holding the log's lock (it fsyncs)."""
        try:
            self._write_log_start()
        except FileNotFoundError:
            if not self._closed:  # a deleted partition has no directory left to write into
                raise

    def release_descriptors(self) -> None:
        """Close every segment's file (each reopens on its next use), so the LogManager can keep
        the broker's open files bounded however many partitions it has."""
        with self._lock:
            for segment in self._segments:
                segment.close()
            self._recent.clear()

    # --- properties -----------------------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        return self._segments[-1].next_offset

    @property
    def segment_count(self) -> int:
        return len(self._segments)

    def segment_base_offsets(self) -> list[int]:
        with self._lock:
            return list(self._bases)

    def size_bytes(self) -> int:
        with self._lock:
            return sum(segment.size for segment in self._segments)

    def update_config(self, config: LogConfig) -> None:
        with self._lock:
            self.config = config

    # --- append ---------------------------------------------------------------------------

    def append(
        self, batches: bytes | bytearray, *, now_ms: int, leader_epoch: int | None = 0
    ) -> AppendInfo:
        """Assign consecutive offsets to validated v2 batches and store them.

        Rewrites each batch's baseOffset (and partitionLeaderEpoch unless ``leader_epoch`` is
        None); under LogAppendTime also maxTimestamp and the timestamp-type bit (CRC recomputed).
        Never decompresses. Raises InvalidRecordBatchError if ``batches`` is not whole v2 batches.
        """
        buf = bytearray(batches)
        total = len(buf)
        if total == 0:
            raise InvalidRecordBatchError("no record batches to append")
        log_append_time = self.config.log_append_time
        unpack = _APPEND.unpack_from
        pack_offset = _INT64.pack_into
        pack_epoch = _INT32.pack_into
        with self._lock:
            self._check_open()
            first_offset = offset = self.log_end_offset
            metas: list[BatchMeta] = []
            position = 0
            while position < total:
                if position + HEADER_SIZE > total:
                    raise InvalidRecordBatchError("record batch truncated inside its header")
                _, length, _, magic, _, _, last_delta, _, max_ts = unpack(buf, position)
                if magic != 2:
                    raise UnsupportedMagicError(magic, position)
                size = length + LOG_OVERHEAD
                if length < MIN_BATCH_LENGTH or position + size > total or last_delta < 0:
                    raise InvalidRecordBatchError(f"record batch at byte {position} is malformed")
                pack_offset(buf, position, offset)
                if leader_epoch is not None:
                    pack_epoch(buf, position + 12, leader_epoch)
                if log_append_time:
                    set_log_append_time(buf, position, now_ms)
                    max_ts = now_ms
                metas.append((position, size, offset, max_ts))
                offset += last_delta + 1
                position += size
            active = self._segments[-1]
            if self._should_roll(active, total, offset, now_ms):
                active = self._roll(now_ms)
            active.append(buf, metas, offset, now_ms, self.config.index_interval_bytes)
            return AppendInfo(
                first_offset,
                offset - 1,
                now_ms if log_append_time else -1,
                self._log_start_offset,
            )

    def _should_roll(self, active: Segment, incoming: int, next_offset: int, now_ms: int) -> bool:
        if active.is_empty:
            return False
        if active.size + incoming > self.config.segment_bytes:
            return True
        if next_offset - active.base_offset > _MAX_RELATIVE_OFFSET:
            return True
        reference = active.roll_reference_ms
        return reference is not None and now_ms - reference >= self.config.segment_ms

    def _roll(self, now_ms: int | None) -> Segment:
        """Close the active segment for writing and start a new one at the log end offset."""
        old = self._segments[-1]
        old.save_indexes()
        old.close()
        if self.directory is not None:
            self._unsynced.append(old)
        segment = Segment.create(old.next_offset, self.directory)
        segment.roll_reference_ms = now_ms
        segment.last_modified_ms = now_ms if now_ms is not None else _now_ms()
        self._add_segment(segment)
        return segment

    # --- read -----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StorageError(
                "the partition log is closed (its topic was deleted or the broker stopped)"
            )

    def _touch(self, segment: Segment) -> None:
        """Note a read from ``segment``; keep at most two inactive segments' files open."""
        if segment is self._segments[-1]:
            return
        recent = self._recent
        if recent and recent[-1] is segment:
            return
        if segment in recent:
            recent.remove(segment)
        recent.append(segment)
        if len(recent) > 2:
            recent.pop(0).close()

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches starting with the batch that contains ``offset``.

        Stops before exceeding ``max_bytes`` but returns at least one whole batch when there is
        data at or after ``offset``; returns b"" at the log end offset. Data comes from one
        segment per call (the next call continues in the next segment). Raises
        OffsetOutOfRange below the log start offset or above the log end offset.
        """
        with self._lock:
            self._check_open()
            if offset < self._log_start_offset or offset > self.log_end_offset:
                raise OffsetOutOfRange(offset, self._log_start_offset, self.log_end_offset)
            i = bisect_right(self._bases, offset) - 1
            while i < len(self._segments):
                segment = self._segments[i]
                self._touch(segment)
                data = segment.read(offset, max_bytes)
                if data:
                    return data
                i += 1
            return b""

    # --- timestamps -----------------------------------------------------------------------

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record at or after the log start offset whose
        timestamp is >= ``timestamp_ms``; None if there is none.

        Batches are located through the time index by their maxTimestamp; within the found batch
        the records are walked (decompressing if needed) to return the exact first record offset
        and its timestamp. Should that batch be unreadable, its base offset (or the log start
        offset, if later) and maxTimestamp are returned instead.
        """
        with self._lock:
            self._check_open()
            start = self._log_start_offset
            for segment in self._segments:
                if segment.next_offset <= start or segment.max_timestamp < timestamp_ms:
                    continue
                self._touch(segment)
                found = segment.find_timestamp(timestamp_ms, start)
                if found is None:
                    continue
                position, base, max_ts = found
                try:
                    batch = segment.read_batch_at(position)
                    header = parse_header(batch)
                    for record in iter_records(batch):
                        record_offset = header.base_offset + record.offset_delta
                        record_ts = record_timestamp(header, record)
                        if record_offset >= start and record_ts >= timestamp_ms:
                            return record_offset, record_ts
                except (InvalidRecordBatchError, StorageError):
                    pass
                return max(base, start), max_ts
            return None

    def max_timestamp(self) -> tuple[int, int] | None:
        """(offset, timestamp) of the first record carrying the largest timestamp; None if the
        log is empty or has no timestamps."""
        with self._lock:
            self._check_open()
            best: Segment | None = None
            for segment in self._segments:
                if segment.next_offset <= self._log_start_offset:
                    continue
                if segment.max_timestamp >= 0 and (
                    best is None or segment.max_timestamp > best.max_timestamp
                ):
                    best = segment
            if best is None:
                return None
            target = best.max_timestamp
            self._touch(best)
            position = best.find_position(best.offset_of_max_timestamp)
            if position is not None:
                try:
                    batch = best.read_batch_at(position)
                    header = parse_header(batch)
                    for record in iter_records(batch):
                        if record_timestamp(header, record) == target:
                            return header.base_offset + record.offset_delta, target
                except (InvalidRecordBatchError, StorageError):
                    pass
            return best.offset_of_max_timestamp, target

    # --- deleting data --------------------------------------------------------------------

    def delete_records_before(self, offset: int) -> int:
        """Advance the log start offset to ``offset`` (DeleteRecords); returns the new start.

        Raises OffsetOutOfRange above the log end offset. Segments wholly below the new start
        are deleted.
        """
        doomed: list[Segment] = []
        with self._lock:
            if offset > self.log_end_offset or offset < 0:
                raise OffsetOutOfRange(offset, self._log_start_offset, self.log_end_offset)
            moved = offset > self._log_start_offset
            if moved:
                self._log_start_offset = offset
                doomed = self._delete_below_log_start()
            start = self._log_start_offset
        self._discard(doomed, moved)
        return start

    def _delete_below_log_start(self) -> list[Segment]:
        active = self._segments[-1]
        if not active.is_empty and active.next_offset <= self._log_start_offset:
            self._roll(None)
        count = 0
        while count < len(self._segments) - 1:
            if self._segments[count].next_offset > self._log_start_offset:
                break
            count += 1
        return self._delete_oldest(count)

    def _delete_oldest(self, count: int) -> list[Segment]:
        """Take the ``count`` oldest segments out of the log and move the log start past them;
        the caller holds the lock and, after releasing it, deletes their files with _discard
        (so appends and reads never wait behind file deletion or an fsync)."""
        if count <= 0:
            return []
        doomed = self._segments[:count]
        del self._segments[:count]
        del self._bases[:count]
        for segment in doomed:
            if segment in self._recent:
                self._recent.remove(segment)
            if segment in self._unsynced:
                self._unsynced.remove(segment)
        self._log_start_offset = max(self._log_start_offset, self._segments[0].base_offset)
        return doomed

    def _discard(self, doomed: list[Segment], start_moved: bool) -> None:
        """Without the lock: checkpoint the moved log start, then delete the detached files
        (in that order, so a crash in between never brings deleted records back)."""
        if start_moved or doomed:
            self._checkpoint_log_start()
        for segment in doomed:
            segment.delete()

    def enforce_retention(self, now_ms: int) -> int:
        """Roll by segment.ms, then delete old segments by retention.ms and retention.bytes
        (never the active one: an expired active segment is rolled first). Returns the number
        of segments deleted."""
        doomed: list[Segment] = []
        with self._lock:
            if self._closed:
                return 0
            config = self.config
            active = self._segments[-1]
            if (
                not active.is_empty
                and active.roll_reference_ms is not None
                and now_ms - active.roll_reference_ms >= config.segment_ms
            ):
                self._roll(now_ms)
            if "delete" not in config.cleanup_policy.split(","):
                return 0
            if config.retention_ms >= 0:
                cutoff = now_ms - config.retention_ms
                count = 0
                while count < len(self._segments) and (
                    not self._segments[count].is_empty
                    and self._segments[count].largest_timestamp() < cutoff
                ):
                    count += 1
                if count == len(self._segments):
                    self._roll(now_ms)
                doomed += self._delete_oldest(count)
            if config.retention_bytes >= 0:
                excess = sum(s.size for s in self._segments) - config.retention_bytes
                count = 0
                while count < len(self._segments) - 1 and excess - self._segments[count].size >= 0:
                    excess -= self._segments[count].size
                    count += 1
                doomed += self._delete_oldest(count)
        self._discard(doomed, bool(doomed))
        return len(doomed)

    def truncate_all(self) -> None:
        """Drop every record; the log restarts empty at the current log end offset."""
        with self._lock:
            end = self.log_end_offset
            if not self._segments[-1].is_empty:
                self._roll(None)
            doomed = self._delete_oldest(len(self._segments) - 1)
            self._log_start_offset = end
        self._discard(doomed, True)

    # --- lifecycle ------------------------------------------------------------------------

    def _sync_paths(self) -> list[Path]:
        """Files whose data may not be on disk yet; the caller holds the lock."""
        if self.directory is None or self._closed:
            return []
        paths = [path for segment in self._unsynced for path in segment.file_paths()]
        self._unsynced.clear()
        paths.extend(self._segments[-1].file_paths()[:1])
        return paths

    def flush(self) -> None:
        """fsync the active segment, segments rolled since the last flush and the directory.

        Syncs by path outside the log's lock, so appends continue meanwhile; safe to call from
        a worker thread.
        """
        with self._lock:
            paths = self._sync_paths()
        for path in paths:
            fsync_path(path)
        if paths and self.directory is not None:
            fsync_path(self.directory, directory=True)

    def close(self) -> None:
        """fsync, save indexes and mark the shutdown clean so the next open skips the rescan."""
        with self._lock:
            if self._closed:
                return
            paths = self._sync_paths()
            self._closed = True
            if self.directory is not None:
                for path in paths:
                    fsync_path(path)
                self._segments[-1].save_indexes(durable=True)
                self._write_log_start()
                write_atomically(self.directory / CLEAN_SHUTDOWN_FILE, b"")
                fsync_path(self.directory, directory=True)
            for segment in self._segments:
                segment.close()

    def delete(self) -> None:
        """Close and remove every segment (the caller removes the directory)."""
        with self._lock:
            self._closed = True
            for segment in self._segments:
                segment.delete()


def as_partition_log(log: Log) -> PartitionLog:
    """Typed view of a Log as the PartitionLog protocol (also a static conformance check)."""
    return log
