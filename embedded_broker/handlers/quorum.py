"""DescribeQuorum: the KRaft quorum of __cluster_metadata. A single node is a one-voter quorum
of itself; in a cluster the broker forwards the request to the controller, node 100."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.channel import ControllerUnavailableError
from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .metadata import advertised_address
from .quorum_wire import API_KEY, Quorum, Replica, describe, failed, now_ms


async def handle_describe_quorum(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if (link := cluster_link(state)) is not None:
        try:
            return await link.forward(request)
        except ControllerUnavailableError:
            return failed(request, ErrorCode.request_timed_out, link.unavailable_message())
    # A single node votes for itself and is always caught up with its own metadata, which it
    # keeps in its topic registry rather than a metadata log: the log's offsets stay 0.
    now = now_ms()
    host, port = advertised_address(ctx, state)
    me = Replica(state.node_id, 0, now, now)
    quorum = Quorum(
        leader_id=state.node_id,
        high_watermark=0,
        voters=(me,),
        observers=(),
        endpoints={state.node_id: (ctx.listener or "PLAINTEXT", host, port)},
    )
    return describe(request, quorum)


APIS = (ApiSpec(API_KEY, 0, 2, handle_describe_quorum),)
