"""DescribeCluster and DescribeLogDirs (partition sizes, so the app can show topic sizes)."""

from __future__ import annotations

import shutil
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .metadata import AUTHORIZED_OPS_OMITTED, advertised_address
from .util import NO_THROTTLE, build, response_module


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
        mod.DescribeClusterBroker, broker_id=state.node_id, host=host, port=port, rack=None
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


async def handle_describe_log_dirs(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    if request.topics is None:
        wanted = {name: list(range(info.partitions)) for name, info in state.topics.items()}
    else:
        wanted = {t.topic: list(t.partitions) for t in request.topics}
    topics = []
    for name, partitions in wanted.items():
        parts = []
        for p in partitions:
            plog = state.partition(name, p)
            if plog is None:
                continue
            parts.append(
                build(
                    mod.DescribeLogDirsPartition,
                    partition_index=p,
                    partition_size=plog.size_bytes(),
                    offset_lag=0,
                    is_future_key=False,
                )
            )
        if parts:
            topics.append(build(mod.DescribeLogDirsTopic, name=name, partitions=tuple(parts)))
    log_dir = (
        str(state.data_dir) if state.data_dir is not None and not state.in_memory else "memory"
    )
    total = usable = -1
    if state.data_dir is not None and not state.in_memory:
        try:
            usage = shutil.disk_usage(state.data_dir)
            total, usable = usage.total, usage.free
        except OSError:
            pass
    result = build(
        mod.DescribeLogDirsResult,
        error_code=ErrorCode.none,
        log_dir=log_dir,
        topics=tuple(topics),
        total_bytes=total,
        usable_bytes=usable,
    )
    return build(
        mod.DescribeLogDirsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        results=(result,),
    )


APIS = (
    ApiSpec(60, 0, 1, handle_describe_cluster),
    ApiSpec(35, 1, 4, handle_describe_log_dirs),
)
