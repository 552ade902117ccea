"""Idempotent producers: ids and epochs for InitProducerId, and per-partition producer tables
that survive restarts (rebuilt lazily from snapshots and the log, snapshotted periodically and
at shutdown off the event loop, expired after producer.id.expiration.ms)."""

from __future__ import annotations

import asyncio
import logging
import struct
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kio.schema.errors import ErrorCode

from .config import BrokerConfig
from .producers import snapshot as snap
from .producers.entry import AppendCheck, PartitionProducers
from .producers.loader import anchor_at, apply_replicated, load_partition
from .protocol.record_batch import HEADER_SIZE, BatchHeader
from .storage import PartitionLog, StorageError
from .storage.manager import partition_dir_name

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]
_PRODUCER_ID = struct.Struct(">q")
_PRODUCER_ID_OFFSET = 43
_DEFAULT_EXPIRATION_MS = 86_400_000


def _wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class ProducerIdsUnavailableError(Exception):
    """No producer id can be handed out now (a cluster broker cannot reach its controller)."""


@dataclass(slots=True)
class _Loaded:
    table: PartitionProducers
    plog: PartitionLog  # the log it describes: a recreated topic has a new one
    snapshot_version: int = -1  # table.version at the last snapshot
    snapshot_offset: int = -1


class ProducerStateManager:
    """Producer ids handed out by InitProducerId, and the producer table of each partition.

    Tables are loaded on first idempotent produce to a partition (never at start, so a broker
    with many partitions starts fast). Lives on the broker's event loop; disk work goes to its
    own worker threads.
    """

    def __init__(
        self,
        allocate_id: Callable[[], int],
        *,
        partition_log: Callable[[str, int], PartitionLog | None] | None = None,
        data_dir: Path | None = None,
        config: BrokerConfig | None = None,
        clock: Callable[[], int] = _wall_clock_ms,
        spawn: Callable[[Coroutine[Any, Any, None], str], object] | None = None,
    ) -> None:
        self._allocate = allocate_id
        # a cluster broker's ids come in blocks from the controller instead of the registry
        self.id_source: Callable[[], Awaitable[int]] | None = None
        self._epochs: dict[int, int] = {}
        self._partition_log = partition_log or (lambda topic, partition: None)
        self._data_dir = data_dir
        self._config = config
        self._clock = clock
        self._spawn = spawn
        self._tables: dict[PartitionKey, _Loaded] = {}
        self._loading: dict[PartitionKey, asyncio.Future[None]] = {}
        # bumped whenever a partition's table is forgotten: a load begun before then read a log
        # that has changed since (a follower's fetches) and must not be installed
        self._generations: dict[PartitionKey, int] = {}
        self._writing: dict[PartitionKey, asyncio.Future[None]] = {}
        self._executor: ThreadPoolExecutor | None = None
        self._maintaining = False

    # -- InitProducerId ---------------------------------------------------------------------
    async def init_producer(
        self, producer_id: int, producer_epoch: int
    ) -> tuple[ErrorCode, int, int]:
        """InitProducerId for a non-transactional producer: a new id, or a bumped epoch
        (ProducerIdsUnavailableError when no new id can be had now)."""
        if producer_id >= 0 and producer_id in self._epochs:
            current = self._epochs[producer_id]
            if producer_epoch != current:
                return ErrorCode.invalid_producer_epoch, -1, -1
            if current >= 32766:
                new_id = await self._new_id()
                self._epochs[new_id] = 0
                return ErrorCode.none, new_id, 0
            self._epochs[producer_id] = current + 1
            return ErrorCode.none, producer_id, current + 1
        new_id = await self._new_id()
        self._epochs[new_id] = 0
        return ErrorCode.none, new_id, 0

    async def new_producer_id(self) -> int:
        """A fresh producer id (a transactional id's first, or after its epochs ran out)."""
        return await self._new_id()

    async def _new_id(self) -> int:
        if self.id_source is not None:
            return await self.id_source()
        return self._allocate()

    # -- settings ---------------------------------------------------------------------------
    def _setting(self, name: str, default: int) -> int:
        return default if self._config is None else self._config.get_int(name)

    @property
    def expiration_ms(self) -> int:
        return self._setting("producer.id.expiration.ms", _DEFAULT_EXPIRATION_MS)

    def _directory(self, key: PartitionKey) -> Path | None:
        if self._data_dir is None:
            return None
        return self._data_dir / partition_dir_name(*key)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            # several workers: a slow rebuild of one partition must not hold up the others,
            # and the snapshots at shutdown are written in parallel
            self._executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="producer-state")
        return self._executor

    # -- the produce path -------------------------------------------------------------------
    async def load_for_produce(self, topic_data: Iterable[Any]) -> None:
        """Load, off the loop, the table of every partition this Produce request writes
        idempotent batches to (``topic_data`` as in ProduceRequest)."""
        for topic in topic_data:
            for pdata in topic.partition_data:
                key = (topic.name, pdata.index)
                records = pdata.records
                if key in self._tables or not records or len(records) < HEADER_SIZE:
                    continue
                if _PRODUCER_ID.unpack_from(records, _PRODUCER_ID_OFFSET)[0] < 0:
                    continue
                await self.load(key)

    async def load(self, key: PartitionKey) -> None:
        """Load a partition's table if it is not loaded yet (one load however many wait; a
        load disowned meanwhile by forget_partition is followed by a fresh one)."""
        for _attempt in range(2):
            if key in self._tables:
                return
            pending = self._loading.get(key)
            if pending is None:
                plog = self._partition_log(*key)
                if plog is None:
                    return
                pending = asyncio.ensure_future(self._load_off_loop(key, plog))
                self._loading[key] = pending
                pending.add_done_callback(lambda done: self._loading_done(key, done))
            await asyncio.shield(pending)

    def _loading_done(self, key: PartitionKey, done: asyncio.Future[None]) -> None:
        if self._loading.get(key) is done:
            del self._loading[key]

    async def _load_off_loop(self, key: PartitionKey, plog: PartitionLog) -> None:
        loop = asyncio.get_running_loop()
        generation = self._generations.get(key, 0)
        try:
            table = await loop.run_in_executor(
                self._pool(),
                load_partition,
                plog,
                self._directory(key),
                self._clock(),
                self.expiration_ms,
            )
        except (StorageError, OSError) as exc:
            # the produce then loads again on the loop, and answers a storage error if it fails
            log.warning("Cannot load the producer state of %s-%d: %s", key[0], key[1], exc)
            return
        current = self._generations.get(key, 0) == generation
        if current and self._partition_log(*key) is plog and key not in self._tables:
            self._install(key, plog, table)

    def _install(self, key: PartitionKey, plog: PartitionLog, table: PartitionProducers) -> None:
        self._tables[key] = _Loaded(table, plog, snapshot_version=table.version)
        if not self._maintaining and self._spawn is not None:
            self._maintaining = True
            self._spawn(self._snapshot_periodically(), "producer-state-snapshots")
            self._spawn(self._expire_periodically(), "producer-state-expiry")

    def table(self, topic: str, partition: int, plog: PartitionLog) -> PartitionProducers:
        """The partition's table; loads it here (blocking) only if load() did not run first.

        Raises StorageError or OSError if the log cannot be read.
        """
        key = (topic, partition)
        loaded = self._tables.get(key)
        if loaded is not None and loaded.plog is plog:
            return loaded.table
        table = load_partition(plog, self._directory(key), self._clock(), self.expiration_ms)
        self._install(key, plog, table)
        return table

    def check(
        self, topic: str, partition: int, plog: PartitionLog, headers: list[BatchHeader]
    ) -> AppendCheck:
        return self.table(topic, partition, plog).check(headers, f"{topic}-{partition}")

    def appended(
        self,
        topic: str,
        partition: int,
        plog: PartitionLog,
        headers: list[BatchHeader],
        *,
        base_offset: int,
        append_time: int,
    ) -> None:
        self.table(topic, partition, plog).append(headers, base_offset, append_time)

    def replicated(self, topic: str, partition: int, plog: PartitionLog, data: bytes) -> None:
        """A follower appended ``data`` (whole batches): update the partition's table if it is
        loaded (a table not loaded yet reads the log when first used)."""
        loaded = self._tables.get((topic, partition))
        if loaded is not None and loaded.plog is plog:
            apply_replicated(plog, loaded.table, data)

    def forget_topic(self, topic: str) -> None:
        for key in {k for k in (*self._tables, *self._loading) if k[0] == topic}:
            self.forget_partition(*key)

    def forget_partition(self, topic: str, partition: int) -> None:
        """Drop a partition's table so its next use rebuilds it from the log (a follower's
        appends and truncations change the log without going through this table). A load
        still running is disowned: it read the log as it was, and a broker that has just
        become leader would otherwise install a table missing the batches it fetched
        meanwhile, and refuse its producers' next sequence as out of order."""
        key = (topic, partition)
        self._tables.pop(key, None)
        self._loading.pop(key, None)
        self._generations[key] = self._generations.get(key, 0) + 1

    def loaded_partitions(self) -> list[PartitionKey]:
        return sorted(self._tables)

    # -- expiry -----------------------------------------------------------------------------
    def expire(self, now_ms: int | None = None) -> int:
        """Drop producers idle longer than producer.id.expiration.ms; returns how many."""
        now = self._clock() if now_ms is None else now_ms
        expiration = self.expiration_ms
        return sum(loaded.table.expire(now, expiration) for loaded in self._tables.values())

    async def _expire_periodically(self) -> None:
        while True:
            interval = self._setting("producer.id.expiration.check.interval.ms", 600_000)
            await asyncio.sleep(interval / 1000)
            expired = self.expire()
            if expired:
                log.info("Expired %d idle producer id(s)", expired)

    # -- snapshots --------------------------------------------------------------------------
    def _start_snapshot(self, key: PartitionKey, loaded: _Loaded) -> asyncio.Future[None]:
        """Copy the table now (on the loop) and write it on a worker thread."""
        directory = self._directory(key)
        assert directory is not None
        offset = loaded.plog.log_end_offset  # appends and table updates happen together here
        entries = loaded.table.copy_entries()
        loaded.snapshot_version = loaded.table.version
        loaded.snapshot_offset = offset
        future = asyncio.wrap_future(
            self._pool().submit(self._write_snapshot, directory, loaded.plog, offset, entries)
        )
        self._writing[key] = future
        future.add_done_callback(lambda done: self._writing_done(key, done))
        return future

    def _writing_done(self, key: PartitionKey, done: asyncio.Future[None]) -> None:
        if self._writing.get(key) is done:
            del self._writing[key]

    def _write_snapshot(
        self, directory: Path, plog: PartitionLog, offset: int, entries: list[Any]
    ) -> None:
        try:
            anchor = anchor_at(plog, offset)
            if anchor is None:
                return  # nothing above the log start: the snapshot would never be used
            snap.write(directory, snap.Snapshot(offset, anchor, entries))
        except FileNotFoundError:
            pass  # the topic was deleted meanwhile
        except (StorageError, OSError) as exc:
            log.warning("Cannot write a producer state snapshot in %s: %s", directory, exc)

    def snapshot_changed(self, *, all_loaded: bool = False) -> list[asyncio.Future[None]]:
        """Start snapshots of every table changed since its last one (``all_loaded``: also of
        tables whose log moved on, as at shutdown). Returns the writes started."""
        if self._data_dir is None:
            return []
        started = []
        for key, loaded in list(self._tables.items()):
            if key in self._writing:
                continue
            changed = loaded.table.version != loaded.snapshot_version
            moved = all_loaded and loaded.plog.log_end_offset != loaded.snapshot_offset
            if changed or moved:
                started.append(self._start_snapshot(key, loaded))
        return started

    async def _snapshot_periodically(self) -> None:
        while True:
            interval = self._setting("log.flush.interval.ms", 60_000)
            await asyncio.sleep(interval / 1000)
            self.snapshot_changed()

    async def close(self) -> None:
        """Wait for snapshot writes in progress, snapshot every loaded table, stop the threads.

        Call before the partition logs are closed.
        """
        await asyncio.gather(*self._writing.values(), return_exceptions=True)
        await asyncio.gather(*self.snapshot_changed(all_loaded=True), return_exceptions=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.get_running_loop().run_in_executor(None, executor.shutdown)

    async def last_data_offsets(self, key: PartitionKey) -> dict[int, int]:
        """Producer id -> offset of its last batch in the partition (loading the table first),
        for the log cleaner: it keeps those batches, if only as empty ones, so the producers'
        last sequences survive compaction, as Kafka's cleaner does."""
        await self.load(key)
        loaded = self._tables.get(key)
        if loaded is None:
            return {}
        return {pid: e.batches[-1].last_offset for pid, e in loaded.table.items() if e.batches}
