"""The coordinator epoch of a producer's last transaction marker outlives the producer table:
it is read back from the markers in the log (a restart, a follower) and kept in the snapshot,
as Kafka's ProducerStateEntry.coordinatorEpoch, so a replaced coordinator stays fenced."""

from __future__ import annotations

import struct
from pathlib import Path

import crc32c

from embedded_broker.producers import snapshot as snap
from embedded_broker.producers.entry import PartitionProducers
from embedded_broker.producers.loader import apply_replicated, load_partition
from embedded_broker.protocol.control_batch import Marker, MarkerType, build_marker
from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import Rec, build_batch
from tests.unit.storage.test_cleaner import NOW, _transactional

PID = 52
DAY = 86_400_000


def txn(seq: int) -> bytes:
    return _transactional(
        build_batch([Rec(b"k", b"v")], producer_id=PID, producer_epoch=0, base_sequence=seq)
    )


def marker(coordinator_epoch: int, kind: MarkerType = MarkerType.COMMIT) -> bytes:
    return build_marker(Marker(kind, PID, 0, coordinator_epoch), NOW)


def test_the_log_replay_brings_back_the_last_markers_coordinator_epoch(tmp_path: Path) -> None:
    log = Log(tmp_path / "t-0", LogConfig())
    log.append(txn(0), now_ms=NOW)
    log.append(marker(4), now_ms=NOW)
    log.append(txn(1), now_ms=NOW)
    log.append(marker(6, MarkerType.ABORT), now_ms=NOW)
    table = load_partition(log, None, NOW, DAY)
    assert table.entries[PID].coordinator_epoch == 6
    assert [e.first_offset for e in log.aborted_txns(0, 10)] == [2]  # still indexed
    log.close()


def test_a_follower_takes_the_coordinator_epoch_from_the_markers_it_copies(
    tmp_path: Path,
) -> None:
    log = Log(tmp_path / "t-0", LogConfig())
    table = PartitionProducers()
    copied = txn(0)
    log.append(copied, now_ms=NOW)
    apply_replicated(log, table, copied)
    fetched = bytearray(marker(9))
    struct.pack_into(">q", fetched, 0, 1)  # at offset 1, as the leader's log has it
    log.append(bytes(fetched), now_ms=NOW)
    apply_replicated(log, table, bytes(fetched))
    assert table.entries[PID].coordinator_epoch == 9
    log.close()


def test_the_snapshot_keeps_the_coordinator_epoch() -> None:
    table = PartitionProducers()
    table.end_txn(PID, 0, NOW, coordinator_epoch=11)
    snapshot = snap.Snapshot(1, None, table.copy_entries())
    [(pid, entry)] = snap.decode(snap.encode(snapshot)).entries
    assert (pid, entry.coordinator_epoch) == (PID, 11)


def test_a_version_2_snapshot_is_still_read_without_a_coordinator_epoch() -> None:
    # offset 1, no anchor, one producer (epoch 0, no batches, no open transaction)
    body = struct.pack(">qqqi", 1, -1, -1, 1) + struct.pack(">qhqb", PID, 0, NOW, 0)
    body += struct.pack(">q", -1)
    data = struct.pack(">4shI", b"TSPS", 2, crc32c.crc32c(body)) + body
    [(pid, entry)] = snap.decode(data).entries
    assert (pid, entry.epoch, entry.coordinator_epoch) == (PID, 0, -1)
