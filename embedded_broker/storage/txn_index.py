"""A segment's aborted-transactions index (``<base>.txnindex``), as Kafka's TransactionIndex.

One 34-byte entry per transaction aborted with data in the segment: int16 version 0, int64
producer id, int64 first offset, int64 last offset (the ABORT marker's offset) and int64 the last
stable offset when the abort was written. Entries are appended in the order of their last
offsets. A read_committed Fetch returns the entries that overlap the fetched range, so clients
drop those records; the log cleaner uses them to drop aborted records.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from embedded_broker.storage.index import write_atomically

_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
VERSION = 0


class TxnIndexDamagedError(ValueError):
    """The index file cannot be trusted; it is rebuilt from the segment's markers."""


@dataclass(frozen=True, slots=True)
class AbortedTxn:
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int


class TxnIndex:
    """The entries of one segment, in memory; saved whole (atomically) like the other indexes."""

    def __init__(self, entries: list[AbortedTxn] | None = None) -> None:
        self.entries: list[AbortedTxn] = list(entries or [])

    def append(self, aborted: AbortedTxn) -> None:
        if self.entries and aborted.last_offset <= self.entries[-1].last_offset:
            raise ValueError(
                f"aborted transaction ending at {aborted.last_offset} is not after the last "
                f"entry, which ends at {self.entries[-1].last_offset}"
            )
        self.entries.append(aborted)

    def collect(self, fetch_offset: int, upper_bound: int) -> list[AbortedTxn]:
        """Entries whose transaction overlaps [fetch_offset, upper_bound)."""
        return [
            e
            for e in self.entries
            if e.last_offset >= fetch_offset and e.first_offset < upper_bound
        ]

    def truncate_to(self, offset: int) -> None:
        """Forget transactions aborted at or after ``offset`` (the log was cut back there)."""
        self.entries = [e for e in self.entries if e.last_offset < offset]

    def to_bytes(self) -> bytes:
        return b"".join(
            _ENTRY.pack(VERSION, e.producer_id, e.first_offset, e.last_offset, e.last_stable_offset)
            for e in self.entries
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> TxnIndex:
        if len(data) % ENTRY_SIZE:
            raise TxnIndexDamagedError(f"{len(data)} bytes is not a whole number of entries")
        index = cls()
        for at in range(0, len(data), ENTRY_SIZE):
            version, pid, first, last, lso = _ENTRY.unpack_from(data, at)
            if version != VERSION:
                raise TxnIndexDamagedError(f"entry {at // ENTRY_SIZE} has version {version}")
            try:
                index.append(AbortedTxn(pid, first, last, lso))
            except ValueError as exc:
                raise TxnIndexDamagedError(str(exc)) from None
        return index

    def save(self, path: Path) -> None:
        write_atomically(path, self.to_bytes(), sync_directory=False)

    @classmethod
    def load(cls, path: Path) -> TxnIndex:
        """The saved index; an absent file is an empty index (no transaction was aborted)."""
        try:
            return cls.from_bytes(path.read_bytes())
        except FileNotFoundError:
            return cls()
