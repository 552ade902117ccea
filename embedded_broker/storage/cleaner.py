"""Cleaning one compacted partition log: Kafka's Cleaner rules on this broker's segments.

A round (as Kafka's Cleaner.doClean): the dirty range runs from the cleaner checkpoint to the
first uncleanable offset (the active segment, the recovery point, the first segment younger
than min.compaction.lag.ms). A key → latest offset map is built over the dirty range (bounded:
when it fills, the round ends where it stopped). Then every segment from the log start to the
end of the mapped range is rewritten, in groups whose total size fits segment.bytes (so
compaction also reduces the number of segments), keeping for each key only its latest record;
offsets never change. Tombstones and transaction markers survive one more round: the first
round that keeps them stamps their batch with a delete horizon (now + delete.retention.ms) and
a round after that horizon drops them. Records without a key are dropped. The last batch
before the first uncleanable offset is always kept (empty if need be) so the log's offsets
stay known, and a batch keeps its base offset and lastOffsetDelta.

Reads and appends continue throughout: segments are read through the cleaner's own file
descriptors, and the log's lock is taken only to swap a finished group in (cleaner_files.py
has the crash-safe file protocol).
"""

from __future__ import annotations

import functools
import logging
import os
import struct
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
from embedded_broker.storage.api import StorageError
from embedded_broker.storage.cleaner_batch import (
    Batch,
    Record,
    decode,
    rebuild,
    record_at,
    record_key,
    records,
)
from embedded_broker.storage.cleaner_files import CLEANED, DELETED, SWAP, segment_files
from embedded_broker.storage.cleaner_map import BYTES_PER_OFFSET, MappedRange, map_batch
from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.index import fsync_path, write_atomically
from embedded_broker.storage.log import Log
from embedded_broker.storage.offset_map import ENTRY_SIZE, OffsetMap
from embedded_broker.storage.segment import BatchMeta, Segment
from embedded_broker.storage.store import FileStore, MemoryStore
from embedded_broker.storage.txn_index import AbortedTxn

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "cleaner-offset-checkpoint"
READ_CHUNK = 1024 * 1024
WRITE_CHUNK = 1024 * 1024
_MAX_RELATIVE = 2**31 - 1
_PREFIX = struct.Struct(">qi")
# baseOffset, batchLength, partitionLeaderEpoch, magic, crc, attributes, lastOffsetDelta
_SPAN = struct.Struct(">qiibIhi")
_CONTROL_KEY = struct.Struct(">hh")  # version, type
_COUNT = struct.Struct(">i")
_TIMESTAMP = struct.Struct(">q")
CONTROL_ABORT = 0
CONTROL_COMMIT = 1


class CleaningAbortedError(Exception):
    """The partition was deleted or closed, or the broker is stopping: the round is dropped."""


@dataclass(slots=True)
class CleanStats:
    """What a round did, for the log line and the benchmark."""

    records_read: int = 0
    records_kept: int = 0
    bytes_read: int = 0
    bytes_written: int = 0
    segments_before: int = 0
    segments_after: int = 0
    end_offset: int = 0


@dataclass(frozen=True, slots=True)
class Cleanable:
    """A partition's dirty range as the cleaner sees it now (Kafka's LogToClean)."""

    first_dirty: int
    first_uncleanable: int
    clean_bytes: int
    dirty_bytes: int
    needs_compaction_now: bool  # max.compaction.lag.ms passed for the oldest dirty record

    @property
    def ratio(self) -> float:
        total = self.clean_bytes + self.dirty_bytes
        return self.dirty_bytes / total if total else 0.0


# --- the checkpoint: the offset up to which a partition was cleaned --------------------------


def read_checkpoint(directory: Path | None) -> int | None:
    if directory is None:
        return None
    try:
        return int((directory / CHECKPOINT_FILE).read_text().strip())
    except (FileNotFoundError, ValueError):  # absent or torn: clean from the log start
        return None


def write_checkpoint(directory: Path | None, offset: int) -> None:
    if directory is not None:
        write_atomically(directory / CHECKPOINT_FILE, f"{offset}\n".encode())


def cleanable_range(
    log_: Log, checkpoint: int | None, now_ms: int, *, flushed_only: bool = True
) -> Cleanable | None:
    """Where the dirty part of ``log_`` starts and ends; None if nothing can be cleaned.

    ``flushed_only=False`` estimates as if everything were flushed (to choose what to clean).
    """
    segments, log_start, recovery_point = log_.cleaning_snapshot()
    if not segments:
        return None
    config = log_.config
    end = segments[-1].next_offset  # the active segment's base: never cleaned
    first_dirty = checkpoint if checkpoint is not None else log_start
    if first_dirty < log_start or first_dirty > log_.log_end_offset:
        first_dirty = log_start
    # cleaned segments always lie below the recovery point, so a restart after an unclean
    # stop never needs to rescan them
    first_uncleanable = end
    if log_.directory is not None and flushed_only:
        first_uncleanable = min(end, recovery_point)
    needs_now = False
    lag_cutoff = now_ms - config.min_compaction_lag_ms
    max_lag_cutoff = now_ms - config.max_compaction_lag_ms
    for segment in segments:
        if segment.next_offset <= first_dirty:
            continue
        if config.min_compaction_lag_ms > 0 and segment.largest_timestamp() > lag_cutoff:
            first_uncleanable = min(first_uncleanable, segment.base_offset)
        reference = segment.roll_reference_ms
        if reference is not None and reference < max_lag_cutoff:
            needs_now = True
    clean_bytes = dirty_bytes = 0
    for segment in segments:
        if segment.next_offset <= first_dirty:
            clean_bytes += segment.size
        elif segment.base_offset < first_uncleanable:
            dirty_bytes += segment.size
    if first_dirty >= first_uncleanable:
        return None
    return Cleanable(first_dirty, first_uncleanable, clean_bytes, dirty_bytes, needs_now)


# --- reading segments without the log's descriptors --------------------------------------------


def _batches(segment: Segment, start_position: int = 0) -> Iterator[bytes]:
    """Every whole batch of an inactive segment, read through a descriptor of our own (the
    log may close and reopen its own at any time)."""
    path = segment.log_path
    size = segment.size
    if path is None:
        store = segment.store
        read: Callable[[int, int], bytes] = store.pread
        fd = -1
    else:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
        read = functools.partial(os.pread, fd)
    try:
        position = start_position
        while position < size:
            chunk = read(min(READ_CHUNK, size - position), position)
            at = 0
            while at + 12 <= len(chunk):
                length = _PREFIX.unpack_from(chunk, at)[1]
                end = at + length + 12
                if length <= 0:
                    raise StorageError(f"segment {segment.name} is damaged at byte {position + at}")
                if end > len(chunk):
                    if at == 0:  # one batch larger than the chunk
                        chunk = read(length + 12, position)
                        if len(chunk) < length + 12:
                            raise StorageError(f"segment {segment.name} ends inside a batch")
                        yield chunk
                        at = len(chunk)
                    break
                yield chunk[at:end]
                at = end
            if at == 0:
                raise StorageError(f"segment {segment.name} ends inside a batch")
            position += at
    finally:
        if fd >= 0:
            os.close(fd)


# --- transactions: Kafka's CleanedTransactionMetadata -------------------------------------------


@dataclass(slots=True)
class _Transactions:
    """Which transaction markers and transactional batches a pass may drop.

    ``aborted`` lists (producer id, first offset) of aborted transactions in the range (from the
    aborted-transactions index, once the broker has transactions; empty until then). Records of
    an aborted transaction are dropped; a marker goes once no batch of its transaction is left.
    """

    aborted: list[tuple[int, int]] = field(default_factory=list)
    ongoing_aborted: dict[int, bool] = field(default_factory=dict)  # pid -> saw a batch
    ongoing_committed: set[int] = field(default_factory=set)

    def _consume_aborted_up_to(self, offset: int) -> None:
        while self.aborted and self.aborted[0][1] <= offset:
            pid, _first = self.aborted.pop(0)
            self.ongoing_aborted[pid] = False

    def on_control(self, batch: Batch) -> bool:
        """True if this marker may be discarded (its transaction has no batch left here)."""
        self._consume_aborted_up_to(batch.last_offset)
        recs = records(batch)
        key = record_key(batch, recs[0]) if recs else None
        if key is None or len(key) < _CONTROL_KEY.size:
            return False
        kind = _CONTROL_KEY.unpack_from(key)[1]
        if kind == CONTROL_ABORT:
            saw_batch = self.ongoing_aborted.pop(batch.producer_id, None)
            return not saw_batch
        if kind == CONTROL_COMMIT:
            if batch.producer_id in self.ongoing_committed:
                self.ongoing_committed.discard(batch.producer_id)
                return False
            return True
        return False

    def on_batch(self, batch: Batch) -> bool:
        """True if the batch belongs to an aborted transaction (its records may all go)."""
        self._consume_aborted_up_to(batch.last_offset)
        if not batch.is_transactional:
            return False
        if batch.producer_id in self.ongoing_aborted:
            self.ongoing_aborted[batch.producer_id] = True
            return True
        self.ongoing_committed.add(batch.producer_id)
        return False


# --- one round --------------------------------------------------------------------------------


class Cleaner:
    """Cleans one partition at a time with its own bounded offset map (one per cleaner thread).

    ``should_stop`` is polled between batches; when it turns true the round is dropped.
    """

    def __init__(self, offset_map: OffsetMap, should_stop: Callable[[], bool] = lambda: False):
        self.map = offset_map
        self._should_stop = should_stop
        # what the map pass leaves the copy pass (cleaner_map.py), bounded like the map
        self._mapped = MappedRange.allocate(0, 0)
        self._mapped_capacity = max(offset_map.slots * ENTRY_SIZE // 4 // BYTES_PER_OFFSET, 4096)
        self._producers: Mapping[int, int] = {}

    def _check(self, log_: Log) -> None:
        if log_.closed or self._should_stop():
            raise CleaningAbortedError

    def clean(
        self,
        log_: Log,
        cleanable: Cleanable,
        now_ms: int,
        producers: Mapping[int, int] | None = None,
        aborted: Sequence[AbortedTxn] = (),
    ) -> CleanStats:
        """One round over ``log_``; returns its stats (``end_offset`` is the new checkpoint).

        ``producers`` maps each active producer id to the offset of its last batch: that batch
        stays, if only as an empty batch, so the producer's last sequence is never lost.
        ``aborted`` lists the log's aborted transactions (from its aborted-transactions
        indexes): their records go, their markers once nothing of them is left.
        """
        stats = CleanStats()
        self._producers = producers or {}
        ordered = sorted((a.first_offset, a.producer_id) for a in aborted)
        segments, _start, _point = log_.cleaning_snapshot()
        map_txns = _Transactions([(pid, first) for first, pid in ordered])
        try:
            end = self._build_map(log_, segments, cleanable, stats, map_txns)
            stats.end_offset = end
            targets = [s for s in segments if s.base_offset < end]
            stats.segments_before = len(targets)
            # one transaction state across the groups, as Kafka's doClean
            txns = _Transactions([(pid, first) for first, pid in ordered])
            uncleanable = cleanable.first_uncleanable
            for group in self._groups(targets, log_.config.segment_bytes, uncleanable):
                self._clean_group(log_, group, uncleanable, now_ms, stats=stats, txns=txns)
                stats.segments_after += 1
        finally:
            # the map and the mapped range may hold most of the dedupe buffer: not between rounds
            self.map.clear()
            self._mapped = MappedRange.allocate(0, 0)
        return stats

    def _build_map(
        self,
        log_: Log,
        segments: list[Segment],
        cleanable: Cleanable,
        stats: CleanStats,
        txns: _Transactions,
    ) -> int:
        """Fill the map from the dirty range; returns the first offset not mapped."""
        offset_map = self.map
        offset_map.clear()
        start, stop = cleanable.first_dirty, cleanable.first_uncleanable
        dirty = [s for s in segments if s.next_offset > start and s.base_offset < stop]
        stop = min(stop, start + self._mapped_capacity)
        mapped = self._mapped = MappedRange.allocate(start, stop - start)
        looked = start - 1  # the last offset looked at
        for i, segment in enumerate(dirty):
            unmapped = self._map_segment(log_, segment, stop, mapped, txns)
            if unmapped >= 0:
                looked = unmapped - 1
                break
            nxt = dirty[i + 1].base_offset if i + 1 < len(dirty) else stop
            looked = min(nxt, stop) - 1
        offset_map.latest_offset = looked
        mapped.flag_latest(offset_map.offsets.values())
        return looked + 1

    def _map_segment(
        self, log_: Log, segment: Segment, stop: int, mapped: MappedRange, txns: _Transactions
    ) -> int:
        """Map one segment's records below ``stop``; returns the first offset left unmapped
        (the map is full), or -1."""
        for raw in _batches(segment):
            self._check(log_)
            base, _len, _e, _m, _c, _attrs, last_delta = _SPAN.unpack_from(raw)
            if base >= stop:
                break
            if base + last_delta < mapped.start:
                continue
            batch = decode(raw)
            if batch.is_control:
                txns.on_control(batch)
            elif not txns.on_batch(batch):
                unmapped = map_batch(batch, stop, self.map, mapped)
                if unmapped >= 0:
                    return unmapped
        return -1

    @staticmethod
    def _groups(segments: list[Segment], max_size: int, uncleanable: int) -> list[list[Segment]]:
        """Consecutive segments merged while their total size fits segment.bytes and their
        offsets fit one segment's 32-bit relative offsets (Kafka's groupSegmentsBySize)."""
        groups: list[list[Segment]] = []
        i = 0
        while i < len(segments):
            group = [segments[i]]
            size = segments[i].size
            i += 1
            while i < len(segments):
                candidate = segments[i]
                last = segments[i + 1].base_offset - 1 if i + 1 < len(segments) else uncleanable - 1
                if size + candidate.size > max_size or last - group[0].base_offset > _MAX_RELATIVE:
                    break
                group.append(candidate)
                size += candidate.size
                i += 1
            groups.append(group)
        return groups

    def _clean_group(
        self,
        log_: Log,
        group: list[Segment],
        upper_bound: int,
        now_ms: int,
        *,
        stats: CleanStats,
        txns: _Transactions,
    ) -> None:
        directory = log_.directory
        base = group[0].base_offset
        config = log_.config
        interval = config.index_interval_bytes
        if directory is None:
            cleaned = Segment(base, MemoryStore(), None)
        else:
            for path in segment_files(directory, base, CLEANED):
                path.unlink(missing_ok=True)
            cleaned = Segment(base, FileStore(directory / f"{base:020d}.log{CLEANED}"), None)
        offset_map = self.map
        latest = offset_map.latest_offset
        out = bytearray()
        metas: list[BatchMeta] = []

        def flush_out() -> None:
            if out:
                last = metas[-1][2] + _SPAN.unpack_from(out, metas[-1][0])[6]
                cleaned.append(bytes(out), metas, last + 1, now_ms, interval)
                stats.bytes_written += len(out)
                out.clear()
                metas.clear()

        try:
            for segment in group:
                for raw in _batches(segment):
                    self._check(log_)
                    stats.bytes_read += len(raw)
                    stats.records_read += _COUNT.unpack_from(raw, 57)[0]
                    kept = self._filter(raw, latest, txns, upper_bound, now_ms, config=config)
                    if kept is None:
                        continue
                    stats.records_kept += _COUNT.unpack_from(kept, 57)[0]
                    kept_base = _PREFIX.unpack_from(kept)[0]
                    max_ts = _TIMESTAMP.unpack_from(kept, 35)[0]
                    metas.append((len(out), len(kept), kept_base, max_ts))
                    out += kept
                    if len(out) >= WRITE_CHUNK:
                        flush_out()
            flush_out()
        except BaseException:
            cleaned.store.delete()
            raise
        cleaned.next_offset = group[-1].next_offset
        cleaned.roll_reference_ms = group[0].roll_reference_ms
        cleaned.last_modified_ms = group[-1].last_modified_ms
        if directory is None:
            if not log_.replace_segments(group, lambda: cleaned):
                raise CleaningAbortedError
            return
        self._swap_in(log_, directory, group, cleaned)

    def _filter(
        self,
        raw: bytes,
        latest: int,
        txns: _Transactions,
        upper_bound: int,
        now_ms: int,
        *,
        config: LogConfig,
    ) -> bytes | None:
        """The batch as it stays in the log, or None to drop it (Kafka's filterTo rules)."""
        batch = decode(raw)
        horizon = batch.delete_horizon_ms
        if batch.is_control:
            discardable = txns.on_control(batch)
            drop_records = discardable and horizon is not None and horizon <= now_ms
        else:
            discardable = txns.on_batch(batch)
            drop_records = discardable
        kept: list[Record] = []
        tombstones = False
        every_record = batch.records_count
        if drop_records:
            pass
        elif batch.is_control:
            kept = records(batch)
        else:
            base = batch.base_offset
            keep_deletes = horizon is None or now_ms < horizon
            mapped = self._mapped
            if batch.last_offset <= latest and mapped.covers(base, batch.last_offset):
                # wholly in the mapped range: the map pass flagged the survivors
                for start in mapped.latest_positions(base, batch.last_offset):
                    record = record_at(batch, start)
                    if record[8] < 0:
                        if not keep_deletes:
                            continue
                        tombstones = True
                    kept.append(record)
            else:
                tombstones = self._filter_records(batch, latest, keep_deletes, kept)
        if not kept:
            if batch.last_offset + 1 == upper_bound:
                return rebuild(batch, [])  # keeps the round's last offset known
            if batch.producer_id >= 0 and self._producers.get(batch.producer_id) == (
                batch.last_offset
            ):
                return rebuild(batch, [])  # the producer's last sequence and epoch stay
            return None
        marker_for_empty_txn = discardable and batch.is_control
        set_horizon = (tombstones or marker_for_empty_txn) and horizon is None
        if len(kept) == every_record and not set_horizon:
            return raw
        return rebuild(batch, kept, now_ms + config.delete_retention_ms if set_horizon else None)

    def _filter_records(
        self, batch: Batch, latest: int, keep_deletes: bool, kept: list[Record]
    ) -> bool:
        """Kept records of a batch not wholly in the mapped range, appended to ``kept``
        (records past the mapped range all stay; older ones by the map); True if a kept record
        is a tombstone."""
        offset_map = self.map
        mapped = self._mapped
        flags = mapped.flags
        body = batch.body
        base = batch.base_offset
        tombstones = False
        for record in records(batch):
            offset = base + record[5]
            if offset > latest:
                pass
            elif mapped.covers(offset, offset):
                if not flags[offset - mapped.start] or (record[8] < 0 and not keep_deletes):
                    continue
            else:
                key_len = record[7]
                if key_len < 0:
                    continue  # compacted topics keep no record without a key
                found = offset_map.get(body[record[6] : record[6] + key_len])
                if offset < found or (record[8] < 0 and not keep_deletes):
                    continue
            kept.append(record)
            if record[8] < 0:
                tombstones = True
        return tombstones

    def _swap_in(self, log_: Log, directory: Path, group: list[Segment], cleaned: Segment) -> None:
        """fsync the cleaned files, rename them to .swap, then swap them in under the log's
        lock (old files to .deleted, .swap files to their names) and delete the old files."""
        base = cleaned.base_offset
        cleaned_log, cleaned_index, cleaned_time = segment_files(directory, base, CLEANED)
        try:
            cleaned.store.flush()
            cleaned.store.close()
            final = None
            if cleaned.max_timestamp >= 0:
                final = (cleaned.max_timestamp, cleaned.offset_of_max_timestamp - base)
            write_atomically(cleaned_index, cleaned.offset_index.to_bytes(), sync_directory=False)
            write_atomically(cleaned_time, cleaned.time_index.to_bytes(final), sync_directory=False)
            modified = group[-1].last_modified_ms / 1000
            os.utime(cleaned_log, (modified, modified))
            for path in (cleaned_log, cleaned_index, cleaned_time):
                os.replace(path, path.with_name(path.name[: -len(CLEANED)] + SWAP))
            fsync_path(directory, directory=True)
        except BaseException:
            for suffix in (CLEANED, SWAP):
                for path in segment_files(directory, base, suffix):
                    path.unlink(missing_ok=True)
            raise
        doomed: list[Path] = []

        def install() -> Segment:
            for old in group:
                old.close()
                for path in segment_files(directory, old.base_offset):
                    if path.exists():
                        target = path.with_name(path.name + DELETED)
                        os.replace(path, target)
                        doomed.append(target)
            for path in segment_files(directory, base):
                os.replace(path.with_name(path.name + SWAP), path)
            cleaned.directory = directory
            cleaned.store = FileStore(directory / f"{base:020d}.log")
            return cleaned

        if not log_.replace_segments(group, install):
            for path in segment_files(directory, base, SWAP):
                path.unlink(missing_ok=True)
            raise CleaningAbortedError
        fsync_path(directory, directory=True)
        for path in doomed:
            path.unlink(missing_ok=True)


def clean_partition(
    cleaner: Cleaner,
    log_: Log,
    checkpoint: int | None,
    now_ms: int,
    producers: Callable[[], Mapping[int, int]] | None = None,
) -> CleanStats | None:
    """Clean ``log_`` once if it has a dirty range; saves and returns the new checkpoint."""
    log_.flush()  # moves the recovery point past what is to be cleaned
    cleanable = cleanable_range(log_, checkpoint, now_ms)
    if cleanable is None:
        return None
    # the producer table may have to be loaded first (once per partition and broker run): not
    # part of the cleaning, so not in its reported time
    active = producers() if producers is not None else {}
    started = time.monotonic()
    try:
        # every aborted transaction up to the cleanable end: the cleaner reads from the log start
        aborted = log_.aborted_txns(log_.log_start_offset, cleanable.first_uncleanable)
        stats = cleaner.clean(log_, cleanable, now_ms, active, aborted)
    except InvalidRecordBatchError as exc:
        raise StorageError(f"cannot clean {log_.directory}: a batch is unreadable ({exc})") from exc
    write_checkpoint(log_.directory, stats.end_offset)
    log.info(
        "Cleaned %s up to offset %d in %.2f s: kept %d of %d records, %d segment(s) became %d",
        log_.directory.name if log_.directory is not None else "an in-memory partition",
        stats.end_offset,
        time.monotonic() - started,
        stats.records_kept,
        stats.records_read,
        stats.segments_before,
        stats.segments_after,
    )
    return stats
