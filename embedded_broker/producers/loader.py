"""Rebuild one partition's producer table: the newest usable snapshot, then the batch headers
of the log after it. Blocking disk work: runs on a worker thread, never on the event loop."""

from __future__ import annotations

import logging
from pathlib import Path

from embedded_broker.protocol.control_batch import Marker, MarkerType, parse_marker
from embedded_broker.protocol.record_batch import (
    BatchHeader,
    InvalidRecordBatchError,
    iter_batches,
)
from embedded_broker.storage import OffsetOutOfRange, PartitionLog
from embedded_broker.storage.txn_index import AbortedTxn

from . import snapshot as snap
from .entry import PartitionProducers

log = logging.getLogger(__name__)

SCAN_CHUNK_BYTES = 4 * 1024 * 1024


def anchor_at(plog: PartitionLog, offset: int) -> snap.Anchor | None:
    """The batch that ends at ``offset - 1``, if it is still in the log."""
    if offset <= plog.log_start_offset:
        return None
    try:
        data = plog.read(offset - 1, 1)
        header = next(iter_batches(data), None)
    except (OffsetOutOfRange, InvalidRecordBatchError):
        return None
    if header is None or header.last_offset != offset - 1:
        return None
    return snap.Anchor(header.base_offset, header.crc)


def _usable(plog: PartitionLog, found: snap.Snapshot) -> str | None:
    """Why a snapshot cannot be used for this log, or None if it can."""
    if found.offset > plog.log_end_offset:
        return f"it is past the log end offset {plog.log_end_offset} (the log was cut back)"
    if found.offset <= plog.log_start_offset:
        return f"it is not after the log start offset {plog.log_start_offset}"
    if found.anchor is None or anchor_at(plog, found.offset) != found.anchor:
        return "the log below it is not the log it was taken from (cut back and rewritten)"
    return None


def load_snapshot(
    plog: PartitionLog, directory: Path, now_ms: int, expiration_ms: int
) -> tuple[PartitionProducers, int]:
    """The table from the newest usable snapshot and its offset (else empty, log start).

    Unusable or damaged snapshots are deleted so they are never considered again.
    """
    for offset, path in snap.list_snapshots(directory):
        try:
            found = snap.read(path)
            problem = _usable(plog, found)
        except snap.CorruptSnapshotError as exc:
            problem = f"it is damaged ({exc})"
        except OSError as exc:
            problem = f"it cannot be read ({exc})"
        if problem is None:
            table = PartitionProducers()
            for pid, entry in found.entries:
                if now_ms - entry.last_timestamp < expiration_ms:
                    table.load(pid, entry)
            return table, offset
        log.warning("Ignoring producer state snapshot %s: %s", path, problem)
        path.unlink(missing_ok=True)
    return PartitionProducers(), plog.log_start_offset


def replay_log(plog: PartitionLog, table: PartitionProducers, start: int) -> int:
    """Apply every batch header from ``start`` to the log end; returns the offset reached."""
    offset = max(start, plog.log_start_offset)
    while True:
        try:
            data = plog.read(offset, SCAN_CHUNK_BYTES)
        except OffsetOutOfRange as exc:
            if exc.offset < exc.log_start_offset:  # retention moved the start meanwhile
                offset = exc.log_start_offset
                continue
            return offset
        before = offset
        try:
            for header in iter_batches(data):
                if header.next_offset > offset:
                    _replay(plog, table, header, data)
                    offset = header.next_offset
        except InvalidRecordBatchError as exc:
            log.warning("Producer state rebuild stopped at offset %d: %s", offset, exc)
            return offset
        if offset == before:  # at the log end (b"") or nothing new: done
            return offset


def apply_replicated(plog: PartitionLog, table: PartitionProducers, data: bytes) -> None:
    """Keep a follower's loaded table in step with the whole batches it copied from its
    leader (``data``, already appended): open transactions, and an aborted-transactions index
    entry for each ABORT marker, so its read_committed answers (KIP-392) stay right."""
    for header in iter_batches(data):
        _replay(plog, table, header, data)


def _replay(
    plog: PartitionLog, table: PartitionProducers, header: BatchHeader, data: bytes
) -> None:
    """Apply one batch of ``data`` to the table. A transaction marker also brings back the
    coordinator epoch it was written with (so a replaced coordinator stays fenced after a
    restart, as Kafka's log recovery does) and, for an ABORT, its aborted-transactions index
    entry (kept if the segment's .txnindex already has it)."""
    if not header.is_control or header.producer_id < 0:
        table.replay(header)
        return
    try:
        marker: Marker | None = parse_marker(data[header.position : header.end])
    except InvalidRecordBatchError:
        marker = None  # not a readable marker: its coordinator epoch is not known
    first = table.replay(header, -1 if marker is None else marker.coordinator_epoch)
    if first >= 0 and marker is not None and marker.kind is MarkerType.ABORT:
        offset = header.base_offset
        stable = table.first_unstable_offset()
        plog.add_aborted_txn(
            AbortedTxn(marker.producer_id, first, offset, offset + 1 if stable is None else stable)
        )


def load_partition(
    plog: PartitionLog, directory: Path | None, now_ms: int, expiration_ms: int
) -> PartitionProducers:
    """Snapshot (on-disk logs only) plus log replay from its offset, then expiry."""
    if directory is None:
        table, start = PartitionProducers(), plog.log_start_offset
    else:
        table, start = load_snapshot(plog, directory, now_ms, expiration_ms)
    end = replay_log(plog, table, start)
    table.expire(now_ms, expiration_ms)
    log.debug("Loaded %d producer(s) from offset %d to %d", len(table), start, end)
    return table
