"""A damaged group state log loses only the damaged bytes (issue 11, finding 10)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from embedded_broker.coordinator import FileJournal, OffsetCommitEntry
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
