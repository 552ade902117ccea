"""The transaction coordinator of a single broker: its state is the compacted internal topic
``__transaction_state``; every change is a record appended there and then applied through the
same ``replay`` the load uses (Kafka's TransactionCoordinator + TransactionStateManager).

Markers are written by this broker directly (it leads every partition on a single node), so
EndTxn returns once every partition has its marker and the state is Complete*. Offsets of
TxnOffsetCommit wait here, per transactional id and group, until the commit marker.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.coordinator.messages import OffsetCommitEntry
from embedded_broker.coordinator.txn_log import (
    TxnLogError,
    TxnLogValue,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)
from embedded_broker.coordinator.txn_state import (
    IllegalTxnTransitionError,
    TxnEvent,
    TxnState,
    next_state,
)
from embedded_broker.protocol.control_batch import Marker, MarkerType
from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.state import BrokerState
from embedded_broker.storage import OffsetOutOfRange, PartitionLog, StorageError

from .leadership import TxnLeadership
from .log_batch import decode_records, encode_record
from .markers import DONE, RETRIABLE, write_markers
from .metadata import (
    CONSUMER_OFFSETS_TOPIC,
    MAX_EPOCH,
    TRANSACTION_STATE_TOPIC,
    TxnMetadata,
    partition_for,
    replay,
)
from .pending_file import PendingOffsetsFile, PendingTxn
from .version import TV2, tv2_enabled

log = logging.getLogger(__name__)

S = TxnState
E = TxnEvent
_PREPARING = (S.PREPARE_COMMIT, S.PREPARE_ABORT, S.PREPARE_EPOCH_FENCE)
_READ_CHUNK = 4 * 1024 * 1024
# how long EndTxn keeps sending markers to partitions without a leader before answering
# COORDINATOR_NOT_AVAILABLE (the markers are then sent on in the background)
MARKER_RETRY_S = 15.0
MARKER_BACKOFF_S = 0.2


@dataclass(frozen=True, slots=True)
class InitResult:
    error: ErrorCode
    producer_id: int = -1
    producer_epoch: int = -1


# EndTxn v5 answers with the producer id and epoch the client goes on with
EndResult = InitResult


def log_record_version(value: TxnLogValue) -> int:
    """TransactionLogValue version 1 (flexible, with the tagged fields transactions v2 needs)
    for a transactions v2 transaction; version 0 otherwise, as before."""
    v2 = value.client_transaction_version >= TV2 or value.next_producer_id != -1
    return 1 if v2 else 0


def read_state_log(plog: PartitionLog) -> list[tuple[str, TxnLogValue | None]]:
    """Every (transactional id, value) of one __transaction_state partition, in log order
    (blocking: runs on a worker thread at load)."""
    out: list[tuple[str, TxnLogValue | None]] = []
    offset = plog.log_start_offset
    while True:
        try:
            data = plog.read(offset, _READ_CHUNK)
        except OffsetOutOfRange:
            return out
        if not data:
            return out
        before = offset
        for record_offset, key, value in decode_records(data):
            if record_offset < offset:
                continue
            try:
                out.append((decode_key(key), decode_value(value)))
            except TxnLogError as exc:
                log.warning("Skipping a damaged __transaction_state record: %s", exc)
        for_next = _next_offset(data)
        offset = max(offset, for_next)
        if offset == before:
            return out


def _next_offset(data: bytes) -> int:
    last = -1
    for header in iter_batches(data):
        last = header.next_offset
    return last


class TransactionCoordinator:
    """Owns every transactional id of this broker. Lives on the broker's event loop."""

    def __init__(self, state: BrokerState, leadership: TxnLeadership | None = None) -> None:
        self.state = state
        # in a local cluster: the ids of the __transaction_state partitions this broker leads
        self.leadership = leadership
        self.metadata: dict[str, TxnMetadata] = {}
        self.pending: dict[str, PendingTxn] = {}
        # a single node's pending offsets survive a restart in a file (a cluster's wait on the
        # group coordinator, txn.group_offsets)
        data_dir = None if state.in_memory or state.data_dir is None else Path(state.data_dir)
        self._pending_file = PendingOffsetsFile(data_dir if leadership is None else None)
        self._locks: dict[str, asyncio.Lock] = {}
        self._retrying: set[str] = set()

    # -- configuration ----------------------------------------------------------------------
    def _setting(self, name: str) -> int:
        return self.state.config.get_int(name)

    @property
    def partitions(self) -> int:
        if self.leadership is not None:
            return self.leadership.partitions
        info = self.state.topics.get(TRANSACTION_STATE_TOPIC)
        if info is not None:
            return info.partitions
        return self._setting("transaction.state.log.num.partitions")

    def lock(self, transactional_id: str) -> asyncio.Lock:
        lock = self._locks.get(transactional_id)
        if lock is None:
            lock = self._locks[transactional_id] = asyncio.Lock()
        return lock

    def owner_error(self, transactional_id: str) -> ErrorCode:
        """NONE when this broker coordinates the id (always on a single node)."""
        if self.leadership is None:
            return ErrorCode.none
        return self.leadership.error(transactional_id)

    def coordinator_epoch(self, transactional_id: str) -> int:
        """The epoch markers carry: the leader epoch of the id's partition (0 on one node)."""
        if self.leadership is None:
            return 0
        epoch = self.leadership.leader_epoch(self.leadership.partition_of(transactional_id))
        return -1 if epoch is None else epoch

    # -- loading ----------------------------------------------------------------------------
    def attach_cluster(self) -> None:
        """Follow leadership of __transaction_state (a local-cluster broker)."""
        assert self.leadership is not None
        self.leadership.attach(self._partition_loaded, self._partition_unloaded)

    def _ids_of(self, index: int) -> list[str]:
        return [t for t in self.metadata if partition_for(t, self.partitions) == index]

    async def _partition_loaded(
        self, index: int, records: list[tuple[str, TxnLogValue | None]]
    ) -> None:
        """A partition this broker now leads was read: its ids replace any older copy, and
        what its last coordinator left prepared is completed."""
        self._partition_unloaded(index)
        for transactional_id, value in records:
            replay(self.metadata, transactional_id, value)
        for tid in self._ids_of(index):
            self.state.spawn(self._recover(self.metadata[tid]), name=f"txn-recover-{tid}")

    def _partition_unloaded(self, index: int) -> None:
        gone = self._ids_of(index)
        for tid in gone:
            self.metadata.pop(tid, None)
            self.pending.pop(tid, None)
        if gone:
            log.info("No longer the coordinator of %d transactional id(s)", len(gone))

    async def load(self) -> None:
        """Create __transaction_state if needed, replay it, then finish what a stop left."""
        state = self.state
        if TRANSACTION_STATE_TOPIC not in state.topics:
            configs = {
                "cleanup.policy": "compact",
                "segment.bytes": str(self._setting("transaction.state.log.segment.bytes")),
            }
            await state.create_topic_async(
                TRANSACTION_STATE_TOPIC,
                self._setting("transaction.state.log.num.partitions"),
                configs,
                internal=True,
            )
        for index in range(self.partitions):
            plog = state.partition(TRANSACTION_STATE_TOPIC, index)
            if plog is None:
                continue
            records = await asyncio.to_thread(read_state_log, plog)
            for transactional_id, value in records:
                replay(self.metadata, transactional_id, value)
        if self.metadata:
            log.info("Loaded %d transactional id(s)", len(self.metadata))
        for tid, saved in (await asyncio.to_thread(self._pending_file.load)).items():
            meta = self.metadata.get(tid)
            if (
                meta is not None
                and meta.state in (S.ONGOING, S.PREPARE_COMMIT)
                and (meta.producer_id, meta.producer_epoch)
                == (saved.producer_id, saved.producer_epoch)
            ):
                self.pending[tid] = saved
        for meta in list(self.metadata.values()):
            await self._recover(meta)

    async def _recover(self, meta: TxnMetadata) -> None:
        """A transaction the last run left half done completes as Kafka's would: prepared
        ones get their markers (with the offsets they had sent, kept on disk); open ones
        wait for their producer or their timeout."""
        tid = meta.transactional_id
        async with self.lock(tid):
            if self.metadata.get(tid) is not meta:
                return  # changed or unloaded meanwhile
            if meta.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
                await self._complete(tid)

    # -- writing ----------------------------------------------------------------------------
    async def _append(self, transactional_id: str, value: TxnLogValue | None) -> ErrorCode:
        """Append the record to the id's __transaction_state partition, then replay it (in a
        cluster, once the high watermark covers it)."""
        index = partition_for(transactional_id, self.partitions)
        if self.leadership is not None:
            payload = None if value is None else encode_value(value, log_record_version(value))
            batch = encode_record(encode_key(transactional_id), payload, self.state.now_ms())
            code = await self.leadership.append(index, batch)
            if code == ErrorCode.none:
                replay(self.metadata, transactional_id, value)
            return code
        plog = self.state.partition(TRANSACTION_STATE_TOPIC, index)
        if plog is None:
            return ErrorCode.coordinator_not_available
        now = self.state.now_ms()
        payload = None if value is None else encode_value(value, log_record_version(value))
        batch = encode_record(encode_key(transactional_id), payload, now)
        try:
            epoch = self.state.replicas.leader_epoch(TRANSACTION_STATE_TOPIC, index)
            plog.append(batch, now_ms=now, leader_epoch=epoch)
        except (StorageError, OSError) as exc:
            log.warning("Cannot write the state of transactional id %r: %s", transactional_id, exc)
            return ErrorCode.coordinator_not_available
        self.state.replicas.appended(TRANSACTION_STATE_TOPIC, index, plog)
        replay(self.metadata, transactional_id, value)
        return ErrorCode.none

    # -- InitProducerId ---------------------------------------------------------------------
    async def init_producer_id(
        self,
        transactional_id: str,
        timeout_ms: int,
        producer_id: int = -1,
        producer_epoch: int = -1,
    ) -> InitResult:
        owner = self.owner_error(transactional_id)
        if owner != ErrorCode.none:
            return InitResult(owner)
        if not 0 < timeout_ms <= self._setting("transaction.max.timeout.ms"):
            return InitResult(ErrorCode.invalid_transaction_timeout)
        async with self.lock(transactional_id):
            now = self.state.now_ms()
            meta = self.metadata.get(transactional_id)
            if meta is None or meta.state is S.DEAD:
                new_id = await self.state.producers.new_producer_id()
                value = TxnLogValue(new_id, 0, timeout_ms, S.EMPTY, {}, now, -1)
                code = await self._append(transactional_id, value)
                return InitResult(code, new_id, 0) if code == ErrorCode.none else InitResult(code)
            if producer_id >= 0 and (
                producer_id != meta.producer_id
                or producer_epoch not in (meta.producer_epoch, meta.last_producer_epoch)
            ):
                # KIP-360: a producer recovering with an id and epoch that are not the current
                # ones has been replaced by a newer instance
                return InitResult(ErrorCode.producer_fenced)
            if meta.state in _PREPARING:
                return InitResult(ErrorCode.concurrent_transactions)
            if meta.state is S.ONGOING:
                # a new instance fences the old one: its transaction is aborted first
                code = await self._fence_and_abort(meta, E.INIT_FENCES_ONGOING)
                if code != ErrorCode.none:
                    return InitResult(code)
                meta = self.metadata[transactional_id]
            new_id, epoch, previous = meta.producer_id, meta.producer_epoch + 1, -1
            if epoch >= MAX_EPOCH - 1:
                # the epochs of this id ran out: go on with a new producer id
                previous, new_id, epoch = meta.producer_id, await self._new_id(), 0
            value = meta.after(
                E.INIT_PRODUCER_ID,
                now,
                producer_id=new_id,
                producer_epoch=epoch,
                timeout_ms=timeout_ms,
                partitions={},
                start_ms=-1,
                previous_producer_id=previous,
            )
            code = await self._append(transactional_id, value)
            if code != ErrorCode.none:
                return InitResult(code)
            self.pending.pop(transactional_id, None)
            return InitResult(ErrorCode.none, new_id, epoch)

    async def _new_id(self) -> int:
        return await self.state.producers.new_producer_id()

    # -- checks shared by the transaction APIs ----------------------------------------------
    def _check_producer(
        self, transactional_id: str, producer_id: int, producer_epoch: int
    ) -> tuple[ErrorCode, TxnMetadata | None]:
        owner = self.owner_error(transactional_id)
        if owner != ErrorCode.none:
            return owner, None
        meta = self.metadata.get(transactional_id)
        if meta is None or meta.state is S.DEAD or meta.producer_id != producer_id:
            return ErrorCode.invalid_producer_id_mapping, None
        if producer_epoch != meta.producer_epoch:
            return ErrorCode.producer_fenced, meta
        return ErrorCode.none, meta

    # -- AddPartitionsToTxn / AddOffsetsToTxn -----------------------------------------------
    async def add_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[tuple[str, int]],
        client_version: int = 0,
    ) -> dict[tuple[str, int], ErrorCode]:
        """AddPartitionsToTxn; ``client_version`` 2 for transactions v2's implicit add (a
        partition leader's Produce v12, a group coordinator's TxnOffsetCommit v5)."""
        wanted = list(partitions)
        owner = self.owner_error(transactional_id)
        if owner != ErrorCode.none:
            return dict.fromkeys(wanted, owner)
        unknown = [tp for tp in wanted if tp[0] != CONSUMER_OFFSETS_TOPIC and not self._exists(*tp)]
        if unknown:
            return {
                tp: ErrorCode.unknown_topic_or_partition
                if tp in unknown
                else ErrorCode.operation_not_attempted
                for tp in wanted
            }
        async with self.lock(transactional_id):
            code, meta = self._check_producer(transactional_id, producer_id, producer_epoch)
            if code == ErrorCode.none:
                assert meta is not None
                code = await self._add(meta, wanted, E.ADD_PARTITIONS, client_version)
            return dict.fromkeys(wanted, code)

    def _exists(self, topic: str, index: int) -> bool:
        """Whether the partition exists: a cluster broker asks its metadata image (it may hold
        no replica of the partition), a single node its own logs."""
        link = cluster_link(self.state)
        if link is None:
            return self.state.partition(topic, index) is not None
        image_topic = link.image.topics.get(topic)
        return image_topic is not None and index in image_topic.partitions

    async def _add(
        self,
        meta: TxnMetadata,
        wanted: list[tuple[str, int]],
        event: TxnEvent,
        client_version: int = 0,
    ) -> ErrorCode:
        if meta.state in _PREPARING:
            return ErrorCode.concurrent_transactions
        if meta.state is S.ONGOING and set(wanted) <= meta.partitions:
            return ErrorCode.none  # nothing new: no write, as Kafka
        now = self.state.now_ms()
        merged: dict[str, list[int]] = {}
        for topic, index in sorted(meta.partitions | set(wanted)):
            merged.setdefault(topic, []).append(index)
        start = meta.start_ms if meta.state is S.ONGOING else now
        try:
            value = meta.after(
                event,
                now,
                partitions=merged,
                start_ms=start,
                client_transaction_version=client_version,
            )
        except IllegalTxnTransitionError:
            return ErrorCode.invalid_txn_state
        return await self._append(meta.transactional_id, value)

    def verify_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[tuple[str, int]],
    ) -> dict[tuple[str, int], ErrorCode]:
        """AddPartitionsToTxn v4 verify_only: is each partition in the open transaction?

        Kafka's answers: INVALID_PRODUCER_ID_MAPPING for an unknown id or another producer,
        PRODUCER_FENCED for another epoch, CONCURRENT_TRANSACTIONS while the transaction ends,
        TRANSACTION_ABORTABLE for a partition not in it (the partition leader translates)."""
        wanted = list(partitions)
        code, meta = self._check_producer(transactional_id, producer_id, producer_epoch)
        if code == ErrorCode.none and meta is not None and meta.state in _PREPARING:
            code = ErrorCode.concurrent_transactions
        if code != ErrorCode.none or meta is None:
            return dict.fromkeys(wanted, code)
        return {
            tp: ErrorCode.none if tp in meta.partitions else ErrorCode.transaction_abortable
            for tp in wanted
        }

    async def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> ErrorCode:
        offsets_partitions = self.state.config.get_int("offsets.topic.num.partitions")
        tp = (CONSUMER_OFFSETS_TOPIC, partition_for(group_id, offsets_partitions))
        async with self.lock(transactional_id):
            code, meta = self._check_producer(transactional_id, producer_id, producer_epoch)
            if code != ErrorCode.none:
                return code
            assert meta is not None
            return await self._add(meta, [tp], E.ADD_OFFSETS)

    # -- TxnOffsetCommit --------------------------------------------------------------------
    async def txn_offset_commit(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        group_id: str,
        entries: list[OffsetCommitEntry],
    ) -> ErrorCode:
        """Keep the offsets until the transaction ends (visible to the group only on commit)."""
        meta = self.metadata.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            return ErrorCode.invalid_producer_id_mapping
        if producer_epoch != meta.producer_epoch:
            return ErrorCode.invalid_producer_epoch
        offsets_partitions = self.state.config.get_int("offsets.topic.num.partitions")
        tp = (CONSUMER_OFFSETS_TOPIC, partition_for(group_id, offsets_partitions))
        if meta.state is not S.ONGOING or tp not in meta.partitions:
            return ErrorCode.invalid_txn_state
        pending = self.pending.get(transactional_id)
        if pending is None or (pending.producer_id, pending.producer_epoch) != (
            producer_id,
            producer_epoch,
        ):
            pending = self.pending[transactional_id] = PendingTxn(producer_id, producer_epoch)
        group = pending.offsets.setdefault(group_id, {})
        for e in entries:
            group[(e.topic, e.partition)] = e
        if not await self._pending_file.save(self.pending):
            return ErrorCode.coordinator_not_available  # not kept: the client sends it again
        return ErrorCode.none

    def pending_partitions(self, group_id: str) -> frozenset[tuple[str, int]]:
        """Partitions of ``group_id`` with transactional offsets not yet committed or aborted
        (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them)."""
        found: set[tuple[str, int]] = set()
        for pending in self.pending.values():
            found.update(pending.offsets.get(group_id, {}))
        return frozenset(found)

    # -- EndTxn -----------------------------------------------------------------------------
    async def end_txn(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> ErrorCode:
        async with self.lock(transactional_id):
            code, meta = self._check_producer(transactional_id, producer_id, producer_epoch)
            if code != ErrorCode.none:
                return code
            assert meta is not None
            wanted_done = S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT
            wanted_prepare = S.PREPARE_COMMIT if commit else S.PREPARE_ABORT
            if meta.state is wanted_done:
                return ErrorCode.none  # a retry of an EndTxn that completed
            if meta.state is wanted_prepare:
                return ErrorCode.concurrent_transactions
            if meta.state is not S.ONGOING:
                return ErrorCode.invalid_txn_state
            # an EndTxn below v5 ends a transactions-v1 transaction: its markers keep the
            # producer's epoch, so they are sent as TV0 whatever its partitions were added as
            # (Kafka takes the client's version from the EndTxn request)
            value = meta.after(
                E.END_COMMIT if commit else E.END_ABORT,
                self.state.now_ms(),
                client_transaction_version=0,
            )
            code = await self._append(transactional_id, value)
            if code != ErrorCode.none:
                return code
            return await self._complete(transactional_id)

    async def end_txn_v2(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> EndResult:
        """EndTxn v5 (transactions v2): every end bumps the producer epoch (a new producer id
        once the epochs run out) and answers the id and epoch the client goes on with. A retry
        is known by its epoch being one below the bumped one (Kafka's table: Empty takes only
        an abort, a Complete state repeats its own result and may start an empty abort)."""
        owner = self.owner_error(transactional_id)
        if owner != ErrorCode.none:
            return EndResult(owner)
        async with self.lock(transactional_id):
            meta = self.metadata.get(transactional_id)
            if meta is None or meta.state is S.DEAD:
                return EndResult(ErrorCode.invalid_producer_id_mapping)
            retry_on_overflow = (
                meta.previous_producer_id == producer_id
                and producer_epoch == MAX_EPOCH - 1
                and meta.producer_epoch == 0
            )
            if meta.producer_id != producer_id and not retry_on_overflow:
                return EndResult(ErrorCode.invalid_producer_id_mapping)
            retry_on_bump = meta.producer_id == producer_id and (
                meta.producer_epoch == producer_epoch + 1
            )
            is_retry = retry_on_bump or retry_on_overflow
            current = producer_epoch == meta.producer_epoch and not retry_on_overflow
            if meta.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
                valid = retry_on_bump
            elif meta.state in (S.COMPLETE_COMMIT, S.COMPLETE_ABORT):
                valid = is_retry or current
            else:
                valid = current
            if not valid:
                return EndResult(ErrorCode.producer_fenced)
            wanted_done = S.COMPLETE_COMMIT if commit else S.COMPLETE_ABORT
            wanted_prepare = S.PREPARE_COMMIT if commit else S.PREPARE_ABORT
            if meta.state is wanted_prepare:
                return EndResult(ErrorCode.concurrent_transactions)
            if meta.state is wanted_done and is_retry:
                return EndResult(ErrorCode.none, meta.producer_id, meta.producer_epoch)
            if meta.state is not S.ONGOING and (commit or is_retry or meta.state in _PREPARING):
                log.debug(
                    "Transaction %r is %s: EndTxn %s refused",
                    transactional_id,
                    meta.state.display_name,
                    "commit" if commit else "abort",
                )
                return EndResult(ErrorCode.invalid_txn_state)
            code = await self._prepare_end_v2(meta, commit)
            if code != ErrorCode.none:
                return EndResult(code)
            code = await self._complete(transactional_id)
            if code != ErrorCode.none:
                return EndResult(code)
            done = self.metadata[transactional_id]
            return EndResult(ErrorCode.none, done.producer_id, done.producer_epoch)

    async def _prepare_end_v2(self, meta: TxnMetadata, commit: bool) -> ErrorCode:
        """Write PrepareCommit/PrepareAbort with the epoch bumped (Kafka's prepareAbortOrCommit
        under transactions v2); the markers carry the bumped epoch. An abort with nothing
        added (from Empty or a Complete state) starts now."""
        now = self.state.now_ms()
        next_id = -1
        if meta.producer_epoch >= MAX_EPOCH - 1:
            next_id = await self._new_id()  # the epochs of this id ran out
        nothing_added = meta.state is not S.ONGOING
        value = meta.after(
            E.END_COMMIT if commit else E.END_ABORT,
            now,
            producer_epoch=meta.producer_epoch + 1,
            next_producer_id=next_id,
            start_ms=now if nothing_added else meta.start_ms,
            client_transaction_version=TV2,
        )
        return await self._append(meta.transactional_id, value)

    async def _fence_and_abort(self, meta: TxnMetadata, event: TxnEvent) -> ErrorCode:
        """Bump the epoch (fencing the producer) and abort its open transaction with the new
        epoch, as Kafka does on a timeout or a new instance's InitProducerId. The caller
        holds the id's lock."""
        fence = next_state(meta.state, event)
        next_state(fence, E.FENCED_ABORT)  # the table allows the way to PrepareAbort
        # under transactions v2 the abort bumps the fenced epoch once more (Kafka ends it with
        # the server's version), so the fenced client's epoch is not taken for a retry
        bump, extra = (2, {"client_transaction_version": TV2}) if tv2_enabled() else (1, {})
        value = meta.after(
            E.END_ABORT,
            self.state.now_ms(),
            producer_epoch=min(meta.producer_epoch + bump, MAX_EPOCH),
            **extra,
        )
        code = await self._append(meta.transactional_id, value)
        if code != ErrorCode.none:
            return code
        return await self._complete(meta.transactional_id)

    async def _complete(self, transactional_id: str) -> ErrorCode:
        """Write the markers of a prepared transaction and move it to Complete*; the group's
        pending offsets are stored on commit and dropped on abort. The caller holds the id's
        lock. Markers whose partition has no leader now are sent again for MARKER_RETRY_S,
        then in the background (the transaction stays prepared: no reader passes it)."""
        meta = self.metadata[transactional_id]
        commit = meta.state is S.PREPARE_COMMIT
        marker = Marker(
            MarkerType.COMMIT if commit else MarkerType.ABORT,
            meta.producer_id,
            meta.producer_epoch,
            self.coordinator_epoch(transactional_id),
            meta.client_transaction_version,
        )
        # a cluster's group coordinators hold their transactional offsets until the marker
        # reaches their __consumer_offsets partition; a single node's wait here (self.pending)
        remaining = {
            tp
            for tp in meta.partitions
            if self.leadership is not None or tp[0] != CONSUMER_OFFSETS_TOPIC
        }
        done = DONE
        if self.leadership is None:  # a single node's topic deleted meanwhile
            done = DONE | {ErrorCode.unknown_topic_or_partition}
        loop = asyncio.get_running_loop()
        deadline = loop.time() + MARKER_RETRY_S
        while remaining:
            results = await write_markers(self.state, marker, sorted(remaining))
            failed = {tp: code for tp, code in results.items() if code not in done}
            remaining = set(failed)
            if not failed:
                break
            lost = self.metadata.get(transactional_id) is not meta
            retriable = self.leadership is not None and set(failed.values()) <= RETRIABLE
            if lost or not retriable or loop.time() >= deadline:
                log.warning(
                    "Transaction %r: markers not written yet (%s); retrying later",
                    transactional_id,
                    ", ".join(f"{t}-{i} {c.name}" for (t, i), c in sorted(failed.items())),
                )
                if not lost:
                    self._retry_later(transactional_id)
                return ErrorCode.coordinator_not_available
            await asyncio.sleep(MARKER_BACKOFF_S)
        pending = self.pending.pop(transactional_id, None)
        if commit and pending is not None and pending.offsets:
            await self._store_offsets(pending)
        if pending is not None:
            await self._pending_file.save(self.pending)
        moves: dict[str, int] = {}
        if meta.next_producer_id != -1:
            # transactions v2 ran out of epochs: the producer goes on with its next id
            moves = {
                "producer_id": meta.next_producer_id,
                "producer_epoch": 0,
                "previous_producer_id": meta.producer_id,
                "next_producer_id": -1,
            }
        value = meta.after(E.MARKERS_WRITTEN, self.state.now_ms(), partitions={}, **moves)
        return await self._append(transactional_id, value)

    def _retry_later(self, transactional_id: str) -> None:
        """Keep sending a prepared transaction's markers in the background (Kafka's marker
        channel retries until the partition has a leader again)."""
        if transactional_id in self._retrying or self.leadership is None:
            return  # a single node leaves the retry to the sweep
        self._retrying.add(transactional_id)

        async def retry() -> None:
            try:
                await asyncio.sleep(MARKER_BACKOFF_S * 5)
                async with self.lock(transactional_id):
                    meta = self.metadata.get(transactional_id)
                    self._retrying.discard(transactional_id)
                    if meta is not None and meta.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
                        await self._complete(transactional_id)
            finally:
                self._retrying.discard(transactional_id)

        self.state.spawn(retry(), name=f"txn-markers-{transactional_id}")

    async def _store_offsets(self, pending: PendingTxn) -> None:
        from embedded_broker.handlers.groups import coordinator as group_coordinator

        groups = await group_coordinator(self.state)
        for group_id, offsets in pending.offsets.items():
            groups.commit_transactional_offsets(group_id, offsets.values())
        # on disk before the transaction counts as complete (its pending copy goes then)
        await asyncio.wrap_future(groups.journal.barrier())

    # -- timeouts and expiry ----------------------------------------------------------------
    async def abort_timed_out(self) -> int:
        """Abort every transaction open longer than its timeout; returns how many."""
        now = self.state.now_ms()
        count = 0
        for meta in list(self.metadata.values()):
            if meta.state is not S.ONGOING or now < meta.start_ms + meta.timeout_ms:
                continue
            async with self.lock(meta.transactional_id):
                current = self.metadata.get(meta.transactional_id)
                if current is None or current.state is not S.ONGOING:
                    continue
                log.info(
                    "Aborting the transaction of %r: open longer than its timeout of %d ms",
                    current.transactional_id,
                    current.timeout_ms,
                )
                if await self._fence_and_abort(current, E.TIMED_OUT) == ErrorCode.none:
                    count += 1
        for meta in list(self.metadata.values()):
            if meta.state in (S.PREPARE_COMMIT, S.PREPARE_ABORT):
                async with self.lock(meta.transactional_id):
                    if self.metadata[meta.transactional_id].state in (
                        S.PREPARE_COMMIT,
                        S.PREPARE_ABORT,
                    ):
                        await self._complete(meta.transactional_id)
        return count

    async def expire_ids(self) -> int:
        """Remove ids unused for transactional.id.expiration.ms (a tombstone each)."""
        now = self.state.now_ms()
        expiration = self._setting("transactional.id.expiration.ms")
        doomed = [
            m
            for m in self.metadata.values()
            if m.state.expiration_allowed and now - m.last_update_ms >= expiration
        ]
        count = 0
        for meta in doomed:
            next_state(meta.state, E.EXPIRED)
            async with self.lock(meta.transactional_id):
                if self.metadata.get(meta.transactional_id) is not meta:
                    continue  # used or unloaded meanwhile
                if await self._append(meta.transactional_id, None) != ErrorCode.none:
                    continue
            self.pending.pop(meta.transactional_id, None)
            self._locks.pop(meta.transactional_id, None)
            count += 1
        return count

    async def run_sweeps(self) -> None:
        """The periodic abort of timed-out transactions and expiry of idle ids."""
        abort_every = self._setting("transaction.abort.timed.out.transaction.cleanup.interval.ms")
        expire_every = self._setting("transaction.remove.expired.transaction.cleanup.interval.ms")
        loop = asyncio.get_running_loop()
        next_expiry = loop.time() + expire_every / 1000
        while True:
            await asyncio.sleep(abort_every / 1000)
            try:
                await self.abort_timed_out()
                if loop.time() >= next_expiry:
                    next_expiry = loop.time() + expire_every / 1000
                    expired = await self.expire_ids()
                    if expired:
                        log.info("Expired %d transactional id(s)", expired)
            except Exception:
                log.exception("The transaction coordinator's sweep failed")
