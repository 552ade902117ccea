"""Which transactional ids a cluster broker coordinates: those whose __transaction_state
partition it leads (Kafka's TransactionStateManager with its coordinator epochs).

When the metadata makes this broker the leader of a partition, the partition is read back and
replayed into the coordinator (COORDINATOR_LOAD_IN_PROGRESS meanwhile), then transactions left
prepared are completed; when leadership moves away, the partition's ids are unloaded
(NOT_COORDINATOR from then on). A state change counts as written once the high watermark
covers it (acks=all), as Kafka appends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
from embedded_broker.replication.led_partitions import LedPartitions
from embedded_broker.storage import StorageError

from .metadata import TRANSACTION_STATE_TOPIC, partition_for

if TYPE_CHECKING:
    from embedded_broker.coordinator.txn_log import TxnLogValue
    from embedded_broker.state import BrokerState

log = logging.getLogger(__name__)

# Kafka appends state with the client's request timeout; a local cluster's ISR settles sooner
APPEND_TIMEOUT_MS = 10_000

Loaded = Callable[[int, list[tuple[str, "TxnLogValue | None"]]], Coroutine[Any, Any, None]]
Unloaded = Callable[[int], None]


class TxnLeadership(LedPartitions[list[tuple[str, "TxnLogValue | None"]]]):
    """Follows leadership of __transaction_state on one cluster broker."""

    def __init__(self, state: BrokerState) -> None:
        partitions = state.config.get_int("transaction.state.log.num.partitions")
        super().__init__(state, TRANSACTION_STATE_TOPIC, partitions, "load-transactions")
        self._on_loaded: Loaded | None = None
        self._on_unloaded: Unloaded | None = None

    def attach(self, on_loaded: Loaded, on_unloaded: Unloaded) -> None:
        """Start following leadership (partitions led already are loaded now)."""
        self._on_loaded, self._on_unloaded = on_loaded, on_unloaded
        self.follow()

    # -- what the coordinator asks ----------------------------------------------------------
    def partition_of(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.partitions)

    def error(self, transactional_id: str) -> ErrorCode:
        """NONE when this broker coordinates the id now; NOT_COORDINATOR when another broker
        leads its partition; COORDINATOR_LOAD_IN_PROGRESS while the partition is being read."""
        return self.partition_error(self.partition_of(transactional_id))

    # -- leadership -------------------------------------------------------------------------
    async def _read_partition(self, p: int) -> list[tuple[str, TxnLogValue | None]] | None:
        from .coordinator import read_state_log

        plog = self._state.partition(TRANSACTION_STATE_TOPIC, p)
        if plog is None or self._on_loaded is None:
            return None
        try:
            return await self.read_off_loop(read_state_log, plog)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error(
                "Could not read %s-%d (%s); its transactions cannot be served by this broker",
                TRANSACTION_STATE_TOPIC,
                p,
                exc,
            )
            return None

    async def _partition_loaded(
        self, p: int, epoch: int, records: list[tuple[str, TxnLogValue | None]]
    ) -> None:
        assert self._on_loaded is not None  # checked before reading
        await self._on_loaded(p, records)
        log.info(
            "Transaction coordinator of %s-%d (coordinator epoch %d, %d records)",
            TRANSACTION_STATE_TOPIC,
            p,
            epoch,
            len(records),
        )

    def _partition_unloaded(self, p: int) -> None:
        if self._on_unloaded is not None:
            self._on_unloaded(p)

    # -- appends ----------------------------------------------------------------------------
    async def append(self, p: int, batch: bytes) -> ErrorCode:
        """Append to the leader's log and wait until the high watermark covers it: NONE, or
        the error Kafka's coordinator answers for a failed state write."""
        epoch = self.leader_epoch(p)
        plog = self._state.partition(TRANSACTION_STATE_TOPIC, p)
        if epoch is None or not self.loaded_at(p, epoch) or plog is None:
            return ErrorCode.not_coordinator
        replicas = self._state.replicas
        if replicas.min_isr_error(TRANSACTION_STATE_TOPIC, p) != ErrorCode.none:
            return ErrorCode.coordinator_not_available
        now = self._state.now_ms()
        try:
            plog.append(batch, now_ms=now, leader_epoch=epoch)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error("Could not append to %s-%d: %s", TRANSACTION_STATE_TOPIC, p, exc)
            return ErrorCode.not_coordinator
        replicas.appended(TRANSACTION_STATE_TOPIC, p, plog)
        self._state.notify((TRANSACTION_STATE_TOPIC, p))
        code = await replicas.wait_replicated(
            TRANSACTION_STATE_TOPIC, p, plog.log_end_offset, APPEND_TIMEOUT_MS
        )
        if code == ErrorCode.none and self.owns(p, epoch):
            return ErrorCode.none
        log.info(
            "Transaction state in %s-%d was not committed: %s",
            TRANSACTION_STATE_TOPIC,
            p,
            code.name,
        )
        if code in (ErrorCode.not_leader_or_follower, ErrorCode.none):
            return ErrorCode.not_coordinator  # leadership moved while waiting
        return ErrorCode.coordinator_not_available
