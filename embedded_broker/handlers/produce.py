"""Produce: check v2 record batches by Kafka's rules (protocol.validator), append them as bytes."""

from __future__ import annotations

import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol import validator
from embedded_broker.protocol.fast import EncodedResponse, ProducePartition, encode_produce_response
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError

from .base import ApiSpec, RequestContext
from .storage_errors import storage_failure
from .txn_guard import verify_transactional_append

log = logging.getLogger(__name__)

API_KEY = 0
_VALID_ACKS = (-1, 0, 1)


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
        info = plog.append(records, now_ms=now)
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
    state.notify((topic, index))
    return ErrorCode.none, info.base_offset, append_time, info.log_start_offset, None


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
    state: BrokerState, request: Any, topic: str, pdata: Any, *, version: int, now: int
) -> ProducePartition:
    """Kafka's order: unknown partition, request-level record checks, acks, transaction state,
    then the log validator; only a batch that passes them all is appended."""
    index = pdata.index
    plog = state.partition(topic, index)
    if plog is None:
        return index, ErrorCode.unknown_topic_or_partition.value, -1, -1, -1, None, ()
    try:
        header = validator.check_request_records(pdata.records, version)
    except validator.BatchRejectedError as rej:
        return index, rej.code.value, -1, -1, -1, rej.message, ()
    if request.acks not in _VALID_ACKS:
        return index, ErrorCode.invalid_required_acks.value, -1, -1, -1, None, ()
    if header.is_transactional:
        code, message = verify_transactional_append(
            state,
            request.transactional_id,
            producer=(header.producer_id, header.producer_epoch),
            partition=(topic, index),
        )
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
    await state.producers.load_for_produce(request.topic_data)  # off the loop, first use only
    now = state.now_ms()
    # Kafka refuses the whole request when it carries transactional batches without a
    # transactional id, before looking at any partition.
    denied = request.transactional_id is None and _has_transactional_batch(request)
    topics: list[tuple[str, list[ProducePartition]]] = []
    for topic_data in request.topic_data:
        partitions: list[ProducePartition] = []
        for pdata in topic_data.partition_data:
            if denied:
                code = ErrorCode.transactional_id_authorization_failed.value
                partitions.append((pdata.index, code, -1, -1, -1, None, ()))
                continue
            partitions.append(
                _produce_partition(
                    state, request, topic_data.name, pdata, version=ctx.api_version, now=now
                )
            )
        topics.append((topic_data.name, partitions))
    if request.acks == 0:
        return None
    return encode_produce_response(ctx.api_version, topics)


APIS = (ApiSpec(API_KEY, 3, 11, handle_produce),)
