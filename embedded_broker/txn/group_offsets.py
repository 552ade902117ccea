"""Transactional offsets on a local-cluster broker's group coordinator (Kafka's pending
transactional offset commits): TxnOffsetCommit appends them to the group's __consumer_offsets
partition as a transactional batch of the producer (answered once replicated) and keeps them
here, per producer id; the transaction's marker for that partition, written by the transaction
coordinator (directly or over WriteTxnMarkers), stores them as plain offset records on commit
or drops them on abort, then is appended itself. A broker that comes to lead the partition
reads back the transactional offsets no marker has ended yet (the group loader skips them),
so they survive the old coordinator being killed."""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Callable
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator.group import CommittedOffset
from embedded_broker.coordinator.messages import OffsetCommitEntry
from embedded_broker.coordinator.offsets_topic import (
    OFFSETS_TOPIC,
    OffsetsRecordError,
    decode,
    encode,
    partition_for,
)
from embedded_broker.coordinator.records import offset_record
from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol.control_batch import Marker, MarkerType
from embedded_broker.protocol.keyed_batch import decode_batches, encode_batch
from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import OffsetOutOfRange, StorageError

from .partition import write_marker

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

EXTENSION_KEY = "pending_txn_offsets"
GroupOffsets = dict[str, dict[tuple[str, int], OffsetCommitEntry]]


class PendingTxnOffsets:
    """Offsets of open transactions, by producer id, then group, then partition."""

    def __init__(self) -> None:
        self._by_producer: dict[int, GroupOffsets] = {}

    def add(self, producer_id: int, group_id: str, entries: list[OffsetCommitEntry]) -> None:
        group = self._by_producer.setdefault(producer_id, {}).setdefault(group_id, {})
        for e in entries:
            group[(e.topic, e.partition)] = e

    def partitions(self, group_id: str) -> frozenset[tuple[str, int]]:
        """The group's partitions with offsets waiting for a transaction's end
        (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT for them)."""
        found: set[tuple[str, int]] = set()
        for groups in self._by_producer.values():
            found.update(groups.get(group_id, {}))
        return frozenset(found)

    def take(self, producer_id: int, groups_of: set[str] | None = None) -> GroupOffsets:
        """Remove and return a producer's offsets (only of ``groups_of`` when given)."""
        groups = self._by_producer.get(producer_id, {})
        taken = {g: o for g, o in groups.items() if groups_of is None or g in groups_of}
        for g in taken:
            del groups[g]
        if not groups:
            self._by_producer.pop(producer_id, None)
        return taken

    def groups(self, producer_id: int) -> set[str]:
        return set(self._by_producer.get(producer_id, {}))

    def put_back(self, producer_id: int, taken: GroupOffsets) -> None:
        for group_id, offsets in taken.items():
            self.add(producer_id, group_id, list(offsets.values()))

    def add_missing(
        self, producer_id: int, group_id: str, entries: list[OffsetCommitEntry]
    ) -> None:
        """Add the entries the store does not hold yet (newer live ones win)."""
        group = self._by_producer.setdefault(producer_id, {}).setdefault(group_id, {})
        for e in entries:
            group.setdefault((e.topic, e.partition), e)

    def drop(self, in_partition: Callable[[str], bool]) -> None:
        """Forget the offsets of the groups ``in_partition`` selects (leadership moved)."""
        for producer_id in list(self._by_producer):
            self.take(producer_id, {g for g in self.groups(producer_id) if in_partition(g)})


def pending(state: BrokerState) -> PendingTxnOffsets:
    store = state.extensions.get(EXTENSION_KEY)
    if not isinstance(store, PendingTxnOffsets):
        store = state.extensions[EXTENSION_KEY] = PendingTxnOffsets()
    return store


async def complete_offsets(state: BrokerState, index: int, marker: Marker) -> ErrorCode:
    """The marker of a transaction for __consumer_offsets-``index``, on its leader: store the
    producer's offsets of the groups of that partition (commit) or drop them (abort)."""
    from embedded_broker.handlers.groups import _written, coordinator

    part = state.replicas.get(OFFSETS_TOPIC, index)
    if part is None or not part.leader:
        return ErrorCode.not_leader_or_follower
    coord = await coordinator(state)
    await loaded(state, index)
    store = pending(state)
    runtime_partition = _partition_of(state)
    mine = {g for g in store.groups(marker.producer_id) if runtime_partition(g) == index}
    taken = store.take(marker.producer_id, mine)
    if marker.kind is MarkerType.COMMIT and taken:
        mark = coord.journal.mark()
        for group_id, offsets in taken.items():
            coord.commit_transactional_offsets(group_id, offsets.values())
        if not await _written(coord, mark):
            store.put_back(marker.producer_id, taken)  # the coordinator sends the marker again
            log.info("Transactional offsets in %s-%d not written; kept", OFFSETS_TOPIC, index)
            return ErrorCode.not_enough_replicas
    # the marker itself ends the transactional batches for whoever reads the partition back
    code, _ = await write_marker(state, OFFSETS_TOPIC, index, marker)
    if code != ErrorCode.none:
        store.put_back(marker.producer_id, taken)
        return code
    plog = state.partition(OFFSETS_TOPIC, index)
    if plog is None:
        return ErrorCode.not_leader_or_follower
    timeout_ms = state.config.get_int("offsets.commit.timeout.ms")
    code = await state.replicas.wait_replicated(
        OFFSETS_TOPIC, index, plog.log_end_offset, timeout_ms
    )
    if code not in (ErrorCode.none, ErrorCode.not_enough_replicas_after_append):
        return ErrorCode.not_enough_replicas  # sent again; the offsets are stored already
    return ErrorCode.none


def _partition_of(state: BrokerState) -> Callable[[str], int]:
    partitions = state.config.get_int("offsets.topic.num.partitions")
    return lambda group_id: partition_for(group_id, partitions)


# -- durable copies in __consumer_offsets ----------------------------------------------------

_CRC_OFFSET = 17
_PRODUCER_OFFSET = 43  # producer id (int64), epoch (int16), base sequence (int32)
_LOADING_KEY = "pending_txn_offsets_loading"
_FOLLOWING_KEY = "pending_txn_offsets_following"
_READ_CHUNK = 4 * 1024 * 1024
# Kafka's TxnOffsetCommit answers for append failures (GroupCoordinatorService)
_APPEND_ANSWERS = {
    ErrorCode.none: ErrorCode.none,
    ErrorCode.not_enough_replicas_after_append: ErrorCode.none,
    ErrorCode.not_leader_or_follower: ErrorCode.not_coordinator,
}


def transactional_batch(
    records: list[tuple[bytes, bytes | None]], producer: tuple[int, int], now: int
) -> bytes:
    """A keyed batch stamped with the producer and the transactional bit."""
    raw = bytearray(encode_batch(records, now))
    struct.pack_into(">qhi", raw, _PRODUCER_OFFSET, producer[0], producer[1], -1)
    raw[rb.ATTRIBUTES_OFFSET + 1] |= rb.TRANSACTIONAL_BIT
    struct.pack_into(">I", raw, _CRC_OFFSET, rb.compute_crc(raw))
    return bytes(raw)


async def append_pending(
    state: BrokerState, producer: tuple[int, int], group_id: str, entries: list[OffsetCommitEntry]
) -> ErrorCode:
    """TxnOffsetCommit on the group's coordinator: the offsets written to the group's
    partition as a transactional batch and kept pending until the transaction's marker."""
    index = _partition_of(state)(group_id)
    part = state.replicas.get(OFFSETS_TOPIC, index)
    plog = state.partition(OFFSETS_TOPIC, index)
    if part is None or not part.leader or plog is None:
        return ErrorCode.not_coordinator
    await loaded(state, index)
    now = state.now_ms()
    records = [
        encode(
            offset_record(
                group_id,
                e.topic,
                e.partition,
                CommittedOffset(e.offset, e.leader_epoch, e.metadata, now),
            )
        )
        for e in entries
    ]
    try:
        plog.append(
            transactional_batch(records, producer, now),
            now_ms=now,
            leader_epoch=state.replicas.leader_epoch(OFFSETS_TOPIC, index),
        )
    except (StorageError, OSError) as exc:
        log.warning("Cannot write transactional offsets to %s-%d: %s", OFFSETS_TOPIC, index, exc)
        return ErrorCode.coordinator_not_available
    state.replicas.appended(OFFSETS_TOPIC, index, plog)
    state.notify((OFFSETS_TOPIC, index))
    pending(state).add(producer[0], group_id, entries)
    timeout_ms = state.config.get_int("offsets.commit.timeout.ms")
    code = await state.replicas.wait_replicated(
        OFFSETS_TOPIC, index, plog.log_end_offset, timeout_ms
    )
    return _APPEND_ANSWERS.get(code, ErrorCode.coordinator_not_available)


async def loaded(state: BrokerState, index: int) -> None:
    """Wait until the pending offsets of __consumer_offsets-``index`` were read back (at once
    unless this broker just came to lead it)."""
    follow(state)
    task = _loading(state).get(index)
    if task is not None:
        await asyncio.shield(task[1])


def _loading(state: BrokerState) -> dict[int, tuple[int, asyncio.Task[None]]]:
    found = state.extensions.get(_LOADING_KEY)
    if not isinstance(found, dict):
        found = state.extensions[_LOADING_KEY] = {}
    return found


def follow(state: BrokerState) -> None:
    """Read back every led partition once per leader epoch (from the first use on)."""
    if state.extensions.get(_FOLLOWING_KEY):
        return
    state.extensions[_FOLLOWING_KEY] = True

    def changed(topic: str, index: int) -> None:
        if topic == OFFSETS_TOPIC:
            _sync(state, index)

    state.replicas.on_state_change(changed)
    for index in range(state.config.get_int("offsets.topic.num.partitions")):
        _sync(state, index)


def _sync(state: BrokerState, index: int) -> None:
    part = state.replicas.get(OFFSETS_TOPIC, index)
    loading = _loading(state)
    if part is None or not part.leader:
        if loading.pop(index, None) is not None:
            of = _partition_of(state)
            pending(state).drop(lambda g: of(g) == index)
        return
    epoch = part.state.leader_epoch
    current = loading.get(index)
    if current is not None and current[0] == epoch:
        return
    loading[index] = (epoch, state.spawn(_read_back(state, index), f"txn-offsets-load-{index}"))


async def _read_back(state: BrokerState, index: int) -> None:
    plog = state.partition(OFFSETS_TOPIC, index)
    if plog is None:
        return
    found: dict[int, GroupOffsets] = {}
    offset = plog.log_start_offset
    end = plog.log_end_offset
    while offset < end:
        try:
            data = await state.run_storage(plog.read, offset, _READ_CHUNK)
        except (OffsetOutOfRange, StorageError, OSError) as exc:
            log.warning(
                "Cannot read back transactional offsets of %s-%d: %s", OFFSETS_TOPIC, index, exc
            )
            return
        if not data:
            break
        for header in iter_batches(data):
            if header.base_offset < offset or not header.is_transactional:
                continue
            if header.is_control:
                found.pop(header.producer_id, None)  # its transaction ended here
                continue
            batch = data[header.position : header.position + header.batch_length + rb.LOG_OVERHEAD]
            for _, key, value in decode_batches(batch):
                try:
                    record = decode(key, value)
                except OffsetsRecordError as exc:
                    log.warning("Skipping a transactional offset record: %s", exc)
                    continue
                if record is None or record.get("t") != "offset":
                    continue
                entry = OffsetCommitEntry(
                    str(record["tp"]),
                    int(record["p"]),
                    int(record["o"]),
                    int(record["e"]),
                    record.get("m"),
                )
                group = found.setdefault(header.producer_id, {}).setdefault(str(record["g"]), {})
                group[(entry.topic, entry.partition)] = entry
        offset = max([offset, *(h.next_offset for h in iter_batches(data))])
    store = pending(state)
    for producer_id, groups in found.items():
        for group_id, offsets in groups.items():
            store.add_missing(producer_id, group_id, list(offsets.values()))
    if found:
        log.info(
            "Read back the transactional offsets of %d open transaction(s) in %s-%d",
            len(found),
            OFFSETS_TOPIC,
            index,
        )
