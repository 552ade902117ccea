"""ConsumerGroupHeartbeat (KIP-848): member epochs, target assignment and reconciliation.

Modelled on Kafka's GroupMetadataManager: a heartbeat updates the member (join, subscription),
bumps the group epoch when membership, subscriptions or the subscribed topics change, computes a
new target assignment with the group's server-side assignor when the group epoch is ahead of it,
then moves the member toward its target one step at a time: partitions it must give up are
revoked first (its epoch stays), and partitions it gains are given only once no other member
still holds them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .assignors import ASSIGNORS, MemberSpec
from .base import CoordinatorBase, log
from .consumer_group import (
    JOIN_EPOCH,
    LEAVE_EPOCH,
    STATIC_LEAVE_EPOCH,
    ConsumerGroup,
    ConsumerMember,
    MemberState,
    Partitions,
    contains,
    copy_partitions,
    intersect,
    minus,
    overlaps,
    union,
)
from .consumer_records import consumer_group_record, consumer_group_tombstone
from .errors import GroupError
from .state import GroupState

# (topic -> partition count) lookups the broker answers; None when the topic does not exist.
PartitionCount = Callable[[str], int | None]
TopicNames = Callable[[], Iterable[str]]


@dataclass(frozen=True, slots=True)
class HeartbeatRequest:
    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: tuple[str, ...] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    # None: unchanged since the last heartbeat; else what the member owns now.
    owned: Partitions | None = None
    client_id: str = ""
    client_host: str = ""


@dataclass(frozen=True, slots=True)
class HeartbeatResult:
    error: GroupError
    member_id: str = ""
    member_epoch: int = -1
    heartbeat_interval_ms: int = 0
    # Set when the member must learn its (possibly unchanged) assignment.
    assignment: Partitions | None = None
    message: str | None = None


def _regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:
        return None


class ConsumerGroups(CoordinatorBase):
    """The consumer-protocol groups of the coordinator (kept beside the classic ones)."""

    def consumer_assignors(self) -> tuple[str, ...]:
        names = tuple(
            n.strip() for n in self.config.consumer_assignors.split(",") if n.strip() in ASSIGNORS
        )
        return names or ("uniform",)

    def consumer_heartbeat(
        self, req: HeartbeatRequest, partitions: PartitionCount, topic_names: TopicNames
    ) -> HeartbeatResult:
        error = self._validate_heartbeat(req)
        if error is not None:
            return error
        if req.member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
            return self._consumer_leave(req)
        group = self.consumer_groups.get(req.group_id)
        if group is None:
            refusal = self._upgrade_classic(req.group_id, req.member_epoch == JOIN_EPOCH)
            if refusal is not None:
                return refusal
            group = self.consumer_groups.get(req.group_id)  # an upgraded classic group
        if group is None:
            if req.member_epoch != JOIN_EPOCH:
                return HeartbeatResult(GroupError.UNKNOWN_MEMBER_ID, message="Unknown member.")
            group = ConsumerGroup(req.group_id)
            self.consumer_groups[req.group_id] = group
        member, bump, failed = self._member_for(group, req)
        if failed is not None:
            if not group.members and group.stored is None:
                del self.consumer_groups[req.group_id]
            return failed
        assert member is not None
        before = copy_partitions(member.assigned)
        bump |= self._update_consumer_member(member, req)
        # One bump for whatever changed (membership, subscriptions, subscribed topics).
        if self._refresh_metadata(group, partitions, topic_names) or bump:
            group.epoch += 1
        if group.epoch > group.assignment_epoch:
            self._compute_target(group)
        self._reconcile(group, member, req.owned)
        self._schedule_session(group, member)
        self._persist_consumer_group(group)
        full = (
            req.rebalance_timeout_ms != -1
            and (req.subscribed_topic_names is not None or req.subscribed_topic_regex is not None)
            and req.owned is not None
        )
        # As Kafka: the assignment only when its partitions changed (a new epoch alone, as
        # when a revocation is acknowledged, is told by the epoch field).
        changed = member.assigned != before
        return HeartbeatResult(
            GroupError.NONE,
            member.member_id,
            member.epoch,
            self.config.consumer_heartbeat_interval_ms,
            copy_partitions(member.assigned)
            if req.member_epoch == JOIN_EPOCH or full or changed
            else None,
        )

    # -- validation and membership ---------------------------------------------------------

    def _validate_heartbeat(self, req: HeartbeatRequest) -> HeartbeatResult | None:
        def bad(message: str) -> HeartbeatResult:
            return HeartbeatResult(GroupError.INVALID_REQUEST, message=message)

        if not req.group_id:
            return HeartbeatResult(GroupError.INVALID_GROUP_ID, message="GroupId can't be empty.")
        if not req.member_id:
            return bad("MemberId can't be empty.")
        if req.instance_id == "":
            return bad("InstanceId can't be empty.")
        if req.member_epoch == JOIN_EPOCH:
            if req.rebalance_timeout_ms == -1:
                return bad("RebalanceTimeoutMs must be provided in first request.")
            if req.owned is None:
                return bad("TopicPartitions must be empty when (re-)joining.")
            if req.subscribed_topic_names is None and req.subscribed_topic_regex is None:
                return bad(
                    "SubscribedTopicNames or SubscribedTopicRegex must be set in first request."
                )
        elif req.member_epoch == STATIC_LEAVE_EPOCH and req.instance_id is None:
            return bad("InstanceId can't be null when leaving as a static member.")
        elif req.member_epoch < STATIC_LEAVE_EPOCH:
            return bad(f"MemberEpoch {req.member_epoch} is invalid.")
        if req.server_assignor is not None and req.server_assignor not in self.consumer_assignors():
            return HeartbeatResult(
                GroupError.UNSUPPORTED_ASSIGNOR,
                message=f"ServerAssignor {req.server_assignor} is not supported. "
                f"Supported assignors: {', '.join(self.consumer_assignors())}.",
            )
        if req.subscribed_topic_regex is not None and _regex(req.subscribed_topic_regex) is None:
            return HeartbeatResult(
                GroupError.INVALID_REGULAR_EXPRESSION,
                message=f"SubscribedTopicRegex `{req.subscribed_topic_regex}` is not a valid "
                "regular expression.",
            )
        return None

    def _upgrade_classic(self, group_id: str, joining: bool) -> HeartbeatResult | None:
        """An empty classic group may become a consumer group (its offsets stay); a classic
        group with members refuses the consumer protocol here (migration.py converts it)."""
        classic = self._live_group(group_id)
        if classic is None or classic.is_(GroupState.EMPTY):
            if classic is not None and classic.protocol_type:
                log.info("group %s: empty classic group upgraded to a consumer group", group_id)
            return None
        return HeartbeatResult(
            GroupError.GROUP_ID_NOT_FOUND, message=f"Group {group_id} is not a consumer group."
        )

    def _member_for(
        self, group: ConsumerGroup, req: HeartbeatRequest
    ) -> tuple[ConsumerMember | None, bool, HeartbeatResult | None]:
        """(member, whether membership changed, error)."""
        member = group.members.get(req.member_id)
        if req.member_epoch != JOIN_EPOCH:
            if member is None:
                return (
                    None,
                    False,
                    HeartbeatResult(
                        GroupError.UNKNOWN_MEMBER_ID,
                        message=f"Member {req.member_id} is not in group {group.group_id}.",
                    ),
                )
            if req.instance_id is not None and member.instance_id != req.instance_id:
                return None, False, HeartbeatResult(GroupError.FENCED_INSTANCE_ID)
            if req.member_epoch > member.epoch or (
                req.member_epoch < member.epoch
                and not (
                    req.member_epoch == member.previous_epoch
                    and req.owned is not None
                    and contains(member.assigned, req.owned)
                )
            ):
                return (
                    None,
                    False,
                    HeartbeatResult(
                        GroupError.FENCED_MEMBER_EPOCH,
                        message=f"The member epoch {req.member_epoch} is fenced; the member's "
                        f"epoch is {member.epoch}.",
                    ),
                )
            return member, False, None
        # Joining (epoch 0).
        if req.instance_id is not None:
            previous_id = group.static_members.get(req.instance_id)
            if previous_id is not None and previous_id != req.member_id:
                previous = group.members[previous_id]
                if previous.epoch != STATIC_LEAVE_EPOCH:
                    return (
                        None,
                        False,
                        HeartbeatResult(
                            GroupError.UNRELEASED_INSTANCE_ID,
                            message=f"Static member {previous_id} with instance id "
                            f"{req.instance_id} is not released yet.",
                        ),
                    )
                # The static member comes back under a new member id: it keeps its partitions.
                previous.cancel_timers()
                del group.members[previous_id]
                previous.member_id = req.member_id
                previous.epoch = previous.previous_epoch
                group.members[req.member_id] = previous
                group.static_members[req.instance_id] = req.member_id
                if previous_id in group.target:
                    group.target[req.member_id] = group.target.pop(previous_id)
                return previous, False, None
        if member is not None:
            # A known member rejoining (after a fence): it is told its current assignment
            # again, with no new group epoch (Kafka keeps the member as it is).
            return member, False, None
        if len(group.members) >= self.config.consumer_max_size:
            return (
                None,
                False,
                HeartbeatResult(
                    GroupError.GROUP_MAX_SIZE_REACHED,
                    message=f"The consumer group has reached its maximum capacity of "
                    f"{self.config.consumer_max_size} members.",
                ),
            )
        member = ConsumerMember(req.member_id)
        group.members[req.member_id] = member
        if req.instance_id is not None:
            group.static_members[req.instance_id] = req.member_id
        return member, True, None

    def _update_consumer_member(self, member: ConsumerMember, req: HeartbeatRequest) -> bool:
        """Apply the fields the member sent; True if its subscription changed."""
        changed = False
        if req.instance_id is not None:
            member.instance_id = req.instance_id
        if req.rack_id is not None:
            member.rack_id = req.rack_id
        if req.client_id:
            member.client_id = req.client_id
        if req.client_host:
            member.client_host = req.client_host
        if req.rebalance_timeout_ms != -1:
            member.rebalance_timeout_ms = req.rebalance_timeout_ms
        if req.subscribed_topic_names is not None:
            names = tuple(sorted(set(req.subscribed_topic_names)))
            changed |= names != member.subscribed_topics
            member.subscribed_topics = names
        if req.subscribed_topic_regex is not None:
            regex = req.subscribed_topic_regex or None
            changed |= regex != member.subscribed_regex
            member.subscribed_regex = regex
        if req.server_assignor is not None and req.server_assignor != member.server_assignor:
            member.server_assignor = req.server_assignor
            changed = True
        return changed

    # -- target assignment -----------------------------------------------------------------

    def _subscriptions(self, member: ConsumerMember, names: list[str] | None) -> set[str]:
        topics = set(member.subscribed_topics)
        if member.subscribed_regex is not None and names is not None:
            pattern = _regex(member.subscribed_regex)
            if pattern is not None:
                topics.update(n for n in names if pattern.fullmatch(n))
        return topics

    def _refresh_metadata(
        self, group: ConsumerGroup, partitions: PartitionCount, topic_names: TopicNames
    ) -> bool:
        """Record the partition counts of the subscribed topics; True if they changed."""
        names = (
            list(topic_names()) if any(m.subscribed_regex for m in group.members.values()) else None
        )
        subscribed: set[str] = set()
        for m in group.members.values():
            subscribed |= self._subscriptions(m, names)
        metadata = {t: n for t in sorted(subscribed) if (n := partitions(t))}
        if metadata == group.metadata:
            return False
        group.metadata = metadata
        return True

    def _compute_target(self, group: ConsumerGroup) -> None:
        names = list(group.metadata)
        specs = {
            m.member_id: MemberSpec(
                frozenset(self._subscriptions(m, names) & set(group.metadata)),
                {t: frozenset(ps) for t, ps in group.target.get(m.member_id, {}).items()},
            )
            for m in group.members.values()
        }
        assignor = ASSIGNORS[group.preferred_assignor(self.consumer_assignors())]
        group.target = {m: copy_partitions(a) for m, a in assignor(specs, group.metadata).items()}
        group.assignment_epoch = group.epoch
        log.debug(
            "group %s: target assignment of epoch %d: %s", group.group_id, group.epoch, group.target
        )

    # -- reconciliation --------------------------------------------------------------------

    def _reconcile(
        self, group: ConsumerGroup, member: ConsumerMember, owned: Partitions | None
    ) -> None:
        """Kafka's CurrentAssignmentBuilder: one step of the member toward its target."""
        if member.state is MemberState.UNREVOKED_PARTITIONS:
            if owned is None or overlaps(owned, member.pending_revocation):
                return  # still revoking
            member.pending_revocation = {}
            if member.revocation_timer is not None:
                member.revocation_timer.cancel()
                member.revocation_timer = None
        elif member.state is MemberState.STABLE and member.epoch == group.assignment_epoch:
            return
        target = group.target.get(member.member_id, {})
        retained = intersect(member.assigned, target)
        revoke = minus(member.assigned, target)
        # Partitions the member's request shows it no longer owns need no revocation round
        # (Kafka's ownsRevokedPartitions): they are free at once, and it moves on now.
        if revoke and (owned is None or overlaps(owned, revoke)):
            member.assigned = retained
            member.pending_revocation = revoke
            member.state = MemberState.UNREVOKED_PARTITIONS
            self._schedule_revocation(group, member)
            return
        gained = minus(target, member.assigned)
        free: Partitions = {}
        if gained:
            held = group.held_by_others(member.member_id)
            for topic, ps in gained.items():
                taken = held.get(topic, set())
                if ps - taken:
                    free[topic] = ps - taken
        member.assigned = union(retained, free)
        if member.epoch != group.assignment_epoch:
            member.previous_epoch = member.epoch
            member.epoch = group.assignment_epoch
        member.state = MemberState.STABLE if free == gained else MemberState.UNRELEASED_PARTITIONS

    # -- leaving and timers ----------------------------------------------------------------

    def _consumer_leave(self, req: HeartbeatRequest) -> HeartbeatResult:
        group = self.consumer_groups.get(req.group_id)
        member = group.members.get(req.member_id) if group is not None else None
        if group is None or member is None:
            return HeartbeatResult(
                GroupError.UNKNOWN_MEMBER_ID,
                message=f"Member {req.member_id} is not a member of group {req.group_id}.",
            )
        if req.member_epoch == STATIC_LEAVE_EPOCH:
            # The static member keeps its partitions for the session timeout, to come back.
            member.previous_epoch = member.epoch
            member.epoch = STATIC_LEAVE_EPOCH
            self._persist_consumer_group(group)
        else:
            self._remove_consumer_member(group, member, "left the group")
        return HeartbeatResult(GroupError.NONE, req.member_id, req.member_epoch, 0)

    def _remove_consumer_member(
        self, group: ConsumerGroup, member: ConsumerMember, why: str
    ) -> None:
        log.info("group %s: member %s %s", group.group_id, member.member_id, why)
        member.cancel_timers()
        del group.members[member.member_id]
        if member.instance_id is not None:
            group.static_members.pop(member.instance_id, None)
        group.target.pop(member.member_id, None)
        group.epoch += 1
        if not group.members:
            group.target = {}
            group.metadata = {}
            group.assignment_epoch = group.epoch
        self._persist_consumer_group(group)

    def _schedule_session(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        if member.session_timer is not None:
            member.session_timer.cancel()

        def expire() -> None:
            if self.consumer_groups.get(group.group_id) is group and (
                group.members.get(member.member_id) is member
            ):
                self._remove_consumer_member(group, member, "expired (no heartbeat in time)")

        timeout = self.config.consumer_session_timeout_ms
        if member.classic is not None:
            timeout = member.classic.session_timeout_ms  # what it asked for in JoinGroup
        member.session_timer = self.scheduler.call_later(timeout, expire)

    def _schedule_revocation(self, group: ConsumerGroup, member: ConsumerMember) -> None:
        if member.revocation_timer is not None:
            return

        def expire() -> None:
            member.revocation_timer = None
            if (
                group.members.get(member.member_id) is member
                and member.state is MemberState.UNREVOKED_PARTITIONS
            ):
                self._remove_consumer_member(group, member, "did not revoke its partitions in time")

        member.revocation_timer = self.scheduler.call_later(member.rebalance_timeout_ms, expire)

    def _persist_consumer_group(self, group: ConsumerGroup) -> None:
        record = consumer_group_record(group)
        if record != group.stored:
            self._append([record])

    # -- queries ---------------------------------------------------------------------------

    def consumer_group_member_epoch(self, group_id: str, member_id: str) -> int | None:
        group = self.consumer_groups.get(group_id)
        member = group.members.get(member_id) if group is not None else None
        return None if member is None else member.epoch

    def validate_offset_fetch(self, group_id: str, member_id: str | None, epoch: int) -> GroupError:
        """OffsetFetch v9+ from a consumer group member must carry its current epoch (Kafka's
        ConsumerGroup.validateOffsetFetch); requests without a member (admin) always pass."""
        group = self.consumer_groups.get(group_id)
        if group is None or (epoch < 0 and not member_id):
            return GroupError.NONE
        member = group.members.get(member_id or "")
        if member is None:
            return GroupError.UNKNOWN_MEMBER_ID
        if epoch != member.epoch:
            return (
                GroupError.ILLEGAL_GENERATION
                if member.classic is not None
                else GroupError.STALE_MEMBER_EPOCH
            )
        return GroupError.NONE

    def delete_consumer_group(self, group_id: str) -> None:
        group = self.consumer_groups.pop(group_id, None)
        if group is not None:
            for m in group.members.values():
                m.cancel_timers()
            self._append([consumer_group_tombstone(group_id)])

    def stop_consumer_groups(self) -> None:
        for group in self.consumer_groups.values():
            for m in group.members.values():
                m.cancel_timers()

    def start_consumer_sessions(self, group_ids: Iterable[str] | None = None) -> None:
        """After a load: every member's session starts now (members that don't come back
        expire as usual); group_ids: only those groups (a partition loaded later)."""
        wanted = None if group_ids is None else set(group_ids)
        for group in self.consumer_groups.values():
            if wanted is not None and group.group_id not in wanted:
                continue
            for m in group.members.values():
                self._schedule_session(group, m)
                if m.state is MemberState.UNREVOKED_PARTITIONS:
                    self._schedule_revocation(group, m)
