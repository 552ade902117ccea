"""The produce path's check of transactional batches against the transaction coordinator."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator.txn_state import TxnState
from embedded_broker.state import BrokerState
from embedded_broker.txn.runtime import loaded


def verify_transactional_append(
    state: BrokerState,
    transactional_id: str | None,
    *,
    producer: tuple[int, int],
    partition: tuple[str, int],
) -> tuple[ErrorCode, str | None]:
    """May this transactional batch be appended? (error, message); ErrorCode.none allows it.

    Kafka appends a transactional batch only inside an ongoing transaction that the partition
    was added to (AddPartitionsToTxn; KIP-890 verification) and otherwise answers
    INVALID_TXN_STATE; a producer whose epoch was bumped since (fenced by a newer instance
    or a timeout) gets INVALID_PRODUCER_EPOCH.
    """
    producer_id, epoch = producer
    topic, index = partition
    coord = loaded(state)
    if (
        coord is not None
        and transactional_id is not None
        and coord.owner_error(transactional_id) != ErrorCode.none
    ):
        # a cluster broker leading a partition whose transactional id another broker
        # coordinates: the producer table's epoch check fences zombies here, as in Kafka
        # before KIP-890's verification (which would ask the coordinator on every first write)
        return ErrorCode.none, None
    meta = (
        None if coord is None or transactional_id is None else coord.metadata.get(transactional_id)
    )
    if meta is not None and meta.producer_id == producer_id:
        if epoch < meta.producer_epoch:
            return (
                ErrorCode.invalid_producer_epoch,
                f"Producer {producer_id} with epoch {epoch} has been fenced: the transactional "
                f"id {transactional_id!r} is at epoch {meta.producer_epoch}",
            )
        if (
            epoch == meta.producer_epoch
            and meta.state is TxnState.ONGOING
            and (topic, index) in meta.partitions
        ):
            return ErrorCode.none, None
    return (
        ErrorCode.invalid_txn_state,
        f"Record was not part of an ongoing transaction: producer {producer_id} has no open "
        f"transaction containing {topic}-{index}",
    )
