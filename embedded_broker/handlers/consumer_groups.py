"""The consumer group protocol (KIP-848): ConsumerGroupHeartbeat and ConsumerGroupDescribe."""

from __future__ import annotations

import base64
import datetime
import uuid
from typing import Any

from embedded_broker.coordinator import GroupError
from embedded_broker.coordinator.consumer import HeartbeatRequest, HeartbeatResult
from embedded_broker.coordinator.consumer_group import ConsumerGroup, Partitions
from embedded_broker.state import BrokerState

from .base import ApiSpec, RequestContext
from .groups import (
    AUTHORIZED_OPS_OMITTED,
    GROUP_AUTHORIZED_OPS,
    _host,
    _write_error,
    coordinator,
    partition_count,
    refused,
    share_group_named,
    topic_names,
)
from .util import NO_THROTTLE, build, error, ms, response_module


def _owned(state: BrokerState, raw: Any) -> Partitions | None:
    if raw is None:
        return None
    owned: Partitions = {}
    for tp in raw:
        info = state.registry.by_id.get(tp.topic_id)
        if info is not None and tp.partitions:
            owned.setdefault(info.name, set()).update(int(p) for p in tp.partitions)
    return owned


def _new_member_id() -> str:
    # As Kafka's: a random UUID in URL-safe base64, 22 characters.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


async def handle_consumer_group_heartbeat(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    member_id = request.member_id
    if ctx.api_version == 0 and request.member_epoch == 0 and not member_id:
        member_id = _new_member_id()  # v0: the coordinator names new members
    rebalance = ms(request.rebalance_timeout)
    names = request.subscribed_topic_names
    req = HeartbeatRequest(
        group_id=request.group_id,
        member_id=member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=rebalance,
        subscribed_topic_names=None if names is None else tuple(names),
        subscribed_topic_regex=getattr(request, "subscribed_topic_regex", None),  # v1+
        server_assignor=request.server_assignor,
        owned=_owned(state, request.topic_partitions),
        client_id=ctx.client_id or "",
        client_host=_host(ctx),
    )
    coord = await coordinator(state)
    mark = coord.journal.mark()
    if (not_here := refused(state, req.group_id)) is not GroupError.NONE:
        result = HeartbeatResult(not_here, message="This broker is not the group's coordinator.")
    elif req.group_id and await share_group_named(state, req.group_id):
        result = HeartbeatResult(
            GroupError.GROUP_ID_NOT_FOUND, message=f"Group {req.group_id} is not a consumer group."
        )
    else:
        result = coord.consumer_heartbeat(
            req, lambda t: partition_count(state, t), lambda: topic_names(state)
        )
    failed = await _write_error(coord, mark)
    if failed is not GroupError.NONE and result.error is GroupError.NONE:
        result = HeartbeatResult(failed, message="Group state not written.")
    assignment = None
    if result.assignment is not None:
        assignment = build(
            mod.Assignment,
            topic_partitions=tuple(
                build(
                    mod.TopicPartitions,
                    topic_id=state.registry.topics[t].topic_id,
                    partitions=tuple(sorted(ps)),
                )
                for t, ps in sorted(result.assignment.items())
                if t in state.registry.topics
            ),
        )
    return build(
        mod.ConsumerGroupHeartbeatResponse,
        throttle_time=NO_THROTTLE,
        error_code=error(result.error),
        error_message=result.message,
        member_id=result.member_id or None,
        member_epoch=result.member_epoch,
        heartbeat_interval=datetime.timedelta(milliseconds=result.heartbeat_interval_ms),
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


def _described(mod: Any, state: BrokerState, group: ConsumerGroup, assignor: str, ops: int) -> Any:
    members = tuple(
        build(
            mod.Member,
            member_id=m.member_id,
            instance_id=m.instance_id,
            rack_id=m.rack_id,
            member_epoch=m.epoch,
            client_id=m.client_id,
            client_host=m.client_host,
            subscribed_topic_names=m.subscribed_topics,
            subscribed_topic_regex=m.subscribed_regex,
            assignment=_assignment(mod, state, m.assigned),
            target_assignment=_assignment(mod, state, group.target.get(m.member_id, {})),
            member_type=0 if m.classic is not None else 1,  # 0: speaks the classic protocol
        )
        for m in group.members.values()
    )
    return build(
        mod.DescribedGroup,
        error_code=error(GroupError.NONE),
        error_message=None,
        group_id=group.group_id,
        group_state=group.state(),
        group_epoch=group.epoch,
        assignment_epoch=group.assignment_epoch,
        assignor_name=assignor,
        members=members,
        authorized_operations=ops,
    )


async def handle_consumer_group_describe(
    ctx: RequestContext, request: Any, state: BrokerState
) -> Any:
    mod = response_module(request)
    coord = await coordinator(state)
    ops = GROUP_AUTHORIZED_OPS if request.include_authorized_operations else AUTHORIZED_OPS_OMITTED
    groups = []
    for group_id in request.group_ids:
        group = coord.consumer_groups.get(group_id)
        not_here = refused(state, group_id)
        if group is None or not_here is not GroupError.NONE:
            classic = coord.describe_group(group_id)
            message = (
                f"Group {group_id} is not a consumer group."
                if classic.state != "Dead"
                else f"Group {group_id} not found."
            )
            if not_here is not GroupError.NONE:
                message = "This broker is not the group's coordinator."
            groups.append(
                build(
                    mod.DescribedGroup,
                    error_code=error(not_here or GroupError.GROUP_ID_NOT_FOUND),
                    error_message=message,
                    group_id=group_id,
                    group_state="Dead",
                    group_epoch=-1,
                    assignment_epoch=-1,
                    assignor_name="",
                    members=(),
                    authorized_operations=AUTHORIZED_OPS_OMITTED,
                )
            )
            continue
        assignor = group.preferred_assignor(coord.consumer_assignors())
        groups.append(_described(mod, state, group, assignor, ops))
    return build(mod.ConsumerGroupDescribeResponse, throttle_time=NO_THROTTLE, groups=tuple(groups))


APIS = (
    ApiSpec(68, 0, 1, handle_consumer_group_heartbeat),
    ApiSpec(69, 0, 1, handle_consumer_group_describe),
)
