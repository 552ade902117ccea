"""A follower's fetcher: one asyncio task per leader broker, fetching all the partitions this
broker follows there in one Fetch (replica id = this broker's id), appending the leader's
batches unchanged, and cutting any divergent tail where the leader's diverging-epoch answer
(Fetch v12) or OffsetForLeaderEpoch says; after an OFFSET_OUT_OF_RANGE, where the leader's
log end and log start (ListOffsets) say."""

from __future__ import annotations

import asyncio
import datetime
import logging
import struct
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode
from kio.schema.fetch.v12 import request as fetch_req
from kio.schema.list_offsets.v7 import request as list_offsets_req
from kio.schema.offset_for_leader_epoch.v4 import request as ofle_req

from embedded_broker.protocol.record_batch import LOG_OVERHEAD, InvalidRecordBatchError
from embedded_broker.storage import StorageError

from .client import LeaderConnection

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

    from .manager import ReplicaManager
    from .partition import ReplicatedPartition

log = logging.getLogger(__name__)

Key = tuple[str, int]
_BATCH_HEAD = struct.Struct(">qii")  # base offset, batch length, partition leader epoch
_LAST_DELTA = struct.Struct(">i")  # at byte 23
CONNECT_TIMEOUT_S = 5.0
# ListOffsets' special timestamps; a replica's "latest" is the leader's log end offset
LATEST = -1
EARLIEST = -2
_WAIT_FOR_METADATA = (
    ErrorCode.not_leader_or_follower,
    ErrorCode.fenced_leader_epoch,
    ErrorCode.unknown_leader_epoch,
    ErrorCode.unknown_topic_or_partition,
)


def _new(cls: Any, **values: Any) -> Any:
    """A kio entity from plain ints and strings (its fields are typed with NewTypes)."""
    return cls(**values)


def whole_batches(records: bytes) -> list[tuple[int, int, int, int]]:
    """(position, size, base offset, leader epoch) of each whole batch in ``records``."""
    out = []
    at = 0
    while at + 17 <= len(records):
        base, length, epoch = _BATCH_HEAD.unpack_from(records, at)
        size = length + LOG_OVERHEAD
        if length <= 0 or at + size > len(records):
            break
        out.append((at, size, base, epoch))
        at += size
    return out


class FollowerFetcher:
    """Fetches the partitions this broker follows from one leader broker."""

    # Kafka's isTruncationOnFetchSupported: our leaders answer a Fetch v12 whose last fetched
    # epoch parted from their log with where it parted, so a follower with epochs fetches at
    # once; without that, it would ask OffsetForLeaderEpoch before its first fetch
    truncation_on_fetch = True

    def __init__(self, manager: ReplicaManager, state: BrokerState, leader: int) -> None:
        self._manager = manager
        self._state = state
        self.leader = leader
        # partitions fetched here; True while a divergent tail may still need cutting
        self.keys: dict[Key, bool] = {}
        # partitions the leader does not (yet) agree it leads, each left alone until then
        # (loop time) so the metadata can move on while the others are still fetched
        self._backing_off: dict[Key, float] = {}
        self._task: asyncio.Task[None] | None = None

    @property
    def done(self) -> bool:
        return self._task is None or self._task.done()

    def add(self, key: Key) -> None:
        part = self._manager.get(*key)
        # With epochs known, the first fetch carries the last one and the leader's
        # diverging-epoch answer (Fetch v12) says where to cut; without, cut back to the high
        # watermark first
        no_epochs = part is None or part.epochs.latest_epoch < 0
        self.keys[key] = no_epochs or not self.truncation_on_fetch
        self._backing_off.pop(key, None)  # a new state: ask the leader again at once
        if self._task is None or self._task.done():
            self._task = self._state.spawn(self._run(), name=f"fetcher-{self.leader}")

    def remove(self, key: Key) -> None:
        self.keys.pop(key, None)
        self._backing_off.pop(key, None)

    def stop(self) -> None:
        self.keys.clear()
        if self._task is not None:
            self._task.cancel()

    def _ms(self, name: str) -> int:
        return self._state.config.get_int(name)

    def _back_off(self, key: Key) -> None:
        delay = self._ms("replica.fetch.backoff.ms") / 1000
        self._backing_off[key] = asyncio.get_running_loop().time() + delay

    def _ready(self, key: Key) -> bool:
        until = self._backing_off.get(key)
        if until is None:
            return True
        if asyncio.get_running_loop().time() < until:
            return False
        del self._backing_off[key]
        return True

    async def _run(self) -> None:
        backoff = self._ms("replica.fetch.backoff.ms") / 1000
        while self.keys:
            address = self._manager.lookup(self.leader)
            if address is None:
                await asyncio.sleep(backoff)
                continue
            try:
                conn = await LeaderConnection.open(*address, timeout=CONNECT_TIMEOUT_S)
            except (OSError, TimeoutError) as exc:
                log.debug("Leader %d unreachable: %s", self.leader, exc)
                await asyncio.sleep(backoff)
                continue
            try:
                while self.keys:
                    await self._truncate(conn)
                    await self._fetch(conn)
            except (OSError, ConnectionError, asyncio.IncompleteReadError, TimeoutError) as exc:
                log.debug("Lost the connection to leader %d: %s", self.leader, exc)
                await asyncio.sleep(backoff)
            except Exception:  # a bad answer or a local disk error: keep the fetcher alive
                log.exception("Fetching from leader %d failed; retrying", self.leader)
                await asyncio.sleep(backoff)
            finally:
                await conn.close()

    def _followed(self, key: Key) -> ReplicatedPartition | None:
        part = self._manager.get(*key)
        if part is None or part.leader or part.state.leader != self.leader:
            self.keys.pop(key, None)
            return None
        return part

    async def _truncate(self, conn: LeaderConnection) -> None:
        """OffsetForLeaderEpoch for the partitions that just started following: cut the local
        log where it stops agreeing with the leader's epochs."""
        asks: dict[str, list[Any]] = {}
        for key, pending in list(self.keys.items()):
            part = self._followed(key)
            if not pending or part is None or not self._ready(key):
                continue
            latest = part.epochs.latest_epoch
            if latest < 0:
                await self._cut(key, part, part.hw)
                self.keys[key] = False
                continue
            asks.setdefault(key[0], []).append(
                _new(
                    ofle_req.OffsetForLeaderPartition,
                    partition=key[1],
                    current_leader_epoch=part.state.leader_epoch,
                    leader_epoch=latest,
                )
            )
        if not asks:
            return
        request = _new(
            ofle_req.OffsetForLeaderEpochRequest,
            replica_id=self._manager.node_id,
            topics=tuple(
                _new(ofle_req.OffsetForLeaderTopic, topic=topic, partitions=tuple(parts))
                for topic, parts in asks.items()
            ),
        )
        timeout = self._ms("replica.fetch.wait.max.ms") / 1000 + CONNECT_TIMEOUT_S
        response = await conn.request(request, timeout)
        for topic_result in response.topics:
            for answer in topic_result.partitions:
                key = (topic_result.topic, answer.partition)
                part = self._followed(key)
                if part is None or not self.keys.get(key):
                    continue
                if answer.error_code != ErrorCode.none:
                    self._back_off(key)
                    continue
                target, final = self._truncation_point(
                    key, part, answer.leader_epoch, answer.end_offset
                )
                await self._cut(key, part, target)
                # not final: ask again about the epoch the log ends with now
                self.keys[key] = not final

    def _truncation_point(
        self, key: Key, part: ReplicatedPartition, leader_epoch: int, end_offset: int
    ) -> tuple[int, bool]:
        """Where to cut for the leader's (epoch, end offset) answer, and whether that is the
        final point (Kafka's AbstractFetcherThread.getOffsetTruncationState)."""
        plog = self._state.partition(*key)
        leo = plog.log_end_offset if plog is not None else 0
        if end_offset < 0:
            return part.hw, True  # the leader knows none of our epochs: keep what was committed
        if leader_epoch < 0:
            return min(end_offset, leo), True
        local_epoch, local_end = part.epochs.end_offset_for(leader_epoch, leo)
        if local_end < 0:  # no epoch here at or below the leader's
            return min(end_offset, leo), True
        if local_epoch != leader_epoch:
            # the leader's epoch was never ours: its end offset says nothing about our log.
            # Cut to where our last epoch before it ends and ask the leader about that one.
            return min(local_end, leo), False
        return min(local_end, end_offset, leo), True

    async def _cut(
        self, key: Key, part: ReplicatedPartition, target: int, why: str = "OffsetForLeaderEpoch"
    ) -> None:
        plog = self._state.partition(*key)
        if plog is None:
            return
        if target < plog.log_start_offset:
            # below everything this log holds: start it again, empty, there (as Kafka's
            # truncateTo); cutting inside it would remove nothing, and the same answer would
            # come back at once, for ever
            log.info("Restarting %s-%d empty at %d (found by %s)", *key, target, why)
            await self._restart_at(key, part, target)
            return
        if target >= plog.log_end_offset:
            # nothing to cut, but an epoch may start at the log end with nothing written in it
            # (this broker led it without an append): forget it, as Kafka's truncateTo does,
            # or every fetch names it, the leader finds it unknown, and the follower never
            # fetches again
            part.epochs.truncate_from_end(plog.log_end_offset)
            return
        log.info(
            "Truncating %s-%d from %d to %d (a tail its leader %d does not have; found by %s)",
            *key,
            plog.log_end_offset,
            target,
            self.leader,
            why,
        )
        part.truncating = True
        try:
            end = await self._state.run_storage(plog.truncate_to, target)
        finally:
            part.truncating = False
        self._state.producers.forget_partition(*key)  # read again from the cut log
        self._manager.truncated(part, end)

    async def _fetch(self, conn: LeaderConnection) -> None:
        topics: dict[str, list[Any]] = {}
        max_bytes = self._ms("replica.fetch.max.bytes")
        for key, pending in list(self.keys.items()):
            part = self._followed(key)
            plog = self._state.partition(*key)
            if pending or part is None or plog is None or not self._ready(key):
                continue
            topics.setdefault(key[0], []).append(
                _new(
                    fetch_req.FetchPartition,
                    partition=key[1],
                    current_leader_epoch=part.state.leader_epoch,
                    fetch_offset=plog.log_end_offset,
                    last_fetched_epoch=part.epochs.latest_epoch,
                    log_start_offset=plog.log_start_offset,
                    partition_max_bytes=max_bytes,
                )
            )
        if not topics:
            await asyncio.sleep(self._ms("replica.fetch.backoff.ms") / 1000)
            return
        wait_ms = self._ms("replica.fetch.wait.max.ms")
        request = _new(
            fetch_req.FetchRequest,
            replica_id=self._manager.node_id,
            max_wait=datetime.timedelta(milliseconds=wait_ms),
            min_bytes=1,
            max_bytes=self._ms("replica.fetch.response.max.bytes"),
            topics=tuple(
                _new(fetch_req.FetchTopic, topic=topic, partitions=tuple(parts))
                for topic, parts in topics.items()
            ),
            forgotten_topics_data=(),
        )
        response = await conn.request(request, wait_ms / 1000 + CONNECT_TIMEOUT_S)
        failed = False
        for topic_data in response.responses:
            for data in topic_data.partitions:
                key = (topic_data.topic, data.partition_index)
                part = self._followed(key)
                if part is None or self.keys.get(key):
                    continue
                if data.error_code == ErrorCode.offset_out_of_range:
                    await self._out_of_range(conn, key, part)
                elif data.error_code in _WAIT_FOR_METADATA:
                    self._back_off(key)
                elif data.diverging_epoch.epoch >= 0 and data.diverging_epoch.end_offset >= 0:
                    epoch, end = data.diverging_epoch.epoch, data.diverging_epoch.end_offset
                    # (not final: the next fetch names the epoch the log ends with now, and
                    # the leader checks that one, as Kafka's truncation on fetch)
                    target, _ = self._truncation_point(key, part, epoch, end)
                    await self._cut(key, part, target, "the leader's diverging epoch")
                elif data.error_code != ErrorCode.none:
                    log.warning(
                        "Leader %d answered %s for %s-%d", self.leader, data.error_code.name, *key
                    )
                else:
                    records = data.records or b""
                    failed |= not self._append(key, part, records, data.high_watermark)
        if failed:  # a disk error here: do not spin on the same data
            await asyncio.sleep(self._ms("replica.fetch.backoff.ms") / 1000)

    async def _out_of_range(
        self, conn: LeaderConnection, key: Key, part: ReplicatedPartition
    ) -> None:
        """Kafka's follower after OFFSET_OUT_OF_RANGE (AbstractFetcherThread's
        fetchOffsetAndTruncate): past the leader's log end, cut to that end (not to the high
        watermark: what lies between is kept, not fetched again); below its log start,
        restart empty there; otherwise fetch on from where this log ends."""
        plog = self._state.partition(*key)
        if plog is None:
            return
        replica_end = plog.log_end_offset
        leader_end = await self._leader_offset(conn, key, part, LATEST)
        if leader_end is None or self._followed(key) is None:
            return  # (or the metadata moved the partition on meanwhile)
        if leader_end < replica_end:
            log.warning(
                "Resetting the fetch offset of %s-%d from %d to its leader %d's log end %d",
                *key,
                replica_end,
                self.leader,
                leader_end,
            )
            await self._cut(key, part, leader_end, "the leader's log end offset")
            return
        leader_start = await self._leader_offset(conn, key, part, EARLIEST)
        if leader_start is None or self._followed(key) is None:
            return
        if leader_start > replica_end:
            log.info("Restarting %s-%d at the leader's log start %d", *key, leader_start)
            await self._restart_at(key, part, leader_start)
        else:
            # inside the leader's log after all (it moved meanwhile): fetch again from this
            # log's end, after a pause, so a leader that keeps refusing it is not asked in a loop
            log.info("Fetching %s-%d again from its log end %d", *key, replica_end)
            self._back_off(key)

    async def _leader_offset(
        self, conn: LeaderConnection, key: Key, part: ReplicatedPartition, timestamp: int
    ) -> int | None:
        """The leader's log end (LATEST) or log start (EARLIEST) offset by ListOffsets as a
        replica; None (and a back-off) if the leader cannot say now."""
        request = _new(
            list_offsets_req.ListOffsetsRequest,
            replica_id=self._manager.node_id,
            isolation_level=0,
            topics=(
                _new(
                    list_offsets_req.ListOffsetsTopic,
                    name=key[0],
                    partitions=(
                        _new(
                            list_offsets_req.ListOffsetsPartition,
                            partition_index=key[1],
                            current_leader_epoch=part.state.leader_epoch,
                            timestamp=timestamp,
                        ),
                    ),
                ),
            ),
        )
        response = await conn.request(request, CONNECT_TIMEOUT_S)
        answer = response.topics[0].partitions[0]
        if answer.error_code != ErrorCode.none or answer.offset < 0:
            if answer.error_code not in _WAIT_FOR_METADATA:
                log.warning(
                    "Leader %d answered ListOffsets for %s-%d with %s",
                    self.leader,
                    *key,
                    answer.error_code.name,
                )
            self._back_off(key)
            return None
        return int(answer.offset)

    async def _restart_at(self, key: Key, part: ReplicatedPartition, offset: int) -> None:
        """Drop the whole local log and start it empty at ``offset``."""
        plog = self._state.partition(*key)
        if plog is None:
            return
        part.truncating = True
        try:
            await self._state.run_storage(plog.truncate_fully_and_start_at, offset)
        finally:
            part.truncating = False
        self._state.producers.forget_partition(*key)
        part.epochs.clear()
        part.hw = offset
        self._manager.truncated(part, offset)

    def _append(self, key: Key, part: ReplicatedPartition, records: bytes, leader_hw: int) -> bool:
        """Store what the leader sent; False if it could not be stored."""
        plog = self._state.partition(*key)
        if plog is None:
            return False
        batches = whole_batches(records)
        if batches:
            end = batches[-1][0] + batches[-1][1]
            if batches[0][2] < plog.log_end_offset:
                return True  # an answer to an older fetch offset: already have it
            try:
                chunk = records[:end]
                plog.append_replicated(chunk, now_ms=self._state.now_ms())
                self._state.producers.replicated(*key, plog, chunk)
            except (InvalidRecordBatchError, StorageError, OSError) as exc:
                log.error("Could not append replicated data to %s-%d: %s", *key, exc)
                return False
            for _, _, base, epoch in batches:
                if epoch > part.epochs.latest_epoch:
                    part.epochs.assign(epoch, base)
        part.hw = max(part.hw, min(leader_hw, plog.log_end_offset))
        return True
