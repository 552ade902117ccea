"""The share coordinator's APIs (KIP-932), sent by share-partition leaders:
InitializeShareGroupState (83), ReadShareGroupState (84), WriteShareGroupState (85),
DeleteShareGroupState (86) and ReadShareGroupStateSummary (87).

A cluster broker answers for the ``__share_group_state`` partitions it leads; a single node keeps
share state in its own journal and has no share coordinator to ask (COORDINATOR_NOT_AVAILABLE).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.share.state_coordinator import ShareStateCoordinator, state_coordinator
from embedded_broker.share.state_topic import Snapshot, StateKey
from embedded_broker.state import BrokerState

from .authz import CLUSTER, allowed
from .base import ApiSpec, RequestContext
from .util import build, response_module

_MESSAGES = {
    ErrorCode.not_coordinator: "This broker is not the share coordinator of the partition.",
    ErrorCode.coordinator_load_in_progress: "The share coordinator is loading its state.",
    ErrorCode.coordinator_not_available: "The share coordinator is not available.",
    ErrorCode.fenced_leader_epoch: "The leader epoch is older than the share state's.",
    ErrorCode.fenced_state_epoch: "The state epoch is older than the share state's.",
    ErrorCode.cluster_authorization_failed: "Not authorized for ClusterAction on the cluster.",
}

Each = Callable[[ShareStateCoordinator, StateKey, Any], Awaitable[dict[str, Any]]]


# what a partition without state answers (build() keeps only the fields a response has)
_NO_STATE: dict[str, Any] = {
    "state_epoch": -1,
    "leader_epoch": -1,
    "start_offset": -1,
    "state_batches": (),
    "delivery_complete_count": -1,
}


def _failed(code: ErrorCode) -> dict[str, Any]:
    return {"error_code": code, "error_message": _MESSAGES.get(code, code.name)}


async def _answer(
    ctx: RequestContext, request: Any, state: BrokerState, each: Each, names: tuple[str, str]
) -> Any:
    """Run ``each`` for every partition of the request and build the response (``names``:
    the response's class and its per-topic result class)."""
    mod = response_module(request)
    response_cls, result_cls = (getattr(mod, n) for n in names)
    coord = state_coordinator(state) if cluster_link(state) is not None else None
    permitted = allowed(ctx, state, CLUSTER)
    results = []
    for topic in request.topics:
        parts = []
        for p in topic.partitions:
            topic_id: uuid.UUID = topic.topic_id
            key = (request.group_id, topic_id, int(p.partition))
            if not permitted:
                fields = {**_failed(ErrorCode.cluster_authorization_failed), **_NO_STATE}
            elif coord is None:
                fields = {**_failed(ErrorCode.coordinator_not_available), **_NO_STATE}
            else:
                fields = await each(coord, key, p)
            parts.append(build(mod.PartitionResult, partition=p.partition, **fields))
        results.append(build(result_cls, topic_id=topic.topic_id, partitions=tuple(parts)))
    return build(response_cls, results=tuple(results))


def _state_fields(code: ErrorCode, found: Snapshot | None, mod: Any) -> dict[str, Any]:
    if code != ErrorCode.none:
        return {**_failed(code), **_NO_STATE}
    if found is None:  # no state yet: the leader starts from share.auto.offset.reset
        return {"error_code": code, **_NO_STATE, "state_epoch": 0}
    batches = ()
    if hasattr(mod, "StateBatch"):  # ReadShareGroupState; the summary has none
        batches = tuple(
            build(
                mod.StateBatch,
                first_offset=first,
                last_offset=last,
                delivery_state=state,
                delivery_count=count,
            )
            for first, last, state, count in found.batches
        )
    return {
        "error_code": code,
        "state_epoch": found.state_epoch,
        "leader_epoch": found.leader_epoch,
        "start_offset": found.start_offset,
        "state_batches": batches,
        "delivery_complete_count": found.delivered(),
    }


async def handle_initialize(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    async def each(coord: ShareStateCoordinator, key: StateKey, p: Any) -> dict[str, Any]:
        code = await coord.initialize(key, int(p.state_epoch), int(p.start_offset))
        return {"error_code": code} if code == ErrorCode.none else _failed(code)

    return await _answer(
        ctx, request, state, each, ("InitializeShareGroupStateResponse", "InitializeStateResult")
    )


async def handle_read(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)

    async def each(coord: ShareStateCoordinator, key: StateKey, p: Any) -> dict[str, Any]:
        code, found = await coord.read(key, int(p.leader_epoch))
        return _state_fields(code, found, mod)

    return await _answer(
        ctx, request, state, each, ("ReadShareGroupStateResponse", "ReadStateResult")
    )


async def handle_write(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    async def each(coord: ShareStateCoordinator, key: StateKey, p: Any) -> dict[str, Any]:
        snapshot = Snapshot(
            int(p.state_epoch),
            int(p.leader_epoch),
            int(p.start_offset),
            tuple(
                (
                    int(b.first_offset),
                    int(b.last_offset),
                    int(b.delivery_state),
                    int(b.delivery_count),
                )
                for b in p.state_batches
            ),
        )
        code = await coord.write(key, snapshot)
        return {"error_code": code} if code == ErrorCode.none else _failed(code)

    return await _answer(
        ctx, request, state, each, ("WriteShareGroupStateResponse", "WriteStateResult")
    )


async def handle_delete(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    async def each(coord: ShareStateCoordinator, key: StateKey, p: Any) -> dict[str, Any]:
        code = await coord.delete(key)
        return {"error_code": code} if code == ErrorCode.none else _failed(code)

    return await _answer(
        ctx, request, state, each, ("DeleteShareGroupStateResponse", "DeleteStateResult")
    )


async def handle_summary(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)

    async def each(coord: ShareStateCoordinator, key: StateKey, p: Any) -> dict[str, Any]:
        code, found = coord.summary(key)
        return _state_fields(code, found, mod)

    return await _answer(
        ctx, request, state, each, ("ReadShareGroupStateSummaryResponse", "ReadStateSummaryResult")
    )


APIS = (
    ApiSpec(83, 0, 0, handle_initialize),
    ApiSpec(84, 0, 0, handle_read),
    ApiSpec(85, 0, 1, handle_write),
    ApiSpec(86, 0, 0, handle_delete),
    ApiSpec(87, 0, 1, handle_summary),
)
