"""The leader-epoch cache of one partition: where each leader epoch started, checkpointed.

The file ``leader-epoch-checkpoint`` in the partition directory has Kafka's layout: a version
line (0), a count line, then one ``<epoch> <start offset>`` line per epoch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from pathlib import Path

from embedded_broker.storage.index import write_atomically

log = logging.getLogger(__name__)

CHECKPOINT_FILE = "leader-epoch-checkpoint"
UNDEFINED = -1
Writer = Callable[[Path, bytes], None]
"""Saves a checkpoint's bytes; the broker passes one that queues the write on its storage
thread (in order), so the event loop never waits for the fsync."""


def write_now(path: Path, data: bytes) -> None:
    with contextlib.suppress(FileNotFoundError):  # the partition was deleted meanwhile
        write_atomically(path, data)


class LeaderEpochCache:
    """(epoch, start offset) entries, epochs and offsets both increasing."""

    def __init__(self, directory: Path | None, writer: Writer = write_now) -> None:
        self._path = None if directory is None else directory / CHECKPOINT_FILE
        self._write = writer
        self.entries: list[tuple[int, int]] = self._load()

    def _load(self) -> list[tuple[int, int]]:
        if self._path is None:
            return []
        try:
            lines = self._path.read_text(encoding="utf-8").split("\n")
        except FileNotFoundError:
            return []
        try:
            count = int(lines[1])
            entries = [
                (int(epoch), int(start))
                for epoch, start in (line.split() for line in lines[2 : 2 + count])
            ]
        except (IndexError, ValueError):
            log.warning(
                "The leader-epoch checkpoint %s is damaged; it is rebuilt as this replica "
                "appends (a divergent tail may then need a full refetch)",
                self._path,
            )
            return []
        return entries

    def _save(self) -> None:
        if self._path is None:
            return
        body = "".join(f"{epoch} {start}\n" for epoch, start in self.entries)
        self._write(self._path, f"0\n{len(self.entries)}\n{body}".encode())

    @property
    def latest_epoch(self) -> int:
        return self.entries[-1][0] if self.entries else UNDEFINED

    def assign(self, epoch: int, start_offset: int) -> None:
        """Record that ``epoch`` starts at ``start_offset`` (no change for a known epoch);
        entries that the new one contradicts (same or later epoch or start) go."""
        if self.entries and self.entries[-1][0] >= epoch:
            return
        kept = [(e, s) for e, s in self.entries if e < epoch and s < start_offset]
        self.entries = [*kept, (epoch, start_offset)]
        self._save()

    def end_offset_for(self, requested: int, log_end_offset: int) -> tuple[int, int]:
        """Kafka's OffsetForLeaderEpoch answer: (the largest epoch <= ``requested``, the
        start of the epoch after it, or the log end offset for the latest epoch)."""
        if requested == UNDEFINED or not self.entries:
            return UNDEFINED, UNDEFINED
        if requested == self.latest_epoch:
            return requested, log_end_offset
        later = [(e, s) for e, s in self.entries if e > requested]
        if not later:
            return UNDEFINED, UNDEFINED
        earlier = [(e, s) for e, s in self.entries if e <= requested]
        if not earlier:
            return requested, later[0][1]
        return earlier[-1][0], later[0][1]

    def truncate_from_end(self, end_offset: int) -> None:
        """Forget epochs that start at or after ``end_offset`` (the log was cut there)."""
        kept = [(e, s) for e, s in self.entries if s < end_offset]
        if kept != self.entries:
            self.entries = kept
            self._save()

    def clear(self) -> None:
        if self.entries:
            self.entries = []
            self._save()
