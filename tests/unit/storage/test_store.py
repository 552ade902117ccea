"""The byte stores behind segments agree with each other on reads, appends and truncation."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_broker.storage.store import ByteStore, FileStore, MemoryStore


@pytest.fixture(params=["file", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ByteStore:
    return FileStore(tmp_path / "s.log") if request.param == "file" else MemoryStore()


def test_reads_span_appends_and_truncation_cuts_anywhere(store: ByteStore) -> None:
    expected = bytearray()
    for piece in (b"abc", bytearray(b"defgh"), memoryview(b"ij"), b"", b"klmnopq"):
        store.append(piece)
        expected += piece
    assert store.size == len(expected) == 17
    for start in range(18):
        for length in (0, 1, 4, 9, 100):
            assert store.pread(length, start) == bytes(expected[start : start + length])
    store.truncate(9)
    assert store.pread(100, 0) == b"abcdefghi"
    store.truncate(8)
    store.append(b"XY")
    assert store.pread(100, 0) == b"abcdefghXY"
    store.truncate(0)
    assert store.size == 0
    assert store.pread(10, 0) == b""
    store.append(b"z")
    assert store.pread(10, 0) == b"z"
    store.close()
