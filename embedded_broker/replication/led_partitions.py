"""A coordinator's view of the internal-topic partitions this broker leads, as Kafka's
coordinators follow leadership: a partition is read back and replayed when leadership (a
leader epoch) arrives, and unloaded when it leaves. Meanwhile requests for it are answered
COORDINATOR_LOAD_IN_PROGRESS, and NOT_COORDINATOR when another broker leads it.

The group coordinator (__consumer_offsets), the transaction coordinator (__transaction_state)
and the share coordinator (__share_group_state) each subclass it with their own read, replay
and unload.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Generic, ParamSpec, TypeVar

from kio.schema.errors import ErrorCode

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

Records = TypeVar("Records")
P = ParamSpec("P")
T = TypeVar("T")


class LedPartitions(ABC, Generic[Records]):
    """Which partitions of ``topic`` are loaded here, and at which leader epoch."""

    def __init__(self, state: BrokerState, topic: str, partitions: int, task_name: str) -> None:
        self._state = state
        self.topic = topic
        self.partitions = partitions
        self._task_name = task_name
        self._loaded: dict[int, int] = {}  # partition -> leader epoch it was loaded at
        self._loading: dict[int, asyncio.Task[None]] = {}
        self._loading_epoch: dict[int, int] = {}

    def follow(self) -> None:
        """Start following leadership (partitions led already are loaded now)."""
        self._state.replicas.on_state_change(self._on_state_change)
        for p in range(self.partitions):
            self._sync(p)

    async def wait_loaded(self) -> None:
        """Until every load started so far is done."""
        while self._loading:
            await asyncio.gather(*self._loading.values(), return_exceptions=True)

    # -- what the coordinator asks ----------------------------------------------------------
    def leader_epoch(self, p: int) -> int | None:
        """The partition's leader epoch while this broker leads it (the coordinator epoch)."""
        part = self._state.replicas.get(self.topic, p)
        if part is None or not part.leader:
            return None
        return part.state.leader_epoch

    def loaded_at(self, p: int, epoch: int) -> bool:
        """Whether the partition was loaded at ``epoch`` (and not unloaded since)."""
        return self._loaded.get(p) == epoch

    def owns(self, p: int, epoch: int) -> bool:
        """Loaded at ``epoch``, which is still this broker's leader epoch of the partition."""
        return self._loaded.get(p) == epoch == self.leader_epoch(p)

    def partition_error(self, p: int) -> ErrorCode:
        """NONE when this broker serves the partition now; NOT_COORDINATOR when another broker
        leads it; COORDINATOR_LOAD_IN_PROGRESS while it is being read (a load that failed is
        started again by the next request)."""
        epoch = self.leader_epoch(p)
        if epoch is None:
            return ErrorCode.not_coordinator
        if self._loaded.get(p) == epoch:
            return ErrorCode.none
        if self._loading_epoch.get(p) != epoch:
            self._sync(p)
        return ErrorCode.coordinator_load_in_progress

    def reload(self, p: int, epoch: int) -> None:
        """Read the partition back (its in-memory state went past what its log holds)."""
        if self.owns(p, epoch):
            self._unload(p)
            self._sync(p)

    async def read_off_loop(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run a read of the partition on a worker thread, not queued on the storage thread
        (a partition log is thread-safe): when every broker of a cluster starts again, that
        queue holds a leader-epoch checkpoint write per partition, and a load behind them
        kept the coordinator answering COORDINATOR_LOAD_IN_PROGRESS for seconds."""
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- what a coordinator supplies --------------------------------------------------------
    @abstractmethod
    async def _read_partition(self, p: int) -> Records | None:
        """The partition's records, read off the event loop; None when they cannot be read
        (said in the log: the partition is then not served until a later request retries)."""

    @abstractmethod
    async def _partition_loaded(self, p: int, epoch: int, records: Records) -> None:
        """Replay what was read; the partition counts as loaded at ``epoch`` meanwhile."""

    @abstractmethod
    def _partition_unloaded(self, p: int) -> None:
        """Drop what was replayed from the partition: another broker serves it now."""

    # -- leadership -------------------------------------------------------------------------
    def _on_state_change(self, topic: str, partition: int) -> None:
        if topic == self.topic and partition < self.partitions:
            self._sync(partition)

    def _sync(self, p: int) -> None:
        epoch = self.leader_epoch(p)
        if epoch is not None and epoch in (self._loaded.get(p), self._loading_epoch.get(p)):
            return
        if p in self._loaded or p in self._loading_epoch:
            self._unload(p)
        if epoch is not None:
            self._loading_epoch[p] = epoch
            task = self._state.spawn(self._load(p, epoch), name=f"{self._task_name}-{p}")
            self._loading[p] = task
            task.add_done_callback(functools.partial(self._load_done, p))

    def _load_done(self, p: int, task: asyncio.Task[None]) -> None:
        if self._loading.get(p) is task:
            del self._loading[p]
            if self._loaded.get(p) != self._loading_epoch.get(p):
                self._loading_epoch.pop(p, None)  # failed or cancelled: a later request retries

    def _unload(self, p: int) -> None:
        self._loaded.pop(p, None)
        self._loading_epoch.pop(p, None)
        task = self._loading.pop(p, None)
        if task is not None:
            task.cancel()
        self._partition_unloaded(p)

    async def _load(self, p: int, epoch: int) -> None:
        records = await self._read_partition(p)
        if records is None:
            return
        if self.leader_epoch(p) != epoch or self._loading_epoch.get(p) != epoch:
            return  # leadership moved on while reading
        self._loaded[p] = epoch
        try:
            await self._partition_loaded(p, epoch, records)
        except Exception:
            if self._loaded.get(p) == epoch:
                del self._loaded[p]  # not served half replayed: a later request retries
            raise
