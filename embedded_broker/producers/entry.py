"""One partition's producer table: per producer id the epoch and its last five batches.

Modelled on Kafka's ProducerStateEntry / ProducerAppendInfo: a client batch is checked against
the table (duplicate of a cached batch, epoch fencing, sequence continuity) before it is
appended, and the table is updated only after the append succeeded. The same ``replay`` path
rebuilds the table from batch headers read back from the log.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.record_batch import BatchHeader

MAX_CACHED_BATCHES = 5  # Kafka's NUM_BATCHES_TO_RETAIN, and the clients' max in-flight
NO_EPOCH = -1
_SEQ_MODULO = 2**31  # sequences wrap from Integer.MAX_VALUE to 0


def last_sequence(base_sequence: int, last_offset_delta: int) -> int:
    return (base_sequence + last_offset_delta) % _SEQ_MODULO


@dataclass(frozen=True, slots=True)
class BatchMetadata:
    """Where one appended batch landed; ``timestamp`` is its maxTimestamp as stored."""

    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int


@dataclass(slots=True)
class ProducerEntry:
    epoch: int
    last_timestamp: int
    batches: deque[BatchMetadata] = field(default_factory=lambda: deque(maxlen=MAX_CACHED_BATCHES))
    # offset of the first batch of the producer's open transaction in this partition (-1: none),
    # Kafka's currentTxnFirstOffset: the last stable offset cannot pass it
    txn_first_offset: int = -1
    # the coordinator epoch of the last marker written here (Kafka's coordinatorEpoch): a
    # marker from an older coordinator is refused; kept in snapshots and read back from the
    # markers in the log, so a restart does not forget it
    coordinator_epoch: int = -1

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    def find(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.epoch:
            return None
        for cached in self.batches:
            if cached.first_seq == first_seq and cached.last_seq == last_seq:
                return cached
        return None

    def add(self, epoch: int, batch: BatchMetadata) -> None:
        if epoch != self.epoch:
            self.batches.clear()
            self.epoch = epoch
        self.batches.append(batch)
        self.last_timestamp = batch.timestamp


@dataclass(frozen=True, slots=True)
class AppendCheck:
    """The verdict on a produce: an error, a duplicate to acknowledge, or go ahead."""

    error: ErrorCode = ErrorCode.none
    message: str | None = None
    duplicate: BatchMetadata | None = None


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == _SEQ_MODULO - 1)


class PartitionProducers:
    """The producer table of one partition. Not thread-safe: used on the broker's loop only
    (the loader builds one in a worker thread before handing it over)."""

    def __init__(self) -> None:
        self.entries: dict[int, ProducerEntry] = {}
        self.version = 0  # bumped on every change, so snapshots are taken only when needed

    def __len__(self) -> int:
        return len(self.entries)

    def check(self, headers: Iterable[BatchHeader], partition: str) -> AppendCheck:
        """Validate client batches in order, as Kafka's analyzeAndValidateProducerState does."""
        staged: dict[int, tuple[int, int]] = {}  # producer id -> (epoch, last seq) so far
        for h in headers:
            pid = h.producer_id
            if pid < 0:
                continue
            entry = self.entries.get(pid)
            last = last_sequence(h.base_sequence, h.last_offset_delta)
            if entry is not None:
                duplicate = entry.find(h.producer_epoch, h.base_sequence, last)
                if duplicate is not None:
                    return AppendCheck(duplicate=duplicate)
            epoch, last_seq = staged.get(
                pid, (entry.epoch, entry.last_seq) if entry is not None else (NO_EPOCH, -1)
            )
            if h.producer_epoch < epoch:
                return AppendCheck(
                    ErrorCode.invalid_producer_epoch,
                    f"Epoch of producer {pid} in {partition} is {h.producer_epoch}, which is "
                    f"smaller than the last seen epoch {epoch}",
                )
            if h.producer_epoch != epoch:
                # a new epoch starts at sequence 0; an unknown producer (never seen, expired or
                # deleted with its data) may continue at any sequence, as in Kafka since KIP-360
                if h.base_sequence != 0 and epoch != NO_EPOCH:
                    return AppendCheck(
                        ErrorCode.out_of_order_sequence_number,
                        f"Invalid sequence number for new epoch of producer {pid} in "
                        f"{partition}: {h.producer_epoch} (request epoch), {h.base_sequence} "
                        f"(seq. number), {epoch} (current producer epoch)",
                    )
            elif entry is not None and not _in_sequence(last_seq, h.base_sequence):
                return AppendCheck(
                    ErrorCode.out_of_order_sequence_number,
                    f"Out of order sequence number for producer {pid} in {partition}: "
                    f"{h.base_sequence} (incoming seq. number), {last_seq} (current end "
                    "sequence number)",
                )
            staged[pid] = (h.producer_epoch, last)
        return AppendCheck()

    def append(self, headers: Iterable[BatchHeader], base_offset: int, append_time: int) -> None:
        """Record client batches just appended from ``base_offset`` (consecutive offsets).

        ``append_time`` is the LogAppendTime stamped on them, or -1 under CreateTime.
        """
        offset = base_offset
        for h in headers:
            last_offset = offset + h.last_offset_delta
            if h.producer_id >= 0 and not h.is_control:
                timestamp = append_time if append_time >= 0 else h.max_timestamp
                self._add(h, offset, last_offset, timestamp)
            offset = last_offset + 1

    def replay(self, header: BatchHeader, coordinator_epoch: int = -1) -> int:
        """Apply one batch read back from the log (already validated when it was appended);
        ``coordinator_epoch`` is the one a transaction marker's record carries.

        For a transaction marker returns the first offset of the transaction it ends (-1 if
        none was open here), as :meth:`end_txn`."""
        if header.producer_id < 0:
            return -1
        if header.is_control:
            return self.end_txn(
                header.producer_id, header.producer_epoch, header.max_timestamp, coordinator_epoch
            )
        self._add(header, header.base_offset, header.last_offset, header.max_timestamp)
        return -1

    def end_txn(
        self, producer_id: int, producer_epoch: int, timestamp: int, coordinator_epoch: int = -1
    ) -> int:
        """A commit or abort marker of ``producer_id`` was appended: its transaction here is
        over and the marker's epoch becomes the producer's (fencing older ones), as Kafka's
        appendEndTxnMarker. Returns the transaction's first offset, or -1 if none was open."""
        entry = self.entries.get(producer_id)
        if entry is None:
            entry = self.entries[producer_id] = ProducerEntry(producer_epoch, timestamp)
        if producer_epoch > entry.epoch:
            entry.batches.clear()
            entry.epoch = producer_epoch
        first, entry.txn_first_offset = entry.txn_first_offset, -1
        entry.coordinator_epoch = max(entry.coordinator_epoch, coordinator_epoch)
        entry.last_timestamp = max(entry.last_timestamp, timestamp)
        self.version += 1
        return first

    def first_unstable_offset(self) -> int | None:
        """The first offset of the oldest open transaction, or None if none is open."""
        open_firsts = [e.txn_first_offset for e in self.entries.values() if e.txn_first_offset >= 0]
        return min(open_firsts) if open_firsts else None

    def open_transactions(self) -> dict[int, int]:
        """Producer id -> first offset of its open transaction in this partition."""
        return {
            pid: e.txn_first_offset for pid, e in self.entries.items() if e.txn_first_offset >= 0
        }

    def _add(self, h: BatchHeader, first_offset: int, last_offset: int, timestamp: int) -> None:
        batch = BatchMetadata(
            h.base_sequence,
            last_sequence(h.base_sequence, h.last_offset_delta),
            first_offset,
            last_offset,
            timestamp,
        )
        entry = self.entries.get(h.producer_id)
        if entry is None:
            entry = self.entries[h.producer_id] = ProducerEntry(h.producer_epoch, timestamp)
        entry.add(h.producer_epoch, batch)
        if h.is_transactional and entry.txn_first_offset < 0:
            entry.txn_first_offset = first_offset
        self.version += 1

    def load(self, pid: int, entry: ProducerEntry) -> None:
        self.entries[pid] = entry
        self.version += 1

    def expire(self, now_ms: int, expiration_ms: int) -> int:
        """Drop producers idle for ``expiration_ms`` (by their last batch timestamp, as Kafka)."""
        # a producer with an open transaction stays until the coordinator ends it, as in Kafka
        doomed = [
            pid
            for pid, e in self.entries.items()
            if now_ms - e.last_timestamp >= expiration_ms and e.txn_first_offset < 0
        ]
        for pid in doomed:
            del self.entries[pid]
        if doomed:
            self.version += 1
        return len(doomed)

    def items(self) -> Iterator[tuple[int, ProducerEntry]]:
        return iter(self.entries.items())

    def copy_entries(self) -> list[tuple[int, ProducerEntry]]:
        """A frozen copy for a snapshot written off the loop."""
        return [
            (
                pid,
                ProducerEntry(
                    e.epoch,
                    e.last_timestamp,
                    deque(e.batches, MAX_CACHED_BATCHES),
                    e.txn_first_offset,
                    e.coordinator_epoch,
                ),
            )
            for pid, e in self.entries.items()
        ]
