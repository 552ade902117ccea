"""Produce: validate v2 record batches (CRC, size, keys, sequences) and append them as bytes."""

from __future__ import annotations

import logging
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol import record_batch as rb
from embedded_broker.protocol.fast import EncodedResponse, ProducePartition, encode_produce_response
from embedded_broker.state import BrokerState
from embedded_broker.storage import StorageError

from .base import ApiSpec, RequestContext
from .storage_errors import storage_failure

log = logging.getLogger(__name__)

API_KEY = 0


class _RejectError(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _validate(records: bytes, topic_cfg: dict[str, str]) -> list[rb.BatchHeader]:
    try:
        headers = list(rb.iter_batches(records))
    except rb.InvalidRecordBatchError as exc:
        raise _RejectError(ErrorCode.corrupt_message, str(exc)) from None
    if not headers or headers[-1].end != len(records):
        raise _RejectError(ErrorCode.corrupt_message, "incomplete record batch")
    max_bytes = int(topic_cfg["max.message.bytes"])
    compacted = "compact" in topic_cfg["cleanup.policy"]
    view = memoryview(records)
    for h in headers:
        if h.size > max_bytes:
            raise _RejectError(
                ErrorCode.message_too_large,
                f"The request included a message larger than the max message size the server "
                f"will accept ({h.size} > {max_bytes}).",
            )
        batch = view[h.position : h.end]
        if not rb.verify_crc(batch):
            raise _RejectError(ErrorCode.corrupt_message, "record batch CRC mismatch")
        if compacted and not h.is_control and rb.has_null_key(batch):
            raise _RejectError(
                ErrorCode.invalid_record,
                "Compacted topic cannot accept message without key in topic partition.",
            )
    return headers


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


async def handle_produce(
    ctx: RequestContext, request: Any, state: BrokerState
) -> EncodedResponse | None:
    await state.producers.load_for_produce(request.topic_data)  # off the loop, first use only
    now = state.now_ms()
    topics: list[tuple[str, list[ProducePartition]]] = []
    for topic_data in request.topic_data:
        partitions: list[ProducePartition] = []
        for pdata in topic_data.partition_data:
            code, base, append_time, start, message = _append_partition(
                state, topic_data.name, pdata.index, pdata.records, now
            )
            partitions.append((pdata.index, code.value, base, append_time, start, message))
        topics.append((topic_data.name, partitions))
    if request.acks == 0:
        return None
    return encode_produce_response(ctx.api_version, topics)


APIS = (ApiSpec(API_KEY, 3, 11, handle_produce),)
