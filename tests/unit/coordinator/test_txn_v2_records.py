"""Transactions v2 in __transaction_state: the coordinator writes a v2 transaction's records as
TransactionLogValue v1, whose tagged fields keep the client's transaction version and the next
producer id, so a restarted coordinator replays both; v1 transactions keep version 0 records."""

from __future__ import annotations

from embedded_broker.coordinator.txn_log import TxnLogValue, decode_value, encode_value
from embedded_broker.coordinator.txn_state import TxnState
from embedded_broker.txn.coordinator import log_record_version
from embedded_broker.txn.metadata import TxnMetadata, replay

PREPARED_V2 = TxnLogValue(
    producer_id=4000,
    producer_epoch=32767,
    timeout_ms=60000,
    state=TxnState.PREPARE_COMMIT,
    partitions={"orders": [1]},
    last_update_ms=1_700_000_000_500,
    start_ms=1_700_000_000_001,
    next_producer_id=5000,
    client_transaction_version=2,
)


def _replayed(value: TxnLogValue) -> TxnMetadata:
    metadata: dict[str, TxnMetadata] = {}
    raw = encode_value(value, log_record_version(value))
    replay(metadata, "orders-app", decode_value(raw))
    return metadata["orders-app"]


def test_a_v2_transaction_replays_with_its_version_and_next_producer_id() -> None:
    assert log_record_version(PREPARED_V2) == 1
    meta = _replayed(PREPARED_V2)
    assert meta.client_transaction_version == 2
    assert meta.next_producer_id == 5000
    assert meta.to_value() == PREPARED_V2


def test_a_v1_transaction_keeps_version_0_records() -> None:
    v1 = TxnLogValue(
        producer_id=4000,
        producer_epoch=3,
        timeout_ms=60000,
        state=TxnState.ONGOING,
        partitions={"orders": [1]},
    )
    assert log_record_version(v1) == 0
    meta = _replayed(v1)
    assert (meta.client_transaction_version, meta.next_producer_id) == (0, -1)
