"""Produce: check v2 record batches by Kafka's rules (protocol.validator), append them as bytes."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol import validator
from embedded_broker.protocol.fast import EncodedResponse, ProducePartition, encode_produce_response
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError
from embedded_broker.txn.version import tv2_enabled

from .authz import refused_topics, transactional_id_refused
from .base import ApiSpec, RequestContext
from .produce_ids import PRODUCE_TOPIC_IDS, answer_ids, by_name, unknown_ids
from .storage_errors import storage_failure
from .txn_guard import TxnVerdicts, verify_transactions
from .util import ms

log = logging.getLogger(__name__)

API_KEY = 0
_VALID_ACKS = (-1, 0, 1)
_UNKNOWN_ID = ErrorCode.unknown_topic_id


class _RejectError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validate(records: bytes, topic_cfg: dict[str, str]) -> list[rb.BatchHeader]:
    """The header of the one batch that :func:`_produce_partition` already validated."""
    del topic_cfg  # every topic rule ran in the validator
    try:
        return [rb.parse_header(records)]
    except rb.InvalidRecordBatchError as exc:
        raise _RejectError(ErrorCode.corrupt_message, str(exc)) from None


def _append_partition(
    state: BrokerState, topic: str, index: int, records: bytes | None, now: int
) -> tuple[ErrorCode, int, int, int, str | None]:
    """Returns (error, base_offset, log_append_time_ms, log_start_offset, message)."""
    plog = state.partition(topic, index)
    if plog is None:
        return ErrorCode.unknown_topic_or_partition, -1, -1, -1, None
    if not records:
        return ErrorCode.corrupt_message, -1, -1, -1, "empty records"
    topic_cfg = state.topic_config(topic)
    try:
        headers = _validate(records, topic_cfg)
    except _RejectError as rej:
        return rej.code, -1, -1, plog.log_start_offset, rej.message
    first = headers[0]
    idempotent = first.producer_id >= 0
    if idempotent:
        try:
            check = state.producers.check(topic, index, plog, headers)
        except (StorageError, OSError) as exc:  # the producer state could not be rebuilt
            return storage_failure(state, topic, index, exc), -1, -1, -1, None
        if check.error != ErrorCode.none:
            return check.error, -1, -1, plog.log_start_offset, check.message
        if check.duplicate is not None:
            # a retry of a batch already stored: acknowledge it as it was the first time
            dup = check.duplicate
            log_append = topic_cfg["message.timestamp.type"] == "LogAppendTime"
            dup_time = dup.timestamp if log_append else -1
            return ErrorCode.none, dup.first_offset, dup_time, plog.log_start_offset, None
    try:
        epoch = state.replicas.leader_epoch(topic, index)
        info = plog.append(records, now_ms=now, leader_epoch=epoch)
    except rb.InvalidRecordBatchError as exc:
        return ErrorCode.corrupt_message, -1, -1, plog.log_start_offset, str(exc)
    except (StorageError, OSError) as exc:
        return storage_failure(state, topic, index, exc), -1, -1, -1, None
    append_time = (
        info.log_append_time_ms if topic_cfg["message.timestamp.type"] == "LogAppendTime" else -1
    )
    if idempotent:
        state.producers.appended(
            topic,
            index,
            plog,
            headers,
            base_offset=info.base_offset,
            append_time=info.log_append_time_ms,
        )
    state.replicas.appended(topic, index, plog)
    state.notify((topic, index))
    return ErrorCode.none, info.base_offset, append_time, info.log_start_offset, None


async def _wait_for_isr(
    state: BrokerState, topics: list[tuple[str, list[ProducePartition]]], timeout_ms: int
) -> None:
    """The delayed produce of acks=all: each appended partition is answered once every ISR
    member has its batch (REQUEST_TIMED_OUT if that takes longer than the request allows)."""
    waits: list[tuple[list[ProducePartition], int, asyncio.Future[ErrorCode]]] = []
    for name, partitions in topics:
        for i, (index, code, *_rest) in enumerate(partitions):
            plog = state.partition(name, index)
            replicated = state.replicas.get(name, index) is not None
            if code != ErrorCode.none.value or plog is None or not replicated:
                continue
            # every offset this request appended lies below the log end offset now
            wait = state.replicas.wait_replicated(name, index, plog.log_end_offset, timeout_ms)
            waits.append((partitions, i, asyncio.ensure_future(wait)))
    if not waits:
        return
    await asyncio.gather(*(fut for _, _, fut in waits))
    for partitions, i, fut in waits:
        code = fut.result()
        if code != ErrorCode.none:
            index, _, _, _, log_start, _, _ = partitions[i]
            partitions[i] = (index, code.value, -1, -1, log_start, None, ())


def _has_transactional_batch(request: Any) -> bool:
    for topic_data in request.topic_data:
        for pdata in topic_data.partition_data:
            records = pdata.records
            if (
                records
                and len(records) >= rb.HEADER_SIZE
                and records[rb.MAGIC_OFFSET] == 2
                and records[rb.ATTRIBUTES_OFFSET + 1] & rb.TRANSACTIONAL_BIT
            ):
                return True
    return False


def _produce_partition(
    state: BrokerState,
    request: Any,
    topic: str,
    pdata: Any,
    *,
    version: int,
    now: int,
    verdicts: TxnVerdicts,
) -> ProducePartition:
    """Kafka's order: unknown partition, request-level record checks, acks, transaction state,
    then the log validator; only a batch that passes them all is appended."""
    index = pdata.index
    plog = state.partition(topic, index)
    if plog is None:
        return index, state.replicas.absent_error(topic, index).value, -1, -1, -1, None, ()
    try:
        header = validator.check_request_records(pdata.records, version)
    except validator.BatchRejectedError as rej:
        return index, rej.code.value, -1, -1, -1, rej.message, ()
    if request.acks not in _VALID_ACKS:
        return index, ErrorCode.invalid_required_acks.value, -1, -1, -1, None, ()
    # Kafka's order in appendRecordsToLeader: leadership, then min.insync.replicas for acks=all
    code = state.replicas.leader_error(topic, index)
    if code == ErrorCode.none and request.acks == -1:
        code = state.replicas.min_isr_error(topic, index)
    if code != ErrorCode.none:
        return index, code.value, -1, -1, -1, None, ()
    if header.is_transactional:
        code, message = verdicts.get((topic, index), (ErrorCode.none, None))
        if code != ErrorCode.none:
            return index, code.value, -1, -1, -1, message, ()
    policy = validator.ValidationPolicy.from_topic_config(state.topic_config(topic))
    try:
        validator.validate_batch(
            pdata.records, header, policy, now_ms=now, partition=f"{topic}-{index}"
        )
    except validator.BatchRejectedError as rej:
        record_errors = tuple((e.batch_index, e.message) for e in rej.record_errors)
        return index, rej.code.value, -1, -1, plog.log_start_offset, rej.message, record_errors
    code, base, append_time, start, message = _append_partition(
        state, topic, index, pdata.records, now
    )
    return index, code.value, base, append_time, start, message, ()


async def handle_produce(
    ctx: RequestContext, request: Any, state: BrokerState
) -> EncodedResponse | None:
    # Kafka refuses the whole request when it carries transactional batches without a
    # transactional id, before looking at any partition.
    denied = request.transactional_id is None and _has_transactional_batch(request)
    request = by_name(state, request, ctx.api_version)  # v13 names topics by id
    await state.producers.load_for_produce(request.topic_data)  # off the loop, first use only
    now = state.now_ms()
    denied = denied or transactional_id_refused(ctx, state, request.transactional_id)
    refused = refused_topics(ctx, state, (t.name for t in request.topic_data))
    verdicts = {} if denied else await verify_transactions(state, request, ctx.api_version)
    topics: list[tuple[str, list[ProducePartition]]] = []
    for topic_data in request.topic_data:
        partitions: list[ProducePartition] = []
        for pdata in topic_data.partition_data:
            if denied:
                code = ErrorCode.transactional_id_authorization_failed.value
                partitions.append((pdata.index, code, -1, -1, -1, None, ()))
                continue
            if topic_data.name in refused:
                code = ErrorCode.topic_authorization_failed.value
                partitions.append((pdata.index, code, -1, -1, -1, None, ()))
                continue
            partitions.append(
                _produce_partition(
                    state,
                    request,
                    topic_data.name,
                    pdata,
                    version=ctx.api_version,
                    now=now,
                    verdicts=verdicts,
                )
            )
        topics.append((topic_data.name, partitions))
    for _, indexes in unknown_ids(request):
        code = (ErrorCode.transactional_id_authorization_failed if denied else _UNKNOWN_ID).value
        topics.append(("", [(index, code, -1, -1, -1, None, ()) for index in indexes]))
    if request.acks == 0:
        return None
    if request.acks == -1:
        await _wait_for_isr(state, topics, ms(request.timeout))
    leaders, endpoints = state.replicas.leader_hints(
        (name, part[0], part[1]) for name, parts in topics for part in parts
    )
    return encode_produce_response(
        ctx.api_version, topics, leaders=leaders, endpoints=endpoints, topic_ids=answer_ids(request)
    )


# v12 is transactions v2 (the leader adds the partition to the transaction itself); v13 names
# topics by id (KIP-516)
APIS = (ApiSpec(API_KEY, 3, PRODUCE_TOPIC_IDS if tv2_enabled() else 11, handle_produce),)
