"""ListOffsets, OffsetForLeaderEpoch and DeleteRecords: offset queries and log-start moves."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from embedded_broker.txn.partition import last_stable_offset

from .base import ApiSpec, RequestContext
from .storage_errors import storage_failure
from .util import NO_THROTTLE, build, response_module

LATEST = -1
EARLIEST = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL = -4
LATEST_TIERED = -5
EARLIEST_PENDING_UPLOAD = -6  # v11: no tiered storage here, so nothing is pending upload
LEADER_EPOCH = 0


def _lookup(
    state: BrokerState,
    topic: str,
    partition: int,
    ts: int,
    *,
    current_epoch: int = -1,
    from_replica: bool = False,
) -> tuple[ErrorCode, int, int]:
    """(error, offset, timestamp) for one ListOffsets partition query. The latest offset is
    the high watermark for a consumer, the log end offset for a follower (``from_replica``,
    as Kafka answers a replica id), which asks after OFFSET_OUT_OF_RANGE."""
    plog = state.partition(topic, partition)
    if plog is None:
        return state.replicas.absent_error(topic, partition), -1, -1
    refused = state.replicas.leader_error(topic, partition, current_epoch)
    if refused != ErrorCode.none:
        return refused, -1, -1
    if ts == LATEST:
        if from_replica:
            return ErrorCode.none, plog.log_end_offset, -1
        if state.replicas.high_watermark_behind_epoch(topic, partition):
            # a new leader's high watermark may lag the one its predecessor gave out: Kafka
            # answers "ask again" until it has caught up, so an end offset never goes back
            return ErrorCode.offset_not_available, -1, -1
        return ErrorCode.none, state.replicas.high_watermark(topic, partition, plog), -1
    if ts in (EARLIEST, EARLIEST_LOCAL):
        return ErrorCode.none, plog.log_start_offset, -1
    if ts in (LATEST_TIERED, EARLIEST_PENDING_UPLOAD):
        found = None
    elif ts < 0 and ts != MAX_TIMESTAMP:
        # Kafka answers a special timestamp it does not know so
        return ErrorCode.unsupported_version, -1, -1
    else:
        try:
            found = plog.max_timestamp() if ts == MAX_TIMESTAMP else plog.offset_for_timestamp(ts)
        except (StorageError, OSError) as exc:
            return storage_failure(state, topic, partition, exc), -1, -1
    if found is None:
        return ErrorCode.none, -1, -1
    return ErrorCode.none, found[0], found[1]


async def handle_list_offsets(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    # a broker's follower names itself (Kafka's consumer is -1, a debugging tool -2)
    from_replica = getattr(request, "replica_id", -1) >= 0
    read_committed = getattr(request, "isolation_level", 0) == 1 and not from_replica
    topics = []
    # v10's timeout_ms bounds waits for remote (tiered) storage, which this broker has none of
    for t in request.topics:
        parts = []
        for p in t.partitions:
            code, offset, ts = _lookup(
                state,
                t.name,
                p.partition_index,
                p.timestamp,
                current_epoch=getattr(p, "current_leader_epoch", -1),
                from_replica=from_replica,
            )
            plog = state.partition(t.name, p.partition_index)
            if read_committed and p.timestamp == LATEST and code == ErrorCode.none and plog:
                # a read_committed consumer's end of the partition is the last stable offset
                offset = await last_stable_offset(state, t.name, p.partition_index, plog)
            epoch = state.replicas.leader_epoch(t.name, p.partition_index)
            parts.append(
                build(
                    mod.ListOffsetsPartitionResponse,
                    partition_index=p.partition_index,
                    error_code=code,
                    timestamp=ts,
                    offset=offset,
                    leader_epoch=epoch if code == ErrorCode.none and offset >= 0 else -1,
                )
            )
        topics.append(build(mod.ListOffsetsTopicResponse, name=t.name, partitions=tuple(parts)))
    return build(mod.ListOffsetsResponse, throttle_time=NO_THROTTLE, topics=tuple(topics))


async def handle_offset_for_leader_epoch(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            plog = state.partition(t.topic, p.partition)
            replicated = state.replicas.get(t.topic, p.partition) is not None
            if plog is None:
                code, epoch, end = state.replicas.absent_error(t.topic, p.partition), -1, -1
            elif replicated:
                code = state.replicas.leader_error(t.topic, p.partition, p.current_leader_epoch)
                epoch, end = -1, -1
                if code == ErrorCode.none:
                    epoch, end = state.replicas.end_offset_for_epoch(
                        t.topic, p.partition, plog, p.leader_epoch
                    )
            elif p.current_leader_epoch > LEADER_EPOCH:
                code, epoch, end = ErrorCode.unknown_leader_epoch, -1, -1
            elif p.leader_epoch < 0 or p.leader_epoch > LEADER_EPOCH:
                code, epoch, end = ErrorCode.none, -1, -1
            else:
                code, epoch, end = ErrorCode.none, LEADER_EPOCH, plog.log_end_offset
            parts.append(
                build(
                    mod.EpochEndOffset,
                    error_code=code,
                    partition=p.partition,
                    leader_epoch=epoch,
                    end_offset=end,
                )
            )
        topics.append(build(mod.OffsetForLeaderTopicResult, topic=t.topic, partitions=tuple(parts)))
    return build(mod.OffsetForLeaderEpochResponse, throttle_time=NO_THROTTLE, topics=tuple(topics))


async def handle_delete_records(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    topics = []
    for t in request.topics:
        parts = []
        for p in t.partitions:
            plog = state.partition(t.name, p.partition_index)
            low = -1
            if plog is None:
                code = state.replicas.absent_error(t.name, p.partition_index)
            elif (
                refused := state.replicas.leader_error(t.name, p.partition_index)
            ) != ErrorCode.none:
                code = refused
            else:
                # Kafka deletes only below the high watermark (-1 means up to it)
                hw = state.replicas.high_watermark(t.name, p.partition_index, plog)
                target = hw if p.offset == -1 else p.offset
                if target < 0 or target > hw:
                    code = ErrorCode.offset_out_of_range
                else:
                    code = ErrorCode.none
                    try:
                        if target > plog.log_start_offset:  # deletes files: off the loop
                            await state.run_storage(plog.delete_records_before, target)
                        low = plog.log_start_offset
                    except (StorageError, OSError) as exc:
                        code = storage_failure(state, t.name, p.partition_index, exc)
            parts.append(
                build(
                    mod.DeleteRecordsPartitionResult,
                    partition_index=p.partition_index,
                    low_watermark=low,
                    error_code=code,
                )
            )
        topics.append(build(mod.DeleteRecordsTopicResult, name=t.name, partitions=tuple(parts)))
    return build(mod.DeleteRecordsResponse, throttle_time=NO_THROTTLE, topics=tuple(topics))


APIS = (
    ApiSpec(2, 1, 11, handle_list_offsets),
    ApiSpec(23, 2, 4, handle_offset_for_leader_epoch),
    ApiSpec(21, 0, 2, handle_delete_records),
)
