"""The partition side of transactions: open transactions in the producer table (and its
snapshot), the aborted-transactions index of a Log (persisted, truncated, rebuilt from the
markers by the producer state load) and the cleaner fed from that index."""

from __future__ import annotations

import random
from pathlib import Path

from embedded_broker.producers import snapshot as snap
from embedded_broker.producers.entry import PartitionProducers
from embedded_broker.producers.loader import load_partition
from embedded_broker.protocol.control_batch import Marker, MarkerType, build_marker
from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig
from embedded_broker.storage.txn_index import AbortedTxn
from tests.unit.storage.batches import Rec, build_batch
from tests.unit.storage.test_cleaner import (
    NONE,
    NOW,
    _transactional,
    clean,
    compacted,
    latest,
    produce,
    read_all,
)

from .conftest import OpenLog

PID = 41
DAY = 86_400_000


def txn(seq: int, *keys: bytes, epoch: int = 0) -> bytes:
    recs = [Rec(k, b"v-" + k) for k in keys]
    return _transactional(
        build_batch(recs, producer_id=PID, producer_epoch=epoch, base_sequence=seq)
    )


def abort(epoch: int = 0) -> bytes:
    return build_marker(Marker(MarkerType.ABORT, PID, epoch, 0), NOW)


def test_open_transaction_holds_the_first_unstable_offset() -> None:
    table = PartitionProducers()
    table.append(list(iter_batches(txn(0, b"a", b"b"))), 10, -1)
    table.append(list(iter_batches(txn(2, b"c"))), 12, -1)
    assert table.first_unstable_offset() == 10
    assert table.end_txn(PID, 0, NOW) == 10  # the marker ends it
    assert table.first_unstable_offset() is None
    assert table.end_txn(PID, 0, NOW) == -1  # nothing open any more


def test_a_marker_with_a_newer_epoch_fences_the_old_one() -> None:
    table = PartitionProducers()
    table.append(list(iter_batches(txn(0, b"a"))), 0, -1)
    table.end_txn(PID, 1, NOW)  # the coordinator aborted with a bumped epoch
    check = table.check(list(iter_batches(txn(1, b"b", epoch=0))), "t-0")
    assert check.error.name == "invalid_producer_epoch"


def test_snapshot_keeps_the_open_transaction(tmp_path: Path) -> None:
    table = PartitionProducers()
    table.append(list(iter_batches(txn(0, b"a"))), 5, -1)
    snapshot = snap.Snapshot(6, None, table.copy_entries())
    [(pid, entry)] = snap.decode(snap.encode(snapshot)).entries
    assert (pid, entry.txn_first_offset) == (PID, 5)


def test_aborted_index_is_saved_truncated_and_reopened(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = Log(directory, LogConfig())
    log.append(txn(0, b"a", b"b"), now_ms=NOW)  # 0-1
    log.append(abort(), now_ms=NOW)  # 2
    log.add_aborted_txn(AbortedTxn(PID, 0, 2, 3))
    log.append(txn(2, b"c"), now_ms=NOW)  # 3
    log.append(abort(), now_ms=NOW)  # 4
    log.add_aborted_txn(AbortedTxn(PID, 3, 4, 5))
    assert log.aborted_txns(0, 2) == [AbortedTxn(PID, 0, 2, 3)]
    assert len(log.aborted_txns(0, 5)) == 2
    log.truncate_to(4)  # the second abort marker goes: so does its entry
    log.close()
    reopened = Log(directory, LogConfig())
    assert reopened.aborted_txns(0, 10) == [AbortedTxn(PID, 0, 2, 3)]
    reopened.close()


def test_producer_state_load_rebuilds_a_lost_aborted_index(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = Log(directory, LogConfig())
    log.append(txn(0, b"a", b"b"), now_ms=NOW)  # 0-1
    log.append(abort(), now_ms=NOW)  # 2
    log.append(txn(2, b"c"), now_ms=NOW)  # 3, still open
    assert log.aborted_txns(0, 10) == []  # as after a crash before the index was written
    table = load_partition(log, directory, NOW, DAY)
    assert [(e.producer_id, e.first_offset, e.last_offset) for e in log.aborted_txns(0, 10)] == [
        (PID, 0, 2)
    ]
    assert table.first_unstable_offset() == 3
    log.close()


def test_the_cleaner_drops_records_the_log_indexes_as_aborted(open_log: OpenLog) -> None:
    log = compacted(open_log, delete_retention_ms=DAY)
    log.append(txn(0, b"x", b"y"), now_ms=NOW)  # offsets 0-1: keys seen nowhere else
    log.append(abort(), now_ms=NOW)  # offset 2
    log.add_aborted_txn(AbortedTxn(PID, 0, 2, 3))
    produce(log, random.Random(1), 30, 2, NONE)
    log.flush()
    clean(log)
    kept = latest(read_all(log))
    assert b"x" not in kept and b"y" not in kept
