"""Property test: whatever batches are appended, in whatever sizes, read back unchanged."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from embedded_broker.protocol.record_batch import iter_batches
from embedded_broker.storage import Log, LogConfig, StorageError
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
def test_recovery_after_random_damage_keeps_a_valid_prefix(
    counts: list[int], where: int, patch: bytes | None, lose_indexes: bool
) -> None:
    """Cut (patch None) or overwrite the log files anywhere: what reopens is a prefix."""
    config = LogConfig(segment_bytes=700, index_interval_bytes=150)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "p-0"
        log = Log(directory, config)
        originals = []
        bases = []
        for i, count in enumerate(counts):
            bases.append(log.log_end_offset)
            batch = build_batch([Rec(b"k", b"v" * (i % 50))] * count, base_timestamp=i)
            log.append(batch, now_ms=1)
            originals.append(payload(batch))
        log.close()
        files = sorted(directory.glob("*.log"))
        target = files[where % len(files)]
        data = bytearray(target.read_bytes())
        cut = where % (len(data) + 1)
        if patch is None:
            data = data[:cut]
        else:
            data[cut : cut + len(patch)] = patch
        target.write_bytes(bytes(data))
        (directory / "clean-shutdown").unlink()
        if lose_indexes:
            for index in directory.glob("*index"):
                index.unlink()
        reopened = Log(directory, config)
        # bytes overwritten inside an old segment whose indexes are intact are not noticed on
        # open (like Kafka, CRCs are checked on recovery, not on every read)
        trusted_damage = patch is not None and target != files[-1] and not lose_indexes
        if not trusted_damage:
            headers = read_all(reopened)
            recovered = [payload(reopened.read(h.base_offset, 1)[: h.size]) for h in headers]
            first = bases.index(headers[0].base_offset) if headers else 0
            assert first == 0 or target == files[0]  # only an emptied first segment goes
            assert recovered == originals[first : first + len(recovered)]
            if headers:
                assert reopened.log_end_offset == headers[-1].next_offset
        else:  # served as stored, or refused with a StorageError, never a crash
            reopened.offset_for_timestamp(0)
            reopened.max_timestamp()
            for offset in range(reopened.log_start_offset, reopened.log_end_offset + 1):
                with contextlib.suppress(StorageError):
                    reopened.read(offset, 500)
        end = reopened.log_end_offset
        info = reopened.append(build_batch([Rec(b"k", b"new")]), now_ms=1)
        assert info.base_offset == end == reopened.log_end_offset - 1
        reopened.close()
