"""Sparse offset and time indexes: in-memory arrays searched with bisect, saved as whole files.

On disk (big-endian, Kafka-like): ``.index`` holds (relative offset int32, position int32) entries,
``.timeindex`` holds (timestamp int64, relative offset int32) entries. The offset index maps the
relative *base* offset of a batch to its byte position. A time index entry (T, r) says: the largest
timestamp among the batches up to this index point is T, reached first by the batch at relative
offset r. Files are written atomically (tmp, fsync, os.replace) when a segment is rolled or closed;
the active segment's files are rebuilt by a rescan after an unclean stop.
"""

from __future__ import annotations

import os
import struct
from array import array
from bisect import bisect_left, bisect_right
from pathlib import Path

from embedded_broker.storage.deferred_sync import defer

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")


class IndexDamagedError(Exception):
    """An index file that cannot be trusted; the segment is rescanned instead."""


def write_atomically(
    path: Path, data: bytes, *, durable: bool = True, sync_directory: bool | None = None
) -> None:
    """Replace ``path`` with ``data`` so a crash leaves either the old or the new file.

    ``durable`` fsyncs the new file before the rename and the directory after it (needed to
    survive a power cut; ``sync_directory=False`` leaves the directory to a caller writing
    several files). On failure (a full disk) the old file stays and the temporary file is
    removed, so a failed write uses no space; the OSError is raised.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0), 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if durable and not defer(path):
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    if durable if sync_directory is None else sync_directory:
        fsync_path(path.parent, directory=True)


def fsync_path(path: Path, *, directory: bool = False) -> None:
    """fsync a file (or, where the OS allows it, a directory) by path; a missing file is fine."""
    if (directory and os.name == "nt") or defer(path):
        return
    flags = os.O_RDONLY | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class OffsetIndex:
    """relative base offset -> byte position of that batch, one entry per index interval."""

    __slots__ = ("offsets", "positions")

    def __init__(self) -> None:
        self.offsets = array("i")
        self.positions = array("i")

    def __len__(self) -> int:
        return len(self.offsets)

    def append(self, relative_offset: int, position: int) -> None:
        self.offsets.append(relative_offset)
        self.positions.append(position)

    def lookup(self, relative_offset: int) -> tuple[int, int]:
        """The last entry at or before ``relative_offset``, or (0, 0) (the segment start)."""
        i = bisect_right(self.offsets, relative_offset) - 1
        if i < 0:
            return 0, 0
        return self.offsets[i], self.positions[i]

    def last(self) -> tuple[int, int]:
        if not self.offsets:
            return 0, 0
        return self.offsets[-1], self.positions[-1]

    def truncate_to_position(self, position: int) -> None:
        """Drop entries pointing at or beyond ``position``."""
        i = bisect_left(self.positions, position)
        del self.offsets[i:]
        del self.positions[i:]

    def to_bytes(self) -> bytes:
        pack = _OFFSET_ENTRY.pack
        return b"".join(pack(o, p) for o, p in zip(self.offsets, self.positions, strict=True))

    @classmethod
    def from_bytes(cls, data: bytes, log_size: int) -> OffsetIndex:
        if len(data) % _OFFSET_ENTRY.size:
            raise IndexDamagedError("offset index size is not a whole number of entries")
        index = cls()
        last_offset = -1
        last_position = -1
        for offset, position in _OFFSET_ENTRY.iter_unpack(data):
            if offset <= last_offset or position <= last_position or position >= log_size:
                raise IndexDamagedError("offset index entries are out of order or out of range")
            index.append(offset, position)
            last_offset, last_position = offset, position
        return index


class TimeIndex:
    """Non-decreasing max timestamps at index points, with the relative offset that reached them."""

    __slots__ = ("offsets", "timestamps")

    def __init__(self) -> None:
        self.timestamps = array("q")
        self.offsets = array("i")

    def __len__(self) -> int:
        return len(self.timestamps)

    def maybe_append(self, timestamp: int, relative_offset: int) -> None:
        if not self.timestamps or timestamp > self.timestamps[-1]:
            self.timestamps.append(timestamp)
            self.offsets.append(relative_offset)

    def lookup(self, timestamp: int) -> int:
        """A relative offset such that every batch before it has maxTimestamp < ``timestamp``."""
        i = bisect_left(self.timestamps, timestamp) - 1
        if i < 0:
            return 0
        return self.offsets[i]

    def last(self) -> tuple[int, int] | None:
        if not self.timestamps:
            return None
        return self.timestamps[-1], self.offsets[-1]

    def truncate_to_offset(self, relative_offset: int) -> None:
        """Drop entries reached at or after ``relative_offset``."""
        keep = len(self.offsets)
        while keep and self.offsets[keep - 1] >= relative_offset:
            keep -= 1
        del self.timestamps[keep:]
        del self.offsets[keep:]

    def to_bytes(self, final: tuple[int, int] | None = None) -> bytes:
        """Serialise, adding ``final`` (the segment's max) if it is above the last entry."""
        pack = _TIME_ENTRY.pack
        data = b"".join(pack(t, o) for t, o in zip(self.timestamps, self.offsets, strict=True))
        if final is not None and (not self.timestamps or final[0] > self.timestamps[-1]):
            data += pack(*final)
        return data

    @classmethod
    def from_bytes(cls, data: bytes) -> TimeIndex:
        if len(data) % _TIME_ENTRY.size:
            raise IndexDamagedError("time index size is not a whole number of entries")
        index = cls()
        for timestamp, offset in _TIME_ENTRY.iter_unpack(data):
            if index.timestamps and (
                timestamp <= index.timestamps[-1] or offset < index.offsets[-1]
            ):
                raise IndexDamagedError("time index entries are out of order")
            index.timestamps.append(timestamp)
            index.offsets.append(offset)
        return index
