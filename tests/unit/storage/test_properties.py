"""Property test: whatever batches are appended, in whatever sizes, read back unchanged."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig
from tests.unit.storage.batches import Rec, build_batch
from tests.unit.storage.test_log import payload, read_all

record = st.builds(
    Rec,
    st.one_of(st.none(), st.binary(max_size=20)),
    st.one_of(st.none(), st.binary(max_size=300)),
    st.integers(min_value=0, max_value=1000),
)
batch = st.lists(record, min_size=1, max_size=8).map(build_batch)
appends = st.lists(st.lists(batch, min_size=1, max_size=3), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(
    appends,
    st.integers(min_value=200, max_value=5000),
    st.integers(min_value=1, max_value=2000),
    st.integers(min_value=1, max_value=4000),
    st.booleans(),
)
def test_read_back_equals_appended(
    groups: list[list[bytes]], segment_bytes: int, interval: int, max_bytes: int, on_disk: bool
) -> None:
    config = LogConfig(segment_bytes=segment_bytes, index_interval_bytes=interval)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "p-0" if on_disk else None
        log = Log(directory, config)
        flat: list[bytes] = []
        for group in groups:
            info = log.append(b"".join(group), now_ms=1)
            assert info.base_offset == sum(
                next(iter_batches(b)).last_offset_delta + 1 for b in flat
            )
            flat.extend(group)
        headers = read_all(log, 0, max_bytes)
        assert [payload(build) for build in flat] == [
            payload(log.read(h.base_offset, 1)[: h.size]) for h in headers
        ]
        log.close()
        if directory is not None:
            reopened = Log(directory, config)
            assert [(h.base_offset, h.size) for h in read_all(reopened, 0, max_bytes)] == [
                (h.base_offset, h.size) for h in headers
            ]
            reopened.close()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=25),
    st.integers(min_value=0),
    st.one_of(st.none(), st.binary(min_size=1, max_size=64)),
    st.booleans(),
)
def test_recovery_after_random_damage_loses_only_damaged_batches(
    counts: list[int], where: int, patch: bytes | None, lose_indexes: bool
) -> None:
    """Cut (patch None) or overwrite the log files anywhere, then reopen after an unclean stop
    (no flush, so no segment is trusted): every batch whose bytes were not touched reads back,
    in order, and nothing else does."""
    config = LogConfig(segment_bytes=700, index_interval_bytes=150)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "p-0"
        log = Log(directory, config)
        originals = []
        for i, count in enumerate(counts):
            batch = build_batch([Rec(b"k", b"v" * (i % 50))] * count, base_timestamp=i)
            log.append(batch, now_ms=1)
            originals.append(payload(batch))
        log.close()
        files = sorted(directory.glob("*.log"))
        target = files[where % len(files)]
        before = target.read_bytes()
        data = bytearray(before)
        cut = where % (len(data) + 1)
        if patch is None:
            data = data[:cut]
        else:
            data[cut : cut + len(patch)] = patch
        target.write_bytes(bytes(data))
        changed = [
            i for i in range(len(before)) if i >= len(data) or data[i] != before[i]
        ]  # bytes that differ now
        damaged = set()
        first_in_target = sum(len(list(iter_batches(f.read_bytes()))) for f in files if f < target)
        for n, header in enumerate(iter_batches(before), start=first_in_target):
            if any(header.position <= i < header.end for i in changed):
                damaged.add(n)
        (directory / "clean-shutdown").unlink()
        (directory / "recovery-point").unlink()  # as if killed before any flush
        if lose_indexes:
            for index in directory.glob("*index"):
                index.unlink()
        reopened = Log(directory, config)
        headers = read_all(reopened)
        recovered = [payload(reopened.read(h.base_offset, 1)[: h.size]) for h in headers]
        undamaged = [b for n, b in enumerate(originals) if n not in damaged]
        it = iter(recovered)
        assert all(any(r == b for r in it) for b in undamaged)  # in order
        assert all(r in originals for r in recovered)
        assert [h.base_offset for h in headers] == sorted({h.base_offset for h in headers})
        end = reopened.log_end_offset
        info = reopened.append(build_batch([Rec(b"k", b"new")]), now_ms=1)
        assert info.base_offset == end == reopened.log_end_offset - 1
        reopened.close()
