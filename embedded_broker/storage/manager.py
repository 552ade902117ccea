"""LogManager: the broker's partition logs, one directory per partition under the data dir.

Partitions are registered when their topic is created or loaded and opened on first use, not at
start-up; at most ``max_open`` logs keep files open (least recently used ones release theirs and
reopen on their next use), so a broker with tens of thousands of partitions stays under the
process's descriptor limit. Slow work (topic deletion, closing at shutdown) is meant for worker
threads: ``executor`` runs a broker's topic-level disk work one job at a time, in order.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from embedded_broker.storage.api import StorageError
from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.deferred_sync import deferring, sync_paths
from embedded_broker.storage.descriptors import open_log_budget
from embedded_broker.storage.log import CLEAN_SHUTDOWN_FILE, Log

log = logging.getLogger(__name__)

DELETE_SUFFIX = "-delete"
# partitions closed at once at shutdown: each close is a handful of fsyncs, mostly waiting
CLOSE_THREADS = 16

Key = tuple[str, int]


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def parse_partition_dir(name: str) -> tuple[str, int] | None:
    """``<topic>-<partition>`` -> (topic, partition); None for anything else."""
    topic, sep, number = name.rpartition("-")
    if not sep or not topic or not number.isdigit():
        return None
    return topic, int(number)


class LogManager:
    """Registers, opens on demand, reconfigures, retains and deletes partition logs.

    With ``in_memory=True`` nothing touches the disk and ``data_dir`` may be None.
    Thread-safe; the lock is never held while a log is opened, closed or deleted.
    """

    def __init__(
        self,
        data_dir: Path | None,
        *,
        in_memory: bool = False,
        defaults: LogConfig | None = None,
        max_open: int | None = None,
    ) -> None:
        if not in_memory and data_dir is None:
            raise ValueError("a data directory is required unless the broker runs in memory")
        self.data_dir = None if in_memory else data_dir
        self.in_memory = in_memory
        self.defaults = defaults if defaults is not None else LogConfig()
        self.max_open = max_open if max_open is not None else open_log_budget()
        self._lock = threading.Lock()
        self._known: dict[Key, LogConfig] = {}  # every registered partition
        self._logs: dict[Key, Log] = {}  # the ones opened so far
        self._holding: OrderedDict[Key, Log] = OrderedDict()  # may hold files; LRU order
        self._opening: dict[Key, threading.Lock] = {}
        self._unused: set[Key] = set()  # made by prepare() and never used: nothing to close
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-admin")
        self.stopping = False  # set at shutdown: periodic passes over every partition stop early
        self._closer: threading.Thread | None = None
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            for leftover in self.data_dir.glob(f"*{DELETE_SUFFIX}"):
                shutil.rmtree(leftover, ignore_errors=True)

    def _directory(self, key: Key) -> Path | None:
        return None if self.data_dir is None else self.data_dir / partition_dir_name(*key)

    # --- registering and opening ------------------------------------------------------------

    def register(self, topic: str, partitions: Iterable[int], config: LogConfig) -> None:
        """Make partitions known without touching the disk; each opens on first use."""
        with self._lock:
            for partition in partitions:
                self._known[(topic, partition)] = config

    def prepare(self, topic: str, partitions: Iterable[int], config: LogConfig) -> dict[int, Log]:
        """Create the partitions' logs (directory and first segment) before their topic is
        published, so first use costs nothing on the event loop. Blocking: run it on a worker
        thread; new logs hold no open files. Hand the result to adopt() once registered."""
        return {p: Log(self._directory((topic, p)), config) for p in partitions}

    def adopt(self, topic: str, logs: dict[int, Log]) -> None:
        """Take over logs made by prepare() for partitions registered meanwhile."""
        with self._lock:
            for partition, prepared in logs.items():
                key = (topic, partition)
                if key in self._known and key not in self._logs:
                    self._logs[key] = prepared
                    self._unused.add(key)

    def open_unclean(self) -> int:
        """Open now every partition that holds data but was not closed cleanly, so its recovery
        scan runs at start-up rather than at its first use on the event loop; returns how many.
        (The rest, closed cleanly, open on first use.)"""
        with self._lock:
            keys = list(self._known)
        opened = 0
        for key in keys:
            directory = self._directory(key)
            if directory is None or (directory / CLEAN_SHUTDOWN_FILE).exists():
                continue
            if self._has_data(key) and self.get(*key) is not None:
                opened += 1
        return opened

    def remove_directories(self, topic: str, partitions: Iterable[int]) -> None:
        """Undo prepare() after a failed creation (blocking; never raises)."""
        if self.data_dir is None:
            return
        for partition in partitions:
            shutil.rmtree(self.data_dir / partition_dir_name(topic, partition), ignore_errors=True)

    def existing_partitions(self) -> list[Key]:
        """Partitions that have a directory on disk (or are registered), sorted."""
        found: set[Key] = set()
        if self.data_dir is not None:
            for path in self.data_dir.iterdir():
                if path.is_dir() and not path.name.endswith(DELETE_SUFFIX):
                    parsed = parse_partition_dir(path.name)
                    if parsed is not None:
                        found.add(parsed)
        with self._lock:
            found.update(self._known)
        return sorted(found)

    def open_partition(self, topic: str, partition: int, config: LogConfig | None = None) -> Log:
        """Register the partition and open it now (creating or recovering its files)."""
        config = config if config is not None else self.defaults
        key = (topic, partition)
        with self._lock:
            self._known[key] = config
            existing = self._logs.get(key)
        if existing is not None:
            existing.update_config(config)
        opened = self._open(key)
        assert opened is not None
        return opened

    def get(self, topic: str, partition: int) -> Log | None:
        """The partition's log, opened now if this is its first use; None if unknown."""
        key = (topic, partition)
        with self._lock:
            found = self._logs.get(key)
            if found is not None:
                self._unused.discard(key)
                evicted = self._hold(key, found)
            elif key not in self._known:
                return None
        if found is None:
            return self._open(key)
        self._release(evicted)
        return found

    def _open(self, key: Key) -> Log | None:
        with self._lock:
            gate = self._opening.setdefault(key, threading.Lock())
        abandoned: Log | None = None
        evicted: list[Log] = []
        with gate:  # one opener per partition; others wait for it, not for the manager lock
            try:
                with self._lock:
                    found = self._logs.get(key)
                    config = self._known.get(key)
                if found is None and config is not None:
                    found = self._load(key, config)
                    with self._lock:
                        if key in self._known:
                            self._logs[key] = found
                        else:  # its topic was deleted while it opened
                            abandoned, found = found, None
                with self._lock:
                    evicted = [] if found is None else self._hold(key, found)
            finally:
                with self._lock:
                    self._opening.pop(key, None)
        if abandoned is not None:
            abandoned.delete()
        self._release(evicted)
        return found

    def _load(self, key: Key, config: LogConfig) -> Log:
        try:
            return Log(self._directory(key), config)
        except OSError as exc:
            raise StorageError(
                f"Cannot open partition {key[0]}-{key[1]} in {self.data_dir}: {exc}. Check "
                "the disk and the directory's permissions; the partition is retried on its "
                "next use."
            ) from exc

    def _hold(self, key: Key, opened: Log) -> list[Log]:
        """Mark ``key`` most recently used; returns the logs to release (caller holds lock)."""
        if self.data_dir is None:
            return []
        holding = self._holding
        holding[key] = opened
        holding.move_to_end(key)
        evicted: list[Log] = []
        while len(holding) > self.max_open:
            evicted.append(holding.popitem(last=False)[1])
        return evicted

    @staticmethod
    def _release(evicted: list[Log]) -> None:
        for idle in evicted:
            idle.release_descriptors()

    def open_count(self) -> int:
        """Logs that may hold open files right now (at most ``max_open``)."""
        with self._lock:
            return len(self._holding)

    def partitions(self, topic: str | None = None) -> list[Key]:
        """Registered partitions, optionally of one topic, sorted."""
        with self._lock:
            return sorted(key for key in self._known if topic is None or key[0] == topic)

    # --- changes ----------------------------------------------------------------------------

    def forget_topic(self, topic: str) -> list[Log]:
        """Unregister every partition of ``topic`` at once; returns its open logs (for
        delete_topic to finish on a worker thread)."""
        with self._lock:
            for key in [key for key in self._known if key[0] == topic]:
                del self._known[key]
                self._holding.pop(key, None)
                self._unused.discard(key)
            doomed = [key for key in self._logs if key[0] == topic]
            return [self._logs.pop(key) for key in doomed]

    def has(self, topic: str, partition: int) -> bool:
        """Whether the partition is registered here (a local replica)."""
        with self._lock:
            return (topic, partition) in self._known

    def unregistered(self, keys: Iterable[Key]) -> list[Key]:
        """The partitions of ``keys`` not registered here (``has`` for many, one lock)."""
        with self._lock:
            known = self._known
            return [key for key in keys if key not in known]

    def forget_partition(self, topic: str, partition: int) -> Log | None:
        """Unregister one partition at once (this broker no longer holds a replica of it);
        returns its open log, for delete_partition_files to finish on a worker thread."""
        key = (topic, partition)
        with self._lock:
            self._known.pop(key, None)
            self._holding.pop(key, None)
            self._unused.discard(key)
            return self._logs.pop(key, None)

    def delete_partition_files(self, topic: str, partition: int, opened: Log | None) -> bool:
        """Close ``opened`` (from forget_partition) and remove the partition's directory,
        renamed first; False if it had none. Blocking: run it on a worker thread."""
        if opened is not None:
            opened.delete()
        path = self._directory((topic, partition))
        if path is None or not path.is_dir():
            return False
        target = path.with_name(f"{path.name}.{uuid.uuid4().hex}{DELETE_SUFFIX}")
        path.rename(target)
        shutil.rmtree(target, ignore_errors=True)
        return True

    def delete_topic(self, topic: str) -> None:
        """Unregister, close and remove every partition of ``topic`` (blocking)."""
        self.delete_files(topic, self.forget_topic(topic))

    def delete_files(self, topic: str, logs: list[Log]) -> None:
        """Close ``logs`` (from forget_topic) and remove the topic's partition directories,
        each renamed first, then deleted. Blocking: run it on a worker thread."""
        for partition_log in logs:
            partition_log.delete()
        if self.data_dir is None:
            return
        for path in list(self.data_dir.iterdir()):
            parsed = parse_partition_dir(path.name)
            if parsed is None or parsed[0] != topic or not path.is_dir():
                continue
            target = path.with_name(f"{path.name}.{uuid.uuid4().hex}{DELETE_SUFFIX}")
            path.rename(target)
            shutil.rmtree(target, ignore_errors=True)

    def update_config(self, topic: str, config: LogConfig) -> None:
        with self._lock:
            for key in self._known:
                if key[0] == topic:
                    self._known[key] = config
            logs = [value for key, value in self._logs.items() if key[0] == topic]
        for partition_log in logs:
            partition_log.update_config(config)

    def _has_data(self, key: Key) -> bool:
        """Whether a partition not opened yet has any records on disk."""
        directory = self._directory(key)
        if directory is None:
            return False
        try:
            with os.scandir(directory) as entries:
                return any(
                    entry.name.endswith(".log") and entry.stat().st_size > 0 for entry in entries
                )
        except FileNotFoundError:
            return False

    def enforce_retention(self, now_ms: int) -> None:
        """Apply segment.ms, retention.ms and retention.bytes to every partition with data.

        Blocking (run it on a worker thread); partitions not opened yet are opened only if
        they hold records, and through the open-files bound like any other use.
        """
        with self._lock:
            keys = list(self._known)
            opened = {k: v for k, v in self._logs.items() if k not in self._unused}
        for key in keys:
            if self.stopping:
                return
            topic, partition = key
            try:
                found = opened.get(key)  # not get(): a retention pass is no use of a partition
                if found is None:
                    if not self._has_data(key):
                        continue  # nothing written yet: nothing to retain
                    found = self.get(topic, partition)
                    if found is None:
                        continue
                partition_log = found
                deleted = partition_log.enforce_retention(now_ms)
            except (OSError, StorageError) as exc:
                # one partition that cannot be opened or trimmed must not stop the pass: it
                # meets the partitions in the same order every time
                log.error("Retention failed for %s-%d: %s", topic, partition, exc)
                continue
            if deleted:
                log.info(
                    "Retention deleted %d segment(s) of %s-%d; log start offset is now %d",
                    deleted,
                    topic,
                    partition,
                    partition_log.log_start_offset,
                )

    def flush_all(self) -> None:
        """fsync every open partition (needed only against power loss: appends already survive
        a killed process). Safe from a worker thread; appends continue while it syncs."""
        with self._lock:
            logs = [value for key, value in self._logs.items() if key not in self._unused]
        for partition_log in logs:
            if self.stopping:
                return
            partition_log.flush()

    def close_all(self, timeout: float | None = None) -> int:
        """Close every opened partition, many at once, marking each shutdown clean; their
        fsyncs are batched into one filesystem sync at the end (see deferred_sync).

        Waits at most ``timeout`` seconds and returns how many partitions were not yet closed
        and synced then (that finishes in the background; a partition the process never got
        to close is recovered at the next start).
        """
        with self._lock:
            # a log never used since prepare() made it has nothing to save; without a
            # clean-shutdown marker or data it simply opens on first use next time
            logs = [value for key, value in self._logs.items() if key not in self._unused]
            self._logs.clear()
            self._holding.clear()
            self._known.clear()
            self._unused.clear()
        self.executor.shutdown(wait=False, cancel_futures=True)
        if not logs:
            return 0
        closed: list[Log] = []
        closer = threading.Thread(
            target=self._close_and_sync, args=(logs, closed), name="log-close", daemon=False
        )
        self._closer = closer
        closer.start()
        closer.join(timeout)
        return len(logs) - len(closed) if closer.is_alive() else 0

    def _close_and_sync(self, logs: list[Log], closed: list[Log]) -> None:
        started = time.monotonic()
        recorded: list[Path] = []

        def close(partition_log: Log) -> None:
            try:
                with deferring() as pending:
                    partition_log.close()
            except Exception:
                log.exception("Closing the partition log in %s failed", partition_log.directory)
                return
            recorded.extend(pending)
            closed.append(partition_log)

        workers = min(CLOSE_THREADS, len(logs))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="log-close") as pool:
            for _ in pool.map(close, logs):
                pass
        if self.data_dir is not None:
            try:
                sync_paths(recorded, self.data_dir)
            except OSError:
                log.exception("Syncing the partition logs to disk at shutdown failed")
        log.debug("Closed %d partition(s) in %.2f s", len(closed), time.monotonic() - started)

    def wait_closed(self) -> None:
        """Block until every close that close_all started has finished (and is synced)."""
        if self._closer is not None:
            self._closer.join()

    def compacted_logs(self) -> list[tuple[Key, Log]]:
        """Every partition of a compacted topic that holds data, opened if need be (for the
        log cleaner; blocking, run it on the cleaner's thread)."""
        with self._lock:
            keys = [key for key, config in self._known.items() if config.compacted]
            opened = {k: v for k, v in self._logs.items() if k not in self._unused}
        found: list[tuple[Key, Log]] = []
        for key in keys:
            if self.stopping:
                break
            partition_log = opened.get(key)
            if partition_log is None and self._has_data(key):
                partition_log = self.get(*key)
            if partition_log is not None and partition_log.config.compacted:
                found.append((key, partition_log))
        return found
