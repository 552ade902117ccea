"""The log cleaner threads: pick the dirtiest compacted partition, clean it, back off when idle.

As Kafka's LogCleaner / LogCleanerManager: ``log.cleaner.threads`` threads share
``log.cleaner.dedupe.buffer.size`` bytes of key maps; each repeatedly takes the compacted
partition with the highest dirty ratio above its min.cleanable.dirty.ratio (or one whose
max.compaction.lag.ms has passed), never one another thread is cleaning, and sleeps
``log.cleaner.backoff.ms`` when there is none. Everything runs off the event loop.

A partition whose round fails (a damaged batch, a full disk) is marked uncleanable, as Kafka's
LogCleanerManager does: the error is logged once, the other partitions go on being cleaned, and
the partition is tried again only after UNCLEANABLE_RETRY_S (a full disk may have been freed;
a damaged segment stays uncleanable until it is gone). Without this the filthiest partition
would be picked, and fail, every round, and no other partition would ever be cleaned.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
import weakref
from collections.abc import Callable, Mapping

from embedded_broker.storage.api import StorageError
from embedded_broker.storage.cleaner import (
    Cleanable,
    Cleaner,
    CleaningAbortedError,
    CleanStats,
    clean_partition,
    cleanable_range,
    read_checkpoint,
)
from embedded_broker.storage.log import Log
from embedded_broker.storage.manager import Key, LogManager
from embedded_broker.storage.offset_map import OffsetMap

log = logging.getLogger(__name__)

UNCLEANABLE_RETRY_S = 300.0


class LogCleaner:
    """Cleaner threads over a LogManager's compacted partitions. ``settings`` is read at each
    pass (backoff) and at start (threads, buffer size, load factor)."""

    def __init__(
        self,
        logs: LogManager,
        *,
        threads: int = 1,
        dedupe_buffer_size: int = 134217728,
        load_factor: float = 0.9,
        backoff_ms: Callable[[], int] = lambda: 15000,
        clock: Callable[[], int],
        active_producers: Callable[[Key], Mapping[int, int]] | None = None,
        uncleanable_retry_s: float = UNCLEANABLE_RETRY_S,
    ) -> None:
        self._logs = logs
        self._threads_wanted = threads
        self._memory = dedupe_buffer_size // max(threads, 1)
        self._load_factor = load_factor
        self._backoff_ms = backoff_ms
        self._clock = clock
        self._active_producers = active_producers
        self._uncleanable_retry_s = uncleanable_retry_s
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._lock = threading.Lock()
        self._in_progress: set[Key] = set()
        self._threads: list[threading.Thread] = []
        # checkpoints of in-memory partitions (on disk they live in the partition directory)
        self._memory_checkpoints: weakref.WeakKeyDictionary[Log, int] = weakref.WeakKeyDictionary()
        # partition -> (why its last round failed, monotonic time of its next try)
        self._uncleanable: dict[Key, tuple[str, float]] = {}
        self.rounds = 0  # completed cleaning rounds, for tests and the benchmark
        self.last_stats: CleanStats | None = None

    def start(self) -> None:
        for n in range(self._threads_wanted):
            thread = threading.Thread(
                target=self._run, args=(n,), name=f"log-cleaner-{n}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the threads; a round in progress is dropped at its next batch."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads.clear()

    def wake(self) -> None:
        """Look for work now rather than after the backoff (tests, config changes)."""
        with self._wake:
            self._wake.notify_all()

    def uncleanable(self) -> dict[Key, str]:
        """The partitions whose last round failed, with the reason."""
        with self._lock:
            return {key: why for key, (why, _retry) in self._uncleanable.items()}

    def checkpoint(self, partition_log: Log) -> int | None:
        if partition_log.directory is None:
            return self._memory_checkpoints.get(partition_log)
        return read_checkpoint(partition_log.directory)

    def _run(self, number: int) -> None:
        cleaner = Cleaner(OffsetMap(self._memory, self._load_factor), self._stop.is_set)
        while not self._stop.is_set():
            try:
                worked = self._clean_filthiest(cleaner)
            except Exception:  # a damaged segment must not end cleaning of the others
                if self._stop.is_set():
                    break  # the broker is stopping: the round was cut short on purpose
                log.exception("The log cleaner %d failed; it retries after its backoff", number)
                worked = False
            if not worked:
                with self._wake:
                    if not self._stop.is_set():
                        self._wake.wait(max(self._backoff_ms(), 1) / 1000)

    def _grab_filthiest(self, now_ms: int) -> tuple[Key, Log, Cleanable] | None:
        best: tuple[Key, Log, Cleanable] | None = None
        now = time.monotonic()
        for key, partition_log in self._logs.compacted_logs():
            if self._stop.is_set():
                return None
            with self._lock:
                if key in self._in_progress:
                    continue
                failed = self._uncleanable.get(key)
                if failed is not None and now < failed[1]:
                    continue
            try:
                cleanable = cleanable_range(
                    partition_log, self.checkpoint(partition_log), now_ms, flushed_only=False
                )
            except Exception:
                continue  # closed meanwhile (deleted topic)
            if cleanable is None or not cleanable.dirty_bytes:
                continue
            ratio = cleanable.ratio
            if not cleanable.needs_compaction_now and ratio <= (
                partition_log.config.min_cleanable_dirty_ratio
            ):
                continue
            if best is None or ratio > best[2].ratio:
                best = (key, partition_log, cleanable)
        if best is not None:
            with self._lock:
                if best[0] in self._in_progress:
                    return None
                self._in_progress.add(best[0])
        return best

    def _clean_filthiest(self, cleaner: Cleaner) -> bool:
        now = self._clock()
        picked = self._grab_filthiest(now)
        if picked is None:
            return False
        key, partition_log, _ = picked
        try:
            producers = None
            if self._active_producers is not None:
                reader = self._active_producers
                producers = functools.partial(reader, key)
            stats = clean_partition(
                cleaner, partition_log, self.checkpoint(partition_log), now, producers
            )
            if stats is not None:
                if partition_log.directory is None:
                    self._memory_checkpoints[partition_log] = stats.end_offset
                self.last_stats = stats
                self.rounds += 1
            with self._lock:
                recovered = self._uncleanable.pop(key, None)
            if recovered is not None:
                log.info("Partition %s-%d is cleanable again", *key)
        except CleaningAbortedError:
            log.debug("Cleaning of %s-%d was aborted", *key)
        except Exception as exc:
            if partition_log.closed or self._stop.is_set():
                log.debug("Cleaning of %s-%d stopped: the partition was closed", *key)
            else:
                self._mark_uncleanable(key, exc)
        finally:
            with self._lock:
                self._in_progress.discard(key)
        return True

    def _mark_uncleanable(self, key: Key, exc: Exception) -> None:
        why = str(exc) or type(exc).__name__
        with self._lock:
            known = key in self._uncleanable
            self._uncleanable[key] = (why, time.monotonic() + self._uncleanable_retry_s)
        if known:
            log.debug("Partition %s-%d is still uncleanable: %s", *key, why)
            return
        log.error(
            "Partition %s-%d is uncleanable and is skipped (tried again every %d s; the others "
            "are still cleaned): %s",
            *key,
            self._uncleanable_retry_s,
            why,
            exc_info=not isinstance(exc, (OSError, StorageError)),
        )
