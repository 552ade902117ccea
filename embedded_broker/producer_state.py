"""Idempotent-producer bookkeeping: per producer id and partition, epochs and recent sequences."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from kio.schema.errors import ErrorCode

MAX_CACHED_BATCHES = 5
_SEQ_MODULO = 2**31


@dataclass(slots=True)
class CachedBatch:
    first_seq: int
    last_seq: int
    base_offset: int
    log_append_time_ms: int


@dataclass(slots=True)
class PartitionProducer:
    epoch: int
    batches: deque[CachedBatch] = field(default_factory=lambda: deque(maxlen=MAX_CACHED_BATCHES))


@dataclass(frozen=True, slots=True)
class SequenceCheck:
    error: ErrorCode = ErrorCode.none
    duplicate: CachedBatch | None = None


class ProducerStateManager:
    """Producer ids handed out by InitProducerId and the sequence checks of Produce."""

    def __init__(self, allocate_id: Callable[[], int]) -> None:
        self._allocate = allocate_id
        self._epochs: dict[int, int] = {}
        self._partitions: dict[tuple[int, str, int], PartitionProducer] = {}

    def init_producer(self, producer_id: int, producer_epoch: int) -> tuple[ErrorCode, int, int]:
        """InitProducerId for a non-transactional producer: a new id, or a bumped epoch."""
        if producer_id >= 0 and producer_id in self._epochs:
            current = self._epochs[producer_id]
            if producer_epoch != current:
                return ErrorCode.invalid_producer_epoch, -1, -1
            if current >= 32766:
                new_id = self._allocate()
                self._epochs[new_id] = 0
                return ErrorCode.none, new_id, 0
            self._epochs[producer_id] = current + 1
            return ErrorCode.none, producer_id, current + 1
        new_id = self._allocate()
        self._epochs[new_id] = 0
        return ErrorCode.none, new_id, 0

    def check(
        self,
        producer_id: int,
        epoch: int,
        topic: str,
        partition: int,
        *,
        first_seq: int,
        count: int,
    ) -> SequenceCheck:
        state = self._partitions.get((producer_id, topic, partition))
        if state is None:
            # No history (new producer, or state lost with a restart): accept any sequence.
            return SequenceCheck()
        if epoch < state.epoch:
            return SequenceCheck(ErrorCode.invalid_producer_epoch)
        if epoch > state.epoch:
            if first_seq != 0:
                return SequenceCheck(ErrorCode.out_of_order_sequence_number)
            return SequenceCheck()
        last_seq = (first_seq + count - 1) % _SEQ_MODULO
        for cached in state.batches:
            if cached.first_seq == first_seq and cached.last_seq == last_seq:
                return SequenceCheck(duplicate=cached)
        if state.batches:
            expected = (state.batches[-1].last_seq + 1) % _SEQ_MODULO
            if first_seq != expected:
                return SequenceCheck(ErrorCode.out_of_order_sequence_number)
        return SequenceCheck()

    def record(
        self,
        producer_id: int,
        epoch: int,
        topic: str,
        partition: int,
        *,
        first_seq: int,
        count: int,
        base_offset: int,
        log_append_time_ms: int,
    ) -> None:
        key = (producer_id, topic, partition)
        state = self._partitions.get(key)
        if state is None or epoch != state.epoch:
            state = PartitionProducer(epoch)
            self._partitions[key] = state
        last_seq = (first_seq + count - 1) % _SEQ_MODULO
        state.batches.append(CachedBatch(first_seq, last_seq, base_offset, log_append_time_ms))
        if self._epochs.get(producer_id, -1) < epoch:
            self._epochs[producer_id] = epoch

    def forget_topic(self, topic: str) -> None:
        for key in [k for k in self._partitions if k[1] == topic]:
            del self._partitions[key]
