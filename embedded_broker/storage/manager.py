"""LogManager: the broker's partition logs, one directory per partition under the data dir."""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from pathlib import Path

from embedded_broker.storage.config import LogConfig
from embedded_broker.storage.log import Log

log = logging.getLogger(__name__)

DELETE_SUFFIX = "-delete"


def partition_dir_name(topic: str, partition: int) -> str:
    return f"{topic}-{partition}"


def parse_partition_dir(name: str) -> tuple[str, int] | None:
    """``<topic>-<partition>`` -> (topic, partition); None for anything else."""
    topic, sep, number = name.rpartition("-")
    if not sep or not topic or not number.isdigit():
        return None
    return topic, int(number)


class LogManager:
    """Opens, finds, reconfigures, retains and deletes partition logs; one per broker.

    With ``in_memory=True`` nothing touches the disk and ``data_dir`` may be None.
    Thread-safe.
    """

    def __init__(
        self,
        data_dir: Path | None,
        *,
        in_memory: bool = False,
        defaults: LogConfig | None = None,
    ) -> None:
        if not in_memory and data_dir is None:
            raise ValueError("a data directory is required unless the broker runs in memory")
        self.data_dir = None if in_memory else data_dir
        self.in_memory = in_memory
        self.defaults = defaults if defaults is not None else LogConfig()
        self._lock = threading.Lock()
        self._logs: dict[tuple[str, int], Log] = {}
        if self.data_dir is not None:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            for leftover in self.data_dir.glob(f"*{DELETE_SUFFIX}"):
                shutil.rmtree(leftover, ignore_errors=True)

    def existing_partitions(self) -> list[tuple[str, int]]:
        """Partitions that have a directory on disk (or are open, in memory), sorted."""
        found: set[tuple[str, int]] = set()
        if self.data_dir is not None:
            for path in self.data_dir.iterdir():
                if path.is_dir() and not path.name.endswith(DELETE_SUFFIX):
                    parsed = parse_partition_dir(path.name)
                    if parsed is not None:
                        found.add(parsed)
        with self._lock:
            found.update(self._logs)
        return sorted(found)

    def open_partition(self, topic: str, partition: int, config: LogConfig | None = None) -> Log:
        """Create the partition's log, or open (and recover) it; returns the open log if any."""
        config = config if config is not None else self.defaults
        key = (topic, partition)
        with self._lock:
            existing = self._logs.get(key)
            if existing is not None:
                existing.update_config(config)
                return existing
            directory = (
                None
                if self.data_dir is None
                else self.data_dir / partition_dir_name(topic, partition)
            )
            opened = Log(directory, config)
            self._logs[key] = opened
            return opened

    def get(self, topic: str, partition: int) -> Log | None:
        with self._lock:
            return self._logs.get((topic, partition))

    def partitions(self, topic: str | None = None) -> list[tuple[str, int]]:
        """Open partitions, optionally of one topic, sorted."""
        with self._lock:
            return sorted(key for key in self._logs if topic is None or key[0] == topic)

    def delete_topic(self, topic: str) -> None:
        """Close and remove every partition of ``topic`` (renamed first, then deleted)."""
        with self._lock:
            doomed = [key for key in self._logs if key[0] == topic]
            logs = [self._logs.pop(key) for key in doomed]
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
            logs = [value for key, value in self._logs.items() if key[0] == topic]
        for partition_log in logs:
            partition_log.update_config(config)

    def enforce_retention(self, now_ms: int) -> None:
        """Apply segment.ms, retention.ms and retention.bytes to every partition."""
        with self._lock:
            logs = list(self._logs.items())
        for (topic, partition), partition_log in logs:
            try:
                deleted = partition_log.enforce_retention(now_ms)
            except OSError:
                log.exception("Retention failed for %s-%d", topic, partition)
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
        """fsync every partition (needed only against power loss: appends already survive a
        killed process). Safe from a worker thread; appends continue while it syncs."""
        with self._lock:
            logs = list(self._logs.values())
        for partition_log in logs:
            partition_log.flush()

    def close_all(self) -> None:
        """fsync and close every partition, marking each shutdown clean (fast next start)."""
        with self._lock:
            logs = list(self._logs.values())
            self._logs.clear()
        for partition_log in logs:
            partition_log.close()
