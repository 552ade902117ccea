"""More guards for ``authz.CHECKS``: per-partition topic APIs, config resources, SCRAM users,
KIP-848 groups and the authorized-operations bit fields."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState

from .authz import (
    CLUSTER,
    CLUSTER_DENIED,
    GROUP,
    GROUP_DENIED,
    TOPIC,
    TOPIC_DENIED,
    allowed,
    authorized_ops,
    refused_topics,
)
from .base import Handler, RequestContext
from .util import NO_THROTTLE, build, response_module

Guard = Callable[[Handler, RequestContext, Any, BrokerState], Awaitable[Any]]
AUTHORIZED_OPS_OMITTED = -(2**31)


async def _answer(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    return await handler(ctx, request, state)


def per_partition(
    *,
    name: str,
    index: str,
    topic_cls: str,
    part_cls: str,
    part_index: str,
    part_fields: dict[str, Any],
    replica_checked: bool = False,
) -> Guard:
    """Topics the principal may not use get ``TOPIC_AUTHORIZATION_FAILED`` on every partition
    asked for (``name``/``index`` name the request's fields, the rest the response's)."""

    async def guard(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
        names = [getattr(t, name) for t in request.topics]
        if replica_checked and getattr(request, "replica_id", -1) >= 0:
            # a follower (OffsetForLeaderEpoch from a replica) needs ClusterAction
            refused = set() if allowed(ctx, state, CLUSTER) else set(names)
        else:
            refused = refused_topics(ctx, state, names)
        if not refused:
            return await _answer(handler, ctx, request, state)
        mod = response_module(request)
        keep = tuple(t for t in request.topics if getattr(t, name) not in refused)
        response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
        denied = tuple(
            build(
                getattr(mod, topic_cls),
                **{name: getattr(t, name)},
                partitions=tuple(
                    build(
                        getattr(mod, part_cls),
                        **{part_index: getattr(p, index)},
                        error_code=TOPIC_DENIED,
                        **part_fields,
                    )
                    for p in t.partitions
                ),
            )
            for t in request.topics
            if getattr(t, name) in refused
        )
        return dataclasses.replace(response, topics=(*response.topics, *denied))

    return guard


_TOPIC_CONFIGS, _BROKER_CONFIGS, _BROKER_LOGGER = 2, 4, 8


def config_resources(results_field: str, result_cls: str, **fields: Any) -> Guard:
    """Describe/Alter(Incremental)Configs: a topic needs the operation on the topic, a broker
    (or broker logger) on the cluster; the refused ones are answered with Kafka's errors."""

    async def guard(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
        refused: list[tuple[Any, ErrorCode]] = []
        keep: list[tuple[Any, ErrorCode]] = []
        for r in request.resources:
            if int(r.resource_type) == _TOPIC_CONFIGS:
                ok = allowed(ctx, state, TOPIC, r.resource_name)
                code = TOPIC_DENIED
            elif int(r.resource_type) in (_BROKER_CONFIGS, _BROKER_LOGGER):
                ok, code = allowed(ctx, state, CLUSTER), CLUSTER_DENIED
            else:
                ok, code = True, CLUSTER_DENIED
            (keep if ok else refused).append((r, code))
        if not refused:
            return await _answer(handler, ctx, request, state)
        mod = response_module(request)
        answered: tuple[Any, ...] = ()
        if keep:
            trimmed = dataclasses.replace(request, resources=tuple(r for r, _ in keep))
            answered = getattr(await _answer(handler, ctx, trimmed, state), results_field)
        denied = tuple(
            build(
                getattr(mod, result_cls),
                error_code=code,
                error_message=None,
                resource_type=r.resource_type,
                resource_name=r.resource_name,
                **fields,
            )
            for r, code in refused
        )
        return build(
            getattr(mod, type(request).__name__.replace("Request", "Response")),
            throttle_time=NO_THROTTLE,
            **{results_field: (*answered, *denied)},
        )

    return guard


async def create_partitions(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    refused = refused_topics(ctx, state, (t.name for t in request.topics))
    if not refused:
        return await _answer(handler, ctx, request, state)
    mod = response_module(request)
    keep = tuple(t for t in request.topics if t.name not in refused)
    response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
    denied = tuple(
        build(
            mod.CreatePartitionsTopicResult,
            name=name,
            error_code=TOPIC_DENIED,
            error_message="Authorization failed.",
        )
        for name in sorted(refused)
    )
    return dataclasses.replace(response, results=(*response.results, *denied))


async def offset_delete(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    if not allowed(ctx, state, GROUP, request.group_id):
        return build(
            mod.OffsetDeleteResponse, error_code=GROUP_DENIED, throttle_time=NO_THROTTLE, topics=()
        )
    refused = refused_topics(ctx, state, (t.name for t in request.topics))
    if not refused:
        return await _answer(handler, ctx, request, state)
    keep = tuple(t for t in request.topics if t.name not in refused)
    response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
    denied = tuple(
        build(
            mod.OffsetDeleteResponseTopic,
            name=t.name,
            partitions=tuple(
                build(
                    mod.OffsetDeleteResponsePartition,
                    partition_index=p.partition_index,
                    error_code=TOPIC_DENIED,
                )
                for p in t.partitions
            ),
        )
        for t in request.topics
        if t.name in refused
    )
    return dataclasses.replace(response, topics=(*response.topics, *denied))


async def alter_scram(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if allowed(ctx, state, CLUSTER):
        return await _answer(handler, ctx, request, state)
    mod = response_module(request)
    users = dict.fromkeys(str(i.name) for i in (*request.deletions, *request.upsertions))
    return build(
        mod.AlterUserScramCredentialsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(
                mod.AlterUserScramCredentialsResult,
                user=user,
                error_code=CLUSTER_DENIED,
                error_message=None,
            )
            for user in users
        ),
    )


async def describe_topic_partitions(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """Named topics the principal may not Describe: TOPIC_AUTHORIZATION_FAILED; when every
    topic is listed they are left out (as Kafka does)."""
    named = [t.name for t in request.topics]
    refused = refused_topics(ctx, state, named)
    if refused:
        keep = tuple(t for t in request.topics if t.name not in refused)
        request = dataclasses.replace(request, topics=keep)
    mod = response_module(request)
    if named and not request.topics:
        response = build(
            mod.DescribeTopicPartitionsResponse,
            throttle_time=NO_THROTTLE,
            topics=(),
            next_cursor=None,
        )
    else:
        response = await _answer(handler, ctx, request, state)
    topics = [t for t in response.topics if allowed(ctx, state, TOPIC, t.name)]
    topics.extend(
        build(
            mod.DescribeTopicPartitionsResponseTopic,
            error_code=TOPIC_DENIED,
            name=name,
            topic_id=uuid.UUID(int=0),
            is_internal=False,
            partitions=(),
            topic_authorized_operations=AUTHORIZED_OPS_OMITTED,
        )
        for name in sorted(refused)
    )
    return dataclasses.replace(response, topics=tuple(sorted(topics, key=lambda t: t.name)))


async def consumer_group_heartbeat(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    """Read on the group, Describe on every subscribed topic (KIP-848's checks)."""
    code, message = None, None
    if not allowed(ctx, state, GROUP, request.group_id):
        code, message = GROUP_DENIED, None
    elif (
        refused := refused_topics(ctx, state, request.subscribed_topic_names or ())
    ) and request.subscribed_topic_names:
        code = TOPIC_DENIED
        message = f"The group has subscribed to topics: {sorted(refused)} which are not authorized."
    if code is None:
        return await _answer(handler, ctx, request, state)
    return build(
        response_module(request).ConsumerGroupHeartbeatResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        error_message=message,
        member_id=None,
        member_epoch=-1,
        heartbeat_interval=NO_THROTTLE,  # a zero interval
        assignment=None,
    )


async def consumer_group_describe(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    response = await _answer(handler, ctx, request, state)
    groups = []
    for g in response.groups:
        if not allowed(ctx, state, GROUP, g.group_id):
            groups.append(
                dataclasses.replace(
                    g,
                    error_code=GROUP_DENIED,
                    error_message=None,
                    group_state="",
                    members=(),
                    authorized_operations=AUTHORIZED_OPS_OMITTED,
                )
            )
        elif request.include_authorized_operations:
            ops = authorized_ops(ctx, state, GROUP, g.group_id)
            groups.append(dataclasses.replace(g, authorized_operations=ops))
        else:
            groups.append(g)
    return dataclasses.replace(response, groups=tuple(groups))


async def describe_cluster(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    response = await _answer(handler, ctx, request, state)
    if not request.include_cluster_authorized_operations:
        return response
    ops = authorized_ops(ctx, state, CLUSTER, "kafka-cluster")
    return dataclasses.replace(response, cluster_authorized_operations=ops)
