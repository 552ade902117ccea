"""Authorization of every API, as Kafka's handlers do it: the table of checks and the guards.

``CHECKS`` is the one table of which operation each API checks on which resource type. The
guards apply it around a handler (a refused request never reaches the handler's state); Produce
and Fetch, whose responses are encoded on the hot path, ask ``refused_topics`` themselves.
Without an authorizer (``authorizer.class.name`` empty) nothing is checked and no guard runs.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.security.acl import CLUSTER_NAME, Operation, ResourceType
from embedded_broker.security.authorizer import AUTHORIZER_KEY, Authorizer
from embedded_broker.state import BrokerState

from .base import ApiSpec, Handler, RequestContext
from .util import NO_THROTTLE, build, response_module

TOPIC, GROUP, CLUSTER = ResourceType.TOPIC, ResourceType.GROUP, ResourceType.CLUSTER
TXN = ResourceType.TRANSACTIONAL_ID
Op = Operation

# api key -> {resource type: the operation Kafka's handler checks on it}
CHECKS: dict[int, dict[ResourceType, Operation]] = {
    0: {TOPIC: Op.WRITE, TXN: Op.WRITE},  # Produce
    1: {TOPIC: Op.READ, CLUSTER: Op.CLUSTER_ACTION},  # Fetch (a follower: ClusterAction)
    2: {TOPIC: Op.DESCRIBE},  # ListOffsets
    3: {TOPIC: Op.DESCRIBE},  # Metadata (auto-creation: Create, as CreateTopics)
    8: {GROUP: Op.READ, TOPIC: Op.READ},  # OffsetCommit
    9: {GROUP: Op.DESCRIBE, TOPIC: Op.DESCRIBE},  # OffsetFetch
    10: {GROUP: Op.DESCRIBE, TXN: Op.DESCRIBE},  # FindCoordinator
    11: {GROUP: Op.READ},  # JoinGroup
    12: {GROUP: Op.READ},  # Heartbeat
    13: {GROUP: Op.READ},  # LeaveGroup
    14: {GROUP: Op.READ},  # SyncGroup
    15: {GROUP: Op.DESCRIBE},  # DescribeGroups
    16: {CLUSTER: Op.DESCRIBE, GROUP: Op.DESCRIBE},  # ListGroups (cluster, else per group)
    17: {},  # SaslHandshake
    18: {},  # ApiVersions
    19: {CLUSTER: Op.CREATE, TOPIC: Op.CREATE},  # CreateTopics (either)
    20: {TOPIC: Op.DELETE},  # DeleteTopics
    21: {TOPIC: Op.DELETE},  # DeleteRecords
    22: {TXN: Op.WRITE, CLUSTER: Op.IDEMPOTENT_WRITE},  # InitProducerId (or Write on a topic)
    23: {TOPIC: Op.DESCRIBE, CLUSTER: Op.CLUSTER_ACTION},  # OffsetForLeaderEpoch
    29: {CLUSTER: Op.DESCRIBE},  # DescribeAcls
    30: {CLUSTER: Op.ALTER},  # CreateAcls
    31: {CLUSTER: Op.ALTER},  # DeleteAcls
    32: {TOPIC: Op.DESCRIBE_CONFIGS, CLUSTER: Op.DESCRIBE_CONFIGS},  # DescribeConfigs
    33: {TOPIC: Op.ALTER_CONFIGS, CLUSTER: Op.ALTER_CONFIGS},  # AlterConfigs
    35: {CLUSTER: Op.DESCRIBE},  # DescribeLogDirs
    36: {},  # SaslAuthenticate
    37: {TOPIC: Op.ALTER},  # CreatePartitions
    42: {GROUP: Op.DELETE},  # DeleteGroups
    43: {CLUSTER: Op.ALTER},  # ElectLeaders
    44: {TOPIC: Op.ALTER_CONFIGS, CLUSTER: Op.ALTER_CONFIGS},  # IncrementalAlterConfigs
    45: {CLUSTER: Op.ALTER},  # AlterPartitionReassignments
    46: {CLUSTER: Op.DESCRIBE},  # ListPartitionReassignments
    47: {GROUP: Op.DELETE, TOPIC: Op.READ},  # OffsetDelete
    48: {CLUSTER: Op.DESCRIBE_CONFIGS},  # DescribeClientQuotas
    50: {CLUSTER: Op.DESCRIBE},  # DescribeUserScramCredentials
    51: {CLUSTER: Op.ALTER},  # AlterUserScramCredentials
    60: {},  # DescribeCluster (no check, as in Kafka)
    68: {GROUP: Op.READ, TOPIC: Op.DESCRIBE},  # ConsumerGroupHeartbeat
    69: {GROUP: Op.DESCRIBE},  # ConsumerGroupDescribe
    75: {TOPIC: Op.DESCRIBE},  # DescribeTopicPartitions
}

_TOPIC_DENIED = ErrorCode.topic_authorization_failed
_GROUP_DENIED = ErrorCode.group_authorization_failed
_CLUSTER_DENIED = ErrorCode.cluster_authorization_failed
_TXN_DENIED = ErrorCode.transactional_id_authorization_failed


def authorizer(state: BrokerState) -> Authorizer | None:
    found = state.extensions.get(AUTHORIZER_KEY)
    return found if isinstance(found, Authorizer) else None


def allowed(
    ctx: RequestContext,
    state: BrokerState,
    resource_type: ResourceType,
    name: str = CLUSTER_NAME,
    operation: Operation | None = None,
) -> bool:
    """Whether this request's principal may do the table's operation (or ``operation``)."""
    az = authorizer(state)
    if az is None:
        return True
    op = CHECKS[ctx.api_key][resource_type] if operation is None else operation
    return az.authorize(ctx.principal, ctx.client_host, op, resource_type, name)


def refused_topics(ctx: RequestContext, state: BrokerState, names: Iterable[str]) -> set[str]:
    """The topics this request may not touch (empty without an authorizer)."""
    if authorizer(state) is None:
        return set()
    return {name for name in set(names) if not allowed(ctx, state, TOPIC, name)}


def fetch_refused(ctx: RequestContext, state: BrokerState, request: Any) -> set[str]:
    """Fetch: a follower needs ClusterAction (else every topic is refused), a consumer Read."""
    if authorizer(state) is None:
        return set()
    names = {t.topic for t in request.topics}
    replica_id = getattr(getattr(request, "replica_state", None) or request, "replica_id", -1)
    if replica_id >= 0:
        return set() if allowed(ctx, state, CLUSTER) else names
    return refused_topics(ctx, state, names)


def transactional_id_refused(ctx: RequestContext, state: BrokerState, txn_id: str | None) -> bool:
    return txn_id is not None and not allowed(ctx, state, TXN, txn_id)


def _can_create(ctx: RequestContext, state: BrokerState, topic: str) -> bool:
    return allowed(ctx, state, CLUSTER, operation=Op.CREATE) or allowed(
        ctx, state, TOPIC, topic, Op.CREATE
    )


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
                may_create and name not in state.topics and not _can_create(ctx, state, name)
            ):
                denied.append((name, _TOPIC_DENIED))
            else:
                keep.append(t)
        request = dataclasses.replace(request, topics=tuple(keep))
        if not keep:
            request = dataclasses.replace(request, topics=None if ctx.api_version else ())
    response = await _answer(handler, ctx, request, state)
    wanted = None if not explicit else {getattr(t, "name", None) for t in request.topics or ()}
    entries = [
        e
        for e in response.topics
        if (e.name is None or allowed(ctx, state, TOPIC, e.name))
        and (wanted is None or e.name in wanted or e.name is None)
    ]
    if explicit and not request.topics:
        entries = []
    zero = uuid.UUID(int=0)
    entries.extend(_error_entry(mod, name, zero, code) for name, code in denied)
    return dataclasses.replace(response, topics=tuple(entries))


async def _group_whole(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if not allowed(ctx, state, GROUP, request.group_id):
        mod = response_module(request)
        name = type(request).__name__.replace("Request", "Response")
        fields = {f.name for f in dataclasses.fields(getattr(mod, name))}
        values: dict[str, Any] = {
            "throttle_time": NO_THROTTLE,
            "error_code": _GROUP_DENIED,
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
    code = _TXN_DENIED if rtype == TXN else _GROUP_DENIED
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


async def _offset_commit(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    group_ok = allowed(ctx, state, GROUP, request.group_id)
    refused = refused_topics(ctx, state, (t.name for t in request.topics))
    if group_ok and not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    keep = tuple(t for t in request.topics if t.name not in refused)
    answered: dict[str, Any] = {}
    if group_ok and keep:
        response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
        answered = {t.name: t for t in response.topics}
    topics = []
    for t in request.topics:
        if t.name in answered:
            topics.append(answered[t.name])
            continue
        code = _GROUP_DENIED if not group_ok else _TOPIC_DENIED
        part = mod.OffsetCommitResponsePartition
        parts = tuple(
            build(part, partition_index=p.partition_index, error_code=code) for p in t.partitions
        )
        topics.append(build(mod.OffsetCommitResponseTopic, name=t.name, partitions=parts))
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
                groups.append(dataclasses.replace(g, topics=(), error_code=_GROUP_DENIED))
            else:
                topics = _fetched_topics(ctx, state, g.topics, named=g_named(request, g.group_id))
                groups.append(dataclasses.replace(g, topics=topics))
        return dataclasses.replace(response, groups=tuple(groups))
    if not allowed(ctx, state, GROUP, request.group_id):
        return build(
            mod.OffsetFetchResponse, throttle_time=NO_THROTTLE, topics=(), error_code=_GROUP_DENIED
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
        if allowed(ctx, state, TOPIC, t.name):
            out.append(t)
        elif named:
            parts = tuple(
                dataclasses.replace(
                    p,
                    committed_offset=-1,
                    committed_leader_epoch=-1,
                    metadata=None,
                    error_code=_TOPIC_DENIED,
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
    for g in response.groups:
        if allowed(ctx, state, GROUP, g.group_id):
            groups.append(g)
        else:
            groups.append(
                dataclasses.replace(
                    g,
                    error_code=_GROUP_DENIED,
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
        build(mod.DeletableGroupResult, group_id=g, error_code=_GROUP_DENIED) for g in refused
    )
    return dataclasses.replace(response, results=(*response.results, *denied))


async def _list_offsets(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    refused = refused_topics(ctx, state, (t.name for t in request.topics))
    if not refused:
        return await handler(ctx, request, state)
    mod = response_module(request)
    keep = tuple(t for t in request.topics if t.name not in refused)
    response = await _answer(handler, ctx, dataclasses.replace(request, topics=keep), state)
    denied = tuple(
        build(
            mod.ListOffsetsTopicResponse,
            name=t.name,
            partitions=tuple(
                build(
                    mod.ListOffsetsPartitionResponse,
                    partition_index=p.partition_index,
                    error_code=_TOPIC_DENIED,
                    timestamp=-1,
                    offset=-1,
                    leader_epoch=-1,
                    old_style_offsets=(),
                )
                for p in t.partitions
            ),
        )
        for t in request.topics
        if t.name in refused
    )
    return dataclasses.replace(response, topics=(*response.topics, *denied))


async def _create_topics(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    refused = {t.name for t in request.topics if not _can_create(ctx, state, t.name)}
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
            error_code=_TOPIC_DENIED,
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
            error_code=_TOPIC_DENIED,
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
        ok, code = allowed(ctx, state, TXN, txn_id), _TXN_DENIED
    else:  # idempotence: IdempotentWrite on the cluster, or Write on some topic
        ok = allowed(ctx, state, CLUSTER) or az.authorize_any(
            ctx.principal, ctx.client_host, Op.WRITE, TOPIC
        )
        code = _CLUSTER_DENIED
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
            error_code=_CLUSTER_DENIED,
            error_message="Cluster authorization failed.",
            **fields,
        )

    return guard


_GUARDS: dict[int, Any] = {
    2: _list_offsets,
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
    22: _init_producer_id,
    35: _cluster_whole(results=()),
    42: _delete_groups,
    45: _cluster_whole(responses=()),
    46: _cluster_whole(topics=()),
    48: _cluster_whole(entries=()),
    50: _cluster_whole(results=()),
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
