"""Share group membership APIs (KIP-932): ShareGroupHeartbeat and ShareGroupDescribe."""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from embedded_broker.coordinator import GroupError
from embedded_broker.group_runtime.runtime import group_runtime
from embedded_broker.group_runtime.share_membership import save_membership
from embedded_broker.share.group_records import committed_view
from embedded_broker.share.groups import (
    Heartbeat,
    HeartbeatAnswer,
    Partitions,
    ShareError,
    ShareGroup,
)
from embedded_broker.share.runtime import ShareCoordinator, share_coordinator
from embedded_broker.state import BrokerState

from .authz import GROUP, allowed, refused_topics
from .base import ApiSpec, RequestContext
from .groups import AUTHORIZED_OPS_OMITTED, GROUP_AUTHORIZED_OPS, _host, coordinator, refused
from .util import NO_THROTTLE, build, error, response_module

ASSIGNOR = "simple"
DENIED_GROUP = "Not authorized to use this share group; ask for an ACL on the group."


def _partition_count(state: BrokerState, topic: str) -> int | None:
    info = state.registry.topics.get(topic)
    return None if info is None or info.internal else info.partitions


async def other_kind(state: BrokerState, group_id: str) -> str | None:
    """Kafka's message when ``group_id`` names a classic or consumer group, else None."""
    groups = await coordinator(state)
    if group_id in groups.consumer_groups or groups.describe_group(group_id).state != "Dead":
        return f"Group {group_id} is not a share group."
    return None


async def _initialize(share: ShareCoordinator, group_id: str, assigned: Partitions) -> None:
    """Create the share-partitions a group is first assigned, at the latest offset, and save
    them, so a restart does not move their start to a later latest offset. (In a cluster
    each partition's leader initializes it with its share coordinator on first fetch.)"""
    if share.clustered():
        return
    created = False
    for topic, partitions in assigned.items():
        info = share.state.registry.topics.get(topic)
        if info is None:
            continue
        for index in partitions:
            if share.partition(group_id, info.topic_id, index, create=False) is None:
                created |= share.partition(group_id, info.topic_id, index) is not None
    if created:
        await share.persist(group_id)


async def handle_share_group_heartbeat(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    await coordinator(state)  # loaded first: refused() asks it which groups are this broker's
    share = await share_coordinator(state)
    names = request.subscribed_topic_names
    group_id = request.group_id
    if (not_here := refused(state, group_id)) is not GroupError.NONE:
        answer = HeartbeatAnswer(ShareError(not_here.value), "This broker is not the coordinator.")
    elif not allowed(ctx, state, GROUP, group_id):
        answer = HeartbeatAnswer(ShareError.GROUP_AUTHORIZATION_FAILED, DENIED_GROUP)
    elif names and refused_topics(ctx, state, names):
        answer = HeartbeatAnswer(
            ShareError.TOPIC_AUTHORIZATION_FAILED,
            "Not authorized to describe the subscribed topics: "
            + ", ".join(sorted(refused_topics(ctx, state, names))),
        )
    elif (message := await other_kind(state, group_id)) is not None:
        answer = HeartbeatAnswer(ShareError.GROUP_ID_NOT_FOUND, message)
    else:
        answer = share.groups.heartbeat(
            Heartbeat(
                group_id=group_id,
                member_id=request.member_id,
                member_epoch=request.member_epoch,
                rack_id=request.rack_id,
                subscribed_topic_names=None if names is None else tuple(names),
                client_id=ctx.client_id or "",
                client_host=_host(ctx),
            ),
            lambda t: _partition_count(state, t),
            share.settings(group_id).limits,
            state.now_ms(),
        )
        # in a cluster the answer waits until the group's new state is replicated
        saved = await save_membership(state, share)
        if saved is not GroupError.NONE and answer.error is ShareError.NONE:
            answer = HeartbeatAnswer(
                ShareError(saved.value),
                "The group's new state could not be saved; try again.",
            )
    assignment = None
    if answer.assignment is not None:
        await _initialize(share, group_id, answer.assignment)
        assignment = build(
            mod.Assignment,
            topic_partitions=tuple(
                build(
                    mod.TopicPartitions,
                    topic_id=state.registry.topics[t].topic_id,
                    partitions=tuple(sorted(ps)),
                )
                for t, ps in sorted(answer.assignment.items())
                if t in state.registry.topics
            ),
        )
    interval = share.settings(group_id).limits.heartbeat_interval_ms
    return build(
        mod.ShareGroupHeartbeatResponse,
        throttle_time=NO_THROTTLE,
        error_code=error(answer.error.value),
        error_message=answer.message,
        member_id=answer.member_id or None,
        member_epoch=answer.member_epoch,
        heartbeat_interval=datetime.timedelta(milliseconds=interval),
        assignment=assignment,
    )


def _assignment(mod: Any, state: BrokerState, parts: Partitions) -> Any:
    return build(
        mod.Assignment,
        topic_partitions=tuple(
            build(
                mod.TopicPartitions,
                topic_id=state.registry.topics[t].topic_id,
                topic_name=t,
                partitions=tuple(sorted(ps)),
            )
            for t, ps in sorted(parts.items())
            if t in state.registry.topics
        ),
    )


def _missing(mod: Any, group_id: str, code: ErrorCode, message: str) -> Any:
    return build(
        mod.DescribedGroup,
        error_code=code,
        error_message=message,
        group_id=group_id,
        group_state="Dead",
        group_epoch=-1,
        assignment_epoch=-1,
        assignor_name="",
        members=(),
        authorized_operations=AUTHORIZED_OPS_OMITTED,
    )


def _readable(state: BrokerState, share: ShareCoordinator, group_id: str) -> ShareGroup | None:
    """The group as ShareGroupDescribe shows it: on a cluster broker, as of the last write the
    partition's high watermark covers (Kafka reads at the last committed offset), so a member
    whose join was answered with an error is not shown before its write is committed."""
    if group_runtime(state) is None:
        return share.groups.groups.get(group_id)
    return committed_view(share.groups, group_id, state.now_ms())


async def handle_share_group_describe(ctx: RequestContext, request: Any, state: BrokerState) -> Any:
    mod = response_module(request)
    await coordinator(state)  # loaded first: refused() asks it which groups are this broker's
    share = await share_coordinator(state)
    share.groups.expire(state.now_ms())
    # members whose session ran out are gone for a successor too (a failed write is left
    # to the next heartbeat: the successor then expires them again)
    await save_membership(state, share)
    ops = GROUP_AUTHORIZED_OPS if request.include_authorized_operations else AUTHORIZED_OPS_OMITTED
    described = []
    for group_id in request.group_ids:
        group = _readable(state, share, group_id)
        if (not_here := refused(state, group_id)) is not GroupError.NONE:
            described.append(
                _missing(
                    mod, group_id, error(not_here.value), "This broker is not the coordinator."
                )
            )
            continue
        if not allowed(ctx, state, GROUP, group_id):
            described.append(
                _missing(mod, group_id, ErrorCode.group_authorization_failed, DENIED_GROUP)
            )
            continue
        if group is None:
            message = await other_kind(state, group_id) or f"Group {group_id} not found."
            described.append(_missing(mod, group_id, ErrorCode.group_id_not_found, message))
            continue
        members = tuple(
            build(
                mod.Member,
                member_id=m.member_id,
                rack_id=m.rack_id,
                member_epoch=m.epoch,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topic_names=tuple(m.subscribed),
                assignment=_assignment(mod, state, m.assigned),
            )
            for m in group.members.values()
        )
        described.append(
            build(
                mod.DescribedGroup,
                error_code=ErrorCode.none,
                error_message=None,
                group_id=group_id,
                group_state=group.state(),
                group_epoch=group.epoch,
                assignment_epoch=group.assignment_epoch,
                assignor_name=ASSIGNOR,
                members=members,
                authorized_operations=ops,
            )
        )
    return build(mod.ShareGroupDescribeResponse, throttle_time=NO_THROTTLE, groups=tuple(described))


APIS = (
    ApiSpec(76, 1, 1, handle_share_group_heartbeat),
    ApiSpec(77, 1, 1, handle_share_group_describe),
)
