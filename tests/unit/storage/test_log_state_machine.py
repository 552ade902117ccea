"""A state machine over a file-backed partition log: append, roll, retention, delete-records,
truncate, flush, failed writes, crashes (with a torn last write) and restarts.

Invariant: every acknowledged batch that retention, delete-records or truncation did not remove
reads back byte-identical; offsets only grow; log start <= log end.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import shutil
import struct
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig, StorageError
from embedded_broker.storage import store as store_module
from tests.unit.storage.batches import simple_batch

NOW = 1_700_000_000_000
CONFIG = LogConfig(
    segment_bytes=700,
    index_interval_bytes=150,
    retention_ms=-1,
    retention_bytes=-1,
    segment_ms=10**12,
)
Pwrite = Callable[[int, memoryview, int], int]


class Disk:
    """Real pwrite unless armed: then half the write lands and the next call fails (ENOSPC)."""

    def __init__(self, real: Pwrite) -> None:
        self.real = real
        self.armed = False
        self._shortened = False

    def pwrite(self, fd: int, data: memoryview, position: int) -> int:
        if not self.armed:
            return self.real(fd, data, position)
        if not self._shortened and len(data) > 1:
            self._shortened = True
            return self.real(fd, data[: len(data) // 2], position)
        self.armed = self._shortened = False
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def stored(batch: bytes, base_offset: int) -> bytes:
    """The batch as the log stores it: baseOffset assigned, partitionLeaderEpoch 0."""
    return struct.pack(">q", base_offset) + batch[8:12] + struct.pack(">i", 0) + batch[16:]


class LogMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp())
        self.directory = self.tmp / "p-0"
        self.disk = Disk(store_module._pwrite)
        vars(store_module)["_pwrite"] = self.disk.pwrite  # the module's writes go through it
        self.log = Log(self.directory, CONFIG)
        self.acked: dict[int, tuple[int, bytes]] = {}  # base offset -> (last offset, bytes)
        self.start = 0
        self.end = 0
        self.batches = 0

    def teardown(self) -> None:
        vars(store_module)["_pwrite"] = self.disk.real
        self.log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _reconfigure(self, now_ms: int, **changes: int) -> None:
        self.log.update_config(dataclasses.replace(CONFIG, **changes))
        try:
            self.log.enforce_retention(now_ms)
        finally:
            self.log.update_config(CONFIG)

    def _forget_below_start(self) -> None:
        self.start = self.log.log_start_offset
        for base, (last, _) in list(self.acked.items()):
            if last < self.start:
                del self.acked[base]

    @rule(count=st.integers(1, 5), size=st.integers(0, 180))
    def append(self, count: int, size: int) -> None:
        self.batches += 1
        batch = simple_batch(count, value_size=size, base_timestamp=NOW + self.batches)
        info = self.log.append(batch, now_ms=NOW)
        assert info.base_offset == self.end
        self.acked[info.base_offset] = (info.last_offset, stored(batch, info.base_offset))
        self.end = info.last_offset + 1

    @rule(count=st.integers(1, 5))
    def append_on_a_full_disk(self, count: int) -> None:
        self.disk.armed = True
        with pytest.raises(StorageError):
            self.log.append(simple_batch(count, value_size=120), now_ms=NOW)
        self.disk.armed = False

    @rule()
    def roll(self) -> None:
        self._reconfigure(NOW + 10**9, segment_ms=0)

    @rule(keep=st.integers(0, 2000))
    def retention(self, keep: int) -> None:
        self._reconfigure(NOW, retention_bytes=keep)
        self._forget_below_start()

    @rule(data=st.data())
    def delete_records(self, data: st.DataObject) -> None:
        offset = data.draw(st.integers(self.start, self.end))
        assert self.log.delete_records_before(offset) == max(offset, self.start)
        self._forget_below_start()

    @rule()
    def truncate(self) -> None:
        self.log.truncate_all()
        self.acked.clear()
        self.start = self.end

    @rule()
    def flush(self) -> None:
        self.log.flush()

    @rule(tear=st.one_of(st.none(), st.binary(min_size=1, max_size=80), st.integers(1, 120)))
    def crash(self, tear: bytes | int | None) -> None:
        """Drop the log as kill -9 does; optionally leave a torn, unacknowledged write."""
        for segment in self.log._segments:
            segment.store.close()
        active = sorted(self.directory.glob("*.log"))[-1]
        if isinstance(tear, bytes):
            with open(active, "ab") as out:
                out.write(tear)
        elif isinstance(tear, int):  # the first bytes of a real next batch
            batch = stored(simple_batch(3, value_size=40), self.end)
            with open(active, "ab") as out:
                out.write(batch[: min(tear, len(batch) - 1)])
        self.log = Log(self.directory, CONFIG)

    @precondition(lambda self: not self.log._closed)
    @rule()
    def restart(self) -> None:
        self.log.close()
        self.log = Log(self.directory, CONFIG)

    @invariant()
    def offsets(self) -> None:
        assert self.log.log_start_offset == self.start
        assert self.log.log_end_offset == self.end
        assert self.start <= self.end

    @invariant()
    def acknowledged_batches_read_back(self) -> None:
        for base, (last, data) in self.acked.items():
            read = self.log.read(max(base, self.start), 1)
            first = next(iter_batches(read))
            assert (first.base_offset, first.last_offset) == (base, last)
            assert read[: first.size] == data


LogMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=30, deadline=None)
test_partition_log_state_machine = LogMachine.TestCase
