"""A partition log: an ordered list of segments, offset assignment, retention and recovery.

On disk a partition is a directory ``<topic>-<partition>/`` holding, per segment, ``<base>.log``
(whole v2 batches), ``<base>.index`` and ``<base>.timeindex`` (base = first offset, 20 digits),
plus ``log-start-offset`` (a checkpoint written atomically whenever it moves),
``recovery-point`` (the log end offset at the last completed flush) and, only between a clean
close and the next open, ``clean-shutdown`` (see clean_shutdown.py).

Opening after a clean close reads no batch at all. After an unclean stop the segments wholly
below the recovery point keep their indexes and every later one is scanned (magic, lengths,
increasing offsets, CRC-32C): damaged bytes are cut out and kept beside the segment, the valid
batches after them are kept (their offsets become a gap), and only the active segment's torn
tail is simply truncated. A failed append is cut back so no acknowledged write ever lands behind
a torn batch; if even that fails the log refuses writes until the broker restarts.
"""

from __future__ import annotations

import logging
import struct
import threading
import time
from bisect import bisect_right
from collections.abc import Callable
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
from embedded_broker.storage.clean_shutdown import (
    CLEAN_SHUTDOWN_FILE,
    CleanState,
    format_clean_shutdown,
    read_clean_shutdown,
)
from embedded_broker.storage.cleaner_files import finish_interrupted_cleaning
from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.index import IndexDamagedError, fsync_path, write_atomically
from embedded_broker.storage.segment import BatchMeta, Recovery, Segment
from embedded_broker.storage.store import FileStore, TornWriteError
from embedded_broker.storage.txn_index import AbortedTxn

log = logging.getLogger(__name__)

LOG_START_FILE = "log-start-offset"
RECOVERY_POINT_FILE = "recovery-point"
__all__ = [
    "CLEAN_SHUTDOWN_FILE",
    "LOG_START_FILE",
    "RECOVERY_POINT_FILE",
    "Log",
    "as_partition_log",
]
_MAX_RELATIVE_OFFSET = 2**31 - 1

# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta,
# baseTimestamp, maxTimestamp
_APPEND = struct.Struct(">qiibIhiqq")
_INT64 = struct.Struct(">q")
_INT32 = struct.Struct(">i")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# What a damaged checkpoint costs the user, for the warning that names it.
_DAMAGED_CHECKPOINT_EFFECT = {
    LOG_START_FILE: "the partition now starts at its oldest segment, so records removed with "
    "DeleteRecords may be readable again. Delete them again if needed; the file is rewritten "
    "the next time the start offset moves.",
    RECOVERY_POINT_FILE: "every segment of the partition is checked for damage at this start "
    "(slower, nothing is lost); the file is rewritten at the next flush.",
}


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
        # set when a failed append could not be cut back: the active file ends in a torn batch
        self._write_error: str | None = None
        # every offset below this was fsynced (with its segment's indexes) by a flush
        self._recovery_point = 0
        self._recovery_point_stuck = False  # a failed fsync: stop vouching for later data
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
        finish_interrupted_cleaning(directory)  # .cleaned, .swap and .deleted files of a crash
        clean_marker = directory / CLEAN_SHUTDOWN_FILE
        saved = read_clean_shutdown(clean_marker)
        self._recovery_point = self._read_offset_file(RECOVERY_POINT_FILE)
        bases = sorted(int(path.stem) for path in directory.glob("*.log") if path.stem.isdigit())
        for i, base in enumerate(bases):
            segment = Segment(base, FileStore(directory / f"{base:020d}.log"), directory)
            last = i == len(bases) - 1
            if not last and segment.is_empty:
                segment.delete()  # an empty segment that is not the active one has no offsets
                continue
            limit = None if last else bases[i + 1]
            recovery = self._open_segment(segment, saved, limit, last=last)
            self._report(segment, recovery, last=last)
            self._add_segment(segment)
        if not self._segments:
            self._add_segment(Segment.create(0, directory))
        for segment in self._segments[:-1]:
            if segment.rescanned:
                try:
                    segment.save_indexes()
                    self._unsynced.append(segment)
                except OSError as exc:  # rebuilt again next time; reading does not need them
                    log.warning(
                        "Could not save the indexes of %s/%s: %s", directory.name, segment.name, exc
                    )
            segment.close()  # reopened on demand: only the active segment stays open
        self._log_start_offset = max(self._read_log_start(), self._segments[0].base_offset)
        self._log_start_offset = min(self._log_start_offset, self.log_end_offset)
        clean_marker.unlink(missing_ok=True)

    def _open_segment(
        self, segment: Segment, saved: CleanState | None, limit: int | None, *, last: bool
    ) -> Recovery:
        """Trust a segment's saved state where it can be trusted; otherwise scan and repair it.

        After a clean shutdown nothing is read but the index files (the shutdown recorded each
        segment's size and next offset; a size that changed since means a rescan). After an
        unclean stop, segments wholly below the recovery point (flushed) keep their indexes and
        every later segment is scanned; an old-style empty marker gets a tail check.
        """
        interval = self.config.index_interval_bytes
        compacted = self.config.compacted  # the cleaner leaves offset gaps between batches
        try:
            if saved is not None and saved.segments is not None:
                state = saved.segments.get(segment.base_offset)
                if state is None or state[0] != segment.size:
                    raise IndexDamagedError("the segment changed after the clean shutdown")
                segment.load_indexes()
                segment.restore(state[1], state[2])
                return Recovery()
            if saved is not None:
                segment.load_indexes()
                return segment.recover(
                    interval, from_last_index_entry=True, limit=limit, compacted=compacted
                )
            if limit is not None and limit <= self._recovery_point:
                segment.load_indexes()
                segment.next_offset = limit
                segment.load_times()
                return Recovery()
            raise IndexDamagedError("written after the last flush before an unclean stop")
        except IndexDamagedError as reason:
            log.debug("rescanning segment %s in %s: %s", segment.name, self.directory, reason)
            return segment.recover(interval, limit=limit, keep_tail=not last, compacted=compacted)

    def _report(self, segment: Segment, recovery: Recovery, *, last: bool) -> None:
        name = self.directory.name if self.directory is not None else "memory"
        if recovery.truncated:
            log.warning(
                "Recovered %s: dropped %d incomplete bytes at the end of segment %s "
                "(a write the broker had not acknowledged)",
                name,
                recovery.truncated,
                segment.name,
            )
        for damaged in recovery.damaged:
            if damaged.last_offset < damaged.first_offset and damaged.last_offset >= 0:
                lost = "no offsets"
            elif damaged.last_offset < 0:
                lost = f"offsets from {damaged.first_offset} on"
            else:
                lost = f"offsets {damaged.first_offset} to {damaged.last_offset}"
            log.warning(
                "Recovered %s: segment %s had %d damaged bytes; removed them (%s are lost, "
                "later records are kept)%s",
                name,
                segment.name,
                damaged.size,
                lost,
                "" if damaged.copy is None else f"; the damaged bytes are saved in {damaged.copy}",
            )

    def _read_offset_file(self, name: str) -> int:
        assert self.directory is not None
        path = self.directory / name
        try:
            text = path.read_bytes().decode("utf-8", "replace").strip()
        except FileNotFoundError:
            return 0
        try:
            return int(text or 0)
        except ValueError:
            # Not fatal either way: 0 is the safe reading of both checkpoints.
            log.warning(
                "The partition checkpoint %s is damaged (it holds %r instead of an offset): %s",
                path,
                text[:40],
                _DAMAGED_CHECKPOINT_EFFECT[name],
            )
            return 0

    def _read_log_start(self) -> int:
        return self._read_offset_file(LOG_START_FILE)

    def _write_log_start(self, value: int | None = None) -> None:
        """Checkpoint the log start (``value``, ahead of the in-memory start, for a move that
        must be on disk first); never moves the saved value backwards."""
        if self.directory is not None:
            with self._checkpoint_lock:
                value = self._log_start_offset if value is None else value
                if self._log_start_saved is not None:
                    value = max(value, self._log_start_saved)
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
            if self._write_error is not None:
                raise StorageError(self._write_error)
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
            try:
                if self._should_roll(active, total, offset, now_ms):
                    active = self._roll(now_ms)
                active.append(buf, metas, offset, now_ms, self.config.index_interval_bytes)
            except TornWriteError as exc:
                self._write_error = (
                    f"{exc}; the partition takes no more writes until the broker restarts "
                    "(free disk space first: the restart removes the partial write)"
                )
                log.error("Partition log %s is offline for writes: %s", self.directory, exc)
                raise StorageError(self._write_error) from exc
            except OSError as exc:
                raise StorageError(
                    f"could not start a new segment in {self.directory} "
                    f"({exc.strerror or exc}); nothing was stored"
                ) from exc
            return AppendInfo(
                first_offset,
                offset - 1,
                now_ms if log_append_time else -1,
                self._log_start_offset,
            )

    def append_replicated(self, batches: bytes | bytearray, *, now_ms: int) -> AppendInfo:
        """Store a leader's batches exactly as they are (a follower's append): offsets,
        leader epochs and timestamps are kept; each batch must start at or after the log end
        offset. Raises InvalidRecordBatchError for anything else."""
        buf = bytes(batches)
        total = len(buf)
        if total == 0:
            raise InvalidRecordBatchError("no record batches to append")
        unpack = _APPEND.unpack_from
        with self._lock:
            self._check_open()
            if self._write_error is not None:
                raise StorageError(self._write_error)
            offset = first_offset = self.log_end_offset
            metas: list[BatchMeta] = []
            position = 0
            while position < total:
                if position + HEADER_SIZE > total:
                    raise InvalidRecordBatchError("record batch truncated inside its header")
                base, length, _, magic, _, _, last_delta, _, max_ts = unpack(buf, position)
                if magic != 2:
                    raise UnsupportedMagicError(magic, position)
                size = length + LOG_OVERHEAD
                if length < MIN_BATCH_LENGTH or position + size > total or last_delta < 0:
                    raise InvalidRecordBatchError(f"record batch at byte {position} is malformed")
                if base < offset:
                    raise InvalidRecordBatchError(
                        f"replicated batch at offset {base} is below the log end offset {offset}"
                    )
                if position == 0:
                    first_offset = base
                metas.append((position, size, base, max_ts))
                offset = base + last_delta + 1
                position += size
            active = self._segments[-1]
            try:
                if self._should_roll(active, total, offset, now_ms):
                    active = self._roll(now_ms)
                active.append(buf, metas, offset, now_ms, self.config.index_interval_bytes)
            except TornWriteError as exc:
                self._write_error = (
                    f"{exc}; the partition takes no more writes until the broker restarts "
                    "(free disk space first: the restart removes the partial write)"
                )
                log.error("Partition log %s is offline for writes: %s", self.directory, exc)
                raise StorageError(self._write_error) from exc
            except OSError as exc:
                raise StorageError(
                    f"could not start a new segment in {self.directory} "
                    f"({exc.strerror or exc}); nothing was stored"
                ) from exc
            return AppendInfo(first_offset, offset - 1, -1, self._log_start_offset)

    def truncate_to(self, offset: int) -> int:
        """Remove every batch at or after ``offset`` (a follower dropping a tail its leader
        does not have); a batch holding ``offset`` goes whole. Returns the new log end offset."""
        doomed: list[Segment] = []
        with self._lock:
            self._check_open()
            if offset >= self.log_end_offset:
                return self.log_end_offset
            while len(self._segments) > 1 and self._segments[-1].base_offset >= offset:
                segment = self._segments.pop()
                self._bases.pop()
                doomed.append(segment)
                if segment in self._recent:
                    self._recent.remove(segment)
                if segment in self._unsynced:
                    self._unsynced.remove(segment)
            active = self._segments[-1]
            try:
                end = active.truncate_to(offset)
            except OSError as exc:
                raise StorageError(
                    f"could not truncate {self.directory} ({exc.strerror or exc})"
                ) from exc
            self._log_start_offset = min(self._log_start_offset, end)
            self._truncate_aborted(active, end)
            moved_back = self._recovery_point > end
            self._recovery_point = min(self._recovery_point, end)
        for segment in doomed:
            segment.delete()
        if moved_back and self.directory is not None:
            # a later crash must rescan from here: the old point vouches for removed bytes
            write_atomically(self.directory / RECOVERY_POINT_FILE, f"{end}\n".encode())
        return end

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every record and restart the log empty at ``offset`` (a follower so far
        behind that its leader no longer has the next record)."""
        with self._lock:
            self._check_open()
            for segment in self._segments:
                segment.delete()
            self._segments.clear()
            self._bases.clear()
            self._recent.clear()
            self._unsynced.clear()
            self._add_segment(Segment.create(offset, self.directory))
            self._log_start_offset = offset
            self._recovery_point = offset
        self._checkpoint_log_start()
        if self.directory is not None:
            write_atomically(self.directory / RECOVERY_POINT_FILE, f"{offset}\n".encode())

    # --- aborted transactions (read_committed fetch, the cleaner) ---------------------------

    def add_aborted_txn(self, aborted: AbortedTxn) -> None:
        """Index a transaction whose ABORT marker was just appended (in the active segment)."""
        with self._lock:
            self._check_open()
            index = bisect_right(self._bases, aborted.last_offset) - 1
            self._segments[max(index, 0)].add_aborted_txn(aborted)

    def aborted_txns(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping offsets [start, end), oldest first."""
        with self._lock:
            self._check_open()
            segments = self._segments[max(bisect_right(self._bases, start) - 1, 0) :]
        found: list[AbortedTxn] = []
        for segment in segments:
            found += segment.txn_index.collect(start, end)
        return found

    def _truncate_aborted(self, active: Segment, end: int) -> None:
        index = active.txn_index
        if index.entries and index.entries[-1].last_offset >= end:
            index.truncate_to(end)
            if active.directory is not None:
                index.save(active.directory / f"{active.name}.txnindex")

    def _should_roll(self, active: Segment, incoming: int, next_offset: int, now_ms: int) -> bool:
        if active.is_empty:
            return False
        if active.size + incoming > self.config.segment_bytes:
            return True
        if next_offset - active.base_offset > _MAX_RELATIVE_OFFSET:
            return True
        reference = active.roll_reference_ms
        return reference is not None and now_ms - reference >= self.config.roll_ms

    def _roll(self, now_ms: int | None) -> Segment:
        """Close the active segment for writing and start a new one at the log end offset.

        Raises OSError (a full disk) with nothing changed: the new file is removed again."""
        old = self._segments[-1]
        segment = Segment.create(old.next_offset, self.directory)
        try:
            old.save_indexes()
        except OSError:
            segment.delete()
            raise
        old.close()
        if self.directory is not None:
            self._unsynced.append(old)
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
        are deleted. The new start is on disk before anything changes, so a failed write (a
        full disk) raises StorageError and deletes nothing; the fsync runs without the lock.
        """
        with self._lock:
            if offset > self.log_end_offset or offset < 0:
                raise OffsetOutOfRange(offset, self._log_start_offset, self.log_end_offset)
            if offset <= self._log_start_offset:
                return self._log_start_offset
        try:
            self._write_log_start(offset)
        except OSError as exc:
            raise StorageError(
                f"could not save the log start offset of {self.directory} "
                f"({exc.strerror or exc}); no records were deleted"
            ) from exc
        doomed: list[Segment] = []
        with self._lock:
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
                and now_ms - active.roll_reference_ms >= config.roll_ms
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

    # --- cleaning: called by the log cleaner (cleaner.py) from its own thread ---------------

    @property
    def closed(self) -> bool:
        return self._closed

    def cleaning_snapshot(self) -> tuple[list[Segment], int, int]:
        """(inactive segments, log start offset, recovery point) for the cleaner to read
        without the lock: inactive segments never change, they are only replaced or deleted."""
        with self._lock:
            self._check_open()
            return list(self._segments[:-1]), self._log_start_offset, self._recovery_point

    def replace_segments(self, old: list[Segment], install: Callable[[], Segment]) -> bool:
        """Swap the consecutive inactive segments ``old`` for the one ``install`` puts in place
        (it renames files: quick, so it runs under the lock and no reader sees a half swap).
        Returns False, installing nothing, if retention or DeleteRecords took any of ``old``
        meanwhile or the log was closed."""
        with self._lock:
            if self._closed or not old:
                return False
            segments = self._segments
            try:
                i = next(n for n, segment in enumerate(segments) if segment is old[0])
            except StopIteration:
                return False
            end = i + len(old)
            if end >= len(segments) or any(
                a is not b for a, b in zip(segments[i:end], old, strict=True)
            ):
                return False
            new = install()
            segments[i:end] = [new]
            self._bases[i:end] = [new.base_offset]
            for segment in old:
                if segment in self._recent:
                    self._recent.remove(segment)
                if segment in self._unsynced:
                    self._unsynced.remove(segment)
                segment.close()
            return True

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
        """fsync the active segment, segments rolled since the last flush and the directory,
        then move the recovery point to the log end offset seen before syncing.

        Syncs by path outside the log's lock, so appends continue meanwhile; safe to call from
        a worker thread.
        """
        with self._lock:
            paths = self._sync_paths()
            point = self.log_end_offset
        try:
            for path in paths:
                fsync_path(path)
        except OSError:
            with self._lock:  # those segments left _unsynced: never vouch for them
                self._recovery_point_stuck = True
            raise
        if not paths or self.directory is None:
            return
        fsync_path(self.directory, directory=True)
        with self._lock:
            advance = (
                point > self._recovery_point and not self._recovery_point_stuck and not self._closed
            )
        if advance:
            # not fsynced: the data it vouches for already is, and a checkpoint lost or torn by
            # a power cut reads as 0 (scan everything), never as too high
            try:
                write_atomically(
                    self.directory / RECOVERY_POINT_FILE, f"{point}\n".encode(), durable=False
                )
            except FileNotFoundError:  # the topic was deleted meanwhile
                return
            with self._lock:
                self._recovery_point = max(self._recovery_point, point)

    def close(self) -> None:
        """fsync, save indexes and the clean-shutdown marker so the next open reads nothing.

        A failure (a full disk) leaves no marker: the next open checks the files instead.
        """
        with self._lock:
            if self._closed:
                return
            paths = self._sync_paths()
            self._closed = True
            if self.directory is not None:
                try:
                    for path in paths:
                        fsync_path(path)
                    self._segments[-1].save_indexes(durable=True)
                    self._write_log_start()  # skipped when unchanged (most closes)
                    write_atomically(  # all synced above: a later crash scans from here
                        self.directory / RECOVERY_POINT_FILE,
                        f"{self.log_end_offset}\n".encode(),
                        durable=False,
                    )
                    state = [
                        (s.base_offset, s.size, s.next_offset, s.roll_reference_ms)
                        for s in self._segments
                    ]
                    write_atomically(
                        self.directory / CLEAN_SHUTDOWN_FILE,
                        format_clean_shutdown(state),
                        sync_directory=False,
                    )
                    fsync_path(self.directory, directory=True)
                except OSError as exc:
                    log.warning(
                        "Could not save the state of %s at shutdown (%s); its files will be "
                        "checked when the broker next starts",
                        self.directory,
                        exc,
                    )
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
