"""__transaction_state records: both value versions round-trip; tombstones; damage is refused."""

from __future__ import annotations

import pytest

from embedded_broker.coordinator.txn_log import (
    TxnLogError,
    TxnLogValue,
    decode_key,
    decode_value,
    encode_key,
    encode_value,
)
from embedded_broker.coordinator.txn_state import TxnState

ONGOING = TxnLogValue(
    producer_id=4000,
    producer_epoch=3,
    timeout_ms=60000,
    state=TxnState.ONGOING,
    partitions={"orders": [0, 2], "__consumer_offsets": [17]},
    last_update_ms=1_700_000_000_123,
    start_ms=1_700_000_000_001,
)


@pytest.mark.parametrize("version", [0, 1])
def test_values_round_trip(version: int) -> None:
    assert decode_value(encode_value(ONGOING, version)) == ONGOING


def test_version_1_keeps_the_tagged_fields() -> None:
    bumped = TxnLogValue(
        7, 0, 1000, TxnState.PREPARE_ABORT, {"t": [1]}, 5, 4, 6, 8, client_transaction_version=2
    )
    assert decode_value(encode_value(bumped, 1)) == bumped
    # version 0 has no room for them: they read back as their defaults
    plain = decode_value(encode_value(bumped, 0))
    assert plain is not None and plain.previous_producer_id == -1
    assert plain.client_transaction_version == 0


def test_an_empty_transaction_stores_no_partition_list() -> None:
    empty = TxnLogValue(9, 1, 60000, TxnState.EMPTY, {}, 10, -1)
    for version in (0, 1):
        encoded = encode_value(empty, version)
        assert decode_value(encoded) == empty
    assert encode_value(empty, 0)[2 + 15 : 2 + 19] == b"\xff\xff\xff\xff"  # a null array


def test_keys_and_tombstones() -> None:
    assert encode_key("tx-1") == b"\x00\x00\x00\x04tx-1"
    assert decode_key(encode_key("payments-é")) == "payments-é"
    assert decode_value(None) is None


def test_damaged_records_are_refused() -> None:
    encoded = encode_value(ONGOING, 1)
    with pytest.raises(TxnLogError, match="ends early"):
        decode_value(encoded[:-3])
    with pytest.raises(TxnLogError, match="left over"):
        decode_value(encoded + b"\x00")
    with pytest.raises(TxnLogError, match="version 5"):
        decode_value(b"\x00\x05" + encoded[2:])
    with pytest.raises(TxnLogError, match="unknown transaction state id 9"):
        decode_value(encoded[:16] + b"\x09" + encoded[17:])
