"""Which groups this broker coordinates: those whose __consumer_offsets partition it leads.

When the metadata makes this broker the leader of a partition, the partition's records are
read back and replayed into the coordinator (COORDINATOR_LOAD_IN_PROGRESS meanwhile); when
leadership moves away, the partition's groups are unloaded (NOT_COORDINATOR from then on).
Appends go to the leader's log and are committed once the high watermark covers them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator import GroupCoordinator, GroupError
from embedded_broker.coordinator.framing import Record
from embedded_broker.coordinator.offsets_topic import (
    OFFSETS_TOPIC,
    OffsetsRecordError,
    decode,
    partition_for,
)
from embedded_broker.protocol.keyed_batch import KeyValue, decode_batches, encode_batch
from embedded_broker.protocol.record_batch import InvalidRecordBatchError, iter_batches
from embedded_broker.replication.led_partitions import LedPartitions
from embedded_broker.share.group_records import KINDS as SHARE_KINDS
from embedded_broker.share.group_records import replay_share
from embedded_broker.share.runtime import EXTENSION_KEY as SHARE_KEY
from embedded_broker.share.runtime import ShareCoordinator, share_coordinator
from embedded_broker.storage import OffsetOutOfRange, StorageError

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

# where a cluster broker keeps its GroupRuntime in state.extensions
RUNTIME_KEY = "group_runtime"
LOAD_CHUNK_BYTES = 1024 * 1024
# how often a write answered with a timeout checks whether it was committed after all
LATE_COMMIT_POLL_MS = 60_000


class GroupRuntime(LedPartitions[list[Record]]):
    """Owns the coordinator's view of __consumer_offsets on one cluster broker."""

    def __init__(self, state: BrokerState) -> None:
        partitions = state.config.get_int("offsets.topic.num.partitions")
        super().__init__(state, OFFSETS_TOPIC, partitions, "load-groups")
        self._commit_timeout_ms = state.config.get_int("offsets.commit.timeout.ms")
        self._coordinator: GroupCoordinator | None = None

    def attach(self, coordinator: GroupCoordinator) -> None:
        """Start following leadership (partitions led already are loaded now)."""
        self._coordinator = coordinator
        self.follow()

    # -- what handlers ask ------------------------------------------------------------------
    def partition_of(self, group_id: str) -> int:
        return partition_for(group_id, self.partitions)

    def group_error(self, group_id: str) -> GroupError:
        """NONE when this broker coordinates the group now; NOT_COORDINATOR when another broker
        leads its partition; COORDINATOR_LOAD_IN_PROGRESS while its partition is being read."""
        return _GROUP_ERRORS[self.partition_error(self.partition_of(group_id))]

    # -- leadership -------------------------------------------------------------------------
    def _partition_unloaded(self, p: int) -> None:
        coord = self._coordinator
        if coord is None:
            return
        gone = [g for g in {*coord.groups, *coord.consumer_groups} if self.partition_of(g) == p]
        coord.unload(gone)
        share = self._share()
        if share is not None:
            share.groups.unload({g for g in share.groups.groups if self.partition_of(g) == p})
        log.log(
            logging.INFO if gone else logging.DEBUG,
            "No longer the coordinator of %d group(s) of %s-%d",
            len(gone),
            OFFSETS_TOPIC,
            p,
        )

    async def _read_partition(self, p: int) -> list[Record] | None:
        plog = self._state.partition(OFFSETS_TOPIC, p)
        if plog is None or self._coordinator is None:
            return None
        records: list[Record] = []
        offset, end = plog.log_start_offset, plog.log_end_offset
        while offset < end:
            try:
                data = await self.read_off_loop(plog.read, offset, LOAD_CHUNK_BYTES)
            except OffsetOutOfRange:  # retention or truncation moved the start: read again
                records, offset = [], plog.log_start_offset
                continue
            if not data:
                break
            try:
                # transactional offsets count once their commit is written (txn.group_offsets)
                for at, key, value in decode_batches(data, transactional=False):
                    if at < offset or at >= end:
                        continue
                    record = decode(key, value)
                    if record is not None:
                        records.append(record)
                offset = max(h.next_offset for h in iter_batches(data))
            except (InvalidRecordBatchError, OffsetsRecordError, ValueError) as exc:
                log.error(
                    "Could not read %s-%d at offset %d (%s); the groups of this partition "
                    "cannot be served by this broker",
                    OFFSETS_TOPIC,
                    p,
                    offset,
                    exc,
                )
                return None
        if any(r.get("t") in SHARE_KINDS for r in records):
            await share_coordinator(self._state)  # replayed into once the partition is loaded
        return records

    def _share(self) -> ShareCoordinator | None:
        found = self._state.extensions.get(SHARE_KEY)
        return found if isinstance(found, ShareCoordinator) else None

    async def _partition_loaded(self, p: int, epoch: int, records: list[Record]) -> None:
        coord = self._coordinator
        assert coord is not None  # checked before reading
        shared = [r for r in records if r.get("t") in SHARE_KINDS]
        count, groups = coord.load(r for r in records if r.get("t") not in SHARE_KINDS)
        coord.start_consumer_sessions(groups)
        share = self._share()
        if share is not None:
            # members keep their epochs; each session starts now, as consumer groups' do
            now = self._state.now_ms()
            for r in shared:
                timeout = share.settings(str(r.get("g"))).limits.session_timeout_ms
                replay_share(share.groups, r, now + timeout)
            groups |= {str(r.get("g")) for r in shared} & set(share.groups.groups)
            if shared:
                # imported here: that module imports this one
                from .share_membership import watch_sessions

                watch_sessions(self._state, share)
        log.log(
            logging.INFO if count else logging.DEBUG,
            "Coordinator of %d group(s) of %s-%d (leader epoch %d, %d records)",
            len(groups),
            OFFSETS_TOPIC,
            p,
            epoch,
            count,
        )

    # -- appends ----------------------------------------------------------------------------
    def append(
        self, partition: int, records: Sequence[KeyValue], on_committed: Callable[[], None]
    ) -> asyncio.Future[GroupError] | None:
        """Append to the leader's log as Kafka's coordinator does (acks=1: min.insync.replicas
        is not asked); a future of the answer owed to the client once the high watermark
        covers the records or offsets.commit.timeout.ms passes, and ``on_committed`` called
        when it covers them, even after the timeout. None when this broker does not
        coordinate the partition, or the append failed (the groups are read back then)."""
        epoch = self.leader_epoch(partition)
        plog = self._state.partition(OFFSETS_TOPIC, partition)
        if epoch is None or not self.loaded_at(partition, epoch) or plog is None or not records:
            return None
        now = self._state.now_ms()
        try:
            plog.append(encode_batch(records, now), now_ms=now, leader_epoch=epoch)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error("Could not append group state to %s-%d: %s", OFFSETS_TOPIC, partition, exc)
            # what the operation changed in memory is not in the log: read the log back
            asyncio.get_running_loop().call_soon(self.reload, partition, epoch)
            return None
        self._state.replicas.appended(OFFSETS_TOPIC, partition, plog)
        self._state.notify((OFFSETS_TOPIC, partition))
        answer: asyncio.Future[GroupError] = asyncio.get_running_loop().create_future()
        self._state.spawn(
            self._committed(partition, epoch, plog.log_end_offset, answer, on_committed),
            name=f"group-commit-{partition}",
        )
        return answer

    async def _committed(
        self,
        partition: int,
        epoch: int,
        required: int,
        answer: asyncio.Future[GroupError],
        on_committed: Callable[[], None],
    ) -> None:
        replicas = self._state.replicas
        timeout_ms = self._commit_timeout_ms
        while True:
            code = await replicas.wait_replicated(OFFSETS_TOPIC, partition, required, timeout_ms)
            if code in _COVERED:
                if not answer.done():
                    answer.set_result(GroupError.NONE)
                on_committed()
                return
            if code != ErrorCode.request_timed_out or not self.loaded_at(partition, epoch):
                # leadership moved: the groups are unloaded and the next leader reads the log
                if not answer.done():
                    answer.set_result(GroupError.NOT_COORDINATOR)
                return
            if not answer.done():
                # Kafka's answer to a write its high watermark did not reach in time; the
                # records stay in the log and count once the high watermark reaches them
                log.info(
                    "Group state in %s-%d not replicated within offsets.commit.timeout.ms",
                    OFFSETS_TOPIC,
                    partition,
                )
                answer.set_result(GroupError.COORDINATOR_NOT_AVAILABLE)
            timeout_ms = LATE_COMMIT_POLL_MS


def group_runtime(state: BrokerState) -> GroupRuntime | None:
    """The broker's GroupRuntime; None on a single node (or before groups are first used)."""
    found = state.extensions.get(RUNTIME_KEY)
    return found if isinstance(found, GroupRuntime) else None


# the high watermark covers the records (an ISR that shrank below min.insync.replicas after
# it did is for acks=all producers, not for the coordinator's acks=1 writes)
_COVERED = (ErrorCode.none, ErrorCode.not_enough_replicas_after_append)

# the partition's state as a group coordinator's answer
_GROUP_ERRORS = {
    ErrorCode.none: GroupError.NONE,
    ErrorCode.not_coordinator: GroupError.NOT_COORDINATOR,
    ErrorCode.coordinator_load_in_progress: GroupError.COORDINATOR_LOAD_IN_PROGRESS,
}
