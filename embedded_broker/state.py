"""Broker state shared by all handlers: config, topics, partition logs, clock and wakeups."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from .config import BrokerConfig
from .dirlock import DataDirLock
from .producer_state import ProducerStateManager
from .registry import TopicInfo, TopicRegistry
from .replication.manager import ReplicaManager
from .storage import LogConfig, LogManager, PartitionLog, StorageError
from .topic_configs import effective_topic_config

log = logging.getLogger(__name__)

PartitionKey = tuple[str, int]
P = ParamSpec("P")
T = TypeVar("T")
# how long shutdown waits for the partitions to close when nobody set a deadline
CLOSE_TIMEOUT_S = 5.0


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def log_config_from(effective: dict[str, str]) -> LogConfig:
    """Translate effective topic configs (Kafka names) into the storage LogConfig."""
    return LogConfig(
        segment_bytes=int(effective["segment.bytes"]),
        segment_ms=int(effective["segment.ms"]),
        retention_ms=int(effective["retention.ms"]),
        retention_bytes=int(effective["retention.bytes"]),
        index_interval_bytes=int(effective["index.interval.bytes"]),
        message_timestamp_type=effective["message.timestamp.type"],
        cleanup_policy=effective["cleanup.policy"],
        delete_retention_ms=int(effective["delete.retention.ms"]),
        min_compaction_lag_ms=int(effective["min.compaction.lag.ms"]),
        max_compaction_lag_ms=int(effective["max.compaction.lag.ms"]),
        min_cleanable_dirty_ratio=float(effective["min.cleanable.dirty.ratio"]),
    )


class BrokerState:
    """Everything a handler may read or change; lives on the broker's event loop thread."""

    def __init__(
        self,
        config: BrokerConfig,
        data_dir: Path | None,
        *,
        in_memory: bool = False,
        clock: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self.config = config
        self.data_dir = data_dir
        self.in_memory = in_memory
        self.now_ms = clock
        self._dir_lock: DataDirLock | None = None
        if not in_memory and data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._dir_lock = DataDirLock(data_dir)
            self._dir_lock.acquire()
        try:
            self._open(config, data_dir, in_memory)
        except BaseException:
            if self._dir_lock is not None:
                self._dir_lock.release()
            raise

    def _open(self, config: BrokerConfig, data_dir: Path | None, in_memory: bool) -> None:
        self.registry = TopicRegistry(None if in_memory else data_dir)
        self.config.dynamic.update(self.registry.broker_dynamic)
        self.logs = LogManager(
            None if in_memory else data_dir,
            in_memory=in_memory,
            defaults=log_config_from(effective_topic_config({}, config)),
        )
        self.producers = ProducerStateManager(
            self.registry.allocate_producer_id,
            partition_log=self.partition,
            data_dir=None if in_memory else data_dir,
            config=config,
            clock=self.now_ms,
            spawn=self.spawn,
        )
        self.extensions: dict[str, object] = {}
        self._topic_config_cache: dict[str, dict[str, str]] = {}
        self.shutting_down = False
        self._waiters: dict[PartitionKey, set[asyncio.Future[None]]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._shutdown_hooks: list[Callable[[], Awaitable[None]]] = []
        self._creating: dict[str, asyncio.Task[TopicInfo]] = {}
        self.shutdown_deadline: float | None = None  # time.monotonic() by which to be closed
        self.closed_in_time = False  # set by shutdown: every partition closed by the deadline
        self.replicas = ReplicaManager(self)  # leader/follower roles once the metadata gives them
        self.on_shutdown(self.replicas.close)
        for info in self.registry.topics.values():
            self._open_partitions(info, 0)
        self.logs.open_unclean()  # recovery before serving; clean partitions open on first use

    # -- identity ---------------------------------------------------------------------------
    @property
    def node_id(self) -> int:
        return self.config.node_id

    @property
    def cluster_id(self) -> str:
        return self.registry.cluster_id

    # -- topics -----------------------------------------------------------------------------
    @property
    def topics(self) -> dict[str, TopicInfo]:
        return self.registry.topics

    def topic_config(self, name: str) -> dict[str, str]:
        """Effective configs of a topic (cached: produce asks on every request)."""
        cached = self._topic_config_cache.get(name)
        if cached is None:
            cached = effective_topic_config(self.registry.topics[name].configs, self.config)
            self._topic_config_cache[name] = cached
        return cached

    def _open_partitions(self, info: TopicInfo, start: int) -> None:
        # registered only: each partition's files open on its first use (bounded open files)
        cfg = log_config_from(self.topic_config(info.name))
        self.logs.register(info.name, range(start, info.partitions), cfg)

    async def run_storage(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run blocking topic-level disk work on the storage thread, one job at a time in
        order, so the event loop keeps serving every connection meanwhile."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.logs.executor, lambda: fn(*args, **kwargs))

    def is_creating(self, name: str) -> bool:
        return name in self._creating

    def create_topic(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str],
        *,
        internal: bool = False,
        topic_id: uuid.UUID | None = None,
    ) -> TopicInfo:
        """Add the topic and create its partitions' logs; all or nothing.

        Raises StorageError with a message for the user when topics.json or a partition's
        files cannot be written (a full disk): the topic is then neither listed nor on disk."""
        self._topic_config_cache.pop(name, None)
        info = self.registry.add(name, partitions, configs, internal, topic_id)
        try:
            self._open_partitions(info, 0)
        except (OSError, StorageError) as exc:
            self._topic_config_cache.pop(name, None)
            try:
                self.logs.delete_topic(name)
                self.registry.remove(name)
            except (OSError, StorageError):
                log.exception("Could not undo the partly created topic %s", name)
            raise StorageError(
                f"Could not create the files of topic '{name}' in {self.data_dir} "
                f"({exc.strerror if isinstance(exc, OSError) else exc}). Free disk space "
                "(or raise the open-files limit) and try again."
            ) from exc
        log.info("Created topic %s with %d partition(s)", name, partitions)
        return info

    async def create_topic_async(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str],
        *,
        internal: bool = False,
        topic_id: uuid.UUID | None = None,
    ) -> TopicInfo:
        """create_topic with its disk work on the storage thread; the topic appears in the
        registry (and metadata) only once that is done. A second call for a name still being
        created waits for the first and returns its topic."""
        task = self._creating.get(name)
        if task is None:
            task = asyncio.get_running_loop().create_task(
                self._create(name, partitions, configs, internal, topic_id), name=f"create-{name}"
            )
            self._creating[name] = task
            task.add_done_callback(self._created)
        # shielded: a client hanging up must not leave a half-created topic
        return await asyncio.shield(task)

    async def _create(
        self,
        name: str,
        partitions: int,
        configs: dict[str, str],
        internal: bool,
        topic_id: uuid.UUID | None = None,
    ) -> TopicInfo:
        created = False
        try:
            cfg = log_config_from(effective_topic_config(configs, self.config))
            logs = await self.run_storage(self.logs.prepare, name, range(partitions), cfg)
            info = self.create_topic(
                name, partitions, configs, internal=internal, topic_id=topic_id
            )
            self.logs.adopt(name, logs)
            created = True
            return info
        finally:
            if not created:
                await self.run_storage(self.logs.remove_directories, name, range(partitions))

    def _created(self, task: asyncio.Task[TopicInfo]) -> None:
        self._creating = {k: v for k, v in self._creating.items() if v is not task}
        if not task.cancelled():
            task.exception()  # retrieved here too: its waiter may have hung up

    def delete_topic(self, name: str) -> None:
        info = self.registry.remove(name)
        self._topic_config_cache.pop(name, None)
        if info is None:
            return
        self.producers.forget_topic(name)
        self.logs.delete_topic(name)
        for p in range(info.partitions):
            self.notify((name, p))
        log.info("Deleted topic %s", name)

    async def delete_topic_async(self, name: str) -> None:
        """delete_topic with the closing and file deletion on the storage thread; the topic
        leaves the registry (and metadata) at once."""
        info = self.registry.remove(name)
        self._topic_config_cache.pop(name, None)
        if info is None:
            return
        self.producers.forget_topic(name)
        logs = self.logs.forget_topic(name)
        for p in range(info.partitions):
            self.notify((name, p))
        try:
            await self.run_storage(self.logs.delete_files, name, logs)
        except OSError as exc:
            log.error(
                "Deleted topic %s, but some of its files could not be removed (%s); remove "
                "the %s-<partition> directories in %s by hand",
                name,
                exc,
                name,
                self.data_dir,
            )
            return
        log.info("Deleted topic %s", name)

    def add_partitions(self, name: str, total: int) -> None:
        info = self.registry.topics[name]
        old = info.partitions
        info.partitions = total
        self.registry.save()
        self._open_partitions(info, old)

    async def add_partitions_async(self, name: str, total: int) -> None:
        """add_partitions with the new partitions' directories made on the storage thread."""
        old = self.registry.topics[name].partitions
        cfg = log_config_from(self.topic_config(name))
        logs = await self.run_storage(self.logs.prepare, name, range(old, total), cfg)
        info = self.registry.topics.get(name)
        if info is not None and info.partitions < total:  # still there, not grown meanwhile
            self.add_partitions(name, total)
            self.logs.adopt(name, logs)

    def set_topic_configs(self, name: str, configs: dict[str, str]) -> None:
        info = self.registry.topics[name]
        info.configs = dict(configs)
        self.registry.save()
        self._topic_config_cache.pop(name, None)
        self.logs.update_config(name, log_config_from(self.topic_config(name)))

    def set_broker_dynamic(self, configs: dict[str, str]) -> None:
        self.config.dynamic = dict(configs)
        self.registry.broker_dynamic = dict(configs)
        self.registry.save()
        self._topic_config_cache.clear()
        for name in self.registry.topics:
            self.logs.update_config(name, log_config_from(self.topic_config(name)))

    def partition(self, topic: str, partition: int) -> PartitionLog | None:
        info = self.registry.topics.get(topic)
        if info is None or not 0 <= partition < info.partitions:
            return None
        return self.logs.get(topic, partition)

    # -- fetch wakeups ----------------------------------------------------------------------
    def waiter(self, keys: Iterable[PartitionKey]) -> asyncio.Future[None]:
        """A future resolved by the next append to any of ``keys``; call forget() afterwards."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._waiters.setdefault(key, set()).add(fut)
        return fut

    def forget(self, keys: Iterable[PartitionKey], fut: asyncio.Future[None]) -> None:
        for key in keys:
            waiting = self._waiters.get(key)
            if waiting is not None:
                waiting.discard(fut)
                if not waiting:
                    del self._waiters[key]

    def begin_shutdown(self) -> None:
        """Answer every waiting long-poll now, and make new ones return at once."""
        self.shutting_down = True
        for key in list(self._waiters):
            self.notify(key)

    def notify(self, key: PartitionKey) -> None:
        waiting = self._waiters.pop(key, None)
        if waiting:
            for fut in waiting:
                if not fut.done():
                    fut.set_result(None)

    # -- lifecycle --------------------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run a background task owned by the broker; it is cancelled at shutdown."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("Background task %s failed", task.get_name(), exc_info=task.exception())

    def on_shutdown(self, hook: Callable[[], Awaitable[None]]) -> None:
        self._shutdown_hooks.append(hook)

    async def shutdown(self) -> None:
        self.logs.stopping = True  # a retention or flush pass in progress stops early
        for hook in reversed(self._shutdown_hooks):
            try:
                await hook()
            except Exception:
                log.exception("Shutdown hook failed")
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.producers.close()  # snapshots need the logs still open
        # Log.close syncs what each log has written, so no separate flush; the closes run in
        # parallel on worker threads and the loop waits no longer than the deadline
        deadline = self.shutdown_deadline
        timeout = CLOSE_TIMEOUT_S if deadline is None else deadline - time.monotonic()
        left = await asyncio.to_thread(self.logs.close_all, max(timeout, 0.1))
        self.closed_in_time = left == 0
        if left and self._dir_lock is not None:
            log.warning(
                "%d partition(s) were still closing when the shutdown deadline passed; they "
                "finish in the background (if the program exits first, the next start "
                "recovers them)",
                left,
            )
            lock = self._dir_lock

            def release_when_closed() -> None:  # no other broker may open half-closed logs
                self.logs.wait_closed()
                lock.release()

            threading.Thread(
                target=release_when_closed,
                name="log-close-wait",
                daemon=True,
            ).start()
        elif self._dir_lock is not None:
            self._dir_lock.release()
