"""Transaction admin APIs: DescribeTransactions, ListTransactions and DescribeProducers (what
kafka-transactions.sh describe / list / describe-producers send)."""

from __future__ import annotations

import datetime
import re
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator.txn_state import TxnState
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from embedded_broker.txn.coordinator import TransactionCoordinator
from embedded_broker.txn.runtime import TxnCoordinatorUnavailableError, coordinator

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, response_module

_STATE_NAMES = {s.display_name: s for s in TxnState}


def _time(ms_value: int) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ms_value / 1000, datetime.UTC)


async def handle_describe_transactions(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    coord: TransactionCoordinator | None = None
    try:
        coord = await coordinator(state)
        metadata, missing = coord.metadata, ErrorCode.transactional_id_not_found
    except TxnCoordinatorUnavailableError:
        metadata, missing = {}, ErrorCode.coordinator_not_available
    out = []
    for tid in request.transactional_ids:
        meta = metadata.get(tid)
        # a cluster broker answers for the ids it coordinates (NOT_COORDINATOR for others)
        refused = ErrorCode.none if coord is None else coord.owner_error(tid)
        if refused != ErrorCode.none or meta is None or meta.state is TxnState.DEAD:
            out.append(
                build(
                    mod.TransactionState,
                    error_code=refused if refused != ErrorCode.none else missing,
                    transactional_id=tid,
                    transaction_state="",
                    transaction_timeout=datetime.timedelta(0),
                    transaction_start_time=_time(-1),
                    producer_id=-1,
                    producer_epoch=-1,
                    topics=(),
                )
            )
            continue
        topics: dict[str, list[int]] = {}
        for topic, index in sorted(meta.partitions):
            topics.setdefault(topic, []).append(index)
        out.append(
            build(
                mod.TransactionState,
                error_code=ErrorCode.none,
                transactional_id=tid,
                transaction_state=meta.state.display_name,
                transaction_timeout=datetime.timedelta(milliseconds=meta.timeout_ms),
                transaction_start_time=_time(meta.start_ms),
                producer_id=meta.producer_id,
                producer_epoch=meta.producer_epoch,
                topics=tuple(
                    build(mod.TopicData, topic=name, partitions=tuple(parts))
                    for name, parts in topics.items()
                ),
            )
        )
    return build(
        mod.DescribeTransactionsResponse, throttle_time=NO_THROTTLE, transaction_states=tuple(out)
    )


async def handle_list_transactions(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    try:
        metadata = (await coordinator(state)).metadata
    except TxnCoordinatorUnavailableError:
        return build(
            mod.ListTransactionsResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.coordinator_not_available,
            unknown_state_filters=(),
            transaction_states=(),
        )
    wanted_states = set(request.state_filters)
    unknown = tuple(s for s in wanted_states if s not in _STATE_NAMES)
    pids = set(request.producer_id_filters)
    duration = getattr(request, "duration_filter", -1)
    pattern_text = getattr(request, "transactional_id_pattern", None)
    try:
        pattern = re.compile(pattern_text) if pattern_text else None
    except re.error:
        return build(
            mod.ListTransactionsResponse,
            throttle_time=NO_THROTTLE,
            error_code=ErrorCode.invalid_regular_expression,
            unknown_state_filters=(),
            transaction_states=(),
        )
    now = state.now_ms()
    listed = []
    for meta in metadata.values():
        name = meta.state.display_name
        if meta.state is TxnState.DEAD:
            continue
        if wanted_states and name not in wanted_states:
            continue
        if pids and meta.producer_id not in pids:
            continue
        if duration >= 0 and (meta.start_ms < 0 or now - meta.start_ms < duration):
            continue
        if pattern is not None and not pattern.fullmatch(meta.transactional_id):
            continue
        listed.append(
            build(
                mod.TransactionState,
                transactional_id=meta.transactional_id,
                producer_id=meta.producer_id,
                transaction_state=name,
            )
        )
    return build(
        mod.ListTransactionsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        unknown_state_filters=unknown,
        transaction_states=tuple(listed),
    )


async def handle_describe_producers(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    topics = []
    for t in request.topics:
        parts = []
        for index in t.partition_indexes:
            plog = state.partition(t.name, index)
            code = state.replicas.leader_error(t.name, index) if plog is not None else None
            if plog is None or code != ErrorCode.none:
                parts.append(
                    build(
                        mod.PartitionResponse,
                        partition_index=index,
                        error_code=code or ErrorCode.unknown_topic_or_partition,
                        error_message=None,
                        active_producers=(),
                    )
                )
                continue
            await state.producers.load((t.name, index))
            try:
                entries = list(state.producers.table(t.name, index, plog).items())
            except (StorageError, OSError) as exc:
                parts.append(
                    build(
                        mod.PartitionResponse,
                        partition_index=index,
                        error_code=ErrorCode.kafka_storage_error,
                        error_message=str(exc),
                        active_producers=(),
                    )
                )
                continue
            producers = tuple(
                build(
                    mod.ProducerState,
                    producer_id=pid,
                    producer_epoch=entry.epoch,
                    last_sequence=entry.last_seq,
                    last_timestamp=entry.last_timestamp,
                    coordinator_epoch=entry.coordinator_epoch,  # of its last marker, as Kafka
                    current_txn_start_offset=entry.txn_first_offset,
                )
                for pid, entry in entries
            )
            parts.append(
                build(
                    mod.PartitionResponse,
                    partition_index=index,
                    error_code=ErrorCode.none,
                    error_message=None,
                    active_producers=producers,
                )
            )
        topics.append(build(mod.TopicResponse, name=t.name, partitions=tuple(parts)))
    return build(mod.DescribeProducersResponse, throttle_time=NO_THROTTLE, topics=tuple(topics))


APIS = (
    ApiSpec(61, 0, 0, handle_describe_producers),
    ApiSpec(65, 0, 0, handle_describe_transactions),
    ApiSpec(66, 0, 2, handle_list_transactions),
)
