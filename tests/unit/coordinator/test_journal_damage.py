"""A damaged group state log loses only the damaged bytes; writes and rewrites are safe."""

from __future__ import annotations

import errno
import logging
import os
import re
import threading
from pathlib import Path

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from embedded_broker.coordinator import FileJournal, OffsetCommitEntry, framing
from embedded_broker.coordinator.framing import encode_record, scan
from embedded_broker.coordinator.journal import FILE_NAME

from .helpers import Harness

GROUPS = [f"group-{i}" for i in range(5)]


def _five_groups(tmp_path: Path) -> None:
    """Five offset-only groups, each with three committed partitions, closed cleanly."""
    h = Harness(FileJournal(tmp_path))
    for n, group in enumerate(GROUPS):
        for p in range(3):
            entry = OffsetCommitEntry("orders", p, 100 * n + p, -1, f"m{n}")
            [(_, err)] = h.coordinator.commit_offsets(group, "", -1, [entry])
            assert err == 0
    h.coordinator.close()


def _offsets(h: Harness, group: str) -> list[tuple[int, int]]:
    return [(e.partition, e.offset) for e in h.coordinator.fetch_offsets(group, None)]


def _expected(n: int) -> list[tuple[int, int]]:
    return [(p, 100 * n + p) for p in range(3)]


def _damage(path: Path, needle: bytes) -> int:
    """Flip a byte of the record containing needle; returns the byte's position."""
    data = bytearray(path.read_bytes())
    pos = data.index(needle)
    data[pos] ^= 0x5A
    path.write_bytes(bytes(data))
    return pos


def test_one_damaged_record_loses_no_other_group(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _five_groups(tmp_path)
    path = tmp_path / FILE_NAME
    size = path.stat().st_size
    # Damage the middle group's offset record of partition 1.
    where = _damage(path, b'"g":"group-2","tp":"orders","p":1,')
    with caplog.at_level(logging.WARNING):
        h = Harness(FileJournal(tmp_path))
    for n, group in enumerate(GROUPS):
        if n != 2:
            assert _offsets(h, group) == _expected(n), group
    # Only the damaged record is gone.
    assert _offsets(h, "group-2") == [(0, 200), (2, 202)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, warnings
    assert str(path) in warnings[0]
    copy = tmp_path / f"{FILE_NAME}.damaged-1"
    assert str(copy) in warnings[0]
    # The damaged bytes are kept, and the range named in the warning is theirs.
    kept = copy.read_bytes()
    assert b"group-2" in kept
    found = re.search(r"bytes (\d+)-(\d+)", warnings[0])
    assert found is not None
    start, end = int(found[1]), int(found[2])
    assert start <= where < end and end - start == len(kept)
    assert path.stat().st_size == size - len(kept)
    h.coordinator.close()
    # The log was rewritten without the damage: the next start loads cleanly.
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        h2 = Harness(FileJournal(tmp_path))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert _offsets(h2, "group-4") == _expected(4)
    h2.coordinator.close()


def test_a_damaged_length_field_is_skipped_too(tmp_path: Path) -> None:
    _five_groups(tmp_path)
    path = tmp_path / FILE_NAME
    data = bytearray(path.read_bytes())
    start = data.index(b'"g":"group-1","tp":"orders","p":0,')
    # The frame header (length, CRC) sits just before the JSON payload "{".
    header = data.rindex(b"{", 0, start) - 8
    data[header : header + 4] = (0x00FFFFFF).to_bytes(4, "big")  # a length far past the end
    path.write_bytes(bytes(data))
    h = Harness(FileJournal(tmp_path))
    for n, group in enumerate(GROUPS):
        expected = _expected(n)[1:] if n == 1 else _expected(n)
        assert _offsets(h, group) == expected, group
    h.coordinator.close()


def test_a_left_over_temporary_file_does_not_replace_the_log(tmp_path: Path) -> None:
    """A crash during a rewrite leaves the temporary file; the log itself is still whole."""
    _five_groups(tmp_path)
    (tmp_path / f"{FILE_NAME}.tmp").write_bytes(b"half a rewrite")
    h = Harness(FileJournal(tmp_path))
    assert all(_offsets(h, g) == _expected(n) for n, g in enumerate(GROUPS))
    assert not (tmp_path / f"{FILE_NAME}.tmp").exists()
    h.coordinator.close()


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
