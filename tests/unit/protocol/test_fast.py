"""The hand-written Produce/Fetch response encoders produce exactly kio's bytes."""

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
from embedded_broker.protocol.fast import encode_fetch_response, encode_produce_response


def _module(api: str, version: int) -> Any:
    return importlib.import_module(f"kio.schema.{api}.v{version}.response")


names = st.text(alphabet="abcxyz._-", min_size=1, max_size=20)
produce_parts = st.lists(
    st.tuples(
        st.integers(0, 100),
        st.sampled_from([0, 2, 3, 10, 45, 87]),
        st.integers(-1, 2**40),
        st.integers(-1, 2**41),
        st.integers(-1, 2**40),
        st.one_of(st.none(), st.text(max_size=30)),
        st.lists(
            st.tuples(st.integers(0, 2**31 - 1), st.one_of(st.none(), st.text(max_size=30))),
            max_size=3,
        ).map(tuple),
    ),
    max_size=4,
)


@pytest.mark.parametrize("version", range(3, 14))
@settings(max_examples=40, deadline=None)
@given(topics=st.lists(st.tuples(names, produce_parts), max_size=3))
def test_produce_response_matches_kio(version: int, topics: list[Any]) -> None:
    mod = _module("produce", version)
    # v13 names each topic by its id (KIP-516)
    ids = [uuid.uuid5(uuid.NAMESPACE_URL, name) for name, _ in topics]
    kio_response = build(
        mod.ProduceResponse,
        responses=tuple(
            build(
                mod.TopicProduceResponse,
                name=name,
                topic_id=topic_id,
                partition_responses=tuple(
                    build(
                        mod.PartitionProduceResponse,
                        index=i,
                        error_code=ErrorCode(err),
                        base_offset=base,
                        log_append_time=(
                            datetime.datetime.fromtimestamp(t / 1000, tz=datetime.UTC)
                            if t >= 0
                            else None
                        ),
                        log_start_offset=start,
                        record_errors=tuple(
                            build(
                                mod.BatchIndexAndErrorMessage,
                                batch_index=batch_index,
                                batch_index_error_message=batch_message,
                            )
                            for batch_index, batch_message in record_errors
                        )
                        if version >= 8
                        else (),
                        error_message=msg,
                    )
                    for i, err, base, t, start, msg, record_errors in parts
                ),
            )
            for (name, parts), topic_id in zip(topics, ids, strict=True)
        ),
        throttle_time=datetime.timedelta(0),
    )
    fast = encode_produce_response(version, topics, topic_ids=ids)
    expected = encode_response(5, kio_response)
    if version < 8:
        topics_no_msg = [(n, [(*p[:5], None, ()) for p in parts]) for n, parts in topics]
        fast = encode_produce_response(version, topics_no_msg, topic_ids=ids)
    assert encode_body(5, fast.body, flexible_header=fast.flexible_header) == expected


fetch_parts = st.lists(
    st.tuples(
        st.integers(0, 100),
        st.sampled_from([0, 1, 3]),
        st.integers(-1, 2**40),
        st.integers(-1, 2**40),
        st.integers(-1, 2**40),
        st.binary(max_size=50),
    ),
    max_size=4,
)


@pytest.mark.parametrize("version", range(4, 13))
@settings(max_examples=40, deadline=None)
@given(topics=st.lists(st.tuples(names, fetch_parts), max_size=3), read_committed=st.booleans())
def test_fetch_response_matches_kio(version: int, topics: list[Any], read_committed: bool) -> None:
    mod = _module("fetch", version)
    kio_response = build(
        mod.FetchResponse,
        throttle_time=datetime.timedelta(0),
        error_code=ErrorCode.none,
        session_id=0,
        responses=tuple(
            build(
                mod.FetchableTopicResponse,
                topic=name,
                partitions=tuple(
                    build(
                        mod.PartitionData,
                        partition_index=i,
                        error_code=ErrorCode(err),
                        high_watermark=hw,
                        last_stable_offset=lso,
                        log_start_offset=start,
                        aborted_transactions=() if read_committed and not err else None,
                        preferred_read_replica=-1,
                        records=records,
                    )
                    for i, err, hw, lso, start, records in parts
                ),
            )
            for name, parts in topics
        ),
    )
    fast = encode_fetch_response(version, 0, topics, read_committed=read_committed)
    assert encode_body(9, fast.body, flexible_header=fast.flexible_header) == encode_response(
        9, kio_response
    )
