"""Fetch: whole batches from the one holding the fetch offset, with min_bytes/max_wait long-poll."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.state import BrokerState
from embedded_broker.storage import OffsetOutOfRange

from .base import ApiSpec, RequestContext
from .util import NO_THROTTLE, build, ms, response_module

API_KEY = 1
NO_PREFERRED_REPLICA = -1


def _read_all(
    mod: Any, request: Any, state: BrokerState
) -> tuple[list[Any], int, bool, list[tuple[str, int]]]:
    """One pass over the requested partitions: (topic entries, bytes, had_error, keys)."""
    budget = request.max_bytes
    total = 0
    had_error = False
    keys: list[tuple[str, int]] = []
    topics = []
    for ftopic in request.topics:
        name = ftopic.topic
        parts = []
        for fp in ftopic.partitions:
            keys.append((name, fp.partition))
            plog = state.partition(name, fp.partition)
            records = b""
            if plog is None:
                code = ErrorCode.unknown_topic_or_partition
                hw = start = -1
            else:
                code = ErrorCode.none
                hw = plog.log_end_offset
                start = plog.log_start_offset
                if fp.fetch_offset < start or fp.fetch_offset > hw:
                    code = ErrorCode.offset_out_of_range
                elif fp.fetch_offset < hw and (budget > 0 or total == 0):
                    limit = min(fp.partition_max_bytes, budget) if total else fp.partition_max_bytes
                    try:
                        records = plog.read(fp.fetch_offset, max(limit, 1))
                    except OffsetOutOfRange:
                        code = ErrorCode.offset_out_of_range
                    total += len(records)
                    budget -= len(records)
            if code != ErrorCode.none:
                had_error = True
            parts.append(
                build(
                    mod.PartitionData,
                    partition_index=fp.partition,
                    error_code=code,
                    high_watermark=hw,
                    last_stable_offset=hw,
                    log_start_offset=start,
                    aborted_transactions=None if code == ErrorCode.none else (),
                    preferred_read_replica=NO_PREFERRED_REPLICA,
                    records=records,
                )
            )
        topics.append(build(mod.FetchableTopicResponse, topic=name, partitions=tuple(parts)))
    return topics, total, had_error, keys


async def handle_fetch(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    deadline = time.monotonic() + ms(request.max_wait) / 1000
    min_bytes = max(request.min_bytes, 1)
    while True:
        topics, total, had_error, keys = _read_all(mod, request, state)
        remaining = deadline - time.monotonic()
        if total >= min_bytes or had_error or remaining <= 0 or not keys:
            break
        fut = state.waiter(keys)
        try:
            await asyncio.wait_for(fut, remaining)
        except TimeoutError:
            pass
        finally:
            state.forget(keys, fut)
    return build(
        mod.FetchResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        session_id=0,
        responses=tuple(topics),
    )


APIS = (ApiSpec(API_KEY, 4, 12, handle_fetch),)
