"""Consumer group APIs: FindCoordinator, classic membership, committed offsets, group admin.

Translates kio requests into calls on the sans-IO GroupCoordinator (one per broker, kept in
``state.extensions``) whose timers run on the broker's event loop through loop.call_later.
A single node keeps its groups in its own journal and coordinates every group; a cluster
broker coordinates the groups whose __consumer_offsets partition it leads (group_runtime) and
answers the others NOT_COORDINATOR, or COORDINATOR_LOAD_IN_PROGRESS while it reads them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

from kio.schema.errors import ErrorCode

from embedded_broker.cluster_link.link import BrokerLink, cluster_link
from embedded_broker.coordinator import (
    CoordinatorConfig,
    DescribedGroup,
    FileJournal,
    GroupCoordinator,
    GroupError,
    JoinRequest,
    JoinResult,
    Journal,
    NullJournal,
    OffsetCommitEntry,
    SyncRequest,
    SyncResult,
    Timer,
)
from embedded_broker.coordinator.offsets_topic import OFFSETS_TOPIC
from embedded_broker.group_runtime.journal import ReplicatedJournal
from embedded_broker.group_runtime.runtime import RUNTIME_KEY, GroupRuntime
from embedded_broker.group_runtime.topic import ensure_offsets_topic
from embedded_broker.protocol.offset_fetch import (
    FetchedGroup,
    FetchedPartition,
    FetchedTopic,
    encode_offset_fetch_response,
)
from embedded_broker.share.listing import delete_share_groups, share_groups_listed
from embedded_broker.share.runtime import share_coordinator
from embedded_broker.state import BrokerState
from embedded_broker.txn.group_offsets import pending as pending_txn_offsets
from embedded_broker.txn.metadata import TRANSACTION_STATE_TOPIC
from embedded_broker.txn.metadata import partition_for as txn_partition
from embedded_broker.txn.runtime import coordinator as txn_coordinator
from embedded_broker.txn.runtime import loaded as loaded_txn_coordinator
from embedded_broker.txn.topic import ensure_transaction_topic

from .authz import authorizer
from .base import ApiSpec, RequestContext
from .metadata import advertised_address
from .topic_ids import ZERO_ID, topic_id, topic_name
from .util import NO_THROTTLE, build, error, has_field, ms, response_module

log = logging.getLogger(__name__)

EXTENSION_KEY = "groups"
AUTHORIZED_OPS_OMITTED = -(2**31)
# READ (3), DELETE (6) and DESCRIBE (8): what a principal may do on a group here.
GROUP_AUTHORIZED_OPS = (1 << 3) | (1 << 6) | (1 << 8)
KEY_TYPE_GROUP = 0
KEY_TYPE_TRANSACTION = 1
UNSTABLE_OFFSET_COMMIT = int(ErrorCode.unstable_offset_commit)
UNKNOWN_TOPIC_ID = int(ErrorCode.unknown_topic_id)

T = TypeVar("T")


class _LoopScheduler:
    """Coordinator timers on the broker's asyncio loop (callbacks never block the loop)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        return self._loop.call_later(max(0, delay_ms) / 1000, _guarded, callback)


def _guarded(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("group coordinator timer failed")


class _StateClock:
    def __init__(self, state: BrokerState) -> None:
        self._state = state

    def now_ms(self) -> int:
        return self._state.now_ms()


def _coordinator_config(state: BrokerState) -> CoordinatorConfig:
    settings: dict[str, object] = {}
    for name in CoordinatorConfig.KAFKA_NAMES:
        try:
            value = state.config.value(name)
        except KeyError:  # a setting the broker's config table does not define
            continue
        if value is not None:
            settings[name] = value
    return CoordinatorConfig.from_settings(settings)


async def coordinator(state: BrokerState) -> GroupCoordinator:
    """The broker's group coordinator, loaded on first use (the journal is read off the loop)."""
    loading = state.extensions.get(EXTENSION_KEY)
    if not isinstance(loading, asyncio.Future):
        loading = asyncio.ensure_future(_load(state))
        state.extensions[EXTENSION_KEY] = loading
    coord: GroupCoordinator = await asyncio.shield(loading)
    return coord


async def _load(state: BrokerState) -> GroupCoordinator:
    journal: Journal = NullJournal()
    runtime: GroupRuntime | None = None
    if cluster_link(state) is not None:
        # a cluster broker keeps groups in __consumer_offsets, not in a journal of its own
        runtime = GroupRuntime(state)
        state.extensions[RUNTIME_KEY] = runtime
        journal = ReplicatedJournal(runtime)
    elif not state.in_memory and state.data_dir is not None:
        journal = await asyncio.to_thread(FileJournal, Path(state.data_dir))
    records = await asyncio.to_thread(journal.load)
    coord = GroupCoordinator(
        _StateClock(state),
        _LoopScheduler(asyncio.get_running_loop()),
        journal,
        _coordinator_config(state),
        records=records,
    )
    coord.topic_partitions = lambda topic: partition_count(state, topic)
    coord.topic_names = lambda: topic_names(state)
    coord.start()
    if runtime is not None:
        runtime.attach(coord)
        await runtime.wait_loaded()

    async def close() -> None:
        coord.stop()
        await asyncio.to_thread(coord.journal.close)

    state.on_shutdown(close)
    return coord


async def _written(coord: GroupCoordinator, mark: int) -> bool:
    """Wait until every group state write made so far is done; False if one since mark failed.

    Responses wait for this so nothing is acknowledged before it is written, in order."""
    with contextlib.suppress(Exception):
        await asyncio.wrap_future(coord.journal.barrier())
    return not coord.journal.failed_since(mark)


async def _write_error(coord: GroupCoordinator, mark: int) -> GroupError:
    """As _written, with Kafka's answer for a failed write: COORDINATOR_NOT_AVAILABLE when
    __consumer_offsets did not replicate it in time, else NOT_COORDINATOR."""
    if await _written(coord, mark):
        return GroupError.NONE
    error_since = getattr(coord.journal, "error_since", None)
    return error_since(mark) if callable(error_since) else GroupError.NOT_COORDINATOR


def refused(state: BrokerState, group_id: str) -> GroupError:
    """NONE if this broker coordinates group_id now (always, on a single node); else
    NOT_COORDINATOR or COORDINATOR_LOAD_IN_PROGRESS. Call after coordinator()."""
    runtime = state.extensions.get(RUNTIME_KEY)
    if not isinstance(runtime, GroupRuntime):
        return GroupError.NONE
    return runtime.group_error(group_id)


def partition_count(state: BrokerState, topic: str) -> int | None:
    """The partition count of a topic a group may subscribe to; None if there is none."""
    info = state.registry.topics.get(topic)
    return None if info is None or info.internal else info.partitions


def topic_names(state: BrokerState) -> list[str]:
    return [name for name, info in state.registry.topics.items() if not info.internal]


async def share_group_named(state: BrokerState, group_id: str) -> bool:
    """Whether a share group has this id: Kafka keeps one group per id whatever its type."""
    share = await share_coordinator(state)
    return group_id in share.groups.groups


def missing_partitions(
    state: BrokerState, keys: Collection[tuple[str, int]]
) -> list[tuple[str, int]]:
    """Those of ``keys`` the cluster does not have, found at once: a cluster broker asks its
    metadata image (its local copy of a new topic may still be being created), a single node
    its own logs."""
    link = cluster_link(state)
    if link is None:
        topics = state.registry.topics
        # registered, not opened: opening a log to learn it exists is disk work on the loop
        unregistered = set(state.logs.unregistered(keys))
        return [
            (topic, partition)
            for topic, partition in keys
            if (info := topics.get(topic)) is None
            or not 0 <= partition < info.partitions
            or (topic, partition) in unregistered
        ]
    image = link.image.topics
    return [
        (topic, partition)
        for topic, partition in keys
        if (found := image.get(topic)) is None or partition not in found.partitions
    ]


def _host(ctx: RequestContext) -> str:
    host = ctx.client_host
    if host.startswith("::ffff:"):
        host = host[len("::ffff:") :]
    return "/" + host  # as Java's InetAddress.toString() prints it


async def _wait(register: Callable[[Callable[[T], None]], None]) -> T:
    """Run a coordinator call that answers through a callback, now or later."""
    fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()

    def respond(result: T) -> None:
        if not fut.done():
            fut.set_result(result)

    register(respond)
    return await fut


# -- FindCoordinator -------------------------------------------------------------------------


async def handle_find_coordinator(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    host, port = advertised_address(ctx, state)
    await coordinator(state)  # load the groups now, so their members' session timers start

    def answer(key_type: int) -> dict[str, Any]:
        if key_type == KEY_TYPE_GROUP:
            return {
                "error_code": ErrorCode.none,
                "error_message": None,
                "node_id": state.node_id,
                "host": host,
                "port": port,
            }
        # key type 1: this broker is the transaction coordinator of every transactional id
        return {
            "error_code": ErrorCode.none,
            "error_message": None,
            "node_id": state.node_id,
            "host": host,
            "port": port,
        }

    key_type = getattr(request, "key_type", KEY_TYPE_GROUP)
    if key_type == KEY_TYPE_TRANSACTION:
        await txn_coordinator(state)  # creates and loads __transaction_state on first use
    link = cluster_link(state)
    if link is not None and key_type in (KEY_TYPE_GROUP, KEY_TYPE_TRANSACTION):
        keys = (
            list(request.coordinator_keys)
            if has_field(type(request), "coordinator_keys")
            else [request.key]
        )
        if key_type == KEY_TYPE_GROUP:
            runtime = state.extensions[RUNTIME_KEY]
            assert isinstance(runtime, GroupRuntime)
            if OFFSETS_TOPIC not in link.image.topics:
                await ensure_offsets_topic(state, link)
            answers = {
                key: _cluster_answer(link, OFFSETS_TOPIC, runtime.partition_of(key)) for key in keys
            }
        else:
            if TRANSACTION_STATE_TOPIC not in link.image.topics:
                await ensure_transaction_topic(state, link)
            partitions = state.config.get_int("transaction.state.log.num.partitions")
            answers = {
                key: _cluster_answer(link, TRANSACTION_STATE_TOPIC, txn_partition(key, partitions))
                for key in keys
            }
    else:
        answers = None
    if has_field(type(request), "coordinator_keys"):
        coordinators = tuple(
            build(
                mod.Coordinator,
                key=key,
                **(answer(key_type) if answers is None else answers[key]),
            )
            for key in request.coordinator_keys
        )
        return build(
            mod.FindCoordinatorResponse, throttle_time=NO_THROTTLE, coordinators=coordinators
        )
    fields = answer(key_type) if answers is None else answers[request.key]
    return build(mod.FindCoordinatorResponse, throttle_time=NO_THROTTLE, **fields)


def _cluster_answer(link: BrokerLink, internal: str, partition: int) -> dict[str, Any]:
    """The leader of the key's partition of __consumer_offsets (a group) or
    __transaction_state (a transactional id), from the metadata image."""
    topic = link.image.topics.get(internal)
    part = None if topic is None else topic.partitions.get(partition)
    broker = None if part is None else link.image.brokers.get(part.leader)
    if part is None or broker is None or part.leader < 0:
        return {
            "error_code": ErrorCode.coordinator_not_available,
            "error_message": f"The key's partition of {internal} has no leader yet.",
            "node_id": -1,
            "host": "",
            "port": -1,
        }
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "node_id": part.leader,
        "host": broker.host,
        "port": broker.port,
    }


# -- JoinGroup / SyncGroup / Heartbeat / LeaveGroup ------------------------------------------


async def handle_join_group(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    rebalance = getattr(request, "rebalance_timeout", None)
    join = JoinRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        protocol_type=request.protocol_type,
        protocols=tuple((p.name, bytes(p.metadata)) for p in request.protocols),
        session_timeout_ms=ms(request.session_timeout),
        rebalance_timeout_ms=ms(rebalance) if rebalance is not None else -1,
        group_instance_id=getattr(request, "group_instance_id", None),
        client_id=ctx.client_id or "",
        client_host=_host(ctx),
        require_known_member_id=ctx.api_version >= 4,
        supports_skip_assignment=ctx.api_version >= 9,
    )
    coord = await coordinator(state)
    mark = coord.journal.mark()
    if (not_here := refused(state, join.group_id)) is not GroupError.NONE:
        result = JoinResult(not_here, member_id=join.member_id)
    elif join.group_id and await share_group_named(state, join.group_id):
        # As Kafka: the id belongs to a share group, which no classic member may join.
        result = JoinResult(GroupError.INCONSISTENT_GROUP_PROTOCOL, member_id="")
    else:
        result = await _wait(lambda respond: coord.join(join, respond))
    failed = await _write_error(coord, mark)
    if failed is not GroupError.NONE and result.error is GroupError.NONE:
        result = JoinResult(failed, member_id=result.member_id)
    nullable = ctx.api_version >= 7
    members = tuple(
        build(
            mod.JoinGroupResponseMember,
            member_id=m.member_id,
            group_instance_id=m.group_instance_id,
            metadata=m.metadata,
        )
        for m in result.members
    )
    return build(
        mod.JoinGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=error(result.error),
        generation_id=result.generation,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name if nullable else (result.protocol_name or ""),
        leader=result.leader,
        skip_assignment=result.skip_assignment,
        member_id=result.member_id,
        members=members,
    )


async def handle_sync_group(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    sync = SyncRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        generation=request.generation_id,
        assignments=tuple((a.member_id, bytes(a.assignment)) for a in request.assignments),
        group_instance_id=getattr(request, "group_instance_id", None),
        protocol_type=getattr(request, "protocol_type", None),
        protocol_name=getattr(request, "protocol_name", None),
    )
    coord = await coordinator(state)
    mark = coord.journal.mark()
    if (not_here := refused(state, sync.group_id)) is not GroupError.NONE:
        return build(mod.SyncGroupResponse, throttle_time=NO_THROTTLE, error_code=error(not_here))
    result: SyncResult = await _wait(lambda respond: coord.sync(sync, respond))
    failed = await _write_error(coord, mark)
    if failed is not GroupError.NONE and result.error is GroupError.NONE:
        coord.store_failed(sync.group_id, sync.generation)
        result = SyncResult(failed)
    return build(
        mod.SyncGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=error(result.error),
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )


async def handle_heartbeat(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await coordinator(state)
    code = refused(state, request.group_id)
    if code is GroupError.NONE:
        code = coord.heartbeat(
            request.group_id,
            request.member_id,
            request.generation_id,
            getattr(request, "group_instance_id", None),
        )
    return build(mod.HeartbeatResponse, throttle_time=NO_THROTTLE, error_code=error(code))


async def handle_leave_group(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await coordinator(state)
    if (not_here := refused(state, request.group_id)) is not GroupError.NONE:
        if ctx.api_version < 3:
            return build(
                mod.LeaveGroupResponse, throttle_time=NO_THROTTLE, error_code=error(not_here)
            )
        return build(
            mod.LeaveGroupResponse,
            throttle_time=NO_THROTTLE,
            error_code=error(not_here),
            members=(),
        )
    if ctx.api_version < 3:
        result = coord.leave(request.group_id, [(request.member_id, None)])
        await _written(coord, 0)
        top = result.members[0][2] if result.members else result.error
        return build(mod.LeaveGroupResponse, throttle_time=NO_THROTTLE, error_code=error(top))
    result = coord.leave(
        request.group_id, [(m.member_id, m.group_instance_id) for m in request.members]
    )
    await _written(coord, 0)
    members = tuple(
        build(
            mod.MemberResponse,
            member_id=member_id,
            group_instance_id=instance_id,
            error_code=error(code),
        )
        for member_id, instance_id, code in result.members
    )
    return build(
        mod.LeaveGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=error(result.error),
        members=members,
    )


# -- OffsetCommit / OffsetFetch / OffsetDelete -----------------------------------------------


async def handle_offset_commit(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    entries: list[OffsetCommitEntry] = []
    unknown: set[tuple[str, int]] = set()
    # v10 names topics by id; an id this broker does not know is answered UNKNOWN_TOPIC_ID
    names = [topic_name(state, t) for t in request.topics]
    missing = set(
        missing_partitions(
            state,
            [
                (name, p.partition_index)
                for t, name in zip(request.topics, names, strict=True)
                if name is not None
                for p in t.partitions
            ],
        )
    )
    for t, name in zip(request.topics, names, strict=True):
        for p in t.partitions:
            if name is None or (name, p.partition_index) in missing:
                unknown.add((name or "", p.partition_index))
                continue
            entries.append(
                OffsetCommitEntry(
                    name,
                    p.partition_index,
                    p.committed_offset,
                    getattr(p, "committed_leader_epoch", -1),
                    p.committed_metadata,
                )
            )
    coord = await coordinator(state)
    mark = coord.journal.mark()
    not_here = refused(state, request.group_id)
    results = []
    if not_here is GroupError.NONE:
        results = coord.commit_offsets(
            request.group_id,
            request.member_id,
            request.generation_id_or_member_epoch,
            entries,
            group_instance_id=getattr(request, "group_instance_id", None),
            unknown_group_error=(
                GroupError.GROUP_ID_NOT_FOUND
                if ctx.api_version >= 9
                else GroupError.ILLEGAL_GENERATION
            ),
            member_epochs=ctx.api_version >= 9,
        )
    if (failed := await _write_error(coord, mark)) is not GroupError.NONE:
        results = [(e, failed) for e, _ in results]
    codes = {(e.topic, e.partition): code for e, code in results}
    codes.update({key: GroupError.UNKNOWN_TOPIC_OR_PARTITION for key in unknown})
    if not_here is not GroupError.NONE:
        codes = {
            (t.name, p.partition_index): not_here for t in request.topics for p in t.partitions
        }
    topics = tuple(
        build(
            mod.OffsetCommitResponseTopic,
            name=name,
            topic_id=getattr(t, "topic_id", None),
            partitions=tuple(
                build(
                    mod.OffsetCommitResponsePartition,
                    partition_index=p.partition_index,
                    error_code=ErrorCode.unknown_topic_id
                    if name is None
                    else error(codes[(name, p.partition_index)]),
                )
                for p in t.partitions
            ),
        )
        for t, name in zip(request.topics, names, strict=True)
    )
    return build(mod.OffsetCommitResponse, throttle_time=NO_THROTTLE, topics=topics)


def _fetch_topics(
    coord: GroupCoordinator,
    state: BrokerState,
    group_id: str,
    topics: Any,
    *,
    with_ids: bool,
    unstable: frozenset[tuple[str, int]] = frozenset(),
) -> list[FetchedTopic]:
    """``unstable``: partitions with transactional offsets pending (require_stable asked);
    ``with_ids``: the version names topics by id (v10), so each known topic's id is looked up."""
    wanted = None
    unknown_ids: list[Any] = []  # v10 topics named by an id this broker does not know
    if topics is not None:
        wanted = []
        for t in topics:
            name = topic_name(state, t)
            if name is None:
                unknown_ids.append(t)
            else:
                wanted += [(name, int(p)) for p in t.partition_indexes]
    else:
        coord.forget_missing_partitions(group_id, lambda keys: missing_partitions(state, keys))
    stored = coord.visible_offsets(group_id)
    by_topic: dict[str, list[FetchedPartition]] = {}
    # every partition asked for, in the order asked; or every one committed, sorted
    found = sorted(stored.items()) if wanted is None else [(key, stored.get(key)) for key in wanted]
    for (t, p), o in found:
        parts = by_topic.get(t)
        if parts is None:
            parts = by_topic[t] = []
        if unstable and (t, p) in unstable:
            # KIP-447: the client retries until the transaction is over
            epoch, metadata = (-1, "") if o is None else (o.leader_epoch, o.metadata)
            parts.append((p, -1, epoch, metadata, UNSTABLE_OFFSET_COMMIT))
        elif o is None:
            parts.append((p, -1, -1, "", 0))
        else:
            parts.append((p, o.offset, o.leader_epoch, o.metadata, 0))
    fetched: list[FetchedTopic] = [
        (None, t.topic_id, [(int(p), -1, -1, "", UNKNOWN_TOPIC_ID) for p in t.partition_indexes])
        for t in unknown_ids
    ]
    fetched += [
        (name, topic_id(state, name) if with_ids else ZERO_ID, parts)
        for name, parts in by_topic.items()
    ]
    return fetched


def _kio_topics(
    topics: Sequence[FetchedTopic], topic_cls: Any, partition_cls: Any
) -> tuple[Any, ...]:
    """The fetched topics as kio entities (for the authorizer, which edits the response)."""
    return tuple(
        build(
            topic_cls,
            name=name,
            topic_id=tid,
            partitions=tuple(
                build(
                    partition_cls,
                    partition_index=index,
                    committed_offset=offset,
                    committed_leader_epoch=epoch,
                    metadata=metadata,
                    error_code=error(code),
                )
                for index, offset, epoch, metadata, code in parts
            ),
        )
        for name, tid, parts in topics
    )


def _offset_fetch_response(ctx: RequestContext, request: Any, groups: list[FetchedGroup]) -> Any:
    """Encoded at once, or as kio entities when an authorizer will filter them."""
    if ctx.api_version >= 8:
        mod = response_module(request)
        return build(
            mod.OffsetFetchResponse,
            throttle_time=NO_THROTTLE,
            groups=tuple(
                build(
                    mod.OffsetFetchResponseGroup,
                    group_id=group_id,
                    topics=_kio_topics(
                        topics, mod.OffsetFetchResponseTopics, mod.OffsetFetchResponsePartitions
                    ),
                    error_code=error(code),
                )
                for group_id, topics, code in groups
            ),
        )
    mod = response_module(request)
    ((_group_id, topics, code),) = groups
    return build(
        mod.OffsetFetchResponse,
        throttle_time=NO_THROTTLE,
        topics=_kio_topics(topics, mod.OffsetFetchResponseTopic, mod.OffsetFetchResponsePartition),
        error_code=error(code),
    )


async def handle_offset_fetch(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    coord = await coordinator(state)

    txns = loaded_txn_coordinator(state)
    stable = bool(getattr(request, "require_stable", False))

    def unstable(group_id: str) -> frozenset[tuple[str, int]]:
        if not stable:
            return frozenset()
        # a single node's coordinator holds them; a cluster broker's group coordinator too
        found = frozenset() if txns is None else txns.pending_partitions(group_id)
        return found | pending_txn_offsets(state).partitions(group_id)

    def fetched(group_id: str, topics: Any) -> list[FetchedTopic]:
        return _fetch_topics(
            coord,
            state,
            group_id,
            topics,
            with_ids=ctx.api_version >= 10,
            unstable=unstable(group_id),
        )

    groups: list[FetchedGroup] = []
    if ctx.api_version >= 8:
        not_here = {
            g.group_id: refused(state, g.group_id)
            or coord.validate_offset_fetch(
                g.group_id, getattr(g, "member_id", None), getattr(g, "member_epoch", -1)
            )
            for g in request.groups
        }
        for g in request.groups:
            code = not_here[g.group_id]
            topics = [] if code else fetched(g.group_id, g.topics)
            groups.append((g.group_id, topics, int(code)))
    elif (not_coordinator := refused(state, request.group_id)) is not GroupError.NONE:
        groups.append((request.group_id, [], int(not_coordinator)))
    else:
        topics = fetched(request.group_id, request.topics)
        groups.append((request.group_id, topics, int(GroupError.NONE)))
    if authorizer(state) is None:
        return encode_offset_fetch_response(ctx.api_version, groups)
    return _offset_fetch_response(ctx, request, groups)


async def handle_offset_delete(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    wanted = [(t.name, p.partition_index) for t in request.topics for p in t.partitions]
    missing = set(missing_partitions(state, wanted))
    known = [key for key in wanted if key not in missing]
    coord = await coordinator(state)
    mark = coord.journal.mark()
    top: GroupError = refused(state, request.group_id)
    results: list[tuple[str, int, GroupError]] = []
    if top is GroupError.NONE:
        top, results = coord.delete_offsets(request.group_id, known)
    failed = await _write_error(coord, mark)
    if failed is not GroupError.NONE and top is GroupError.NONE:
        top, results = failed, []
    codes = {(topic, partition): code for topic, partition, code in results}
    by_topic: dict[str, list[Any]] = {}
    if top is GroupError.NONE:
        for topic, partition in wanted:
            code = codes.get((topic, partition), GroupError.UNKNOWN_TOPIC_OR_PARTITION)
            by_topic.setdefault(topic, []).append(
                build(
                    mod.OffsetDeleteResponsePartition,
                    partition_index=partition,
                    error_code=error(code),
                )
            )
    topics = tuple(
        build(mod.OffsetDeleteResponseTopic, name=name, partitions=tuple(parts))
        for name, parts in by_topic.items()
    )
    return build(
        mod.OffsetDeleteResponse, error_code=error(top), throttle_time=NO_THROTTLE, topics=topics
    )


# -- ListGroups / DescribeGroups / DeleteGroups ----------------------------------------------


async def handle_list_groups(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    listed = (await coordinator(state)).list_groups(
        getattr(request, "states_filter", ()), getattr(request, "types_filter", ())
    )
    listed += await share_groups_listed(
        state, getattr(request, "states_filter", ()), getattr(request, "types_filter", ())
    )
    groups = tuple(
        build(
            mod.ListedGroup,
            group_id=g.group_id,
            protocol_type=g.protocol_type,
            group_state=g.state,
            group_type=g.group_type,
        )
        for g in listed
    )
    return build(
        mod.ListGroupsResponse, throttle_time=NO_THROTTLE, error_code=ErrorCode.none, groups=groups
    )


async def handle_describe_groups(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await coordinator(state)
    ops = (
        GROUP_AUTHORIZED_OPS
        if getattr(request, "include_authorized_operations", False)
        else AUTHORIZED_OPS_OMITTED
    )
    described = []
    for group_id in request.groups:
        if (not_here := refused(state, group_id)) is not GroupError.NONE:
            d = DescribedGroup(group_id, not_here, "", "", "")
        else:
            d = coord.describe_group(group_id)
        code, message = error(d.error), None
        if ctx.api_version >= 6 and d.state == "Dead" and d.error == GroupError.NONE:
            # v6 tells the truth where older versions answer Dead with no error (KIP-1043)
            code = ErrorCode.group_id_not_found
            kind = "is not a classic group" if group_id in coord.consumer_groups else "not found"
            message = f"Group {group_id} {kind}."
        members = tuple(
            build(
                mod.DescribedGroupMember,
                member_id=m.member_id,
                group_instance_id=m.group_instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                member_metadata=m.metadata,
                member_assignment=m.assignment,
            )
            for m in d.members
        )
        described.append(
            build(
                mod.DescribedGroup,
                error_code=code,
                error_message=message,
                group_id=d.group_id,
                group_state=d.state,
                protocol_type=d.protocol_type,
                protocol_data=d.protocol,
                members=members,
                authorized_operations=ops,
            )
        )
    return build(mod.DescribeGroupsResponse, throttle_time=NO_THROTTLE, groups=tuple(described))


async def handle_delete_groups(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    coord = await coordinator(state)
    mark = coord.journal.mark()
    mine = [g for g in request.groups_names if refused(state, g) is GroupError.NONE]
    shared = await delete_share_groups(state, mine)  # share groups are deleted there
    deleted = coord.delete_groups([g for g in mine if g not in shared])
    deleted += [(g, refused(state, g)) for g in request.groups_names if g not in mine]
    if (failed := await _write_error(coord, mark)) is not GroupError.NONE:
        deleted = [(g, failed if code is GroupError.NONE else code) for g, code in deleted]
    deleted += list(shared.items())
    results = tuple(
        build(mod.DeletableGroupResult, group_id=group_id, error_code=error(code))
        for group_id, code in deleted
    )
    return build(mod.DeleteGroupsResponse, throttle_time=NO_THROTTLE, results=results)


APIS = (
    ApiSpec(10, 0, 6, handle_find_coordinator),
    ApiSpec(11, 0, 9, handle_join_group),
    ApiSpec(14, 0, 5, handle_sync_group),
    ApiSpec(12, 0, 4, handle_heartbeat),
    ApiSpec(13, 0, 5, handle_leave_group),
    ApiSpec(8, 2, 10, handle_offset_commit),
    ApiSpec(9, 1, 10, handle_offset_fetch),
    ApiSpec(16, 0, 5, handle_list_groups),
    ApiSpec(15, 0, 6, handle_describe_groups),
    ApiSpec(42, 0, 2, handle_delete_groups),
    ApiSpec(47, 0, 0, handle_offset_delete),
)
