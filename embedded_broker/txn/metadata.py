"""The transaction coordinator's in-memory state: one TxnMetadata per transactional id, changed
only by :func:`replay` of a ``__transaction_state`` value (the same path at load and live)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from embedded_broker.coordinator.txn_log import TxnLogValue
from embedded_broker.coordinator.txn_state import TxnEvent, TxnState, next_state

TRANSACTION_STATE_TOPIC = "__transaction_state"
CONSUMER_OFFSETS_TOPIC = "__consumer_offsets"
MAX_EPOCH = 32767  # Short.MAX_VALUE


def java_hash(text: str) -> int:
    """Java's String.hashCode (over UTF-16 code units), as a signed 32-bit int."""
    h = 0
    for unit_hi, unit_lo in _utf16_units(text):
        h = (31 * h + (unit_hi << 8 | unit_lo)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= 1 << 31 else h


def _utf16_units(text: str) -> list[tuple[int, int]]:
    raw = text.encode("utf-16-be")
    return [(raw[i], raw[i + 1]) for i in range(0, len(raw), 2)]


def partition_for(key: str, partitions: int) -> int:
    """Kafka's Utils.abs(key.hashCode()) % partitions (transactional ids and group ids)."""
    h = java_hash(key)
    return (0 if h == -(1 << 31) else abs(h)) % partitions


@dataclass(slots=True)
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState
    partitions: set[tuple[str, int]] = field(default_factory=set)
    last_update_ms: int = -1
    start_ms: int = -1
    previous_producer_id: int = -1
    # producer epoch of the last completed or fenced transaction (for a client's retry)
    last_producer_epoch: int = -1
    # transactions v2: the producer id the transaction moves to when its epochs ran out
    next_producer_id: int = -1
    # the client's transaction protocol (2: transactions v2), kept so a restarted coordinator
    # ends the transaction as its client expects
    client_transaction_version: int = 0

    def to_value(self) -> TxnLogValue:
        grouped: dict[str, list[int]] = {}
        for topic, index in sorted(self.partitions):
            grouped.setdefault(topic, []).append(index)
        return TxnLogValue(
            self.producer_id,
            self.producer_epoch,
            self.timeout_ms,
            self.state,
            grouped,
            self.last_update_ms,
            self.start_ms,
            previous_producer_id=self.previous_producer_id,
            next_producer_id=self.next_producer_id,
            client_transaction_version=self.client_transaction_version,
        )

    def after(self, event: TxnEvent, now_ms: int, **changes: Any) -> TxnLogValue:
        """The value this id would have after ``event`` (validated against the state table)."""
        state = next_state(self.state, event)
        return replace(self.to_value(), state=state, last_update_ms=now_ms, **changes)


def replay(
    metadata: dict[str, TxnMetadata], transactional_id: str, value: TxnLogValue | None
) -> None:
    """Apply one __transaction_state record (None: the id's tombstone)."""
    if value is None:
        metadata.pop(transactional_id, None)
        return
    old = metadata.get(transactional_id)
    partitions = {(t, i) for t, ids in value.partitions.items() for i in ids}
    meta = TxnMetadata(
        transactional_id,
        value.producer_id,
        value.producer_epoch,
        value.timeout_ms,
        value.state,
        partitions,
        value.last_update_ms,
        value.start_ms,
        value.previous_producer_id,
        next_producer_id=value.next_producer_id,
        client_transaction_version=value.client_transaction_version,
    )
    if old is not None:
        meta.last_producer_epoch = old.last_producer_epoch
        if old.producer_id == value.producer_id and old.producer_epoch != value.producer_epoch:
            meta.last_producer_epoch = old.producer_epoch
    metadata[transactional_id] = meta
