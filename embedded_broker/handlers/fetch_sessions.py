"""Incremental fetch sessions (KIP-227), as Kafka's FetchManager keeps them.

A Fetch v7+ with session epoch 0 is a full fetch that opens a session holding its partitions;
later fetches name the session and the next epoch and list only the partitions whose fetch
offset changed (and those to forget), and get back only the partitions with something new:
records, a moved high watermark or log start offset, an error. Epoch -1 fetches without a
session (closing the one named). An unknown session id is FETCH_SESSION_ID_NOT_FOUND, a wrong
epoch INVALID_FETCH_SESSION_EPOCH. At most max.incremental.fetch.session.cache.slots sessions
are kept; when full, one unused for two minutes makes room, or the full fetch gets no session.
"""

from __future__ import annotations

import random
import time
import uuid
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

from embedded_broker.protocol.fast import FetchPartition

from .topic_ids import ZERO_ID, topic_name

if TYPE_CHECKING:
    from embedded_broker.state import BrokerState

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
# Kafka's FetchManager evicts a session only after it has been unused this long
EVICTION_MS = 120_000
CACHE_SLOTS_KEY = "max.incremental.fetch.session.cache.slots"

Key = tuple[str, int]


@dataclass(slots=True)
class _Part:
    """A partition of a session: what the client last asked, and what it was last sent."""

    topic_id: uuid.UUID
    partition: int
    fetch_offset: int
    partition_max_bytes: int
    current_leader_epoch: int
    last_fetched_epoch: int
    log_start_offset: int
    high_watermark: int = -1
    sent_log_start: int = -1


@dataclass(slots=True)
class Session:
    session_id: int
    epoch: int  # the epoch the next fetch must carry
    parts: OrderedDict[Key, _Part] = field(default_factory=OrderedDict)
    last_used: float = field(default_factory=time.monotonic)


class SessionCache:
    """The sessions of one broker."""

    def __init__(self, slots: int) -> None:
        self.slots = slots
        self.sessions: OrderedDict[int, Session] = OrderedDict()  # least recently used first
        self.created = 0  # sessions opened so far
        self.incremental = 0  # incremental fetches served so far

    def _new_id(self) -> int:
        while True:
            candidate = random.randint(1, 2**31 - 1)
            if candidate not in self.sessions:
                return candidate

    def create(self) -> Session | None:
        """A new session, or None when every slot is taken by one in use (as Kafka, the
        client then keeps fetching in full)."""
        if self.slots <= 0:
            return None
        if len(self.sessions) >= self.slots:
            oldest_id, oldest = next(iter(self.sessions.items()))
            if (time.monotonic() - oldest.last_used) * 1000 < EVICTION_MS:
                return None
            del self.sessions[oldest_id]
        session = Session(self._new_id(), 1)
        self.sessions[session.session_id] = session
        self.created += 1
        return session

    def touch(self, session: Session) -> None:
        session.last_used = time.monotonic()
        self.sessions.move_to_end(session.session_id)


_caches: weakref.WeakKeyDictionary[BrokerState, SessionCache] = weakref.WeakKeyDictionary()


def cache_of(state: BrokerState) -> SessionCache:
    cache = _caches.get(state)
    if cache is None:
        cache = _caches[state] = SessionCache(state.config.get_int(CACHE_SLOTS_KEY))
    return cache


@dataclass(slots=True)
class _Topic:
    """A topic of the fetch the handler reads: its name or id, and its partitions."""

    topic: str | None
    topic_id: uuid.UUID
    partitions: list[_Part]


@dataclass(slots=True)
class SessionFetch:
    """The fetch to read for one request: its topics (the session's, for an incremental
    fetch), the error that answers it instead, and the session to answer with."""

    topics: list[Any]
    error: ErrorCode = ErrorCode.none
    session: Session | None = None
    incremental: bool = False
    new_session: bool = False

    @property
    def session_id(self) -> int:
        return self.session.session_id if self.session is not None else INVALID_SESSION_ID


def _part(fp: Any, topic_id: uuid.UUID) -> _Part:
    return _Part(
        topic_id,
        int(fp.partition),
        int(fp.fetch_offset),
        int(fp.partition_max_bytes),
        int(getattr(fp, "current_leader_epoch", -1)),
        int(getattr(fp, "last_fetched_epoch", -1)),
        int(getattr(fp, "log_start_offset", -1)),
    )


def begin(state: BrokerState, request: Any, version: int) -> SessionFetch:
    """Resolve the request's session: what to read, or the session error to answer."""
    if version < 7:
        return SessionFetch(list(request.topics))
    cache = cache_of(state)
    session_id, epoch = int(request.session_id), int(request.session_epoch)
    if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
        if session_id != INVALID_SESSION_ID:
            cache.sessions.pop(session_id, None)  # a full fetch closes the session it names
        found = SessionFetch(list(request.topics))
        if epoch == INITIAL_EPOCH:
            session = cache.create()
            if session is not None:
                for ftopic in request.topics:
                    tid = getattr(ftopic, "topic_id", None) or ZERO_ID
                    name = topic_name(state, ftopic, "topic")
                    for fp in ftopic.partitions:
                        if name is not None:
                            session.parts[(name, int(fp.partition))] = _part(fp, tid)
                found.session, found.new_session = session, True
        return found
    session = cache.sessions.get(session_id)
    if session is None:
        return SessionFetch([], ErrorCode.fetch_session_id_not_found)
    if epoch != session.epoch:
        return SessionFetch([], ErrorCode.invalid_fetch_session_epoch)
    for ftopic in request.topics:
        tid = getattr(ftopic, "topic_id", None) or ZERO_ID
        name = topic_name(state, ftopic, "topic")
        for fp in ftopic.partitions:
            if name is None:
                continue
            key = (name, int(fp.partition))
            known = session.parts.get(key)
            fresh = _part(fp, tid)
            if known is not None:  # what was last sent stays, to tell what changed
                fresh.high_watermark = known.high_watermark
                fresh.sent_log_start = known.sent_log_start
            session.parts[key] = fresh
    for forgotten in getattr(request, "forgotten_topics_data", None) or ():
        name = topic_name(state, forgotten, "topic")
        for index in forgotten.partitions:
            if name is not None:
                session.parts.pop((name, int(index)), None)
    session.epoch = session.epoch + 1 if session.epoch < 2**31 - 1 else 1
    cache.touch(session)
    cache.incremental += 1
    topics: dict[str, _Topic] = {}
    for (name, _), p in session.parts.items():
        topic = topics.get(name)
        if topic is None:
            topic = topics[name] = _Topic(name, p.topic_id, [])
        topic.partitions.append(p)
    return SessionFetch(list(topics.values()), session=session, incremental=True)


def _ids(topics: list[Any]) -> list[uuid.UUID]:
    return [getattr(t, "topic_id", None) or ZERO_ID for t in topics]


def finish(
    fetch: SessionFetch,
    read: list[tuple[str, list[FetchPartition]]],
    redirected: set[Key] | frozenset[Key] = frozenset(),
) -> tuple[list[tuple[str, list[FetchPartition]]], list[uuid.UUID]]:
    """What to answer of what was read, with each topic's id: a full fetch everything (its
    new session remembering what was sent), an incremental fetch only the partitions with
    something new, as Kafka's CachedPartition.maybeUpdateResponseData decides. ``redirected``:
    partitions answered with a preferred read replica or a diverging epoch (always sent)."""
    ids = _ids(fetch.topics)
    session = fetch.session
    if session is None:
        return read, ids
    kept: list[tuple[str, list[FetchPartition]]] = []
    kept_ids: list[uuid.UUID] = []
    for (name, parts), tid in zip(read, ids, strict=True):
        chosen: list[FetchPartition] = []
        for part in parts:
            index, error, high, _stable, log_start, records = part
            cached = session.parts.get((name, index))
            changed = True
            if cached is not None:
                has_records = any(records) if isinstance(records, list) else bool(records)
                changed = (
                    has_records
                    or error != 0
                    or (name, index) in redirected
                    or cached.high_watermark != high
                    or cached.sent_log_start != log_start
                )
                # an error is sent every time: the client is told until it is gone
                cached.high_watermark = -1 if error != 0 else high
                cached.sent_log_start = log_start
            if changed or not fetch.incremental:
                chosen.append(part)
        if chosen:
            kept.append((name, chosen))
            kept_ids.append(tid)
    return kept, kept_ids


def close_all(state: BrokerState) -> None:
    """Forget every session of a broker (tests, shutdown)."""
    _caches.pop(state, None)
