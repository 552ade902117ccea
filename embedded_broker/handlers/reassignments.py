"""AlterPartitionReassignments and ListPartitionReassignments: forwarded to the controller in
a cluster; a single node can only be "reassigned" to itself, which changes nothing."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module


async def handle_alter_partition_reassignments(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.forward(request, link)
    mod = response_module(request)
    responses = []
    for t in request.topics:
        info = state.topics.get(t.name)
        parts = []
        for p in t.partitions:
            code, message = ErrorCode.none, None
            if info is None or not 0 <= p.partition_index < info.partitions:
                code = ErrorCode.unknown_topic_or_partition
                message = f"Unknown partition {t.name}-{p.partition_index}."
            elif p.replicas is None:
                code = ErrorCode.no_reassignment_in_progress
                message = "No reassignment is in progress."
            elif tuple(p.replicas) != (state.node_id,):
                code = ErrorCode.invalid_replica_assignment
                message = f"This broker is the only one: its partitions live on {state.node_id}."
            parts.append(
                build(
                    mod.ReassignablePartitionResponse,
                    partition_index=p.partition_index,
                    error_code=code,
                    error_message=message,
                )
            )
        responses.append(build(mod.ReassignableTopicResponse, name=t.name, partitions=tuple(parts)))
    return build(
        mod.AlterPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        responses=tuple(responses),
    )


async def handle_list_partition_reassignments(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.forward(request, link)
    mod = response_module(request)
    return build(
        mod.ListPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        topics=(),
    )


APIS = (
    ApiSpec(45, 0, 1, handle_alter_partition_reassignments),
    ApiSpec(46, 0, 0, handle_list_partition_reassignments),
)
