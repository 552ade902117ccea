"""ElectLeaders: forwarded to the controller in a cluster; a single node is always the
preferred leader of every partition, so no election is ever needed."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link import views as cluster_views
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module


async def handle_elect_leaders(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        return await cluster_views.forward(request, link)
    mod = response_module(request)
    if request.topic_partitions is None:
        wanted: list[tuple[str, list[int]]] = []  # nothing to elect anywhere: nothing listed
    else:
        wanted = [(tp.topic, [int(p) for p in tp.partitions]) for tp in request.topic_partitions]
    results = []
    for topic, indexes in wanted:
        info = state.topics.get(topic)
        parts = []
        for index in indexes:
            known = info is not None and 0 <= index < info.partitions
            parts.append(
                build(
                    mod.PartitionResult,
                    partition_id=index,
                    error_code=ErrorCode.election_not_needed
                    if known
                    else ErrorCode.unknown_topic_or_partition,
                    error_message=None,
                )
            )
        results.append(build(mod.ReplicaElectionResult, topic=topic, partition_result=tuple(parts)))
    return build(
        mod.ElectLeadersResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        replica_election_results=tuple(results),
    )


APIS = (ApiSpec(43, 0, 2, handle_elect_leaders),)
