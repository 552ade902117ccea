"""Guards for the transaction APIs and the newer admin APIs (``authz.CHECKS`` rows 24-28, 34,
55, 61, 65, 66, 74): a refused request never reaches its handler, as in Kafka's KafkaApis."""

from __future__ import annotations

import dataclasses
import datetime
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
)
from .base import Handler, RequestContext
from .util import NO_THROTTLE, build, response_module

NOT_ATTEMPTED = ErrorCode.operation_not_attempted


async def _answer(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    """The handler's response (each API guarded here has one)."""
    return await handler(ctx, request, state)


def _partition_results(
    mod: Any, topics: Any, code_of: Any, *, topic_cls: str, part_cls: str, code_field: str
) -> tuple[Any, ...]:
    """Per-topic results with one error code per partition (``code_of(topic name)``)."""
    return tuple(
        build(
            getattr(mod, topic_cls),
            name=t.name,
            results_by_partition=parts,
            partitions=parts,
        )
        for t in topics
        for parts in [
            tuple(
                build(
                    getattr(mod, part_cls), partition_index=int(p), **{code_field: code_of(t.name)}
                )
                for p in t.partitions
            )
        ]
    )


async def add_partitions_to_txn(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    if ctx.api_version >= 4:  # the batched version is broker to broker: ClusterAction
        if allowed(ctx, state, CLUSTER, operation=Op.CLUSTER_ACTION):
            return await handler(ctx, request, state)
        return build(
            mod.AddPartitionsToTxnResponse,
            throttle_time=NO_THROTTLE,
            error_code=CLUSTER_DENIED,
            results_by_transaction=(),
        )
    topics = request.v3_and_below_topics
    if not allowed(ctx, state, TXN, request.v3_and_below_transactional_id):
        refused: dict[str, ErrorCode] = {t.name: TXN_DENIED for t in topics}
    else:
        refused = {t.name: TOPIC_DENIED for t in topics if not allowed(ctx, state, TOPIC, t.name)}
        if not refused:
            return await handler(ctx, request, state)
    return build(
        mod.AddPartitionsToTxnResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        results_by_topic_v3_and_below=_partition_results(
            mod,
            topics,
            lambda name: refused.get(name, NOT_ATTEMPTED),
            topic_cls="AddPartitionsToTxnTopicResult",
            part_cls="AddPartitionsToTxnPartitionResult",
            code_field="partition_error_code",
        ),
    )


async def add_offsets_to_txn(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if not allowed(ctx, state, TXN, request.transactional_id):
        code = TXN_DENIED
    elif not allowed(ctx, state, GROUP, request.group_id, operation=Op.READ):
        code = GROUP_DENIED
    else:
        return await handler(ctx, request, state)
    return build(
        response_module(request).AddOffsetsToTxnResponse, throttle_time=NO_THROTTLE, error_code=code
    )


async def end_txn(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    if allowed(ctx, state, TXN, request.transactional_id):
        return await handler(ctx, request, state)
    return build(
        response_module(request).EndTxnResponse, throttle_time=NO_THROTTLE, error_code=TXN_DENIED
    )


async def write_txn_markers(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if allowed(ctx, state, CLUSTER, operation=Op.CLUSTER_ACTION):
        return await handler(ctx, request, state)
    mod = response_module(request)
    return build(
        mod.WriteTxnMarkersResponse,
        markers=tuple(
            build(
                mod.WritableTxnMarkerResult,
                producer_id=m.producer_id,
                topics=tuple(
                    build(
                        mod.WritableTxnMarkerTopicResult,
                        name=t.name,
                        partitions=tuple(
                            build(
                                mod.WritableTxnMarkerPartitionResult,
                                partition_index=int(p),
                                error_code=CLUSTER_DENIED,
                            )
                            for p in t.partition_indexes
                        ),
                    )
                    for t in m.topics
                ),
            )
            for m in request.markers
        ),
    )


async def txn_offset_commit(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if not allowed(ctx, state, TXN, request.transactional_id, operation=Op.WRITE):
        refused: dict[str, ErrorCode] = {t.name: TXN_DENIED for t in request.topics}
    elif not allowed(ctx, state, GROUP, request.group_id, operation=Op.READ):
        refused = {t.name: GROUP_DENIED for t in request.topics}
    else:
        refused = {
            t.name: TOPIC_DENIED
            for t in request.topics
            if not allowed(ctx, state, TOPIC, t.name, operation=Op.READ)
        }
        if not refused:
            return await handler(ctx, request, state)
    mod = response_module(request)
    return build(
        mod.TxnOffsetCommitResponse,
        throttle_time=NO_THROTTLE,
        topics=tuple(
            build(
                mod.TxnOffsetCommitResponseTopic,
                name=t.name,
                partitions=tuple(
                    build(
                        mod.TxnOffsetCommitResponsePartition,
                        partition_index=p.partition_index,
                        error_code=refused.get(t.name, NOT_ATTEMPTED),
                    )
                    for p in t.partitions
                ),
            )
            for t in request.topics
        ),
    )


async def alter_replica_log_dirs(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    if allowed(ctx, state, CLUSTER):
        return await handler(ctx, request, state)
    mod = response_module(request)
    return build(
        mod.AlterReplicaLogDirsResponse,
        throttle_time=NO_THROTTLE,
        results=tuple(
            build(
                mod.AlterReplicaLogDirTopicResult,
                topic_name=t.name,
                partitions=tuple(
                    build(
                        mod.AlterReplicaLogDirPartitionResult,
                        partition_index=int(p),
                        error_code=CLUSTER_DENIED,
                    )
                    for p in t.partitions
                ),
            )
            for d in request.dirs
            for t in d.topics
        ),
    )


def whole_request(resource: Any, **fields: Any) -> Any:
    """A guard refusing the whole request with a top-level CLUSTER_AUTHORIZATION_FAILED."""

    async def guard(handler: Handler, ctx: RequestContext, request: Any, state: BrokerState) -> Any:
        if allowed(ctx, state, resource):
            return await handler(ctx, request, state)
        name = type(request).__name__.replace("Request", "Response")
        return build(
            getattr(response_module(request), name),
            throttle_time=NO_THROTTLE,
            error_code=CLUSTER_DENIED,
            error_message="Cluster authorization failed.",
            **fields,
        )

    return guard


async def describe_producers(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    denied = [t for t in request.topics if not allowed(ctx, state, TOPIC, t.name)]
    if not denied:
        return await handler(ctx, request, state)
    kept = tuple(t for t in request.topics if t not in denied)
    response = await _answer(handler, ctx, dataclasses.replace(request, topics=kept), state)
    mod = response_module(request)
    refusals = tuple(
        build(
            mod.TopicResponse,
            name=t.name,
            partitions=tuple(
                build(
                    mod.PartitionResponse,
                    partition_index=int(p),
                    error_code=TOPIC_DENIED,
                    error_message=None,
                    active_producers=(),
                )
                for p in t.partition_indexes
            ),
        )
        for t in denied
    )
    return dataclasses.replace(response, topics=tuple(response.topics) + refusals)


async def describe_transactions(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    ids = tuple(request.transactional_ids)
    denied = [i for i in ids if not allowed(ctx, state, TXN, i)]
    if not denied:
        return await handler(ctx, request, state)
    kept = tuple(i for i in ids if i not in denied)
    response = await _answer(
        handler, ctx, dataclasses.replace(request, transactional_ids=kept), state
    )
    mod = response_module(request)
    refusals = tuple(
        build(
            mod.TransactionState,
            error_code=TXN_DENIED,
            transactional_id=i,
            transaction_state="",
            transaction_timeout=datetime.timedelta(0),
            transaction_start_time=datetime.datetime.fromtimestamp(-0.001, datetime.UTC),
            producer_id=-1,
            producer_epoch=-1,
            topics=(),
        )
        for i in denied
    )
    return dataclasses.replace(
        response, transaction_states=tuple(response.transaction_states) + refusals
    )


async def list_transactions(
    handler: Handler, ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    # Kafka lists only the transactional ids the principal may Describe
    response = await _answer(handler, ctx, request, state)
    visible = tuple(
        s for s in response.transaction_states if allowed(ctx, state, TXN, s.transactional_id)
    )
    return dataclasses.replace(response, transaction_states=visible)


GUARDS: dict[int, Any] = {
    24: add_partitions_to_txn,
    25: add_offsets_to_txn,
    26: end_txn,
    27: write_txn_markers,
    28: txn_offset_commit,
    34: alter_replica_log_dirs,
    55: whole_request(CLUSTER, topics=(), nodes=()),
    61: describe_producers,
    65: describe_transactions,
    66: list_transactions,
    74: whole_request(CLUSTER, config_resources=()),
}
