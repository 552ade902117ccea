"""The controller's append-only metadata log: framed, checksummed records replayed on start."""

from __future__ import annotations

import logging
import os
import struct
from pathlib import Path

import crc32c

from .records import MetadataRecord, RecordDecodeError, decode_record, encode_record

log = logging.getLogger(__name__)

METADATA_TOPIC = "__cluster_metadata"
LOG_FILE = "00000000000000000000.log"
_FRAME = struct.Struct(">II")  # payload length, CRC-32C of the payload


class MetadataLog:
    """Records in offset order (offset = position in the log), kept in memory and, with a
    directory, in ``<dir>/__cluster_metadata-0/`` (fsynced before an append returns).

    A torn or damaged tail left by a crash is cut off when the log is opened."""

    def __init__(self, data_dir: Path | None) -> None:
        self.records: list[bytes] = []
        self._path: Path | None = None
        if data_dir is not None:
            folder = data_dir / f"{METADATA_TOPIC}-0"
            folder.mkdir(parents=True, exist_ok=True)
            self._path = folder / LOG_FILE
            self._load(self._path)

    def _load(self, path: Path) -> None:
        if not path.exists():
            return
        data = path.read_bytes()
        pos = 0
        while pos + _FRAME.size <= len(data):
            size, crc = _FRAME.unpack_from(data, pos)
            payload = data[pos + _FRAME.size : pos + _FRAME.size + size]
            if len(payload) != size or crc32c.crc32c(payload) != crc:
                break
            try:
                decode_record(payload)
            except RecordDecodeError:
                break
            self.records.append(payload)
            pos += _FRAME.size + size
        if pos != len(data):
            log.warning(
                "The metadata log %s ended in %d damaged byte(s) (a crash while writing); "
                "they were cut off",
                path,
                len(data) - pos,
            )
            with path.open("r+b") as f:
                f.truncate(pos)
                os.fsync(f.fileno())

    @property
    def end_offset(self) -> int:
        """The offset the next record gets."""
        return len(self.records)

    def read(self, start: int) -> list[tuple[int, MetadataRecord]]:
        return [(i, decode_record(self.records[i])) for i in range(start, len(self.records))]

    def write(self, records: list[MetadataRecord], *, sync: bool = True) -> list[bytes]:
        """Write records to disk and, with ``sync``, fsync (blocking: call off the event
        loop); returns their encoded form for ``commit``. On an error nothing is committed in
        memory. Without ``sync`` the records survive a killed process, not a lost machine,
        until ``sync`` is called."""
        encoded = [encode_record(r) for r in records]
        if self._path is not None:
            blob = b"".join(_FRAME.pack(len(p), crc32c.crc32c(p)) + p for p in encoded)
            with self._path.open("ab") as f:
                start = f.tell()
                try:
                    f.write(blob)
                    f.flush()
                    if sync:
                        os.fsync(f.fileno())
                except OSError:
                    f.truncate(start)
                    raise
        return encoded

    def sync(self) -> None:
        """Flush what ``write(..., sync=False)`` left in the page cache (blocking)."""
        if self._path is not None and self._path.exists():
            with self._path.open("rb") as f:
                os.fsync(f.fileno())

    def commit(self, encoded: list[bytes]) -> int:
        """Make written records visible; returns the offset of the first."""
        first = len(self.records)
        self.records.extend(encoded)
        return first
