"""Producer state across restarts: snapshots, rebuild from the log, lazy loading, expiry."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kio.schema.errors import ErrorCode

from embedded_broker.config import BrokerConfig
from embedded_broker.producer_state import ProducerStateManager
from embedded_broker.producers import snapshot as snap
from embedded_broker.producers.entry import PartitionProducers
from embedded_broker.producers.loader import load_partition, load_snapshot
from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.state import BrokerState
from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import Rec, build_batch

PID = 7000
DAY_MS = 86_400_000


def idem(seq: int, count: int = 1, *, pid: int = PID, ts: int = 1_700_000_000_000) -> bytes:
    return build_batch(
        [Rec(b"k", b"v%d" % (seq + i)) for i in range(count)],
        producer_id=pid,
        producer_epoch=0,
        base_sequence=seq,
        base_timestamp=ts,
    )


class Partition:
    """A Log plus a manager wired as the broker wires them (topic "t", partition 0)."""

    def __init__(self, data_dir: Path, now: list[int], config: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.log = Log(data_dir / "t-0", LogConfig())
        self.manager = ProducerStateManager(
            lambda: PID,
            partition_log=lambda topic, p: self.log if (topic, p) == ("t", 0) else None,
            data_dir=data_dir,
            config=BrokerConfig(config or {}),
            clock=lambda: now[0],
        )

    def produce(self, batch: bytes) -> tuple[ErrorCode, int]:
        headers = list(iter_batches(batch))
        check = self.manager.check("t", 0, self.log, headers)
        if check.error != ErrorCode.none:
            return check.error, -1
        if check.duplicate is not None:
            return ErrorCode.none, check.duplicate.first_offset
        info = self.log.append(batch, now_ms=0)
        self.manager.appended(
            "t", 0, self.log, headers, base_offset=info.base_offset, append_time=-1
        )
        return ErrorCode.none, info.base_offset

    def close(self) -> None:
        asyncio.run(self.manager.close())
        self.log.close()


NOW = 1_700_000_000_000


def test_snapshot_round_trip(tmp_path: Path) -> None:
    table = PartitionProducers()
    offset = 0
    for seq in range(0, 14, 2):
        table.append(list(iter_batches(idem(seq, 2))), offset, -1)
        offset += 2
    table.append(list(iter_batches(idem(0, pid=PID + 1))), offset, 123)
    written = snap.Snapshot(offset + 1, snap.Anchor(offset, 0xDEADBEEF), table.copy_entries())
    path = snap.write(tmp_path, written)
    assert path.name == f"{offset + 1:020d}.snapshot"
    back = snap.read(path)
    assert back.offset == written.offset and back.anchor == written.anchor
    assert [(pid, e.epoch, e.last_timestamp, list(e.batches)) for pid, e in back.entries] == [
        (pid, e.epoch, e.last_timestamp, list(e.batches)) for pid, e in written.entries
    ]
    assert len(back.entries[0][1].batches) == 5


def test_rebuilt_from_the_log_alone(tmp_path: Path) -> None:
    now = [NOW]
    first = Partition(tmp_path, now)
    assert first.produce(idem(0, 3)) == (ErrorCode.none, 0)
    assert first.produce(idem(3)) == (ErrorCode.none, 3)
    first.log.close()  # no manager.close(): no snapshot, as after kill -9
    again = Partition(tmp_path, now)
    assert not snap.list_snapshots(tmp_path / "t-0")
    assert again.produce(idem(0, 3)) == (ErrorCode.none, 0)
    assert again.produce(idem(3)) == (ErrorCode.none, 3)
    assert again.produce(idem(5))[0] == ErrorCode.out_of_order_sequence_number
    assert again.log.log_end_offset == 4
    again.close()


def test_clean_close_snapshots_and_the_next_load_starts_from_it(tmp_path: Path) -> None:
    now = [NOW]
    first = Partition(tmp_path, now)
    for seq in range(10):
        first.produce(idem(seq))
    first.close()
    assert [o for o, _ in snap.list_snapshots(tmp_path / "t-0")] == [10]
    log = Log(tmp_path / "t-0", LogConfig())
    table, start = load_snapshot(log, tmp_path / "t-0", NOW, DAY_MS)
    assert start == 10 and PID in table.entries
    log.close()
    again = Partition(tmp_path, now)
    assert again.produce(idem(9)) == (ErrorCode.none, 9)
    assert again.produce(idem(10)) == (ErrorCode.none, 10)
    again.close()


def test_damaged_snapshot_falls_back_to_the_older_one(tmp_path: Path) -> None:
    now = [NOW]
    part = Partition(tmp_path, now)
    part.produce(idem(0))
    asyncio.run(part.manager.close())  # snapshot at 1
    part.produce(idem(1))
    asyncio.run(part.manager.close())  # snapshot at 2
    part.produce(idem(2))
    asyncio.run(part.manager.close())  # snapshot at 3; only the last two are kept
    part.log.close()
    directory = tmp_path / "t-0"
    assert [o for o, _ in snap.list_snapshots(directory)] == [3, 2]
    newest = snap.snapshot_path(directory, 3)
    data = bytearray(newest.read_bytes())
    data[-3] ^= 0xFF
    newest.write_bytes(bytes(data))
    log = Log(directory, LogConfig())
    _, start = load_snapshot(log, directory, NOW, DAY_MS)
    assert start == 2
    assert not newest.exists()
    table = load_partition(log, directory, NOW, DAY_MS)
    dup = table.check(list(iter_batches(idem(2))), "t-0").duplicate
    assert dup is not None and dup.first_offset == 2
    log.close()


def test_snapshot_of_a_log_cut_back_by_recovery_is_never_used(tmp_path: Path) -> None:
    now = [NOW]
    part = Partition(tmp_path, now)
    for seq in range(3):
        part.produce(idem(seq))
    part.close()  # snapshot at 3 claims sequences 0..2
    directory = tmp_path / "t-0"
    segment = directory / f"{0:020d}.log"
    last_size = len(idem(2))
    with open(segment, "r+b") as fh:  # recovery cut the last batch off
        fh.truncate(segment.stat().st_size - last_size)
    (directory / "clean-shutdown").unlink()
    # past the log end: ignored
    again = Partition(tmp_path, now)
    assert again.log.log_end_offset == 2
    assert again.produce(idem(2)) == (ErrorCode.none, 2)  # stored, not claimed as a duplicate
    again.close()

    # the same history rewritten up to the snapshot offset by another writer: ignored too
    part = Partition(tmp_path, now)
    part.produce(idem(3))
    part.close()  # snapshot at 4
    with open(segment, "r+b") as fh:
        fh.truncate(segment.stat().st_size - len(idem(3)))
    (directory / "clean-shutdown").unlink()
    other = Log(directory, LogConfig())
    other.append(build_batch([Rec(b"x", b"plain")]), now_ms=0)  # log end back at 4
    other.close()
    (directory / "clean-shutdown").unlink()
    again = Partition(tmp_path, now)
    assert again.log.log_end_offset == 4
    assert again.produce(idem(3)) == (ErrorCode.none, 4)  # its first copy is gone: stored
    again.close()


def test_expired_producers_are_dropped_and_not_loaded_back(tmp_path: Path) -> None:
    now = [NOW]
    config = {"producer.id.expiration.ms": "60000"}
    part = Partition(tmp_path, now, config)
    part.produce(idem(0, ts=NOW))
    part.produce(idem(0, pid=PID + 1, ts=NOW + 30_000))
    now[0] = NOW + 60_000
    assert part.manager.expire() == 1
    assert part.produce(idem(5)) == (ErrorCode.none, 2)  # unknown again: any sequence
    part.close()
    now[0] = NOW + 90_000  # PID + 1 is idle for 60 s now; PID wrote at NOW
    again = Partition(tmp_path, now, config)
    table = again.manager.table("t", 0, again.log)
    assert list(table.entries) == []
    again.close()


def test_tables_load_lazily_per_partition(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    state = BrokerState(BrokerConfig(), data_dir)
    state.create_topic("many", 40, {})
    asyncio.run(state.shutdown())
    for p in range(40):  # damaged snapshots everywhere: only a load would notice them
        (data_dir / f"many-{p}").mkdir(exist_ok=True)  # partitions' files are made on first use
        snap.snapshot_path(data_dir / f"many-{p}", 1).write_bytes(b"garbage")

    async def use_one() -> list[tuple[str, int]]:
        reopened = BrokerState(BrokerConfig(), data_dir)
        try:
            await reopened.producers.load(("many", 7))
            return reopened.producers.loaded_partitions()
        finally:
            await reopened.shutdown()

    assert asyncio.run(use_one()) == [("many", 7)]
    left = [p for p in range(40) if snap.snapshot_path(data_dir / f"many-{p}", 1).exists()]
    assert left == [p for p in range(40) if p != 7]
