"""Fetch v13-18 from the hand-written encoder: topics named by id, and from v16 the endpoints
of the leaders a hint names, byte for byte as kio encodes them."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build
from embedded_broker.protocol.codec import encode_body, encode_response
from embedded_broker.protocol.fast import encode_fetch_response

NOT_LEADER = ErrorCode.not_leader_or_follower.value

partitions = st.lists(
    st.tuples(
        st.integers(0, 100),
        st.sampled_from([0, 1, 6, 100]),
        st.integers(-1, 2**40),
        st.integers(-1, 2**40),
        st.integers(-1, 2**40),
        st.binary(max_size=50),
    ),
    max_size=4,
)
ids = st.uuids(version=4)


def _kio(
    version: int,
    topics: list[tuple[uuid.UUID, list[Any]]],
    hints: dict[tuple[uuid.UUID, int], tuple[int, int]],
    endpoints: list[tuple[int, str, int, None]],
) -> bytes:
    mod = importlib.import_module(f"kio.schema.fetch.v{version}.response")
    response = build(
        mod.FetchResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        session_id=0,
        responses=tuple(
            build(
                mod.FetchableTopicResponse,
                topic_id=topic_id,
                partitions=tuple(
                    build(
                        mod.PartitionData,
                        partition_index=index,
                        error_code=ErrorCode(code),
                        high_watermark=high,
                        last_stable_offset=stable,
                        log_start_offset=start,
                        aborted_transactions=None,
                        preferred_read_replica=-1,
                        records=records,
                        **(
                            {
                                "current_leader": build(
                                    mod.LeaderIdAndEpoch, leader_id=h[0], leader_epoch=h[1]
                                )
                            }
                            if (h := hints.get((topic_id, index)))
                            else {}
                        ),
                    )
                    for index, code, high, stable, start, records in parts
                ),
            )
            for topic_id, parts in topics
        ),
        node_endpoints=tuple(
            build(mod.NodeEndpoint, node_id=n, host=h, port=p, rack=r) for n, h, p, r in endpoints
        ),
    )
    return encode_response(1, response)


@pytest.mark.parametrize("version", range(13, 19))
@settings(max_examples=30, deadline=None)
@given(topics=st.lists(st.tuples(ids, partitions), max_size=3, unique_by=lambda t: t[0]))
def test_topics_by_id_match_kio(version: int, topics: list[Any]) -> None:
    # the names are what the handler resolved; only the ids go on the wire
    named = [(f"t{at}", parts) for at, (_, parts) in enumerate(topics)]
    ours = encode_fetch_response(version, 0, named, topic_ids=[t for t, _ in topics])
    assert encode_body(1, ours.body, flexible_header=True) == _kio(version, topics, {}, [])


@pytest.mark.parametrize("version", range(13, 19))
def test_leader_hints_name_their_endpoints_from_v16(version: int) -> None:
    topic_id = uuid.uuid4()
    parts = [(0, NOT_LEADER, -1, -1, -1, b""), (1, 0, 5, 5, 0, b"")]
    endpoints = [(102, "127.0.0.1", 9093, None)]
    ours = encode_fetch_response(
        version,
        0,
        [("t", parts)],
        leaders={("t", 0): (102, 7)},
        topic_ids=[topic_id],
        endpoints=endpoints,
    )
    expected = _kio(
        version,
        [(topic_id, parts)],
        {(topic_id, 0): (102, 7)},
        endpoints if version >= 16 else [],
    )
    assert encode_body(1, ours.body, flexible_header=True) == expected
