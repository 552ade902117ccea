"""DescribeCluster and DescribeLogDirs (partition sizes, so the app can show topic sizes)."""

from __future__ import annotations

import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.log_dir_sizes import LogDirUsage, measure
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .metadata import AUTHORIZED_OPS_OMITTED, advertised_address
from .util import NO_THROTTLE, build, response_module

log = logging.getLogger(__name__)

MEMORY_LOG_DIR = "memory"


async def handle_describe_cluster(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None and getattr(request, "endpoint_type", 1) == 1:
        return cluster_views.describe_cluster(request, state, link)
    mod = response_module(request)
    host, port = advertised_address(ctx, state)
    endpoint_type = getattr(request, "endpoint_type", 1)
    if endpoint_type != 1:
        return build(
            mod.DescribeClusterResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.unsupported_endpoint_type,
            error_message="Only brokers can be described.",
            endpoint_type=endpoint_type,
            cluster_id=state.cluster_id,
            controller_id=-1,
            brokers=(),
            cluster_authorized_operations=AUTHORIZED_OPS_OMITTED,
        )
    broker = build(
        mod.DescribeClusterBroker,
        broker_id=state.node_id,
        host=host,
        port=port,
        rack=None,
        is_fenced=False,  # v2: the broker answering is registered and serving, never fenced
    )
    return build(
        mod.DescribeClusterResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        endpoint_type=1,
        cluster_id=state.cluster_id,
        controller_id=state.node_id,
        brokers=(broker,),
        cluster_authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


def _wanted(request: Any, state: BrokerState) -> list[tuple[str, int]]:
    """The requested partitions this broker hosts (all of them for a null topic list)."""
    if request.topics is None:
        requested = {name: range(info.partitions) for name, info in state.topics.items()}
    else:
        requested = {t.topic: t.partitions for t in request.topics}
    out: list[tuple[str, int]] = []
    for name, partitions in requested.items():
        info = state.topics.get(name)
        if info is not None:
            out.extend((name, p) for p in partitions if 0 <= p < info.partitions)
    return out


def log_dir_name(state: BrokerState) -> str:
    """The one log dir as DescribeLogDirs names it (and AlterReplicaLogDirs must name it)."""
    if state.in_memory or state.data_dir is None:
        return MEMORY_LOG_DIR
    return str(state.data_dir)


def _memory_usage(state: BrokerState, keys: list[tuple[str, int]]) -> LogDirUsage:
    sizes = {}
    for name, p in keys:
        plog = state.partition(name, p)
        if plog is not None:
            sizes[(name, p)] = plog.size_bytes()
    return LogDirUsage(sizes, -1, -1)  # memory has no filesystem to report


async def handle_describe_log_dirs(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    keys = _wanted(request, state)
    code = ErrorCode.none
    log_dir = log_dir_name(state)
    if state.in_memory or state.data_dir is None:
        usage = _memory_usage(state, keys)
    else:
        try:
            # stat calls only, no log opened; on the storage thread: many partitions take a while
            usage = await state.run_storage(measure, state.data_dir, keys)
        except OSError:
            log.exception("Could not measure the log directory %s", log_dir)
            code, usage = ErrorCode.kafka_storage_error, LogDirUsage({}, -1, -1)
    by_topic: dict[str, list[Any]] = {}
    for (name, p), size in usage.sizes.items():
        by_topic.setdefault(name, []).append(
            build(
                mod.DescribeLogDirsPartition,
                partition_index=p,
                partition_size=size,
                offset_lag=0,  # a single log dir has no future replica to lag behind
                is_future_key=False,
            )
        )
    topics = tuple(
        build(mod.DescribeLogDirsTopic, name=name, partitions=tuple(parts))
        for name, parts in by_topic.items()
    )
    result = build(
        mod.DescribeLogDirsResult,
        error_code=code,
        log_dir=log_dir,
        topics=topics,
        total_bytes=usage.total_bytes,
        usable_bytes=usage.usable_bytes,
        is_cordoned=False,  # v5: the built-in broker never cordons its only log dir
    )
    return build(
        mod.DescribeLogDirsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        results=(result,),
    )


APIS = (
    ApiSpec(60, 0, 2, handle_describe_cluster),
    ApiSpec(35, 1, 5, handle_describe_log_dirs),
)
