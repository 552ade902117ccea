"""Share group offsets admin APIs (KIP-932): describe, alter and delete a share group's
share-partition start offsets (DescribeShareGroupOffsets, AlterShareGroupOffsets,
DeleteShareGroupOffsets)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator import GroupError
from embedded_broker.registry import TopicInfo
from embedded_broker.share.groups import ShareGroup
from embedded_broker.share.partition import SharePartition
from embedded_broker.share.runtime import PartitionKey, ShareCoordinator, share_coordinator
from embedded_broker.state import BrokerState

from .authz import GROUP, allowed, refused_topics
from .base import ApiSpec, RequestContext
from .groups import coordinator, refused
from .share_groups import DENIED_GROUP, other_kind
from .util import NO_THROTTLE, build, response_module

_NOT_SAVED = "The share-group state could not be saved; try again."
_NOT_EMPTY = (
    "The share group is not empty: its offsets can be changed only while it has no members. "
    "Stop its consumers and try again."
)


def _lag(share: ShareCoordinator, topic: str, index: int, part: SharePartition) -> int:
    """Records not yet delivered and acknowledged: from the written start offset to the high
    watermark, less those past it already finished (as Kafka's share-partition lag)."""
    high = share.high_watermark(topic, index)
    if high is None:
        return -1
    start, done = part.written()
    return max(high - start - done, 0)


def share_keys(info: TopicInfo) -> list[PartitionKey]:
    return [(info.topic_id, i) for i in range(info.partitions)]


def _subscribed(share: ShareCoordinator, group_id: str) -> list[tuple[str, list[int]]]:
    """The topics the group's members subscribe to, with all their partitions."""
    group = share.groups.groups.get(group_id)
    sizes = {} if group is None else group.topic_sizes
    return [(t, list(range(n))) for t, n in sorted(sizes.items())]


async def _summaries(
    share: ShareCoordinator, group_id: str, wanted: list[tuple[str, list[int]]]
) -> dict[tuple[str, int], tuple[int, int]]:
    """(topic, partition) -> (start offset, finished records) from a cluster's share
    coordinators; nothing on a single node."""
    if not share.clustered():
        return {}
    registry = share.state.registry.topics
    keys = {
        (info.topic_id, i): (t, i)
        for t, indexes in wanted
        if (info := registry.get(t)) is not None
        for i in indexes
    }
    found = await share.summaries(group_id, list(keys))
    return {keys[k]: v for k, v in found.items()}


async def _group_error(
    ctx: RequestContext, state: BrokerState, share: ShareCoordinator, group_id: str
) -> tuple[ErrorCode, str | None]:
    await coordinator(state)  # loaded first: refused() asks it which groups are this broker's
    if (not_here := refused(state, group_id)) is not GroupError.NONE:
        return ErrorCode(not_here.value), "This broker is not the coordinator."
    if not allowed(ctx, state, GROUP, group_id):
        return ErrorCode.group_authorization_failed, DENIED_GROUP
    if group_id not in share.groups.groups:
        message = await other_kind(state, group_id) or f"Group {group_id} not found."
        return ErrorCode.group_id_not_found, message
    return ErrorCode.none, None


async def handle_describe_share_group_offsets(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    share = await share_coordinator(state)
    share.expire(state.now_ms())
    groups = []
    for g in request.groups:
        code, message = await _group_error(ctx, state, share, g.group_id)
        topics = []
        if code == ErrorCode.none:
            known = {(t, i): p for t, i, p in share.group_partitions(g.group_id)}
            wanted: list[tuple[str, list[int]]]
            if g.topics is None:  # every topic the group has state for
                names = sorted({t for t, _ in known})
                wanted = [(t, sorted(i for n, i in known if n == t)) for t in names]
                if share.clustered():  # (the share coordinators hold the subscribed topics')
                    wanted = _subscribed(share, g.group_id)
            else:
                wanted = [(t.topic_name, [int(p) for p in t.partitions]) for t in g.topics]
            remote = await _summaries(share, g.group_id, wanted)
            for topic, indexes in wanted:
                info = state.registry.topics.get(topic)
                parts = []
                for index in indexes:
                    part = known.get((topic, index))
                    entry: dict[str, Any] = {
                        "partition_index": index,
                        "start_offset": -1,
                        "leader_epoch": -1,
                        "lag": -1,
                        "error_code": ErrorCode.none,
                    }
                    if info is None or index >= info.partitions:
                        entry["error_code"] = ErrorCode.unknown_topic_or_partition
                        entry["error_message"] = "This server does not host this topic-partition."
                    elif share.clustered():
                        if (topic, index) in remote:
                            start, finished = remote[(topic, index)]
                            high = share.high_watermark(topic, index)
                            entry["start_offset"] = start
                            entry["leader_epoch"] = 0
                            entry["lag"] = -1 if high is None else max(high - start - finished, 0)
                    elif part is not None:
                        entry["start_offset"] = part.written()[0]  # as Kafka's coordinator
                        entry["leader_epoch"] = 0
                        entry["lag"] = _lag(share, topic, index, part)
                    parts.append(build(mod.DescribeShareGroupOffsetsResponsePartition, **entry))
                topics.append(
                    build(
                        mod.DescribeShareGroupOffsetsResponseTopic,
                        topic_name=topic,
                        topic_id=info.topic_id if info is not None else None,
                        partitions=tuple(parts),
                    )
                )
        groups.append(
            build(
                mod.DescribeShareGroupOffsetsResponseGroup,
                group_id=g.group_id,
                topics=tuple(topics),
                error_code=code,
                error_message=message,
            )
        )
    return build(
        mod.DescribeShareGroupOffsetsResponse, throttle_time=NO_THROTTLE, groups=tuple(groups)
    )


async def handle_alter_share_group_offsets(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    group_id = request.group_id
    code, message = await _group_error(ctx, state, share, group_id)
    if code == ErrorCode.group_id_not_found and message == f"Group {group_id} not found.":
        code, message = ErrorCode.none, None  # as Kafka: altering offsets creates the group
    group = share.groups.groups.get(group_id)
    if code == ErrorCode.none and group is not None and group.members:
        code, message = ErrorCode.non_empty_group, _NOT_EMPTY
    topics = []
    resets: dict[PartitionKey, int | None] = {}  # a cluster's, for the share coordinators
    if code == ErrorCode.none:
        share.groups.groups.setdefault(group_id, ShareGroup(group_id))
        for t in request.topics:
            info = state.registry.topics.get(t.topic_name)
            parts = []
            for p in t.partitions:
                index = int(p.partition_index)
                part_code, part_message = ErrorCode.none, None
                high = share.high_watermark(t.topic_name, index) if info is not None else None
                if info is not None and refused_topics(ctx, state, [t.topic_name]):
                    part_code = ErrorCode.topic_authorization_failed
                    part_message = "Not authorized to read this topic."
                elif share.clustered() and info is not None and index < info.partitions:
                    # the leader may be another broker: an offset past the log is its to clamp
                    offset = int(p.start_offset)
                    if offset < 0 and high is None:
                        part_code = ErrorCode.not_leader_or_follower
                        part_message = "Give an offset: this broker holds no copy of the log."
                    else:
                        resets[(info.topic_id, index)] = offset if offset >= 0 else high
                elif info is None or high is None:
                    part_code = ErrorCode.unknown_topic_or_partition
                    part_message = "This server does not host this topic-partition."
                else:
                    offset = int(p.start_offset)
                    plog = state.partition(t.topic_name, index)
                    # -1 is latest; an offset outside the log is brought into it
                    start = plog.log_start_offset if plog is not None else 0
                    offset = high if offset < 0 else min(max(offset, start), high)
                    share.partitions.setdefault(group_id, {})[(info.topic_id, index)] = (
                        SharePartition(offset)
                    )
                parts.append(
                    build(
                        mod.AlterShareGroupOffsetsResponsePartition,
                        partition_index=index,
                        error_code=part_code,
                        error_message=part_message,
                    )
                )
            topics.append(
                build(
                    mod.AlterShareGroupOffsetsResponseTopic,
                    topic_name=t.topic_name,
                    topic_id=info.topic_id if info is not None else None,
                    partitions=tuple(parts),
                )
            )
        saved = await share.persist(group_id)
        if resets:
            saved = await share.reset_partitions(group_id, resets) and saved
        if not saved:
            code, message = (
                ErrorCode.unknown_server_error,
                "The share-group state could not be saved.",
            )
    return build(
        mod.AlterShareGroupOffsetsResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        error_message=message,
        responses=tuple(topics),
    )


async def handle_delete_share_group_offsets(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    group_id = request.group_id
    code, message = await _group_error(ctx, state, share, group_id)
    group = share.groups.groups.get(group_id)
    if code == ErrorCode.none and group is not None and group.members:
        code, message = ErrorCode.non_empty_group, _NOT_EMPTY
    topics = []
    resets: dict[PartitionKey, int | None] = {}  # a cluster's, for the share coordinators
    if code == ErrorCode.none:
        for t in request.topics:
            info = state.registry.topics.get(t.topic_name)
            topic_code, topic_message = ErrorCode.none, None
            if info is None:
                topic_code = ErrorCode.unknown_topic_or_partition
                topic_message = "This server does not host this topic-partition."
            elif refused_topics(ctx, state, [t.topic_name]):
                topic_code = ErrorCode.topic_authorization_failed
                topic_message = "Not authorized to read this topic."
            else:
                keys = [k for k in share.partitions.get(group_id, {}) if k[0] == info.topic_id]
                share.delete_partitions(group_id, keys)
                if share.clustered():
                    resets.update(dict.fromkeys(share_keys(info), None))
            topics.append(
                build(
                    mod.DeleteShareGroupOffsetsResponseTopic,
                    topic_name=t.topic_name,
                    topic_id=info.topic_id if info is not None else None,
                    error_code=topic_code,
                    error_message=topic_message,
                )
            )
        saved = await share.persist(group_id)
        if resets:
            saved = await share.reset_partitions(group_id, resets) and saved
        if not saved:
            code, message = (
                ErrorCode.unknown_server_error,
                "The share-group state could not be saved.",
            )
    return build(
        mod.DeleteShareGroupOffsetsResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        error_message=message,
        responses=tuple(topics),
    )


APIS = (
    ApiSpec(90, 0, 1, handle_describe_share_group_offsets),
    ApiSpec(91, 0, 0, handle_alter_share_group_offsets),
    ApiSpec(92, 0, 0, handle_delete_share_group_offsets),
)
