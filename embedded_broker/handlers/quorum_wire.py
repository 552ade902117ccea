"""DescribeQuorum's answer from a quorum's view (voters, observers, high watermark): shared
by the broker's handler and the controller, free of broker state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.metadata.log import METADATA_TOPIC

from .util import build, response_module

API_KEY = 55
# The epoch of a quorum whose only voter has led it from the start.
LEADER_EPOCH = 1
_NOT_HOSTED = "This server does not host this topic-partition."


@dataclass(frozen=True, slots=True)
class Replica:
    """A voter's or observer's progress on the metadata log (timestamps in wall-clock ms)."""

    replica_id: int
    log_end_offset: int
    last_fetch_ms: int
    last_caught_up_ms: int


@dataclass(frozen=True, slots=True)
class Quorum:
    leader_id: int
    high_watermark: int
    voters: Sequence[Replica]
    observers: Sequence[Replica]
    # node id -> (listener name, host, port) of each voter (v2's nodes)
    endpoints: dict[int, tuple[str, str, int]]


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def describe(request: Any, quorum: Quorum) -> Any:
    """The response to ``request`` describing ``quorum``; any partition but __cluster_metadata-0
    is answered UNKNOWN_TOPIC_OR_PARTITION, as Kafka does."""
    mod = response_module(request)

    def replica(r: Replica) -> Any:
        return build(
            mod.ReplicaState,
            replica_id=r.replica_id,
            replica_directory_id=uuid.UUID(int=0),
            log_end_offset=r.log_end_offset,
            last_fetch_timestamp=r.last_fetch_ms,
            last_caught_up_timestamp=r.last_caught_up_ms,
        )

    def partition(topic: str, index: int) -> Any:
        if topic != METADATA_TOPIC or index != 0:
            return build(
                mod.PartitionData,
                partition_index=index,
                error_code=ErrorCode.unknown_topic_or_partition,
                error_message=_NOT_HOSTED,
                leader_id=0,
                leader_epoch=0,
                high_watermark=0,
                current_voters=(),
                observers=(),
            )
        return build(
            mod.PartitionData,
            partition_index=index,
            error_code=ErrorCode.none,
            error_message="",
            leader_id=quorum.leader_id,
            leader_epoch=LEADER_EPOCH,
            high_watermark=quorum.high_watermark,
            current_voters=tuple(replica(r) for r in quorum.voters),
            observers=tuple(replica(r) for r in quorum.observers),
        )

    topics = tuple(
        build(
            mod.TopicData,
            topic_name=t.topic_name,
            partitions=tuple(partition(t.topic_name, int(p.partition_index)) for p in t.partitions),
        )
        for t in request.topics
    )
    described = any(t.topic_name == METADATA_TOPIC for t in request.topics)
    nodes = tuple(
        build(
            mod.Node,
            node_id=node,
            listeners=(build(mod.Listener, name=name, host=host, port=port),),
        )
        for node, (name, host, port) in quorum.endpoints.items()
        if described
    )
    return build(
        mod.DescribeQuorumResponse,
        error_code=ErrorCode.none,
        error_message="",
        topics=topics,
        nodes=nodes,
    )


def failed(request: Any, code: ErrorCode, message: str) -> Any:
    mod = response_module(request)
    return build(
        mod.DescribeQuorumResponse, error_code=code, error_message=message, topics=(), nodes=()
    )
