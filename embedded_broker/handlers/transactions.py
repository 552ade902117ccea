"""Transaction APIs: InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn,
TxnOffsetCommit, EndTxn and WriteTxnMarkers, answered by the transaction coordinator (txn/)."""

from __future__ import annotations

import asyncio
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.link import cluster_link
from embedded_broker.coordinator.messages import OffsetCommitEntry
from embedded_broker.producer_state import ProducerIdsUnavailableError
from embedded_broker.protocol.control_batch import Marker, MarkerType
from embedded_broker.state import BrokerState
from embedded_broker.txn.coordinator import EndResult, TransactionCoordinator
from embedded_broker.txn.group_offsets import append_pending, complete_offsets
from embedded_broker.txn.metadata import CONSUMER_OFFSETS_TOPIC, partition_for
from embedded_broker.txn.partition import write_marker
from embedded_broker.txn.runtime import TxnCoordinatorUnavailableError, coordinator
from embedded_broker.txn.verification import add_to_transaction
from embedded_broker.txn.version import (
    END_TXN_TV2,
    TV2,
    TXN_OFFSET_COMMIT_TV2,
    WRITE_TXN_MARKERS_TV,
    end_txn_version,
    tv2_enabled,
)

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, ms, response_module

# PRODUCER_FENCED came with Kafka 2.7; older request versions get INVALID_PRODUCER_EPOCH
# (KafkaApis maps it the same way)
_FENCED_SINCE = {22: 4, 24: 2, 25: 2, 26: 2}


_UNAVAILABLE = ErrorCode.coordinator_not_available


async def _coordinator(state: BrokerState) -> TransactionCoordinator | None:
    """The transaction coordinator, or None where there is none (a local-cluster broker)."""
    try:
        return await coordinator(state)
    except TxnCoordinatorUnavailableError:
        return None


def _for_version(code: ErrorCode, api_key: int, version: int) -> ErrorCode:
    if code == ErrorCode.producer_fenced and version < _FENCED_SINCE.get(api_key, 0):
        return ErrorCode.invalid_producer_epoch
    return code


# -- InitProducerId (transactional) ---------------------------------------------------------


async def init_transactional_producer(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await _coordinator(state)
    try:
        if coord is None:
            raise ProducerIdsUnavailableError
        result = await coord.init_producer_id(
            request.transactional_id,
            ms(request.transaction_timeout),
            getattr(request, "producer_id", -1),
            getattr(request, "producer_epoch", -1),
        )
        code, pid, epoch = result.error, result.producer_id, result.producer_epoch
    except ProducerIdsUnavailableError:
        # no id from the controller yet (the client retries), or no coordinator at all
        unavailable = coord is None
        code = _UNAVAILABLE if unavailable else ErrorCode.coordinator_load_in_progress
        pid, epoch = -1, -1
    return build(
        mod.InitProducerIdResponse,
        throttle_time=NO_THROTTLE,
        error_code=_for_version(code, 22, ctx.api_version),
        producer_id=pid,
        producer_epoch=epoch,
    )


# -- AddPartitionsToTxn ---------------------------------------------------------------------


def _topic_results(
    mod: Any, results: dict[tuple[str, int], ErrorCode], api_version: int
) -> tuple[Any, ...]:
    topics: dict[str, list[Any]] = {}
    for (topic, index), code in results.items():
        topics.setdefault(topic, []).append(
            build(
                mod.AddPartitionsToTxnPartitionResult,
                partition_index=index,
                partition_error_code=_for_version(code, 24, api_version),
            )
        )
    return tuple(
        build(mod.AddPartitionsToTxnTopicResult, name=name, results_by_partition=tuple(parts))
        for name, parts in topics.items()
    )


async def handle_add_partitions_to_txn(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    coord = await _coordinator(state)
    if ctx.api_version >= 4:
        # the batched form (KIP-890): several transactions, each possibly verify_only
        results = []
        for txn in request.transactions:
            wanted = [(t.name, p) for t in txn.topics for p in t.partitions]
            if coord is None:
                found = dict.fromkeys(wanted, _UNAVAILABLE)
            elif txn.verify_only:
                found = coord.verify_partitions(
                    txn.transactional_id, txn.producer_id, txn.producer_epoch, wanted
                )
            else:
                # a partition leader's implicit add for transactions v2 (Produce v12) or a
                # group coordinator's (TxnOffsetCommit v5): brokers alone send v4+
                found = await coord.add_partitions(
                    txn.transactional_id, txn.producer_id, txn.producer_epoch, wanted, TV2
                )
            results.append(
                build(
                    mod.AddPartitionsToTxnResult,
                    transactional_id=txn.transactional_id,
                    topic_results=_topic_results(mod, found, ctx.api_version),
                )
            )
        return build(
            mod.AddPartitionsToTxnResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.none,
            results_by_transaction=tuple(results),
        )
    wanted = [(t.name, p) for t in request.v3_and_below_topics for p in t.partitions]
    found = dict.fromkeys(wanted, _UNAVAILABLE)
    if coord is not None:
        found = await coord.add_partitions(
            request.v3_and_below_transactional_id,
            request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch,
            wanted,
        )
    return build(
        mod.AddPartitionsToTxnResponse,
        throttle_time=NO_THROTTLE,
        results_by_topic_v3_and_below=_topic_results(mod, found, ctx.api_version),
    )


# -- AddOffsetsToTxn / TxnOffsetCommit ------------------------------------------------------


async def handle_add_offsets_to_txn(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await _coordinator(state)
    code = _UNAVAILABLE
    if coord is not None:
        code = await coord.add_offsets(
            request.transactional_id, request.producer_id, request.producer_epoch, request.group_id
        )
    return build(
        mod.AddOffsetsToTxnResponse,
        throttle_time=NO_THROTTLE,
        error_code=_for_version(code, 25, ctx.api_version),
    )


async def handle_txn_offset_commit(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await _coordinator(state)
    entries = [
        OffsetCommitEntry(
            t.name,
            p.partition_index,
            p.committed_offset,
            getattr(p, "committed_leader_epoch", -1),
            p.committed_metadata,
        )
        for t in request.topics
        for p in t.partitions
    ]
    code = _UNAVAILABLE
    if ctx.api_version >= TXN_OFFSET_COMMIT_TV2:
        # transactions v2: the group's offsets partition joins the transaction here, not by
        # the client's AddOffsetsToTxn
        code = await _add_offsets_partition(state, request)
    if code not in (_UNAVAILABLE, ErrorCode.none):
        pass  # refused by the transaction coordinator
    elif cluster_link(state) is not None:
        code = await _cluster_txn_offset_commit(state, request, entries)
    elif coord is not None:
        code = await coord.txn_offset_commit(
            request.transactional_id,
            request.producer_id,
            request.producer_epoch,
            request.group_id,
            entries,
        )
    topics: dict[str, list[Any]] = {}
    for e in entries:
        topics.setdefault(e.topic, []).append(
            build(
                mod.TxnOffsetCommitResponsePartition, partition_index=e.partition, error_code=code
            )
        )
    return build(
        mod.TxnOffsetCommitResponse,
        throttle_time=NO_THROTTLE,
        topics=tuple(
            build(mod.TxnOffsetCommitResponseTopic, name=name, partitions=tuple(parts))
            for name, parts in topics.items()
        ),
    )


# the transaction coordinator's answers to an implicit add that the client should retry
_ADD_RETRIABLE = frozenset(
    {
        ErrorCode.concurrent_transactions,
        ErrorCode.network_exception,
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
        ErrorCode.not_coordinator,
    }
)


async def _add_offsets_partition(state: BrokerState, request: Any) -> ErrorCode:
    """Add the group's __consumer_offsets partition to the producer's transaction (TxnOffsetCommit
    v5), as Kafka's group coordinator does through its transaction coordinator. Answers that
    the client retries become COORDINATOR_LOAD_IN_PROGRESS; PRODUCER_FENCED is
    INVALID_PRODUCER_EPOCH as TxnOffsetCommit reports it."""
    offsets_partitions = state.config.get_int("offsets.topic.num.partitions")
    link = cluster_link(state)
    if link is not None:
        image_topic = link.image.topics.get(CONSUMER_OFFSETS_TOPIC)
        if image_topic is not None and image_topic.partitions:
            offsets_partitions = len(image_topic.partitions)
    tp = (CONSUMER_OFFSETS_TOPIC, partition_for(request.group_id, offsets_partitions))
    found = await add_to_transaction(
        state, request.transactional_id, request.producer_id, request.producer_epoch, [tp]
    )
    code = found.get(tp, ErrorCode.invalid_txn_state)
    if code in _ADD_RETRIABLE:
        return ErrorCode.coordinator_load_in_progress
    if code == ErrorCode.producer_fenced:
        return ErrorCode.invalid_producer_epoch
    return code


async def _cluster_txn_offset_commit(
    state: BrokerState, request: Any, entries: list[OffsetCommitEntry]
) -> ErrorCode:
    """On a cluster broker TxnOffsetCommit goes to the group's coordinator, which keeps the
    offsets until the transaction's marker reaches the group's __consumer_offsets partition."""
    from .groups import coordinator as group_coordinator
    from .groups import refused

    await group_coordinator(state)
    refusal = refused(state, request.group_id)
    if refusal:
        return ErrorCode(int(refusal))
    producer = (request.producer_id, request.producer_epoch)
    return await append_pending(state, producer, request.group_id, entries)


# -- EndTxn ---------------------------------------------------------------------------------


async def handle_end_txn(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await _coordinator(state)
    if end_txn_version(ctx.api_version) >= TV2:
        # transactions v2: the epoch is bumped and the new id and epoch answered
        result = EndResult(_UNAVAILABLE)
        if coord is not None:
            result = await coord.end_txn_v2(
                request.transactional_id,
                request.producer_id,
                request.producer_epoch,
                request.committed,
            )
        return build(
            mod.EndTxnResponse,
            throttle_time=NO_THROTTLE,
            error_code=result.error,
            producer_id=result.producer_id,
            producer_epoch=result.producer_epoch,
        )
    code = _UNAVAILABLE
    if coord is not None:
        code = await coord.end_txn(
            request.transactional_id, request.producer_id, request.producer_epoch, request.committed
        )
    return build(
        mod.EndTxnResponse,
        throttle_time=NO_THROTTLE,
        error_code=_for_version(code, 26, ctx.api_version),
    )


# -- WriteTxnMarkers (sent by a coordinator to the partitions' leaders) ----------------------


async def handle_write_txn_markers(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    results = []
    for m in request.markers:
        kind = MarkerType.COMMIT if m.transaction_result else MarkerType.ABORT
        # v2 names the marker's transaction version (KIP-1228); v1 markers are TV0/TV1
        version = int(getattr(m, "transaction_version", 0))
        marker = Marker(kind, m.producer_id, m.producer_epoch, m.coordinator_epoch, version)
        # the partitions side by side: each answer waits for its followers to copy the marker
        codes = iter(
            await asyncio.gather(
                *(
                    _write_one(state, t.name, index, marker)
                    for t in m.topics
                    for index in t.partition_indexes
                )
            )
        )
        topics = []
        for t in m.topics:
            parts = [
                build(
                    mod.WritableTxnMarkerPartitionResult,
                    partition_index=index,
                    error_code=next(codes),
                )
                for index in t.partition_indexes
            ]
            topics.append(
                build(mod.WritableTxnMarkerTopicResult, name=t.name, partitions=tuple(parts))
            )
        results.append(
            build(mod.WritableTxnMarkerResult, producer_id=m.producer_id, topics=tuple(topics))
        )
    return build(mod.WriteTxnMarkersResponse, markers=tuple(results))


async def _write_one(state: BrokerState, topic: str, index: int, marker: Marker) -> ErrorCode:
    if topic == CONSUMER_OFFSETS_TOPIC:  # this broker's transactional offsets
        return await complete_offsets(state, index, marker)
    code, _ = await write_marker(state, topic, index, marker)
    return code


# the versions above v1's (Kafka 4.3.1's maxima) only while transactions v2 is finalized
_V2 = tv2_enabled()
APIS = (
    ApiSpec(24, 0, 5 if _V2 else 4, handle_add_partitions_to_txn),
    ApiSpec(25, 0, 4 if _V2 else 3, handle_add_offsets_to_txn),
    ApiSpec(26, 0, END_TXN_TV2 if _V2 else 3, handle_end_txn),
    ApiSpec(27, 1, WRITE_TXN_MARKERS_TV, handle_write_txn_markers),
    ApiSpec(28, 0, TXN_OFFSET_COMMIT_TV2 if _V2 else 3, handle_txn_offset_commit),
)
