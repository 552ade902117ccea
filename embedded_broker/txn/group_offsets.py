"""Transactional offsets on a local-cluster broker's group coordinator (Kafka's pending
transactional offset commits): TxnOffsetCommit keeps them here, per producer id, and the
transaction's marker for the group's __consumer_offsets partition, written by the transaction
coordinator (directly or over WriteTxnMarkers), stores them in the replicated topic on commit
or drops them on abort. They are held in memory on the group's coordinator."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator.messages import OffsetCommitEntry
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC, partition_for
from embedded_broker.protocol.control_batch import Marker, MarkerType

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
    store = pending(state)
    runtime_partition = _partition_of(state)
    mine = {g for g in store.groups(marker.producer_id) if runtime_partition(g) == index}
    taken = store.take(marker.producer_id, mine)
    if marker.kind is MarkerType.ABORT or not taken:
        return ErrorCode.none
    mark = coord.journal.mark()
    for group_id, offsets in taken.items():
        coord.commit_transactional_offsets(group_id, offsets.values())
    if not await _written(coord, mark):
        store.put_back(marker.producer_id, taken)  # the coordinator sends the marker again
        log.info("Transactional offsets in %s-%d not written; kept", OFFSETS_TOPIC, index)
        return ErrorCode.not_enough_replicas
    return ErrorCode.none


def _partition_of(state: BrokerState) -> Callable[[str], int]:
    partitions = state.config.get_int("offsets.topic.num.partitions")
    return lambda group_id: partition_for(group_id, partitions)
