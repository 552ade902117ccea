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
import logging
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
from embedded_broker.replication.led_partitions import LedPartitions
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


class ShareStateCoordinator(LedPartitions[list[tuple[StateKey, "Snapshot | None"]]]):
    """Follows leadership of __share_group_state on one cluster broker and serves its keys."""

    def __init__(self, state: BrokerState) -> None:
        partitions = state.config.get_int("share.coordinator.state.topic.num.partitions")
        super().__init__(state, SHARE_STATE_TOPIC, partitions, "load-share-state")
        self.snapshots: dict[StateKey, Snapshot] = {}
        self._locks: dict[int, asyncio.Lock] = {}
        self.follow()

    # -- ownership --------------------------------------------------------------------------
    def partition_of(self, key: StateKey) -> int:
        return state_partition(key, self.partitions)

    def error(self, key: StateKey) -> ErrorCode:
        """NONE when this broker serves ``key`` now, NOT_COORDINATOR when another broker
        leads its partition, COORDINATOR_LOAD_IN_PROGRESS while the partition is read."""
        return self.partition_error(self.partition_of(key))

    # -- leadership -------------------------------------------------------------------------
    async def _read_partition(self, p: int) -> list[tuple[StateKey, Snapshot | None]] | None:
        plog = self._state.partition(SHARE_STATE_TOPIC, p)
        if plog is None:
            return None
        try:
            return await self.read_off_loop(read_state_log, plog)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error("Could not read %s-%d (%s)", SHARE_STATE_TOPIC, p, exc)
            return None

    async def _partition_loaded(
        self, p: int, epoch: int, records: list[tuple[StateKey, Snapshot | None]]
    ) -> None:
        for key, snapshot in records:
            if snapshot is None:
                self.snapshots.pop(key, None)
            else:
                self.snapshots[key] = snapshot
        log.info(
            "Share coordinator of %s-%d (epoch %d, %d records)",
            SHARE_STATE_TOPIC,
            p,
            epoch,
            len(records),
        )

    def _partition_unloaded(self, p: int) -> None:
        for key in [k for k in self.snapshots if self.partition_of(k) == p]:
            del self.snapshots[key]

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
        epoch = self.leader_epoch(p)
        plog = self._state.partition(SHARE_STATE_TOPIC, p)
        if epoch is None or not self.loaded_at(p, epoch) or plog is None:
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
        if code != ErrorCode.none or not self.loaded_at(p, epoch):
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
