"""The aborted-transactions index: Kafka's 34-byte entries, range look-ups, truncation, damage."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_broker.storage.txn_index import (
    ENTRY_SIZE,
    AbortedTxn,
    TxnIndex,
    TxnIndexDamagedError,
)

A = AbortedTxn(producer_id=1, first_offset=10, last_offset=20, last_stable_offset=10)
B = AbortedTxn(producer_id=2, first_offset=15, last_offset=40, last_stable_offset=15)
C = AbortedTxn(producer_id=1, first_offset=50, last_offset=55, last_stable_offset=50)


def test_entries_are_kafkas_34_byte_layout() -> None:
    data = TxnIndex([A]).to_bytes()
    assert ENTRY_SIZE == 34 and len(data) == 34
    assert data == (
        b"\x00\x00"
        + (1).to_bytes(8, "big")
        + (10).to_bytes(8, "big")
        + (20).to_bytes(8, "big")
        + (10).to_bytes(8, "big")
    )


def test_collect_returns_the_transactions_overlapping_a_range() -> None:
    index = TxnIndex([A, B, C])
    assert index.collect(0, 10) == []  # A starts at 10: not below the bound
    assert index.collect(0, 11) == [A]
    assert index.collect(21, 50) == [B]
    assert index.collect(20, 60) == [A, B, C]
    assert index.collect(56, 100) == []


def test_entries_must_come_in_order_of_their_end() -> None:
    index = TxnIndex([B])
    with pytest.raises(ValueError, match="not after the last entry"):
        index.append(A)


def test_truncate_forgets_aborts_at_or_after_the_cut(tmp_path: Path) -> None:
    index = TxnIndex([A, B, C])
    index.truncate_to(40)
    assert index.entries == [A]
    path = tmp_path / "00000000000000000000.txnindex"
    index.save(path)
    assert TxnIndex.load(path).entries == [A]
    assert TxnIndex.load(tmp_path / "absent.txnindex").entries == []


def test_damaged_files_are_refused(tmp_path: Path) -> None:
    good = TxnIndex([A, B]).to_bytes()
    with pytest.raises(TxnIndexDamagedError, match="whole number"):
        TxnIndex.from_bytes(good[:-1])
    with pytest.raises(TxnIndexDamagedError, match="version 3"):
        TxnIndex.from_bytes(b"\x00\x03" + good[2:])
    with pytest.raises(TxnIndexDamagedError, match="not after"):
        TxnIndex.from_bytes(good[34:] + good[:34])
