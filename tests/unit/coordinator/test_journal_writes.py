"""Group state log writes: off the caller's thread, failures reported, resync, size limits."""

from __future__ import annotations

import errno
import logging
import os
import threading
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from embedded_broker.coordinator import FileJournal, OffsetCommitEntry, framing
from embedded_broker.coordinator.framing import encode_record, scan
from embedded_broker.coordinator.journal import FILE_NAME

from .helpers import Harness


def _offsets(h: Harness, group: str) -> list[tuple[int, int]]:
    return [(e.partition, e.offset) for e in h.coordinator.fetch_offsets(group, None)]


def test_writes_run_off_the_callers_thread_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: set[str] = set()
    real_write = os.write

    def recording_write(fd: int, data: object) -> int:
        threads.add(threading.current_thread().name)
        return real_write(fd, data)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "write", recording_write)
    h = Harness(FileJournal(tmp_path))
    for i in range(200):
        h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, i)])
    h.written()
    assert threads and threading.current_thread().name not in threads
    monkeypatch.undo()
    h2 = Harness(FileJournal(tmp_path))
    assert _offsets(h2, "g") == [(0, 199)]


def test_a_failed_write_is_reported_and_cut_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = Harness(FileJournal(tmp_path))
    h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 1)])
    h.written()
    size = (tmp_path / FILE_NAME).stat().st_size
    journal = h.coordinator.journal
    real_write = os.write

    def short_then_full(fd: int, data: bytes) -> int:
        real_write(fd, bytes(data)[:5])  # a torn frame, then the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", short_then_full)
    mark = journal.mark()
    h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 2)])
    h.written()
    assert journal.failed_since(mark)
    assert (tmp_path / FILE_NAME).stat().st_size == size
    monkeypatch.undo()
    mark = journal.mark()
    h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 3)])
    h.written()
    assert not journal.failed_since(mark)
    h2 = Harness(FileJournal(tmp_path))
    assert _offsets(h2, "g") == [(0, 3)]


@settings(max_examples=200, deadline=None)
@given(
    records=st.lists(
        st.fixed_dictionaries(
            {"t": st.just("offset"), "g": st.text(max_size=8), "o": st.integers(0, 2**40)}
        ),
        min_size=1,
        max_size=12,
    ),
    data=st.data(),
)
def test_damage_inside_one_frame_loses_only_that_record(
    records: list[dict[str, object]], data: st.DataObject
) -> None:
    frames = [encode_record(r) for r in records]
    k = data.draw(st.integers(0, len(frames) - 1), label="damaged frame")
    frame = bytearray(frames[k])
    start = data.draw(st.integers(0, len(frame) - 1), label="start")
    end = data.draw(st.integers(start + 1, len(frame)), label="end")
    noise = data.draw(st.binary(min_size=end - start, max_size=end - start), label="noise")
    assume(bytes(frame[start:end]) != noise)
    frame[start:end] = noise
    image = b"".join([*frames[:k], bytes(frame), *frames[k + 1 :]])
    result = scan(image)
    assert result.records == records[:k] + records[k + 1 :]
    offset = sum(len(f) for f in frames[:k])
    [(lo, hi)] = result.damaged
    assert lo == offset and hi == offset + len(frame)


def test_a_failed_compaction_leaves_the_log_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(src: object, dst: object) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "replace", refuse)
    h = Harness(FileJournal(tmp_path, compact_min_bytes=1024))
    journal = h.coordinator.journal
    mark = journal.mark()
    for i in range(100):
        h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", i % 3, i)])
    h.written()
    # Compaction was tried and failed; no commit was lost or reported as failed.
    assert not journal.failed_since(mark)
    assert not (tmp_path / f"{FILE_NAME}.tmp").exists()
    monkeypatch.undo()
    h2 = Harness(FileJournal(tmp_path))
    assert _offsets(h2, "g") == [(0, 99), (1, 97), (2, 98)]


def test_a_record_too_large_to_load_is_refused_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(framing, "MAX_RECORD", 2000)
    h = Harness(FileJournal(tmp_path))
    h.coordinator.commit_offsets("g", "", -1, [OffsetCommitEntry("t", 0, 1)])
    journal = h.coordinator.journal
    mark = journal.mark()
    member, _ = h.new_member("big", protocols=(("range", b"x" * 3000),))
    h.clock.advance(0)
    h.sync(member, h.generation("big"), ((member, b"a"),), group="big")
    h.written()
    assert journal.failed_since(mark)
    caplog.clear()
    h2 = Harness(FileJournal(tmp_path))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert _offsets(h2, "g") == [(0, 1)]
