"""The share coordinator of a cluster broker: the share-partition state of the
``__share_group_state`` partitions it leads (Kafka's ShareCoordinatorShard, one per partition).

When the metadata makes this broker a partition's leader, the partition is read back and
replayed (COORDINATOR_LOAD_IN_PROGRESS meanwhile); when leadership moves away its keys are
dropped (NOT_COORDINATOR from then on). A write counts once the high watermark covers it
(acks=all), so a coordinator that dies after answering loses nothing. Leader epochs fence an
old share-partition leader: a read or write carrying an older one than the state holds is
refused with FENCED_LEADER_EPOCH, an older state epoch with FENCED_STATE_EPOCH.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
from embedded_broker.storage import StorageError
from embedded_broker.txn.log_batch import encode_record

from .state_topic import (
    SHARE_STATE_TOPIC,
    Snapshot,
    StateKey,
    coordinator_key,
    read_state_log,
    state_partition,
)

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

EXTENSION_KEY = "share_state_coordinator"
# a local cluster's ISR settles well within this (Kafka appends with the request timeout)
APPEND_TIMEOUT_MS = 10_000


class ShareStateCoordinator:
    """Follows leadership of __share_group_state on one cluster broker and serves its keys."""

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self.partitions = state.config.get_int("share.coordinator.state.topic.num.partitions")
        self.snapshots: dict[StateKey, Snapshot] = {}
        self._loaded: dict[int, int] = {}  # partition -> leader epoch it was loaded at
        self._loading: dict[int, asyncio.Task[None]] = {}
        self._loading_epoch: dict[int, int] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        state.replicas.on_state_change(self._on_state_change)

    # -- ownership --------------------------------------------------------------------------
    def partition_of(self, key: StateKey) -> int:
        return state_partition(key, self.partitions)

    def _leader_epoch(self, p: int) -> int | None:
        part = self._state.replicas.get(SHARE_STATE_TOPIC, p)
        if part is None or not part.leader:
            return None
        return part.state.leader_epoch

    def error(self, key: StateKey) -> ErrorCode:
        """NONE when this broker serves ``key`` now, NOT_COORDINATOR when another broker
        leads its partition, COORDINATOR_LOAD_IN_PROGRESS while the partition is read."""
        p = self.partition_of(key)
        epoch = self._leader_epoch(p)
        if epoch is None:
            return ErrorCode.not_coordinator
        if self._loaded.get(p) == epoch:
            return ErrorCode.none
        if self._loading_epoch.get(p) != epoch:
            self._sync(p)
        return ErrorCode.coordinator_load_in_progress

    def _on_state_change(self, topic: str, partition: int) -> None:
        if topic == SHARE_STATE_TOPIC and partition < self.partitions:
            self._sync(partition)

    def _sync(self, p: int) -> None:
        epoch = self._leader_epoch(p)
        if epoch is not None and epoch in (self._loaded.get(p), self._loading_epoch.get(p)):
            return
        if p in self._loaded or p in self._loading_epoch:
            self._unload(p)
        if epoch is not None:
            self._loading_epoch[p] = epoch
            task = self._state.spawn(self._load(p, epoch), name=f"load-share-state-{p}")
            self._loading[p] = task
            task.add_done_callback(functools.partial(self._load_done, p))

    def _load_done(self, p: int, task: asyncio.Task[None]) -> None:
        if self._loading.get(p) is task:
            del self._loading[p]
            if self._loaded.get(p) != self._loading_epoch.get(p):
                self._loading_epoch.pop(p, None)  # failed: the next request tries again

    def _unload(self, p: int) -> None:
        self._loaded.pop(p, None)
        self._loading_epoch.pop(p, None)
        task = self._loading.pop(p, None)
        if task is not None:
            task.cancel()
        for key in [k for k in self.snapshots if self.partition_of(k) == p]:
            del self.snapshots[key]

    async def _load(self, p: int, epoch: int) -> None:
        plog = self._state.partition(SHARE_STATE_TOPIC, p)
        if plog is None:
            return
        try:
            records = await self._state.run_storage(read_state_log, plog)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error("Could not read %s-%d (%s)", SHARE_STATE_TOPIC, p, exc)
            return
        if self._leader_epoch(p) != epoch or self._loading_epoch.get(p) != epoch:
            return  # leadership moved on while reading
        for key, snapshot in records:
            if snapshot is None:
                self.snapshots.pop(key, None)
            else:
                self.snapshots[key] = snapshot
        self._loaded[p] = epoch
        log.info(
            "Share coordinator of %s-%d (epoch %d, %d records)",
            SHARE_STATE_TOPIC,
            p,
            epoch,
            len(records),
        )

    # -- operations (APIs 83-87) ------------------------------------------------------------
    async def read(self, key: StateKey, leader_epoch: int) -> tuple[ErrorCode, Snapshot | None]:
        """ReadShareGroupState: the state (None when there is none); a newer leader epoch is
        recorded so the previous leader's writes are fenced from now on."""
        code = self.error(key)
        if code != ErrorCode.none:
            return code, None
        async with self._lock(key):
            found = self.snapshots.get(key)
            if found is None:
                return ErrorCode.none, None
            if leader_epoch < found.leader_epoch:
                return ErrorCode.fenced_leader_epoch, None
            if leader_epoch > found.leader_epoch:
                newer = Snapshot(found.state_epoch, leader_epoch, found.start_offset, found.batches)
                code = await self._append(key, newer)
                if code != ErrorCode.none:
                    return code, None
            return ErrorCode.none, self.snapshots.get(key)

    async def write(self, key: StateKey, snapshot: Snapshot) -> ErrorCode:
        """WriteShareGroupState: the share-partition leader's whole state."""
        code = self.error(key)
        if code != ErrorCode.none:
            return code
        async with self._lock(key):
            found = self.snapshots.get(key)
            if found is not None:
                if snapshot.leader_epoch < found.leader_epoch:
                    return ErrorCode.fenced_leader_epoch
                if snapshot.state_epoch < found.state_epoch:
                    return ErrorCode.fenced_state_epoch
            return await self._append(key, snapshot)

    async def initialize(self, key: StateKey, state_epoch: int, start_offset: int) -> ErrorCode:
        """InitializeShareGroupState: a fresh state at ``start_offset`` (an older state epoch
        than the one held is refused)."""
        code = self.error(key)
        if code != ErrorCode.none:
            return code
        async with self._lock(key):
            found = self.snapshots.get(key)
            if found is not None and state_epoch < found.state_epoch:
                return ErrorCode.fenced_state_epoch
            leader = -1 if found is None else found.leader_epoch
            return await self._append(key, Snapshot(state_epoch, leader, start_offset))

    async def delete(self, key: StateKey) -> ErrorCode:
        """DeleteShareGroupState: a tombstone."""
        code = self.error(key)
        if code != ErrorCode.none:
            return code
        async with self._lock(key):
            if key not in self.snapshots:
                return ErrorCode.none
            return await self._append(key, None)

    def summary(self, key: StateKey) -> tuple[ErrorCode, Snapshot | None]:
        """ReadShareGroupStateSummary: the state without fencing anyone."""
        code = self.error(key)
        return code, self.snapshots.get(key) if code == ErrorCode.none else None

    # -- appends ----------------------------------------------------------------------------
    def _lock(self, key: StateKey) -> asyncio.Lock:
        p = self.partition_of(key)
        lock = self._locks.get(p)
        if lock is None:
            lock = self._locks[p] = asyncio.Lock()
        return lock

    async def _append(self, key: StateKey, snapshot: Snapshot | None) -> ErrorCode:
        """Append the record, wait until the high watermark covers it, then apply it."""
        p = self.partition_of(key)
        epoch = self._leader_epoch(p)
        plog = self._state.partition(SHARE_STATE_TOPIC, p)
        if epoch is None or self._loaded.get(p) != epoch or plog is None:
            return ErrorCode.not_coordinator
        replicas = self._state.replicas
        if replicas.min_isr_error(SHARE_STATE_TOPIC, p) != ErrorCode.none:
            return ErrorCode.coordinator_not_available
        now = self._state.now_ms()
        value = None if snapshot is None else snapshot.encode()
        batch = encode_record(coordinator_key(key).encode(), value, now)
        try:
            plog.append(batch, now_ms=now, leader_epoch=epoch)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error("Could not append to %s-%d: %s", SHARE_STATE_TOPIC, p, exc)
            return ErrorCode.coordinator_not_available
        replicas.appended(SHARE_STATE_TOPIC, p, plog)
        self._state.notify((SHARE_STATE_TOPIC, p))
        code = await replicas.wait_replicated(
            SHARE_STATE_TOPIC, p, plog.log_end_offset, APPEND_TIMEOUT_MS
        )
        if code != ErrorCode.none or self._loaded.get(p) != epoch:
            log.info("Share state in %s-%d was not committed: %s", SHARE_STATE_TOPIC, p, code.name)
            if code in (ErrorCode.not_leader_or_follower, ErrorCode.none):
                return ErrorCode.not_coordinator
            return ErrorCode.coordinator_not_available
        if snapshot is None:
            self.snapshots.pop(key, None)
        else:
            self.snapshots[key] = snapshot
        return ErrorCode.none


def state_coordinator(state: BrokerState) -> ShareStateCoordinator:
    """The broker's share coordinator, made on first use (a cluster broker only)."""
    found = state.extensions.get(EXTENSION_KEY)
    if isinstance(found, ShareStateCoordinator):
        return found
    coord = state.extensions[EXTENSION_KEY] = ShareStateCoordinator(state)
    return coord
