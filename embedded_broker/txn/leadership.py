"""Which transactional ids a cluster broker coordinates: those whose __transaction_state
partition it leads (Kafka's TransactionStateManager with its coordinator epochs).

When the metadata makes this broker the leader of a partition, the partition is read back and
replayed into the coordinator (COORDINATOR_LOAD_IN_PROGRESS meanwhile), then transactions left
prepared are completed; when leadership moves away, the partition's ids are unloaded
(NOT_COORDINATOR from then on). A state change counts as written once the high watermark
covers it (acks=all), as Kafka appends it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.record_batch import InvalidRecordBatchError
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


class TxnLeadership:
    """Follows leadership of __transaction_state on one cluster broker."""

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self.partitions = state.config.get_int("transaction.state.log.num.partitions")
        self._loaded: dict[int, int] = {}  # partition -> leader epoch it was loaded at
        self._loading: dict[int, asyncio.Task[None]] = {}
        self._loading_epoch: dict[int, int] = {}
        self._on_loaded: Loaded | None = None
        self._on_unloaded: Unloaded | None = None

    def attach(self, on_loaded: Loaded, on_unloaded: Unloaded) -> None:
        """Start following leadership (partitions led already are loaded now)."""
        self._on_loaded, self._on_unloaded = on_loaded, on_unloaded
        self._state.replicas.on_state_change(self._on_state_change)
        for p in range(self.partitions):
            self._sync(p)

    # -- what the coordinator asks ----------------------------------------------------------
    def partition_of(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.partitions)

    def error(self, transactional_id: str) -> ErrorCode:
        """NONE when this broker coordinates the id now; NOT_COORDINATOR when another broker
        leads its partition; COORDINATOR_LOAD_IN_PROGRESS while the partition is being read."""
        p = self.partition_of(transactional_id)
        epoch = self.leader_epoch(p)
        if epoch is None:
            return ErrorCode.not_coordinator
        if self._loaded.get(p) == epoch:
            return ErrorCode.none
        if self._loading_epoch.get(p) != epoch:
            self._sync(p)
        return ErrorCode.coordinator_load_in_progress

    def leader_epoch(self, p: int) -> int | None:
        """The partition's leader epoch while this broker leads it (the coordinator epoch)."""
        part = self._state.replicas.get(TRANSACTION_STATE_TOPIC, p)
        if part is None or not part.leader:
            return None
        return part.state.leader_epoch

    def owns(self, p: int, epoch: int) -> bool:
        return self._loaded.get(p) == epoch == self.leader_epoch(p)

    # -- leadership -------------------------------------------------------------------------
    def _on_state_change(self, topic: str, partition: int) -> None:
        if topic == TRANSACTION_STATE_TOPIC and partition < self.partitions:
            self._sync(partition)

    def _sync(self, p: int) -> None:
        epoch = self.leader_epoch(p)
        if epoch is not None and epoch in (self._loaded.get(p), self._loading_epoch.get(p)):
            return
        if p in self._loaded or p in self._loading_epoch:
            self._unload(p)
        if epoch is not None:
            self._loading_epoch[p] = epoch
            task = self._state.spawn(self._load(p, epoch), name=f"load-transactions-{p}")
            self._loading[p] = task
            task.add_done_callback(functools.partial(self._load_done, p))

    def _load_done(self, p: int, task: asyncio.Task[None]) -> None:
        if self._loading.get(p) is task:
            del self._loading[p]
            if self._loaded.get(p) != self._loading_epoch.get(p):
                self._loading_epoch.pop(p, None)  # failed or cancelled: a later request retries

    def _unload(self, p: int) -> None:
        self._loaded.pop(p, None)
        self._loading_epoch.pop(p, None)
        task = self._loading.pop(p, None)
        if task is not None:
            task.cancel()
        if self._on_unloaded is not None:
            self._on_unloaded(p)

    async def _load(self, p: int, epoch: int) -> None:
        from .coordinator import read_state_log

        plog = self._state.partition(TRANSACTION_STATE_TOPIC, p)
        if plog is None or self._on_loaded is None:
            return
        try:
            records = await self._state.run_storage(read_state_log, plog)
        except (StorageError, OSError, InvalidRecordBatchError) as exc:
            log.error(
                "Could not read %s-%d (%s); its transactions cannot be served by this broker",
                TRANSACTION_STATE_TOPIC,
                p,
                exc,
            )
            return
        if self.leader_epoch(p) != epoch or self._loading_epoch.get(p) != epoch:
            return  # leadership moved on while reading
        self._loaded[p] = epoch
        await self._on_loaded(p, records)
        log.info(
            "Transaction coordinator of %s-%d (coordinator epoch %d, %d records)",
            TRANSACTION_STATE_TOPIC,
            p,
            epoch,
            len(records),
        )

    # -- appends ----------------------------------------------------------------------------
    async def append(self, p: int, batch: bytes) -> ErrorCode:
        """Append to the leader's log and wait until the high watermark covers it: NONE, or
        the error Kafka's coordinator answers for a failed state write."""
        epoch = self.leader_epoch(p)
        plog = self._state.partition(TRANSACTION_STATE_TOPIC, p)
        if epoch is None or self._loaded.get(p) != epoch or plog is None:
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
