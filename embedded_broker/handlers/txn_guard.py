"""The produce path's check of transactional batches against the transaction coordinator
(KIP-890 verification, txn.verification)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState
from embedded_broker.txn.verification import verify_produce

TxnVerdicts = dict[tuple[str, int], tuple[ErrorCode, str | None]]


async def verify_transactions(state: BrokerState, request: Any, version: int) -> TxnVerdicts:
    """Per partition of the request, whether its transactional batch may be appended
    (partitions absent need no check): Kafka appends one only inside an ongoing transaction
    the partition was added to, and answers a fenced producer INVALID_PRODUCER_EPOCH."""
    return await verify_produce(state, request, version)
