"""Producer-state snapshot files: ``<offset, 20 digits>.snapshot`` in the partition directory.

A snapshot at offset X holds the producer table built from every batch below X. It also names
the batch that ended at X - 1 (its base offset and CRC): if recovery cut the log back and new
batches were appended since, that batch is different and the snapshot is known to describe a
history the log no longer has.

Layout (big-endian): magic "TSPS" | version int16 | crc32c uint32 of the rest | offset int64 |
anchor base offset int64 | anchor crc int64 (-1: none) | producer count int32 | per producer:
id int64, epoch int16, last timestamp int64, batch count int8, per batch: first seq int32,
last seq int32, first offset int64, last offset int64, timestamp int64; version 2 adds after
the batches the first offset of the producer's open transaction, int64 (-1: none); version 3
adds after it the coordinator epoch of the producer's last transaction marker, int32 (-1:
none), as Kafka's snapshot keeps coordinator_epoch.
"""

from __future__ import annotations

import logging
import os
import struct
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import crc32c

from .entry import MAX_CACHED_BATCHES, BatchMetadata, ProducerEntry

log = logging.getLogger(__name__)

SUFFIX = ".snapshot"
KEEP = 2  # Kafka keeps one per segment; two let a damaged newest fall back to the one before
_MAGIC = b"TSPS"
_VERSION = 3
_VERSIONS = (1, 2, 3)  # older files (no transactions, no coordinator epoch) are still read
_PREFIX = struct.Struct(">4shI")
_HEAD = struct.Struct(">qqqi")
_PRODUCER = struct.Struct(">qhqb")
_BATCH = struct.Struct(">iiqqq")
_TXN = struct.Struct(">q")
_COORDINATOR_EPOCH = struct.Struct(">i")


class CorruptSnapshotError(ValueError):
    """The file is not a whole, intact snapshot."""


@dataclass(frozen=True, slots=True)
class Anchor:
    """The batch that ended just below the snapshot offset."""

    base_offset: int
    crc: int


@dataclass(frozen=True, slots=True)
class Snapshot:
    offset: int
    anchor: Anchor | None
    entries: list[tuple[int, ProducerEntry]]


def snapshot_path(directory: Path, offset: int) -> Path:
    return directory / f"{offset:020d}{SUFFIX}"


def list_snapshots(directory: Path) -> list[tuple[int, Path]]:
    """(offset, path) of every snapshot file, newest first."""
    found: list[tuple[int, Path]] = []
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return []
    for name in names:
        stem = name[: -len(SUFFIX)]
        if name.endswith(SUFFIX) and stem.isdigit():
            found.append((int(stem), directory / name))
    found.sort(reverse=True)
    return found


def encode(snapshot: Snapshot) -> bytes:
    anchor = snapshot.anchor
    body = bytearray(
        _HEAD.pack(
            snapshot.offset,
            anchor.base_offset if anchor else -1,
            anchor.crc if anchor else -1,
            len(snapshot.entries),
        )
    )
    for pid, entry in snapshot.entries:
        body += _PRODUCER.pack(pid, entry.epoch, entry.last_timestamp, len(entry.batches))
        for b in entry.batches:
            body += _BATCH.pack(b.first_seq, b.last_seq, b.first_offset, b.last_offset, b.timestamp)
        body += _TXN.pack(entry.txn_first_offset)
        body += _COORDINATOR_EPOCH.pack(entry.coordinator_epoch)
    return _PREFIX.pack(_MAGIC, _VERSION, crc32c.crc32c(body)) + bytes(body)


def decode(data: bytes) -> Snapshot:
    try:
        magic, version, crc = _PREFIX.unpack_from(data, 0)
        if magic != _MAGIC or version not in _VERSIONS:
            raise CorruptSnapshotError(f"unknown snapshot format {magic!r} v{version}")
        body = memoryview(data)[_PREFIX.size :]
        if crc32c.crc32c(body) != crc:
            raise CorruptSnapshotError("CRC mismatch")
        offset, anchor_base, anchor_crc, count = _HEAD.unpack_from(body, 0)
        pos = _HEAD.size
        entries: list[tuple[int, ProducerEntry]] = []
        for _ in range(count):
            pid, epoch, last_ts, nbatches = _PRODUCER.unpack_from(body, pos)
            pos += _PRODUCER.size
            if not 0 <= nbatches <= MAX_CACHED_BATCHES:
                raise CorruptSnapshotError(f"{nbatches} batches for producer {pid}")
            batches: deque[BatchMetadata] = deque(maxlen=MAX_CACHED_BATCHES)
            for _ in range(nbatches):
                batches.append(BatchMetadata(*_BATCH.unpack_from(body, pos)))
                pos += _BATCH.size
            txn_first = -1
            if version >= 2:
                (txn_first,) = _TXN.unpack_from(body, pos)
                pos += _TXN.size
            coordinator_epoch = -1
            if version >= 3:
                (coordinator_epoch,) = _COORDINATOR_EPOCH.unpack_from(body, pos)
                pos += _COORDINATOR_EPOCH.size
            entry = ProducerEntry(epoch, last_ts, batches, txn_first, coordinator_epoch)
            entries.append((pid, entry))
        if pos != len(body):
            raise CorruptSnapshotError("bytes left over after the last producer")
    except struct.error as exc:
        raise CorruptSnapshotError(f"truncated: {exc}") from None
    anchor = Anchor(anchor_base, anchor_crc) if anchor_crc >= 0 else None
    return Snapshot(offset, anchor, entries)


def read(path: Path) -> Snapshot:
    snapshot = decode(path.read_bytes())
    if path.name != snapshot_path(path.parent, snapshot.offset).name:
        raise CorruptSnapshotError(f"holds offset {snapshot.offset}, not the one in its name")
    return snapshot


def write(directory: Path, snapshot: Snapshot) -> Path:
    """Write atomically (temp file, fsync, rename, fsync dir); keep only the newest KEEP.

    Never creates the directory: a partition deleted meanwhile gets no stray file.
    """
    target = snapshot_path(directory, snapshot.offset)
    tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    data = encode(snapshot)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, target)
    _fsync_dir(directory)
    for _, old in list_snapshots(directory)[KEEP:]:
        old.unlink(missing_ok=True)
    return target


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return  # not supported (Windows): the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
