"""Share group membership: ShareGroupHeartbeat's epochs and the simple assignor (KIP-932).

Modelled on Kafka's GroupMetadataManager for share groups: a member joins with epoch 0 and a
member id it made, subscribes to topics by name and is given partitions at once (a share group
has no revocation: several members may read one partition). The group epoch moves on when
members, subscriptions or the subscribed topics' partitions change; each member's epoch follows
it. A member that misses heartbeats for the session timeout is removed. Sans-IO: times are
passed in.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JOIN_EPOCH = 0
LEAVE_EPOCH = -1

Partitions = dict[str, frozenset[int]]
# topic -> partition count, None when the topic does not exist
PartitionCount = Callable[[str], int | None]


class ShareError(enum.IntEnum):
    NONE = 0
    INVALID_REQUEST = 42
    UNKNOWN_MEMBER_ID = 25
    FENCED_MEMBER_EPOCH = 110
    GROUP_MAX_SIZE_REACHED = 81
    GROUP_ID_NOT_FOUND = 69
    INVALID_GROUP_ID = 24
    COORDINATOR_LOAD_IN_PROGRESS = 14
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    TOPIC_AUTHORIZATION_FAILED = 29
    GROUP_AUTHORIZATION_FAILED = 30


@dataclass(slots=True)
class ShareMember:
    member_id: str
    epoch: int
    subscribed: tuple[str, ...]
    client_id: str
    client_host: str
    rack_id: str | None
    deadline_ms: int
    assigned: Partitions = field(default_factory=dict)


@dataclass(slots=True)
class ShareGroup:
    group_id: str
    epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ShareMember] = field(default_factory=dict)
    # the subscribed topics' partition counts the assignment was made for
    topic_sizes: dict[str, int] = field(default_factory=dict)

    def state(self) -> str:
        return "Stable" if self.members else "Empty"

    def subscribed_topics(self) -> set[str]:
        return {t for m in self.members.values() for t in m.subscribed}


@dataclass(frozen=True, slots=True)
class Heartbeat:
    group_id: str
    member_id: str
    member_epoch: int
    rack_id: str | None
    subscribed_topic_names: tuple[str, ...] | None
    client_id: str
    client_host: str


@dataclass(frozen=True, slots=True)
class HeartbeatAnswer:
    error: ShareError
    message: str | None = None
    member_id: str = ""
    member_epoch: int = LEAVE_EPOCH
    assignment: Partitions | None = None


@dataclass(frozen=True, slots=True)
class ShareLimits:
    session_timeout_ms: int = 45000
    heartbeat_interval_ms: int = 5000
    max_size: int = 200


def assign(members: list[ShareMember], sizes: dict[str, int]) -> dict[str, Partitions]:
    """Kafka's simple share assignor, per topic: with no more members than partitions each
    partition goes to one member, round-robin; with more members, partitions are shared so
    every member subscribed to the topic gets one."""
    result: dict[str, dict[str, set[int]]] = {m.member_id: {} for m in members}
    for topic, count in sorted(sizes.items()):
        readers = sorted(m.member_id for m in members if topic in m.subscribed)
        if not readers or count <= 0:
            continue
        if len(readers) <= count:
            for p in range(count):
                result[readers[p % len(readers)]].setdefault(topic, set()).add(p)
        else:
            for i, member_id in enumerate(readers):
                result[member_id].setdefault(topic, set()).add(i % count)
    return {m: {t: frozenset(ps) for t, ps in parts.items()} for m, parts in result.items()}


class ShareGroups:
    """Every share group of this coordinator."""

    def __init__(self, on_member_gone: Callable[[str, str], None]) -> None:
        self.groups: dict[str, ShareGroup] = {}
        # a cluster's last snapshot record of each group written to __consumer_offsets
        self.stored: dict[str, dict[str, Any]] = {}
        # and the last one the partition's high watermark covers (None: a tombstone), with the
        # order it was written in: what reads (ShareGroupDescribe) show, as Kafka's do
        self.committed: dict[str, tuple[int, dict[str, Any] | None]] = {}
        self._on_member_gone = on_member_gone  # (group id, member id): release its records

    def expire(self, now_ms: int) -> int:
        """Remove members whose session ran out (Kafka's session timeout); how many."""
        count = 0
        for group in self.groups.values():
            gone = [m for m in group.members.values() if m.deadline_ms <= now_ms]
            for member in gone:
                self._remove(group, member.member_id)
            count += len(gone)
        return count

    def _remove(self, group: ShareGroup, member_id: str) -> None:
        if group.members.pop(member_id, None) is not None:
            group.epoch += 1
            self._on_member_gone(group.group_id, member_id)

    def heartbeat(
        self, req: Heartbeat, sizes: PartitionCount, limits: ShareLimits, now_ms: int
    ) -> HeartbeatAnswer:
        self.expire(now_ms)
        if not req.group_id:
            return HeartbeatAnswer(ShareError.INVALID_GROUP_ID, "GroupId can't be empty.")
        if not req.member_id:
            return HeartbeatAnswer(ShareError.INVALID_REQUEST, "MemberId can't be empty.")
        group = self.groups.get(req.group_id)
        if req.member_epoch == LEAVE_EPOCH:
            if group is not None:
                self._remove(group, req.member_id)
            return HeartbeatAnswer(ShareError.NONE, member_id=req.member_id)
        if req.member_epoch < LEAVE_EPOCH:
            return HeartbeatAnswer(
                ShareError.INVALID_REQUEST, f"MemberEpoch is invalid: {req.member_epoch}."
            )
        member = group.members.get(req.member_id) if group is not None else None
        if req.member_epoch == JOIN_EPOCH:
            if member is None and not req.subscribed_topic_names:
                return HeartbeatAnswer(
                    ShareError.INVALID_REQUEST, "SubscribedTopicNames must be set in first request."
                )
            if group is None:
                group = self.groups[req.group_id] = ShareGroup(req.group_id)
            if member is None and len(group.members) >= limits.max_size:
                return HeartbeatAnswer(
                    ShareError.GROUP_MAX_SIZE_REACHED,
                    f"The share group has reached its maximum capacity of {limits.max_size} "
                    "members.",
                )
        elif member is None or group is None:
            return HeartbeatAnswer(
                ShareError.UNKNOWN_MEMBER_ID,
                f"Member {req.member_id} is not a member of group {req.group_id}.",
            )
        elif req.member_epoch != member.epoch:
            return HeartbeatAnswer(
                ShareError.FENCED_MEMBER_EPOCH,
                f"The share group member has an epoch ({req.member_epoch}) that does not match "
                f"the group member epoch ({member.epoch}).",
            )
        changed = False
        if member is None:
            member = ShareMember(
                req.member_id,
                0,
                req.subscribed_topic_names or (),
                req.client_id,
                req.client_host,
                req.rack_id,
                0,
            )
            group.members[req.member_id] = member
            changed = True
        elif req.subscribed_topic_names is not None and tuple(
            sorted(req.subscribed_topic_names)
        ) != tuple(sorted(member.subscribed)):
            member.subscribed = tuple(req.subscribed_topic_names)
            changed = True
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        member.deadline_ms = now_ms + limits.session_timeout_ms
        topic_sizes = {t: n for t in group.subscribed_topics() if (n := sizes(t)) is not None}
        if topic_sizes != group.topic_sizes:
            changed = True
        if changed:
            group.epoch += 1
        if group.assignment_epoch != group.epoch:
            group.topic_sizes = topic_sizes
            targets = assign(list(group.members.values()), topic_sizes)
            for other in group.members.values():
                other.assigned = targets.get(other.member_id, {})
            group.assignment_epoch = group.epoch
        # no revocation in a share group: the member takes its new assignment at once
        send = req.member_epoch == JOIN_EPOCH or member.epoch != group.epoch
        member.epoch = group.epoch
        return HeartbeatAnswer(
            ShareError.NONE,
            member_id=member.member_id,
            member_epoch=member.epoch,
            assignment=dict(member.assigned) if send else None,
        )

    def remove_group(self, group_id: str) -> None:
        self.groups.pop(group_id, None)

    def unload(self, group_ids: set[str]) -> None:
        """Forget groups another broker coordinates now (their records are its to replay)."""
        for group_id in group_ids:
            self.groups.pop(group_id, None)
            self.stored.pop(group_id, None)
            self.committed.pop(group_id, None)
