"""The partition side of transactions: the last stable offset and the commit/abort markers.

A partition's open transactions live in its producer table (each producer's first offset of
its open transaction, Kafka's currentTxnFirstOffset); the last stable offset (LSO) is the
oldest of them, or the high watermark when none is open. Appending a marker closes the
producer's transaction there and, for an abort, adds an entry to the segment's
aborted-transactions index, as Kafka's Log.appendAsLeader with origin COORDINATOR.
"""

from __future__ import annotations

import logging

from kio.schema.errors import ErrorCode

from embedded_broker.producers.entry import ProducerEntry
from embedded_broker.protocol.control_batch import Marker, MarkerType, build_marker
from embedded_broker.state import BrokerState
from embedded_broker.storage import PartitionLog, StorageError
from embedded_broker.storage.txn_index import AbortedTxn

from .metadata import MAX_EPOCH
from .version import TV2

log = logging.getLogger(__name__)

# below the coordinator's WriteTxnMarkers request timeout (markers.REQUEST_TIMEOUT_S), so a
# leader whose followers lag answers REQUEST_TIMED_OUT, which the coordinator retries
MARKER_REPLICATION_TIMEOUT_MS = 8_000


async def last_stable_offset(state: BrokerState, topic: str, index: int, plog: PartitionLog) -> int:
    """The offset a read_committed consumer may read up to (loads the producer table once)."""
    high = state.replicas.high_watermark(topic, index, plog)
    await state.producers.load((topic, index))
    try:
        first = state.producers.table(topic, index, plog).first_unstable_offset()
    except (StorageError, OSError):
        return high
    return high if first is None else min(first, high)


async def write_marker(
    state: BrokerState, topic: str, index: int, marker: Marker
) -> tuple[ErrorCode, str | None]:
    """Append ``marker`` to topic-index and update its producer state (WriteTxnMarkers)."""
    plog = state.partition(topic, index)
    if plog is None:
        return ErrorCode.unknown_topic_or_partition, None
    code = state.replicas.leader_error(topic, index)
    if code != ErrorCode.none:
        return code, None
    await state.producers.load((topic, index))
    now = state.now_ms()
    try:
        table = state.producers.table(topic, index, plog)
        entry = table.entries.get(marker.producer_id)
        if entry is not None and _stale_epoch(marker, entry):
            # a marker of a fenced epoch (a coordinator retry after a newer one): Kafka refuses
            return ErrorCode.invalid_producer_epoch, (
                f"Marker epoch {marker.producer_epoch} of producer {marker.producer_id} is "
                f"{'not above' if marker.transaction_version >= TV2 else 'older than'} its "
                f"epoch {entry.epoch} in {topic}-{index} (TV{marker.transaction_version})"
            )
        if entry is not None and marker.coordinator_epoch < entry.coordinator_epoch:
            # a marker from a coordinator that has since been replaced (Kafka's
            # checkCoordinatorEpoch)
            return ErrorCode.transaction_coordinator_fenced, (
                f"Invalid coordinator epoch for producer {marker.producer_id} in "
                f"{topic}-{index}: {marker.coordinator_epoch} (zombie), "
                f"{entry.coordinator_epoch} (current)"
            )
        epoch = state.replicas.leader_epoch(topic, index)
        info = plog.append(build_marker(marker, now), now_ms=now, leader_epoch=epoch)
        first = table.end_txn(
            marker.producer_id, marker.producer_epoch, now, marker.coordinator_epoch
        )
        if marker.kind is MarkerType.ABORT and first >= 0:
            stable = table.first_unstable_offset()
            lso = info.last_offset + 1 if stable is None else stable
            plog.add_aborted_txn(AbortedTxn(marker.producer_id, first, info.last_offset, lso))
    except (StorageError, OSError) as exc:
        log.warning("Cannot write a transaction marker to %s-%d: %s", topic, index, exc)
        return ErrorCode.kafka_storage_error, str(exc)
    state.replicas.appended(topic, index, plog)
    state.notify((topic, index))
    # answered once the in-sync replicas have it (Kafka appends markers with acks=all): a
    # marker on the leader alone dies with it, and the follower elected in its place would
    # keep the transaction open for good while its coordinator counts it complete
    code = await state.replicas.wait_replicated(
        topic, index, info.last_offset + 1, MARKER_REPLICATION_TIMEOUT_MS
    )
    if code != ErrorCode.none:
        return code, (
            f"The transaction marker in {topic}-{index} has not reached the in-sync replicas "
            f"({code.name}); the coordinator sends it again"
        )
    return ErrorCode.none, None


def _stale_epoch(marker: Marker, entry: ProducerEntry) -> bool:
    """Whether the marker's producer epoch is fenced, as Kafka 4.3.1's checkProducerEpoch: a
    transactions-v2 coordinator bumps the epoch before it writes markers, so a TV2 marker must
    be above the partition's epoch, except a retry of the marker that already ended the
    transaction here (same epoch, nothing open, or the epoch at its maximum); older protocols
    write markers with the transaction's own epoch, so an equal one is taken."""
    if marker.transaction_version < TV2:
        return marker.producer_epoch < entry.epoch
    if marker.producer_epoch > entry.epoch:
        return False
    retry = marker.producer_epoch == entry.epoch and (
        entry.txn_first_offset < 0 or marker.producer_epoch == MAX_EPOCH
    )
    return not retry


def open_transactions(state: BrokerState, topic: str, index: int) -> dict[int, int]:
    """Producer id -> first offset of its open transaction (loaded tables only)."""
    plog = state.partition(topic, index)
    if plog is None:
        return {}
    try:
        return state.producers.table(topic, index, plog).open_transactions()
    except (StorageError, OSError):
        return {}
