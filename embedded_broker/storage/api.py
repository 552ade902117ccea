"""The storage contract the handlers use: PartitionLog, AppendInfo and the errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from embedded_broker.storage.txn_index import AbortedTxn


class StorageError(Exception):
    """A storage operation failed (disk error, damaged files that cannot be recovered)."""


class OffsetOutOfRange(StorageError):  # noqa: N818 (the name the handlers use)
    """The requested offset is before the log start offset or after the log end offset."""

    def __init__(self, offset: int, log_start_offset: int, log_end_offset: int) -> None:
        super().__init__(
            f"offset {offset} is outside the log range [{log_start_offset}, {log_end_offset}]"
        )
        self.offset = offset
        self.log_start_offset = log_start_offset
        self.log_end_offset = log_end_offset


@dataclass(frozen=True, slots=True)
class AppendInfo:
    """Where an append landed; log_append_time_ms is -1 unless the topic uses LogAppendTime."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int
    log_start_offset: int


class PartitionLog(Protocol):
    """One partition's log. Implementations are thread-safe; every call is short and blocking."""

    @property
    def log_start_offset(self) -> int: ...

    @property
    def log_end_offset(self) -> int:
        """The next offset to assign; also the high watermark on a single broker."""
        ...

    def append(self, batches: bytes, *, now_ms: int, leader_epoch: int | None = 0) -> AppendInfo:
        """Assign offsets to one or more validated v2 batches and store them."""
        ...

    def append_replicated(self, batches: bytes, *, now_ms: int) -> AppendInfo:
        """Store a leader's batches as they are (offsets and epochs kept): a follower's append."""
        ...

    def truncate_to(self, offset: int) -> int:
        """Remove every batch at or after ``offset``; returns the new log end offset."""
        ...

    def truncate_fully_and_start_at(self, offset: int) -> None:
        """Drop every record and restart the log empty at ``offset``."""
        ...

    def read(self, offset: int, max_bytes: int) -> bytes:
        """Whole batches from the one containing ``offset``; at least one batch if any."""
        ...

    def offset_for_timestamp(self, timestamp_ms: int) -> tuple[int, int] | None: ...

    def max_timestamp(self) -> tuple[int, int] | None: ...

    def delete_records_before(self, offset: int) -> int: ...

    def truncate_all(self) -> None: ...

    def size_bytes(self) -> int: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def add_aborted_txn(self, aborted: AbortedTxn) -> None:
        """Index a transaction whose ABORT marker was just appended."""
        ...

    def aborted_txns(self, start: int, end: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping offsets [start, end), oldest first."""
        ...
