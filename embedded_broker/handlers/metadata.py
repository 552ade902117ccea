"""Metadata and DescribeTopicPartitions: the single broker, topics and their partitions."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import BrokerLink, cluster_link
from embedded_broker.limits import MAX_PARTITIONS
from embedded_broker.registry import TopicInfo, topic_name_error
from embedded_broker.security.listeners import ADVERTISED_KEY
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

API_KEY = 3
LEADER_EPOCH = 0
AUTHORIZED_OPS_OMITTED = -(2**31)


def advertised_address(ctx: RequestContext, state: BrokerState) -> tuple[str, int]:
    advertised = state.extensions.get(ADVERTISED_KEY)
    listed = advertised.get(ctx.listener) if isinstance(advertised, dict) else None
    if listed is not None:  # advertised.listeners names the listener the client came through
        return listed[0] or ctx.local_host, listed[1] or ctx.local_port
    host = state.config.get_str("advertised.host.name") or ctx.local_host
    port_raw = state.config.get_str("advertised.port")
    if host.startswith("::ffff:"):
        host = host[len("::ffff:") :]
    return host, int(port_raw) if port_raw else ctx.local_port


def _topic_entry(mod: Any, state: BrokerState, info: TopicInfo) -> Any:
    node = state.node_id
    partitions = tuple(
        build(
            mod.MetadataResponsePartition,
            error_code=ErrorCode.none,
            partition_index=p,
            leader_id=node,
            leader_epoch=LEADER_EPOCH,
            replica_nodes=(node,),
            isr_nodes=(node,),
            offline_replicas=(),
        )
        for p in range(info.partitions)
    )
    return build(
        mod.MetadataResponseTopic,
        error_code=ErrorCode.none,
        name=info.name,
        topic_id=info.topic_id,
        is_internal=info.internal,
        partitions=partitions,
        topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


def _error_entry(mod: Any, name: str | None, topic_id: uuid.UUID | None, code: ErrorCode) -> Any:
    # Response topic names are only nullable from v12; older versions get "".
    nullable = mod.MetadataResponse.__version__ >= 12
    return build(
        mod.MetadataResponseTopic,
        error_code=code,
        name=name if name is not None or nullable else "",
        topic_id=topic_id,
        is_internal=False,
        partitions=(),
        topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


async def handle_metadata(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.metadata(request, state, link, ctx.api_version)
    mod = response_module(request)
    version = ctx.api_version
    requested = request.topics
    if requested is None or (version == 0 and not requested):
        entries = [_topic_entry(mod, state, t) for t in list(state.topics.values())]
    else:
        allow_create = getattr(
            request, "allow_auto_topic_creation", True
        ) and state.config.get_bool("auto.create.topics.enable")
        entries = []
        for req in requested:
            name = getattr(req, "name", None)
            topic_id = getattr(req, "topic_id", None)
            if name is None and topic_id is not None and topic_id != uuid.UUID(int=0):
                info_by_id = state.registry.by_id.get(topic_id)
                if info_by_id is None:
                    entries.append(_error_entry(mod, None, topic_id, ErrorCode.unknown_topic_id))
                else:
                    entries.append(_topic_entry(mod, state, info_by_id))
                continue
            if name is None:
                entries.append(_error_entry(mod, None, topic_id, ErrorCode.invalid_request))
                continue
            info = state.topics.get(name)
            if info is None:
                if topic_name_error(name) is not None:
                    entries.append(_error_entry(mod, name, None, ErrorCode.invalid_topic_exception))
                    continue
                if not allow_create:
                    entries.append(
                        _error_entry(mod, name, None, ErrorCode.unknown_topic_or_partition)
                    )
                    continue
                count = state.config.get_int("num.partitions")
                if count > MAX_PARTITIONS:  # a limit enforced on every way to create a topic
                    entries.append(_error_entry(mod, name, None, ErrorCode.invalid_partitions))
                    continue
                try:
                    info = await state.create_topic_async(name, count, {}, internal=False)
                except (StorageError, OSError):
                    entries.append(_error_entry(mod, name, None, ErrorCode.kafka_storage_error))
                    continue
            entries.append(_topic_entry(mod, state, info))
    host, port = advertised_address(ctx, state)
    broker = build(
        mod.MetadataResponseBroker, node_id=state.node_id, host=host, port=port, rack=None
    )
    return build(
        mod.MetadataResponse,
        throttle_time=NO_THROTTLE,
        brokers=(broker,),
        cluster_id=state.cluster_id,
        controller_id=state.node_id,
        topics=tuple(entries),
        cluster_authorized_operations=AUTHORIZED_OPS_OMITTED,
        error_code=ErrorCode.none,  # v13: Kafka sets it only to ask clients to rebootstrap
    )


DESCRIBE_TOPIC_PARTITIONS_KEY = 75
# Kafka's max.request.partition.size.limit: the most partitions one response may hold.
PARTITION_LIMIT = 2000


def _partition_fields(link: BrokerLink | None, topic: str, p: int, node: int) -> dict[str, Any]:
    if link is not None:
        return cluster_views.partition_fields(link, topic, p)
    return {
        "leader_id": node,
        "leader_epoch": LEADER_EPOCH,
        "replica_nodes": (node,),
        "isr_nodes": (node,),
        "offline_replicas": (),
    }


async def handle_describe_topic_partitions(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """Topics by name (all when none are named), sorted, paged by partitions with a cursor."""
    mod = response_module(request)
    node = state.node_id
    requested = {t.name for t in request.topics}
    link = cluster_link(state)
    topics: Mapping[str, Any] = state.topics if link is None else cluster_views.topic_infos(link)
    names = sorted(requested or topics)
    limit = max(1, min(request.response_partition_limit, PARTITION_LIMIT))
    cursor = request.cursor
    if cursor is not None:
        names = [n for n in names if n >= cursor.topic_name]
    entries = []
    next_cursor = None
    budget = limit
    for name in names:
        info = topics.get(name)
        if info is None:
            entries.append(
                build(
                    mod.DescribeTopicPartitionsResponseTopic,
                    error_code=ErrorCode.unknown_topic_or_partition,
                    name=name,
                    topic_id=uuid.UUID(int=0),
                    is_internal=False,
                    partitions=(),
                )
            )
            continue
        if budget == 0:
            next_cursor = mod.Cursor(topic_name=name, partition_index=0)
            break
        first = cursor.partition_index if cursor is not None and name == cursor.topic_name else 0
        last = min(info.partitions, first + budget)
        partitions = tuple(
            build(
                mod.DescribeTopicPartitionsResponsePartition,
                error_code=ErrorCode.none,
                partition_index=p,
                **_partition_fields(link, name, p, node),
                eligible_leader_replicas=(),
                last_known_elr=(),
            )
            for p in range(max(first, 0), last)
        )
        budget -= len(partitions)
        entries.append(
            build(
                mod.DescribeTopicPartitionsResponseTopic,
                error_code=ErrorCode.none,
                name=name,
                topic_id=info.topic_id,
                is_internal=info.internal,
                partitions=partitions,
                topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
            )
        )
        if last < info.partitions:
            next_cursor = mod.Cursor(topic_name=name, partition_index=last)
            break
    return build(
        mod.DescribeTopicPartitionsResponse,
        throttle_time=NO_THROTTLE,
        topics=tuple(entries),
        next_cursor=next_cursor,
    )


APIS = (
    ApiSpec(API_KEY, 0, 13, handle_metadata),
    ApiSpec(DESCRIBE_TOPIC_PARTITIONS_KEY, 0, 0, handle_describe_topic_partitions),
)
