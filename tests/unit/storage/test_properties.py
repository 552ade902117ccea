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
