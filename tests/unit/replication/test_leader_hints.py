"""Current-leader hints in the hand-written Produce v10+ and Fetch v12 encoders: the same
bytes as kio's encoder."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from kio.schema.errors import ErrorCode

from embedded_broker.handlers.util import NO_THROTTLE, build
from embedded_broker.protocol.codec import encode_body, encode_response
from embedded_broker.protocol.fast import encode_fetch_response, encode_produce_response

NOT_LEADER = ErrorCode.not_leader_or_follower


def _module(api: str, version: int) -> Any:
    return importlib.import_module(f"kio.schema.{api}.v{version}.response")


@pytest.mark.parametrize("version", [10, 11])
def test_produce_hints_match_kio(version: int) -> None:
    mod = _module("produce", version)
    parts = [(0, NOT_LEADER.value, -1, -1, -1, None, ()), (1, 0, 5, -1, 0, None, ())]
    expected = build(
        mod.ProduceResponse,
        responses=(
            build(
                mod.TopicProduceResponse,
                name="t",
                partition_responses=(
                    build(
                        mod.PartitionProduceResponse,
                        index=0,
                        error_code=NOT_LEADER,
                        base_offset=-1,
                        log_start_offset=-1,
                        record_errors=(),
                        current_leader=build(mod.LeaderIdAndEpoch, leader_id=102, leader_epoch=7),
                    ),
                    build(
                        mod.PartitionProduceResponse,
                        index=1,
                        error_code=ErrorCode.none,
                        base_offset=5,
                        log_start_offset=0,
                        record_errors=(),
                    ),
                ),
            ),
        ),
        node_endpoints=(
            build(mod.NodeEndpoint, node_id=102, host="127.0.0.1", port=9093, rack=None),
        ),
    )
    ours = encode_produce_response(
        version,
        [("t", parts)],
        leaders={("t", 0): (102, 7)},
        endpoints=[(102, "127.0.0.1", 9093, None)],
    )
    assert encode_body(7, ours.body, flexible_header=True) == encode_response(7, expected)


def test_produce_before_v10_has_no_hints() -> None:
    parts = [(0, NOT_LEADER.value, -1, -1, -1, None, ())]
    plain = encode_produce_response(9, [("t", parts)])
    hinted = encode_produce_response(
        9, [("t", parts)], leaders={("t", 0): (1, 1)}, endpoints=[(1, "h", 1, None)]
    )
    assert plain == hinted


def test_fetch_hint_matches_kio() -> None:
    mod = _module("fetch", 12)
    expected = build(
        mod.FetchResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        session_id=0,
        responses=(
            build(
                mod.FetchableTopicResponse,
                topic="t",
                partitions=(
                    build(
                        mod.PartitionData,
                        partition_index=3,
                        error_code=ErrorCode.fenced_leader_epoch,
                        high_watermark=-1,
                        last_stable_offset=-1,
                        log_start_offset=-1,
                        aborted_transactions=None,
                        records=b"",
                        current_leader=build(mod.LeaderIdAndEpoch, leader_id=101, leader_epoch=4),
                    ),
                ),
            ),
        ),
    )
    ours = encode_fetch_response(
        12,
        0,
        [("t", [(3, ErrorCode.fenced_leader_epoch.value, -1, -1, -1, b"")])],
        leaders={("t", 3): (101, 4)},
    )
    assert encode_body(9, ours.body, flexible_header=True) == encode_response(9, expected)
