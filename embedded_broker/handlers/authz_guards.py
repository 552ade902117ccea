"""The guards that apply ``authz.CHECKS`` around the handlers: refused parts of a request are
answered here with Kafka's errors, the rest goes to the handler."""

from __future__ import annotations

import dataclasses
import uuid
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
    TXN,
    TXN_DENIED,
    Op,
    allowed,
    authorized_ops,
    authorizer,
    can_create,
    refused_topics,
)
from .authz_more import (
    alter_scram,
    config_resources,
    consumer_group_describe,
    consumer_group_heartbeat,
    create_partitions,
    describe_cluster,
    describe_topic_partitions,
    offset_delete,
    per_partition,
)
from .authz_txn import GUARDS as TXN_AND_ADMIN_GUARDS
from .base import ApiSpec, Handler, RequestContext
from .topic_ids import topic_name
from .util import NO_THROTTLE, build, response_module


async def _answer(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    """The handler's response (every guarded API has one)."""
    return await handler(ctx, request, state)


# -- guards: one per API whose refusals can be answered around the handler --------------------


async def _metadata(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    from .metadata import _error_entry  # the entry layout of the Metadata handler

    mod = response_module(request)
    explicit = request.topics is not None and not (ctx.api_version == 0 and not request.topics)
    denied: list[tuple[str, ErrorCode]] = []
    if explicit:
        may_create = getattr(request, "allow_auto_topic_creation", True) and (
            state.config.get_bool("auto.create.topics.enable")
        )
        keep = []
        for t in request.topics:
            name = getattr(t, "name", None)
            if name is None:
                keep.append(t)  # by topic id: filtered on the way out
            elif not allowed(ctx, state, TOPIC, name) or (
                may_create and name not in state.topics and not can_create(ctx, state, name)
            ):
                denied.append((name, TOPIC_DENIED))
            else:
                keep.append(t)
        request = dataclasses.replace(request, topics=tuple(keep))
    response = await _answer(handler, ctx, request, state)
    entries = []
    for e in response.topics if not explicit or request.topics else ():
        if e.name is None or allowed(ctx, state, TOPIC, e.name):
            entries.append(e)
        elif explicit:  # asked for by topic id: refused, the name not given away
            entries.append(_error_entry(mod, None, e.topic_id, TOPIC_DENIED))
    if getattr(request, "include_topic_authorized_operations", False):
        entries = [
            dataclasses.replace(
                e, topic_authorized_operations=authorized_ops(ctx, state, TOPIC, e.name)
            )
            if e.name is not None and e.error_code == ErrorCode.none
            else e
            for e in entries
        ]
    zero = uuid.UUID(int=0)
    entries.extend(_error_entry(mod, name, zero, code) for name, code in denied)
    response = dataclasses.replace(response, topics=tuple(entries))
    if getattr(request, "include_cluster_authorized_operations", False):
        ops = authorized_ops(ctx, state, CLUSTER, "kafka-cluster")
        response = dataclasses.replace(response, cluster_authorized_operations=ops)
    return response


async def _group_whole(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if not allowed(ctx, state, GROUP, request.group_id):
        mod = response_module(request)
        name = type(request).__name__.replace("Request", "Response")
        fields = {f.name for f in dataclasses.fields(getattr(mod, name))}
        values: dict[str, Any] = {
            "throttle_time": NO_THROTTLE,
            "error_code": GROUP_DENIED,
            "generation_id": -1,
            "protocol_type": None,
            "protocol_name": None if ctx.api_version >= 7 else "",
            "leader": "",
            "skip_assignment": False,
            "member_id": "",
            "members": (),
            "assignment": b"",
        }
        if ctx.api_key == 14:  # SyncGroup
            values["protocol_name"] = None
        return getattr(mod, name)(**{k: v for k, v in values.items() if k in fields})
    return await handler(ctx, request, state)


async def _find_coordinator(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    response = await _answer(handler, ctx, request, state)
    rtype = TXN if getattr(request, "key_type", 0) == 1 else GROUP
    code = TXN_DENIED if rtype == TXN else GROUP_DENIED
    denied = {"error_code": code, "error_message": None, "node_id": -1, "host": "", "port": -1}
    if hasattr(response, "coordinators"):
        return dataclasses.replace(
            response,
            coordinators=tuple(
                c if allowed(ctx, state, rtype, c.key) else dataclasses.replace(c, **denied)
                for c in response.coordinators
            ),
        )
    if allowed(ctx, state, rtype, request.key):
        return response
    return dataclasses.replace(response, **denied)


def _topic_key(state: BrokerState, topic: Any) -> str:
    """A topic entry's name, resolving v10's topic ids (an unknown id stays its own key)."""
    return topic_name(state, topic) or f"id:{getattr(topic, 'topic_id', '')}"


async def _offset_commit(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    group_ok = allowed(ctx, state, GROUP, request.group_id)
    known = [topic_name(state, t) for t in request.topics]
    refused = refused_topics(ctx, state, (name for name in known if name is not None))
    if group_ok and not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    keep = tuple(t for t in request.topics if _topic_key(state, t) not in refused)
    answered: dict[str, Any] = {}
    if group_ok and keep:
        response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
        answered = {_topic_key(state, t): t for t in response.topics}
    topics = []
    for t in request.topics:
        key = _topic_key(state, t)
        if key in answered:
            topics.append(answered[key])
            continue
        code = GROUP_DENIED if not group_ok else TOPIC_DENIED
        part = mod.OffsetCommitResponsePartition
        parts = tuple(
            build(part, partition_index=p.partition_index, error_code=code) for p in t.partitions
        )
        topics.append(
            build(
                mod.OffsetCommitResponseTopic,
                name=getattr(t, "name", None),
                topic_id=getattr(t, "topic_id", None),
                partitions=parts,
            )
        )
    return build(mod.OffsetCommitResponse, throttle_time=NO_THROTTLE, topics=tuple(topics))


async def _offset_fetch(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    if ctx.api_version >= 8:
        refused_groups = {
            g.group_id for g in request.groups if not allowed(ctx, state, GROUP, g.group_id)
        }
        response = await _answer(handler, ctx, request, state)
        groups = []
        for g in response.groups:
            if g.group_id in refused_groups:
                groups.append(dataclasses.replace(g, topics=(), error_code=GROUP_DENIED))
            else:
                topics = _fetched_topics(ctx, state, g.topics, named=g_named(request, g.group_id))
                groups.append(dataclasses.replace(g, topics=topics))
        return dataclasses.replace(response, groups=tuple(groups))
    if not allowed(ctx, state, GROUP, request.group_id):
        return build(
            mod.OffsetFetchResponse, throttle_time=NO_THROTTLE, topics=(), error_code=GROUP_DENIED
        )
    response = await _answer(handler, ctx, request, state)
    topics = _fetched_topics(ctx, state, response.topics, named=request.topics is not None)
    return dataclasses.replace(response, topics=topics)


def g_named(request: Any, group_id: str) -> bool:
    return any(g.group_id == group_id and g.topics is not None for g in request.groups)


def _fetched_topics(
    ctx: RequestContext, state: BrokerState, topics: Any, *, named: bool
) -> tuple[Any, ...]:
    """Committed offsets of topics the principal may not Describe: left out when every offset
    was asked for, TOPIC_AUTHORIZATION_FAILED when the topic was named (as Kafka answers)."""
    out = []
    for t in topics:
        name = topic_name(state, t)
        if name is None or allowed(ctx, state, TOPIC, name):  # an unknown id: its own error
            out.append(t)
        elif named:
            parts = tuple(
                dataclasses.replace(
                    p,
                    committed_offset=-1,
                    committed_leader_epoch=-1,
                    metadata=None,
                    error_code=TOPIC_DENIED,
                )
                for p in t.partitions
            )
            out.append(dataclasses.replace(t, partitions=parts))
    return tuple(out)


async def _list_groups(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    response = await _answer(handler, ctx, request, state)
    if allowed(ctx, state, CLUSTER):
        return response
    groups = tuple(g for g in response.groups if allowed(ctx, state, GROUP, g.group_id))
    return dataclasses.replace(response, groups=groups)


async def _describe_groups(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    response = await _answer(handler, ctx, request, state)
    groups = []
    with_ops = getattr(request, "include_authorized_operations", False)
    for g in response.groups:
        if allowed(ctx, state, GROUP, g.group_id):
            ops = authorized_ops(ctx, state, GROUP, g.group_id) if with_ops else None
            groups.append(g if ops is None else dataclasses.replace(g, authorized_operations=ops))
        else:
            groups.append(
                dataclasses.replace(
                    g,
                    error_code=GROUP_DENIED,
                    group_state="",
                    protocol_type="",
                    protocol_data="",
                    members=(),
                )
            )
    return dataclasses.replace(response, groups=tuple(groups))


async def _delete_groups(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    refused = [g for g in request.groups_names if not allowed(ctx, state, GROUP, g)]
    if not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    keep = tuple(g for g in request.groups_names if g not in refused)
    response = await _answer(handler, ctx, dataclasses.replace(request, groups_names=keep), state)
    denied = tuple(
        build(mod.DeletableGroupResult, group_id=g, error_code=GROUP_DENIED) for g in refused
    )
    return dataclasses.replace(response, results=(*response.results, *denied))


async def _create_topics(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    refused = {t.name for t in request.topics if not can_create(ctx, state, t.name)}
    if not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    keep = tuple(t for t in request.topics if t.name not in refused)
    response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
    denied = tuple(
        build(
            mod.CreatableTopicResult,
            name=name,
            topic_id=uuid.UUID(int=0),
            error_code=TOPIC_DENIED,
            error_message="Authorization failed.",
            topic_config_error_code=0,
            num_partitions=-1,
            replication_factor=-1,
            configs=None,
        )
        for name in sorted(refused)
    )
    return dataclasses.replace(response, topics=(*response.topics, *denied))


async def _delete_topics(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    by_name = not hasattr(request, "topics")
    names = request.topic_names if by_name else [t.name for t in request.topics if t.name]
    refused = refused_topics(ctx, state, names)
    if not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    if by_name:
        keep_req = dataclasses.replace(
            request, topic_names=tuple(n for n in request.topic_names if n not in refused)
        )
    else:
        keep_req = dataclasses.replace(
            request, topics=tuple(t for t in request.topics if t.name not in refused)
        )
    response = await _answer(handler, ctx, keep_req, state)
    denied = tuple(
        build(
            mod.DeletableTopicResult,
            name=name,
            topic_id=uuid.UUID(int=0),
            error_code=TOPIC_DENIED,
            error_message="Authorization failed.",
        )
        for name in sorted(refused)
    )
    return dataclasses.replace(response, responses=(*response.responses, *denied))


async def _init_producer_id(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    az = authorizer(state)
    assert az is not None
    txn_id = request.transactional_id
    if txn_id is not None:
        ok, code = allowed(ctx, state, TXN, txn_id), TXN_DENIED
    else:  # idempotence: IdempotentWrite on the cluster, or Write on some topic
        ok = allowed(ctx, state, CLUSTER) or az.authorize_any(
            ctx.principal, ctx.client_host, Op.WRITE, TOPIC
        )
        code = CLUSTER_DENIED
    if ok:
        return await handler(ctx, request, state)
    return build(
        response_module(request).InitProducerIdResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        producer_id=-1,
        producer_epoch=-1,
    )


def _cluster_whole(**fields: Any) -> Any:
    """A guard refusing the whole request with CLUSTER_AUTHORIZATION_FAILED and ``fields``."""

    async def guard(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
        if allowed(ctx, state, CLUSTER):
            return await handler(ctx, request, state)
        mod = response_module(request)
        name = type(request).__name__.replace("Request", "Response")
        return build(
            getattr(mod, name),
            throttle_time=NO_THROTTLE,
            error_code=CLUSTER_DENIED,
            error_message="Cluster authorization failed.",
            **fields,
        )

    return guard


_GUARDS: dict[int, Any] = {
    2: per_partition(
        name="name",
        index="partition_index",
        topic_cls="ListOffsetsTopicResponse",
        part_cls="ListOffsetsPartitionResponse",
        part_index="partition_index",
        part_fields={"timestamp": -1, "offset": -1, "leader_epoch": -1, "old_style_offsets": ()},
    ),
    3: _metadata,
    8: _offset_commit,
    9: _offset_fetch,
    10: _find_coordinator,
    11: _group_whole,
    12: _group_whole,
    13: _group_whole,
    14: _group_whole,
    15: _describe_groups,
    16: _list_groups,
    19: _create_topics,
    20: _delete_topics,
    21: per_partition(
        name="name",
        index="partition_index",
        topic_cls="DeleteRecordsTopicResult",
        part_cls="DeleteRecordsPartitionResult",
        part_index="partition_index",
        part_fields={"low_watermark": -1},
    ),
    22: _init_producer_id,
    23: per_partition(
        name="topic",
        index="partition",
        topic_cls="OffsetForLeaderTopicResult",
        part_cls="EpochEndOffset",
        part_index="partition",
        part_fields={"leader_epoch": -1, "end_offset": -1},
        replica_checked=True,
    ),
    32: config_resources("results", "DescribeConfigsResult", configs=()),
    33: config_resources("responses", "AlterConfigsResourceResponse"),
    35: _cluster_whole(results=()),
    37: create_partitions,
    42: _delete_groups,
    43: _cluster_whole(replica_election_results=()),
    44: config_resources("responses", "AlterConfigsResourceResponse"),
    45: _cluster_whole(responses=()),
    46: _cluster_whole(topics=()),
    47: offset_delete,
    48: _cluster_whole(entries=()),
    50: _cluster_whole(results=()),
    51: alter_scram,
    60: describe_cluster,
    68: consumer_group_heartbeat,
    69: consumer_group_describe,
    75: describe_topic_partitions,
    **TXN_AND_ADMIN_GUARDS,
}


def guarded(spec: ApiSpec) -> ApiSpec:
    """The table entry with its guard in front (a no-op when the broker has no authorizer)."""
    guard = _GUARDS.get(spec.api_key)
    if guard is None:
        return spec
    inner = spec.handler

    async def handle(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
        if authorizer(state) is None:
            return await inner(ctx, request, state)
        return await guard(inner, ctx, request, state)

    return dataclasses.replace(spec, handler=handle)
