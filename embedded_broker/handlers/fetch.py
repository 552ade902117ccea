"""Fetch: whole batches from the one holding the fetch offset, with min_bytes/max_wait long-poll.

A response carries at most min(max_bytes, fetch.max.bytes, what the response budget has left)
bytes of records, each partition at most its partition_max_bytes, and still at least one batch
(Kafka's KIP-74 rules), so no fetch reads more of the log into memory than the caps allow.
"""

from __future__ import annotations

import asyncio
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.fast import EncodedParts, FetchPartition, encode_fetch_response_parts
from embedded_broker.state import BrokerState
from embedded_broker.storage import OffsetOutOfRange, PartitionLog, StorageError
from embedded_broker.txn.partition import last_stable_offset

from . import fetch_sessions
from .authz import fetch_refused
from .base import ApiSpec, RequestContext
from .storage_errors import storage_failure
from .topic_ids import topic_name
from .util import ms

API_KEY = 1
_NONE = ErrorCode.none.value
_TOPIC_DENIED = ErrorCode.topic_authorization_failed.value
_OUT_OF_RANGE = ErrorCode.offset_out_of_range.value
_UNKNOWN_ID = ErrorCode.unknown_topic_id.value
# Large partition reads are made in pieces of about this size, yielding to other clients.
PIECE = 1024 * 1024
_BATCH_SPAN = struct.Struct(">qi")  # base offset, batch length
_LAST_DELTA = struct.Struct(">i")  # lastOffsetDelta, at byte 23 of a batch


def _next_offset(records: bytes) -> int:
    """The offset after the last of the whole batches in ``records``."""
    at = 0
    last = -1
    size = len(records)
    while at + 27 <= size:
        base, length = _BATCH_SPAN.unpack_from(records, at)
        last = base + _LAST_DELTA.unpack_from(records, at + 23)[0]
        at += 12 + length
    return last + 1


async def _read_pieces(plog: PartitionLog, offset: int, limit: int) -> list[bytes]:
    """Whole batches from ``offset``, at most ``limit`` bytes but at least one batch, read a
    piece at a time with the event loop free in between."""
    pieces: list[bytes] = []
    got = 0
    while True:
        data = plog.read(offset, max(min(PIECE, limit - got), 1))
        if not data or (got and len(data) > limit - got):
            break  # the end of the log, or a batch that does not fit
        pieces.append(data)
        got += len(data)
        offset = _next_offset(data)
        if got >= limit or offset >= plog.log_end_offset:
            break
        await asyncio.sleep(0)
    return pieces


def _below(records: bytes | list[bytes], end: int) -> bytes | list[bytes]:
    """The whole batches of ``records`` that start below offset ``end`` (the high watermark a
    consumer may read up to)."""
    data = b"".join(records) if isinstance(records, list) else records
    at = 0
    size = len(data)
    while at + 12 <= size:
        base, length = _BATCH_SPAN.unpack_from(data, at)
        if base >= end:
            break
        at += 12 + length
    return data if at >= size else data[:at]


@dataclass(slots=True)
class _Pass:
    """What one pass over the requested partitions found."""

    topics: list[tuple[str, list[FetchPartition]]] = field(default_factory=list)
    total: int = 0  # bytes of records read
    answer_now: bool = False  # an error or a redirect: no point waiting for more data
    keys: list[tuple[str, int]] = field(default_factory=list)
    preferred: dict[tuple[str, int], int] = field(default_factory=dict)
    diverging: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)


async def _read_all(
    request: Any,
    state: BrokerState,
    budget: int,
    version: int,
    *,
    aborted: dict[tuple[str, int], list[tuple[int, int]]] | None = None,
    denied: frozenset[str] = frozenset(),
    generation: int | None = None,
) -> _Pass:
    """One pass over the requested partitions reading at most ``budget`` bytes (but at least
    one batch). A read_committed consumer reads up to the last stable offset; ``aborted``
    gets the aborted transactions of what it read. A follower's progress is recorded under
    the ``generation`` its fetch arrived in."""
    read_committed = getattr(request, "isolation_level", 0) == 1
    found = _Pass()
    total = 0
    had_error = False
    keys = found.keys
    topics = found.topics
    # a follower's broker id (v15+ moves it into replica_state)
    replica_state = getattr(request, "replica_state", None)
    replica_id = getattr(replica_state or request, "replica_id", -1)
    # KIP-392: a consumer's fetch v11+ may be served by a follower, and may be redirected to
    # one in the consumer's rack
    from_follower_ok = replica_id < 0 and version >= 11
    client_rack = getattr(request, "rack_id", None) if from_follower_ok else None
    for ftopic in request.topics:
        # v13+ names the topic by id; one this broker does not know is UNKNOWN_TOPIC_ID
        name = topic_name(state, ftopic, "topic")
        parts: list[FetchPartition] = []
        for fp in ftopic.partitions:
            index = fp.partition
            if name is None:
                parts.append((index, _UNKNOWN_ID, -1, -1, -1, b""))
                had_error = True
                continue
            keys.append((name, index))
            plog = state.partition(name, index)
            records: bytes | list[bytes] = b""
            if name in denied:  # the principal may not Read it (authz.CHECKS)
                parts.append((index, _TOPIC_DENIED, -1, -1, -1, b""))
                had_error = True
                continue
            if plog is None:
                absent = state.replicas.absent_error(name, index).value
                parts.append((index, absent, -1, -1, -1, b""))
                had_error = True
                continue
            refused = state.replicas.leader_error(
                name, index, getattr(fp, "current_leader_epoch", -1), follower_ok=from_follower_ok
            )
            if refused != ErrorCode.none:
                parts.append((index, refused.value, -1, -1, -1, b""))
                had_error = True
                continue
            chosen = state.replicas.preferred_read_replica(
                name, index, client_rack, fp.fetch_offset
            )
            if chosen is not None:
                # as Kafka: no records, only where to read them
                high = state.replicas.high_watermark(name, index, plog)
                parts.append((index, _NONE, high, high, plog.log_start_offset, b""))
                found.preferred[(name, index)] = chosen
                had_error = True
                continue
            last_epoch = getattr(fp, "last_fetched_epoch", -1) if version >= 12 else -1
            diverged = state.replicas.diverging_epoch(
                name, index, plog, last_epoch, fp.fetch_offset
            )
            if diverged is not None:
                # the fetcher's log parted from this one: where (or that its epoch is
                # unknown here), instead of records
                high = state.replicas.high_watermark(name, index, plog)
                code = diverged.value if isinstance(diverged, ErrorCode) else _NONE
                parts.append((index, code, high, high, plog.log_start_offset, b""))
                had_error = True
                if not isinstance(diverged, ErrorCode):
                    found.diverging[(name, index)] = diverged
                continue
            code = _NONE
            end = plog.log_end_offset
            if replica_id >= 0 and plog.log_start_offset <= fp.fetch_offset <= end:
                # as Kafka, only a fetch inside the log says where the follower is: an offset
                # past the end is a tail this leader does not have
                state.replicas.follower_fetched(
                    name, index, replica_id, fp.fetch_offset, plog, generation=generation
                )
            # a follower reads up to the log end, a consumer up to the high watermark
            visible = end if replica_id >= 0 else state.replicas.high_watermark(name, index, plog)
            high = state.replicas.high_watermark(name, index, plog)
            stable = high
            if read_committed and replica_id < 0:
                stable = await last_stable_offset(state, name, index, plog)
                visible = min(visible, stable)
            start = plog.log_start_offset
            offset = fp.fetch_offset
            if offset < start or offset > end:
                code = _OUT_OF_RANGE
            elif offset < visible and (budget > 0 or total == 0):
                # The first data in the response may exceed the limits: at least one batch.
                limit = min(fp.partition_max_bytes, budget)
                try:
                    if limit > 2 * PIECE:
                        # A large read (far more than a consumer's usual 1 MB per partition)
                        # goes a piece at a time so other clients are served in between.
                        records = await _read_pieces(plog, offset, limit)
                        start = plog.log_start_offset
                        if replica_id >= 0 or state.replicas.get(name, index) is None:
                            visible = plog.log_end_offset  # grown meanwhile: all readable
                            if replica_id < 0:
                                high = visible
                                if read_committed:
                                    visible = stable = min(visible, stable)
                    else:
                        records = plog.read(offset, max(limit, 1))
                except OffsetOutOfRange:
                    code = _OUT_OF_RANGE
                except (StorageError, OSError) as exc:
                    code = storage_failure(state, name, index, exc).value
                    high = start = -1  # as Kafka answers a partition it cannot read
                if visible < plog.log_end_offset:
                    records = _below(records, visible)
                size = sum(map(len, records)) if isinstance(records, list) else len(records)
                if total and size > limit:
                    # Only the first data may exceed the limits; the log returns at least a
                    # batch, so a later one that does not fit is dropped and the fetch ends.
                    records = b""
                    size = 0
                    budget = 0
                total += size
                budget -= size
                if read_committed and size and aborted is not None:
                    joined = b"".join(records) if isinstance(records, list) else records
                    upper = _next_offset(joined)
                    txns = plog.aborted_txns(offset, upper)
                    if txns:
                        aborted[(name, index)] = [(a.producer_id, a.first_offset) for a in txns]
                if size and from_follower_ok:
                    state.replicas.served_consumer(name, index, client_rack)
            if code != _NONE:
                had_error = True
            parts.append((index, code, high, stable if code == _NONE else high, start, records))
        topics.append((name or "", parts))
    found.total = total
    found.answer_now = had_error
    return found


class _Reading:
    """The request as read: its topics replaced by those of its fetch session."""

    def __init__(self, request: Any, topics: list[Any]) -> None:
        self._request = request
        self.topics = topics

    def __getattr__(self, name: str) -> Any:
        return getattr(self._request, name)


async def handle_fetch(ctx: RequestContext, request: Any, state: BrokerState) -> EncodedParts:
    deadline = time.monotonic() + ms(request.max_wait) / 1000
    min_bytes = max(request.min_bytes, 1)
    cap = min(request.max_bytes, state.config.get_int("fetch.max.bytes"))
    outgoing = ctx.outgoing
    session = fetch_sessions.begin(state, request, ctx.api_version)
    if session.error != ErrorCode.none:
        return encode_fetch_response_parts(ctx.api_version, 0, [], error_code=session.error.value)
    request = _Reading(request, session.topics)
    denied = frozenset(fetch_refused(ctx, state, request))
    # a follower's: taken now, so a fetch still parked here when its broker is fenced or
    # registers anew (its process died) records no progress when it completes
    replica_id = getattr(getattr(request, "replica_state", None) or request, "replica_id", -1)
    generation = state.replicas.follower_generation(replica_id) if replica_id >= 0 else None
    while True:
        grant = outgoing.reserve(cap) if outgoing is not None else cap
        try:
            aborted: dict[tuple[str, int], list[tuple[int, int]]] = {}
            found = await _read_all(
                request,
                state,
                grant,
                ctx.api_version,
                aborted=aborted,
                denied=denied,
                generation=generation,
            )
        finally:
            # What was read moves to the connection's outbox (counted there) as soon as this
            # handler returns; nothing awaits in between.
            if outgoing is not None:
                outgoing.release(grant)
        remaining = deadline - time.monotonic()
        keys = found.keys
        if (
            found.total >= min_bytes
            or found.answer_now
            or remaining <= 0
            or not keys
            or state.shutting_down
        ):
            break
        del found  # drop the records read before waiting
        fut = state.waiter(keys)
        try:
            await asyncio.wait_for(fut, remaining)
        except TimeoutError:
            pass
        finally:
            state.forget(keys, fut)
    topics, topic_ids = fetch_sessions.finish(
        session, found.topics, {*found.preferred, *found.diverging}
    )
    leaders, endpoints = state.replicas.leader_hints(
        (name, part[0], part[1]) for name, parts in topics for part in parts
    )
    return encode_fetch_response_parts(
        ctx.api_version,
        session.session_id,
        topics,
        read_committed=getattr(request, "isolation_level", 0) == 1,
        leaders=leaders,
        aborted=aborted,
        # v13+ echoes each topic's id; v16+ names the hinted leaders' endpoints
        topic_ids=topic_ids,
        endpoints=endpoints,
        preferred=found.preferred,
        diverging=found.diverging,
    )


# v17's replica_directory_id and v18's follower high watermark are for JBOD and a follower's
# own bookkeeping; this broker's followers need neither.
APIS = (ApiSpec(API_KEY, 4, 18, handle_fetch),)
