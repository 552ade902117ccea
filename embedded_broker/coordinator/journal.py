"""Durable group state: an append-only file of checked JSON records, written off the event loop.

`<data_dir>/__group_state.log` holds what Kafka keeps in __consumer_offsets: the group metadata of
every completed rebalance (members, subscriptions, assignments), offset commits and deletions, and
group deletions. Writes run on one worker thread in the order they were made; a caller that must
not answer before its records are on disk waits on `barrier()`. Each write is one os.write on an
O_APPEND descriptor, so it survives a kill -9 of the broker (it is in the page cache).

At load a damaged frame is skipped up to the next intact one, so one bad record never loses the
records after it; the damaged bytes are kept beside the file (`__group_state.log.damaged-N`) and
the file is rewritten without them. Every rewrite (that one, and compaction when the file grows
well beyond the live state) goes through a temporary file, fsync, rename and a directory fsync.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol

from .framing import Record, RecordTooLargeError, Scan, encode_record, scan

log = logging.getLogger(__name__)

FILE_NAME = "__group_state.log"
TMP_NAME = FILE_NAME + ".tmp"

__all__ = ["FILE_NAME", "FileJournal", "Journal", "NullJournal", "Record"]


class Journal(Protocol):
    def load(self) -> list[Record]:
        """Every stored record, in order (blocking: call it off the event loop)."""
        ...

    def append(self, records: Sequence[Record]) -> None:
        """Queue records for writing, after every earlier append; never blocks on the disk."""
        ...

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None: ...

    def mark(self) -> int:
        """A position before the next append, for failed_since."""
        ...

    def barrier(self) -> Future[None]:
        """Done once every append made so far has been written (or has failed)."""
        ...

    def failed_since(self, mark: int) -> bool:
        """Whether an append made after mark failed to be written."""
        ...

    def close(self) -> None:
        """Write what is queued, fsync and close (blocking)."""
        ...


def _done() -> Future[None]:
    fut: Future[None] = Future()
    fut.set_result(None)
    return fut


class NullJournal:
    """For --in-memory brokers and unit tests: nothing is kept."""

    def load(self) -> list[Record]:
        return []

    def append(self, records: Sequence[Record]) -> None:
        pass

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        pass

    def mark(self) -> int:
        return 0

    def barrier(self) -> Future[None]:
        return _done()

    def failed_since(self, mark: int) -> bool:
        return False

    def close(self) -> None:
        pass


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileJournal:
    def __init__(self, data_dir: Path, compact_min_bytes: int = 4 * 1024 * 1024) -> None:
        self.path = Path(data_dir) / FILE_NAME
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._compact_min_bytes = compact_min_bytes
        self._fd = -1
        self._size = 0  # of the file, kept by the worker thread
        # When to compact: the size the last rewrite (or load) left, set by the worker thread,
        # and the bytes appended since, counted on the event loop when they are queued.
        self._live_size = 0
        self._appended = 0
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="group-journal")
        self._last: Future[None] = _done()
        self._seq = 0
        self._failed_seq = -1
        self._closed = False

    # -- load -------------------------------------------------------------------------------

    def load(self) -> list[Record]:
        # A temporary file is only left by a crash before its rename: the log itself is whole.
        self.path.with_name(TMP_NAME).unlink(missing_ok=True)
        data = self.path.read_bytes() if self.path.exists() else b""
        result = scan(data)
        if result.damaged:
            self._set_aside(data, result)
        else:
            self._open()
            self._size = self._live_size = len(data)
        return result.records

    def _set_aside(self, data: bytes, result: Scan) -> None:
        for start, end in result.damaged:
            copy = self._damaged_path()
            with open(copy, "wb") as f:
                f.write(data[start:end])
                f.flush()
                os.fsync(f.fileno())
            log.warning(
                "Group state log %s: bytes %d-%d (%d bytes) are damaged and were skipped; the "
                "group records before and after them were loaded. A copy of the damaged bytes "
                "is in %s.",
                self.path,
                start,
                end,
                end - start,
                copy,
            )
        self._rewrite(b"".join(data[s:e] for s, e in result.frames))

    def _damaged_path(self) -> Path:
        n = 1
        while (path := self.path.with_name(f"{FILE_NAME}.damaged-{n}")).exists():
            n += 1
        return path

    # -- writes (worker thread) ---------------------------------------------------------------

    def _open(self) -> None:
        if self._fd < 0:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _write(self, data: bytes) -> None:
        self._open()
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            # Cut a partial frame back off, so later appends never land behind torn bytes.
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                log.exception("Group state log %s: could not cut back a failed write", self.path)
            raise
        self._size += len(data)

    def _rewrite(self, data: bytes) -> None:
        """Replace the file atomically: temporary file, fsync, rename, fsync of the directory."""
        tmp = self.path.with_name(TMP_NAME)
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        if self._fd >= 0:
            os.close(self._fd)  # it still points at the replaced file
            self._fd = -1
        _fsync_dir(self.path.parent)
        self._open()
        self._size = self._live_size = len(data)

    def _compact(self, records: list[Record]) -> None:
        self._rewrite(b"".join(encode_record(r) for r in records))

    def _submit(self, job: Callable[[], None], *, durable: bool) -> None:
        """Run job on the worker thread after every earlier one; durable jobs count for
        failed_since (compaction does not: the file stays whole when it fails)."""
        self._seq += 1
        seq = self._seq

        def run() -> None:
            try:
                job()
            except Exception as exc:
                if durable:
                    self._failed_seq = max(self._failed_seq, seq)
                log.error(
                    "Could not write consumer group state to %s: %s. %s",
                    self.path,
                    exc,
                    "Commits and group changes are refused until the disk accepts writes again."
                    if durable
                    else "The log was left as it was; compaction is tried again later.",
                    exc_info=not isinstance(exc, OSError),
                )

        if self._closed:
            log.warning("Group state log %s is closed; a late write was dropped", self.path)
            self._failed_seq = seq
            return
        self._last = self._executor.submit(run)

    # -- the Journal interface (event loop) ---------------------------------------------------

    def append(self, records: Sequence[Record]) -> None:
        try:
            data = b"".join(encode_record(r) for r in records)
        except RecordTooLargeError as exc:
            self._seq += 1
            self._failed_seq = self._seq
            log.error("Could not write consumer group state to %s: %s", self.path, exc)
            return
        if data:
            self._appended += len(data)
            self._submit(lambda: self._write(data), durable=True)

    def maybe_compact(self, snapshot: Callable[[], Iterable[Record]]) -> None:
        size = self._live_size + self._appended
        if size < max(self._compact_min_bytes, 2 * self._live_size):
            return
        records = list(snapshot())
        self._appended = 0
        self._submit(lambda: self._compact(records), durable=False)

    def mark(self) -> int:
        return self._seq + 1

    def barrier(self) -> Future[None]:
        return self._last

    def failed_since(self, mark: int) -> bool:
        return self._failed_seq >= mark

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=True)
        if self._fd >= 0:
            try:
                os.fsync(self._fd)
            finally:
                os.close(self._fd)
                self._fd = -1
