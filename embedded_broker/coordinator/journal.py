"""Durable group state: an append-only file of length-prefixed, CRC-32C-checked JSON records.

`<data_dir>/__group_state.log` holds offset commits, offset deletions, group metadata and group
deletions. Each record is written with one os.write on an O_APPEND descriptor, so it survives a
kill -9 of the broker (it is in the page cache); a torn tail after a crash fails its CRC and is
truncated on replay. When the file grows well beyond the live state it is rewritten (compacted)
through a temporary file and an atomic rename.
"""

from __future__ import annotations

import json
import logging
import os
import struct
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

import crc32c

log = logging.getLogger(__name__)

FILE_NAME = "__group_state.log"
_HEADER = struct.Struct(">II")  # payload length, CRC-32C of the payload
_MAX_RECORD = 16 * 1024 * 1024

Record = dict[str, Any]


class Journal(Protocol):
    def replay(self) -> Iterator[Record]: ...

    def append(self, records: Iterable[Record]) -> None: ...

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None: ...

    def close(self) -> None: ...


class NullJournal:
    """For --in-memory brokers and unit tests: nothing is kept."""

    def replay(self) -> Iterator[Record]:
        return iter(())

    def append(self, records: Iterable[Record]) -> None:
        pass

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        pass

    def close(self) -> None:
        pass


def encode_record(record: Record) -> bytes:
    payload = json.dumps(record, separators=(",", ":")).encode()
    return _HEADER.pack(len(payload), crc32c.crc32c(payload)) + payload


def decode_records(data: bytes) -> tuple[list[Record], int]:
    """Records of a journal image, and the byte length of its valid prefix."""
    records: list[Record] = []
    pos = 0
    while pos + _HEADER.size <= len(data):
        size, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        if size > _MAX_RECORD or start + size > len(data):
            break
        payload = data[start : start + size]
        if crc32c.crc32c(payload) != crc:
            break
        try:
            record = json.loads(payload)
        except ValueError:
            break
        if not isinstance(record, dict):
            break
        records.append(record)
        pos = start + size
    return records, pos


class FileJournal:
    def __init__(self, data_dir: Path, compact_min_bytes: int = 4 * 1024 * 1024) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._compact_min_bytes = compact_min_bytes
        self._fd = -1
        self._size = 0
        self._live_size = 0

    def replay(self) -> Iterator[Record]:
        data = self.path.read_bytes() if self.path.exists() else b""
        records, valid = decode_records(data)
        if valid != len(data):
            log.warning(
                "group state log %s: dropped a torn or corrupt tail of %d bytes",
                self.path,
                len(data) - valid,
            )
            with open(self.path, "r+b") as f:
                f.truncate(valid)
        self._open()
        self._size = valid
        self._live_size = valid
        return iter(records)

    def _open(self) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def append(self, records: Iterable[Record]) -> None:
        data = b"".join(encode_record(r) for r in records)
        if not data:
            return
        self._open()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        self._size += len(data)

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        if self._size < max(self._compact_min_bytes, 2 * self._live_size):
            return
        data = b"".join(encode_record(r) for r in snapshot())
        tmp = self.path.with_suffix(".compacting")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        os.replace(tmp, self.path)
        self._open()
        self._size = self._live_size = len(data)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
