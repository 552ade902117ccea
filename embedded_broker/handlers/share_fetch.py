"""Share consumers' reads (KIP-932): ShareFetch acquires records, ShareAcknowledge settles them.

ShareFetch first applies the acknowledgements it carries, then acquires Available records of the
session's partitions under an acquisition lock (whole batches up to max_records, or exactly
max_records in the record-limit acquire mode) and answers the batches with the acquired offset
ranges and delivery counts; with nothing to acquire it waits up to max_wait for new records or
released ones. Acknowledgements are written to the share-group state before they are answered.
"""

from __future__ import annotations

import asyncio
import datetime
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.share.acks import Batch, malformed, refusal
from embedded_broker.share.batches import aborted_offsets, covering, spans
from embedded_broker.share.partition import AckError, AckType, Acquired, SharePartition
from embedded_broker.share.runtime import PartitionKey, ShareCoordinator, share_coordinator
from embedded_broker.share.sessions import FINAL_EPOCH, INITIAL_EPOCH, ShareSession
from embedded_broker.state import BrokerState
from embedded_broker.storage import OffsetOutOfRange, StorageError
from embedded_broker.txn.partition import last_stable_offset

from .authz import GROUP, allowed, refused_topics
from .base import ApiSpec, RequestContext
from .share_groups import DENIED_GROUP
from .storage_errors import storage_failure
from .util import NO_THROTTLE, build, ms, response_module

# ShareFetch v2's share acquire modes (KIP-1206): whole batches, or exactly max_records.
BATCH_OPTIMIZED, RECORD_LIMIT = 0, 1
# A share fetch reads at most this much of one partition's log per pass.
PARTITION_READ_BYTES = 1024 * 1024
_NOT_SAVED = "The share-group state could not be saved; acknowledge again."
_MALFORMED = (
    "The acknowledgement batches are malformed: give them in offset order without overlap, "
    "each with one acknowledge type, or one per offset, of a known kind. None was applied."
)
_NOT_ACQUIRED = (
    "The record state is invalid: the records are not acquired by this member "
    "(their acquisition lock may have expired). None of the partition's acknowledgements "
    "was applied."
)
_PAST_DELIVERED = (
    "An acknowledgement batch reaches past the records delivered. None of the partition's "
    "acknowledgements was applied."
)


@dataclass(slots=True)
class _PartitionAnswer:
    code: ErrorCode = ErrorCode.none
    message: str | None = None
    ack_code: ErrorCode = ErrorCode.none
    ack_message: str | None = None
    records: bytes = b""
    acquired: list[Acquired] = field(default_factory=list)


Answers = dict[PartitionKey, _PartitionAnswer]


def _keys(topics: Iterable[Any]) -> list[PartitionKey]:
    return [(t.topic_id, int(p)) for t in topics for p in t.partitions]


def _acks(topics: Iterable[Any]) -> dict[PartitionKey, tuple[Any, ...]]:
    return {
        (t.topic_id, int(p.partition_index)): tuple(p.acknowledgement_batches)
        for t in topics
        for p in t.partitions
        if p.acknowledgement_batches
    }


def _denied(
    ctx: RequestContext, state: BrokerState, ids: Iterable[uuid.UUID]
) -> frozenset[uuid.UUID]:
    """The topics (by id) this principal may not Read (none without an authorizer)."""
    names = {tid: info.name for tid in set(ids) if (info := state.registry.by_id.get(tid))}
    refused = refused_topics(ctx, state, names.values())
    return frozenset(tid for tid, name in names.items() if name in refused)


def _session(
    share: ShareCoordinator, group_id: str, member_id: str, epoch: int
) -> tuple[ShareSession | None, ErrorCode, str | None]:
    """The member's share session for a request of ``epoch`` (not for the initial epoch)."""
    session = share.sessions.get(group_id, member_id)
    if session is None:
        return None, ErrorCode.share_session_not_found, "The share session was not found."
    if epoch not in (FINAL_EPOCH, session.epoch):
        return (
            None,
            ErrorCode.invalid_share_session_epoch,
            f"The share session epoch {epoch} is not the expected {session.epoch}.",
        )
    return session, ErrorCode.none, None


async def _acknowledge(
    share: ShareCoordinator,
    group_id: str,
    member_id: str,
    *,
    acks: dict[PartitionKey, tuple[Any, ...]],
    answers: Answers,
    now_ms: int,
    denied: frozenset[uuid.UUID] = frozenset(),
) -> None:
    """Apply acknowledgements; each partition's outcome goes into ``answers``. A partition's
    batches are checked as a whole and applied together or not at all, as Kafka does."""
    if not acks:
        return
    settings = share.settings(group_id)
    changed = False
    for key, raw in acks.items():
        answer = answers.setdefault(key, _PartitionAnswer())
        batches = [
            (int(b.first_offset), int(b.last_offset), tuple(int(t) for t in b.acknowledge_types))
            for b in raw
        ]
        if malformed(batches):
            answer.ack_code, answer.ack_message = ErrorCode.invalid_request, _MALFORMED
            continue
        if key[0] not in share.state.registry.by_id:
            answer.ack_code = ErrorCode.unknown_topic_id
            continue
        if key[0] in denied:
            answer.ack_code = ErrorCode.topic_authorization_failed
            continue
        part = share.partition(group_id, key[0], key[1], create=False)
        outcome = AckError.INVALID_RECORD_STATE
        if part is not None:
            part.expire(now_ms, settings.delivery_limit)
            outcome = refusal(part, member_id, batches)
        if part is None or outcome is not AckError.NONE:
            answer.ack_code = ErrorCode(outcome.value)
            answer.ack_message = (
                _NOT_ACQUIRED if outcome is AckError.INVALID_RECORD_STATE else _PAST_DELIVERED
            )
            continue
        if _apply(part, member_id, batches, settings.delivery_limit, now_ms + settings.lock_ms):
            changed = True
            if any(AckType.RELEASE in types for _, _, types in batches):
                share.wake()
    if changed and not await share.persist(group_id):
        for key in acks:
            answers[key].ack_code = ErrorCode.unknown_server_error
            answers[key].ack_message = _NOT_SAVED


def _apply(
    part: SharePartition, member_id: str, batches: list[Batch], limit: int, lock_deadline: int
) -> bool:
    """Apply batches that refusal() passed, as one change; whether a record's state changed
    (renewing a lock only is not a change to write)."""
    start = part.start_offset
    applied = False
    for given_first, last, given_types in batches:
        if last < start:
            continue  # already done: skipped, as Kafka skips them
        first = max(given_first, start)
        types = given_types if len(given_types) == 1 else given_types[first - given_first :]
        if all(t == AckType.RENEW for t in types):
            part.renew(member_id, first, last, lock_deadline)
            continue
        if not applied:
            part.change()
            applied = True
        part.acknowledge(member_id, first, last, types, limit, settle=False)
    if applied:
        part.settle()
    return applied


async def _acquire_pass(
    share: ShareCoordinator,
    group_id: str,
    member_id: str,
    *,
    keys: list[PartitionKey],
    answers: Answers,
    max_records: int,
    max_bytes: int,
    now_ms: int,
    denied: frozenset[uuid.UUID] = frozenset(),
    record_limit: bool = False,
) -> int:
    """One pass acquiring records of ``keys``; the number of records acquired (with
    ``record_limit``, never more than ``max_records``)."""
    state = share.state
    settings = share.settings(group_id)
    got = 0
    room = max_bytes
    for key in keys:
        topic_id, index = key
        answer = answers.setdefault(key, _PartitionAnswer())
        info = state.registry.by_id.get(topic_id)
        if info is None:
            answer.code = ErrorCode.unknown_topic_id
            continue
        if topic_id in denied:
            answer.code = ErrorCode.topic_authorization_failed
            continue
        plog = state.partition(info.name, index)
        if plog is None:
            answer.code = state.replicas.absent_error(info.name, index)
            continue
        refused = state.replicas.leader_error(info.name, index, -1)
        if refused != ErrorCode.none:
            answer.code = refused
            continue
        part = share.partition(group_id, topic_id, index)
        if part is None or got >= max_records or room <= 0:
            continue
        if plog.log_start_offset > part.start_offset:
            part.move_start(plog.log_start_offset)  # deleted by retention: nothing to deliver
        high = state.replicas.high_watermark(info.name, index, plog)
        if settings.read_committed:
            high = await last_stable_offset(state, info.name, index, plog)
        offset = part.first_available()
        if offset >= high:
            continue
        try:
            data = plog.read(offset, max(min(PARTITION_READ_BYTES, room), 1))
        except OffsetOutOfRange:
            continue
        except (StorageError, OSError) as exc:
            answer.code = storage_failure(state, info.name, index, exc)
            continue
        batches = spans(data)
        aborted: frozenset[int] = frozenset()
        if settings.read_committed and batches:
            txns = plog.aborted_txns(batches[0][0], batches[-1][1] + 1)
            aborted = aborted_offsets(data, batches, txns)
        taken = part.acquire(
            [(first, last) for first, last, _, _ in batches],
            member_id,
            now_ms=now_ms,
            lock_ms=settings.lock_ms,
            max_records=max_records - got,
            max_in_flight=settings.max_locks,
            high_watermark=high,
            record_limit=record_limit,
            aborted=aborted,
        )
        if taken:
            answer.acquired = taken
            answer.records = covering(data, batches, taken)
            room -= len(answer.records)
            got += sum(r.last_offset - r.first_offset + 1 for r in taken)
    return got


def _leader(mod: Any, state: BrokerState, code: ErrorCode) -> Any:
    known = code == ErrorCode.none
    return build(
        mod.LeaderIdAndEpoch,
        leader_id=state.node_id if known else -1,
        leader_epoch=0 if known else -1,
    )


def _topics(mod: Any, state: BrokerState, answers: Answers, fetching: bool) -> tuple[Any, ...]:
    by_topic: dict[uuid.UUID, list[Any]] = {}
    for (topic_id, index), a in answers.items():
        entry = (
            build(
                mod.PartitionData,
                partition_index=index,
                error_code=a.code,
                error_message=a.message,
                acknowledge_error_code=a.ack_code.value,
                acknowledge_error_message=a.ack_message,
                current_leader=_leader(mod, state, a.code),
                records=a.records,
                acquired_records=tuple(
                    build(
                        mod.AcquiredRecords,
                        first_offset=r.first_offset,
                        last_offset=r.last_offset,
                        delivery_count=r.delivery_count,
                    )
                    for r in a.acquired
                ),
            )
            if fetching
            else build(
                mod.PartitionData,
                partition_index=index,
                error_code=a.ack_code if a.code == ErrorCode.none else a.code,
                error_message=a.ack_message if a.code == ErrorCode.none else a.message,
                current_leader=_leader(mod, state, a.code),
            )
        )
        by_topic.setdefault(topic_id, []).append(entry)
    cls = mod.ShareFetchableTopicResponse if fetching else mod.ShareAcknowledgeTopicResponse
    return tuple(build(cls, topic_id=t, partitions=tuple(ps)) for t, ps in by_topic.items())


async def _wait(share: ShareCoordinator, keys: list[PartitionKey], remaining: float) -> None:
    """Until new records reach one of ``keys``, records are released, a lock expires, or
    ``remaining`` seconds pass."""
    state = share.state
    names = []
    for topic_id, index in keys:
        info = state.registry.by_id.get(topic_id)
        if info is not None:
            names.append((info.name, index))
    deadline = share.next_deadline()
    if deadline is not None:
        remaining = min(remaining, max(deadline - state.now_ms(), 0) / 1000 + 0.001)
    produced = state.waiter(names)
    released = share.released()
    try:
        await asyncio.wait({produced, released}, timeout=remaining)
    finally:
        state.forget(names, produced)


async def handle_share_fetch(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    share = await share_coordinator(state)
    lock = datetime.timedelta(milliseconds=share.settings(request.group_id).lock_ms)

    def refuse(code: ErrorCode, message: str) -> Any:
        return build(
            mod.ShareFetchResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            acquisition_lock_timeout=lock,
            responses=(),
            node_endpoints=(),
        )

    group_id = request.group_id or ""
    member_id = request.member_id or ""
    epoch = int(request.share_session_epoch)
    if not group_id or not member_id:
        return refuse(ErrorCode.invalid_request, "A share fetch needs a group id and a member id.")
    if not allowed(ctx, state, GROUP, group_id):
        return refuse(ErrorCode.group_authorization_failed, DENIED_GROUP)
    mode = int(getattr(request, "share_acquire_mode", BATCH_OPTIMIZED))
    if mode not in (BATCH_OPTIMIZED, RECORD_LIMIT):
        # Kafka 4.3.1 fails such a request as a whole with UNKNOWN_SERVER_ERROR
        return refuse(
            ErrorCode.unknown_server_error,
            f"Unknown share acquire mode {mode}: 0 is batch-optimized, 1 is record-limit.",
        )
    acks = _acks(request.topics)
    requested = [(t.topic_id, int(p.partition_index)) for t in request.topics for p in t.partitions]
    if epoch == INITIAL_EPOCH:
        if acks:
            return refuse(
                ErrorCode.invalid_request, "Acknowledgements cannot be sent when opening a session."
            )
        session = share.sessions.open(group_id, member_id)
        if session is None:
            return refuse(
                ErrorCode.share_session_limit_reached,
                "The broker holds group.share.max.share.sessions share sessions already.",
            )
        session.add(requested)
    else:
        found, code, message = _session(share, group_id, member_id, epoch)
        if found is None:
            return refuse(code, message or "")
        session = found
        if epoch != FINAL_EPOCH:
            session.add(requested)
            session.forget(_keys(request.forgotten_topics_data))
            session.bump()
    share.groups.expire(state.now_ms())
    share.expire(state.now_ms())
    answers: Answers = {}
    denied = _denied(ctx, state, [k[0] for k in [*session.partitions, *acks]])
    await share.prepare(group_id, [*session.partitions, *acks], new_session=epoch == INITIAL_EPOCH)
    await _acknowledge(
        share,
        group_id,
        member_id,
        acks=acks,
        answers=answers,
        now_ms=state.now_ms(),
        denied=denied,
    )
    if epoch == FINAL_EPOCH:
        share.sessions.close(group_id, member_id)
        if share.release_member(group_id, member_id, session.partitions):
            await share.persist(group_id)
    else:
        keys = list(session.partitions)
        max_records = max(int(request.max_records), 1)
        max_bytes = min(int(request.max_bytes), state.config.get_int("fetch.max.bytes"))
        deadline = time.monotonic() + ms(request.max_wait) / 1000
        while True:
            await share.prepare(group_id, keys)  # (a cluster's leadership may have moved)
            got = await _acquire_pass(
                share,
                group_id,
                member_id,
                keys=keys,
                answers=answers,
                max_records=max_records,
                max_bytes=max_bytes,
                now_ms=state.now_ms(),
                denied=denied,
                record_limit=mode == RECORD_LIMIT,
            )
            remaining = deadline - time.monotonic()
            errors = any(a.code != ErrorCode.none for a in answers.values())
            if got or errors or remaining <= 0 or state.shutting_down or acks:
                break
            await _wait(share, keys, remaining)
            share.expire(state.now_ms())
        if epoch != INITIAL_EPOCH:
            # an incremental response names only the partitions with something to say
            answers = {
                k: a
                for k, a in answers.items()
                if a.acquired or a.code != ErrorCode.none or k in acks
            }
    return build(
        mod.ShareFetchResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        acquisition_lock_timeout=lock,
        responses=_topics(mod, state, answers, True),
        node_endpoints=(),
    )


async def handle_share_acknowledge(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    share = await share_coordinator(state)
    lock = datetime.timedelta(milliseconds=share.settings(request.group_id).lock_ms)
    group_id = request.group_id or ""
    member_id = request.member_id or ""
    epoch = int(request.share_session_epoch)
    code, message = ErrorCode.none, None
    session = None
    if not group_id or not member_id:
        code, message = (
            ErrorCode.invalid_request,
            "A share acknowledge needs a group and member id.",
        )
    elif not allowed(ctx, state, GROUP, group_id):
        code, message = ErrorCode.group_authorization_failed, DENIED_GROUP
    elif epoch == INITIAL_EPOCH:
        code = ErrorCode.invalid_share_session_epoch
        message = "A share acknowledge cannot open a share session."
    else:
        session, code, message = _session(share, group_id, member_id, epoch)
    answers: Answers = {}
    acks = _acks(request.topics)
    if session is not None:
        if epoch != FINAL_EPOCH:
            session.bump()
        share.expire(state.now_ms())
        await share.prepare(group_id, list(acks))
        await _acknowledge(
            share,
            group_id,
            member_id,
            acks=acks,
            answers=answers,
            now_ms=state.now_ms(),
            denied=_denied(ctx, state, [k[0] for k in acks]),
        )
        if epoch == FINAL_EPOCH:
            share.sessions.close(group_id, member_id)
            if share.release_member(group_id, member_id, session.partitions):
                await share.persist(group_id)
    return build(
        mod.ShareAcknowledgeResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        error_message=message,
        acquisition_lock_timeout=lock,
        responses=_topics(mod, state, answers, False),
        node_endpoints=(),
    )


APIS = (
    ApiSpec(78, 1, 2, handle_share_fetch),
    ApiSpec(79, 1, 2, handle_share_acknowledge),
)
