"""Fetch: whole batches from the one holding the fetch offset, with min_bytes/max_wait long-poll."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.fast import EncodedResponse, FetchPartition, encode_fetch_response
from embedded_broker.state import BrokerState
from embedded_broker.storage import OffsetOutOfRange, StorageError

from .base import ApiSpec, RequestContext
from .storage_errors import storage_failure
from .util import ms

API_KEY = 1
_NONE = ErrorCode.none.value
_UNKNOWN = ErrorCode.unknown_topic_or_partition.value
_OUT_OF_RANGE = ErrorCode.offset_out_of_range.value


def _read_all(
    request: Any, state: BrokerState
) -> tuple[list[tuple[str, list[FetchPartition]]], int, bool, list[tuple[str, int]]]:
    """One pass over the requested partitions: (topics, bytes, had_error, partition keys)."""
    budget = request.max_bytes
    total = 0
    had_error = False
    keys: list[tuple[str, int]] = []
    topics: list[tuple[str, list[FetchPartition]]] = []
    for ftopic in request.topics:
        name = ftopic.topic
        parts: list[FetchPartition] = []
        for fp in ftopic.partitions:
            index = fp.partition
            keys.append((name, index))
            plog = state.partition(name, index)
            records = b""
            if plog is None:
                parts.append((index, _UNKNOWN, -1, -1, -1, b""))
                had_error = True
                continue
            code = _NONE
            high = plog.log_end_offset
            start = plog.log_start_offset
            offset = fp.fetch_offset
            if offset < start or offset > high:
                code = _OUT_OF_RANGE
            elif offset < high and (budget > 0 or total == 0):
                # The first data in the response may exceed max_bytes: at least one batch.
                limit = min(fp.partition_max_bytes, budget) if total else fp.partition_max_bytes
                try:
                    records = plog.read(offset, max(limit, 1))
                except OffsetOutOfRange:
                    code = _OUT_OF_RANGE
                except (StorageError, OSError) as exc:
                    code = storage_failure(state, name, index, exc).value
                    high = start = -1  # as Kafka answers a partition it cannot read
                total += len(records)
                budget -= len(records)
            if code != _NONE:
                had_error = True
            parts.append((index, code, high, high, start, records))
        topics.append((name, parts))
    return topics, total, had_error, keys


async def handle_fetch(ctx: RequestContext, request: Any, state: BrokerState) -> EncodedResponse:
    deadline = time.monotonic() + ms(request.max_wait) / 1000
    min_bytes = max(request.min_bytes, 1)
    while True:
        topics, total, had_error, keys = _read_all(request, state)
        remaining = deadline - time.monotonic()
        if total >= min_bytes or had_error or remaining <= 0 or not keys or state.shutting_down:
            break
        fut = state.waiter(keys)
        try:
            await asyncio.wait_for(fut, remaining)
        except TimeoutError:
            pass
        finally:
            state.forget(keys, fut)
    return encode_fetch_response(
        ctx.api_version,
        0,
        topics,
        read_committed=getattr(request, "isolation_level", 0) == 1,
    )


APIS = (ApiSpec(API_KEY, 4, 12, handle_fetch),)
