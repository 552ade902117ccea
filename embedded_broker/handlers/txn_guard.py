"""The produce path's hook for transactional batches: a transaction coordinator plugs in here."""

from __future__ import annotations

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState


def verify_transactional_append(
    state: BrokerState,
    transactional_id: str | None,
    *,
    producer: tuple[int, int],
    partition: tuple[str, int],
) -> tuple[ErrorCode, str | None]:
    """May this transactional batch be appended? (error, message); ErrorCode.none allows it.

    Kafka appends a transactional batch only inside an ongoing transaction that the partition
    was added to (AddPartitionsToTxn, KIP-890 verification) and otherwise answers
    INVALID_TXN_STATE. This broker has no transaction coordinator yet, so no transaction is ever
    ongoing; a coordinator replaces this body with its own check of ``producer`` (id, epoch)
    and ``partition`` (topic, index) against its open transactions.
    """
    del state, transactional_id
    producer_id, _ = producer
    topic, index = partition
    return (
        ErrorCode.invalid_txn_state,
        f"Record was not part of an ongoing transaction: producer {producer_id} has no open "
        f"transaction containing {topic}-{index} (this broker does not support transactions "
        "yet)",
    )
