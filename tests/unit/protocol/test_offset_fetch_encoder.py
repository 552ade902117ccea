"""The hand-written OffsetFetch response encoder produces exactly kio's bytes (v1-v10)."""

from __future__ import annotations

import datetime
import importlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import build
from embedded_broker.protocol.codec import encode_body, encode_response
from embedded_broker.protocol.offset_fetch import FetchedGroup, encode_offset_fetch_response

names = st.text(alphabet="abcxyz._-", min_size=1, max_size=20)
codes = st.sampled_from([0, 3, 14, 15, 16, 25, 69, 88, 100])
partitions = st.lists(
    st.tuples(
        st.integers(0, 2**31 - 1),
        st.integers(-1, 2**62),
        st.integers(-1, 2**31 - 1),
        st.one_of(st.none(), st.just(""), st.text(max_size=30)),
        codes,
    ),
    max_size=4,
)
# a request's all-zero topic id reaches the encoder as None (kio's reading of it)
topics = st.lists(st.tuples(names, st.none() | st.uuids(), partitions), max_size=3)
groups = st.lists(st.tuples(names, topics, codes), min_size=1, max_size=3)


def _kio(version: int, fetched: list[FetchedGroup]) -> Any:
    mod = importlib.import_module(f"kio.schema.offset_fetch.v{version}.response")
    suffix = "s" if version >= 8 else ""

    def kio_topics(group_topics: Any) -> tuple[Any, ...]:
        return tuple(
            build(
                getattr(mod, "OffsetFetchResponseTopic" + suffix),
                name=name,
                topic_id=tid,
                partitions=tuple(
                    build(
                        getattr(mod, "OffsetFetchResponsePartition" + suffix),
                        partition_index=index,
                        committed_offset=offset,
                        committed_leader_epoch=epoch,
                        metadata=metadata,
                        error_code=ErrorCode(code),
                    )
                    for index, offset, epoch, metadata, code in parts
                ),
            )
            for name, tid, parts in group_topics
        )

    if version >= 8:
        return build(
            mod.OffsetFetchResponse,
            throttle_time=datetime.timedelta(0),
            groups=tuple(
                build(
                    mod.OffsetFetchResponseGroup,
                    group_id=g,
                    topics=kio_topics(t),
                    error_code=ErrorCode(code),
                )
                for g, t, code in fetched
            ),
        )
    ((_g, group_topics, code),) = fetched
    return build(
        mod.OffsetFetchResponse,
        throttle_time=datetime.timedelta(0),
        topics=kio_topics(group_topics),
        error_code=ErrorCode(code),
    )


@pytest.mark.parametrize("version", range(1, 11))
@settings(max_examples=40, deadline=None)
@given(fetched=groups)
def test_offset_fetch_response_matches_kio(version: int, fetched: list[FetchedGroup]) -> None:
    if version < 8:
        fetched = fetched[:1]
    encoded = encode_offset_fetch_response(version, fetched)
    framed = encode_body(7, encoded.body, flexible_header=encoded.flexible_header)
    assert framed == encode_response(7, _kio(version, fetched))


def test_a_group_without_topics_and_an_unknown_topic_id_match_kio() -> None:
    tid = uuid.uuid4()
    fetched: list[FetchedGroup] = [
        ("g", [], 16),
        ("h", [(None, tid, [(0, -1, -1, "", 100), (1, -1, -1, "", 100)])], 0),
    ]
    encoded = encode_offset_fetch_response(10, fetched)
    framed = encode_body(1, encoded.body, flexible_header=encoded.flexible_header)
    assert framed == encode_response(1, _kio(10, fetched))
