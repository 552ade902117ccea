"""Classic and consumer groups side by side (KIP-848's online migration), as Kafka 4.3 does it.

- Upgrade: a consumer-protocol member joining a classic group with members (of the "consumer"
  protocol type) turns it into a consumer group, when group.consumer.migration.policy allows
  it. Each classic member keeps its partitions and gets the generation as its member epoch;
  the joining member then bumps the group epoch as any join does.
- Classic members of a consumer group keep speaking JoinGroup / SyncGroup / Heartbeat /
  LeaveGroup: a join reconciles the member toward its target assignment and answers with its
  member epoch as the generation; SyncGroup hands out its assigned partitions; a heartbeat
  says REBALANCE_IN_PROGRESS whenever the member has to rejoin to move on (a new group epoch,
  partitions to give up, or partitions it waits for now free).
- Downgrade: when the last consumer-protocol member leaves (or is fenced) and only classic
  members remain, the group becomes a classic group again (generation = group epoch, each
  member with its target assignment) and rebalances.

Modelled on Kafka's GroupMetadataManager (convertToConsumerGroup, convertToClassicGroup and
the classicGroup*ToConsumerGroup handlers).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable

from .base import CoordinatorConfig, log
from .clock import Clock, Scheduler, Timer
from .consumer import ConsumerGroups, HeartbeatResult, PartitionCount, TopicNames
from .consumer_group import (
    ClassicMetadata,
    ConsumerGroup,
    ConsumerMember,
    MemberState,
    copy_partitions,
    minus,
)
from .consumer_protocol import (
    CustomAssignmentError,
    MalformedProtocolError,
    encode_assignment,
    parse_assignment,
    parse_subscription,
    protocol_version,
)
from .consumer_records import consumer_group_record, consumer_group_tombstone
from .errors import GroupError
from .group import ClassicGroup, Member, subscribed_topics
from .journal import Journal
from .membership import Membership
from .messages import JoinRequest, JoinResult, LeaveResult, SyncRequest, SyncResult
from .records import group_record
from .state import GroupEvent, GroupState

PROTOCOL_TYPE = "consumer"


def _new_member_id() -> str:
    # As Kafka's Uuid.randomUuid().toString(): URL-safe base64 of 16 random bytes.
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


class Migration(Membership, ConsumerGroups):
    """Routes classic requests for consumer groups, and converts groups between the two."""

    def __init__(
        self, clock: Clock, scheduler: Scheduler, journal: Journal, config: CoordinatorConfig
    ) -> None:
        super().__init__(clock, scheduler, journal, config)
        # The broker's topics, for classic members joining a consumer group (a consumer
        # heartbeat brings its own lookups); set by the broker, none until then.
        self.topic_partitions: PartitionCount = lambda _topic: None
        self.topic_names: TopicNames = list

    # -- upgrade ----------------------------------------------------------------------------

    def _upgrade_classic(self, group_id: str, joining: bool) -> HeartbeatResult | None:
        classic = self._live_group(group_id)
        if classic is None or classic.is_(GroupState.EMPTY) or not joining:
            return super()._upgrade_classic(group_id, joining)

        def refuse(why: str) -> HeartbeatResult:
            message = f"Cannot upgrade classic group {group_id} to consumer group because {why}."
            log.info("%s", message)
            return HeartbeatResult(GroupError.GROUP_ID_NOT_FOUND, message=message)

        if not self.config.upgrade_enabled():
            return refuse("online upgrade is disabled")
        if classic.protocol_type != PROTOCOL_TYPE:
            return refuse("the group does not use the consumer embedded protocol")
        if len(classic.members) > self.config.consumer_max_size:
            return refuse("the group size exceeds the consumer group maximum size")
        try:
            group = self._consumer_group_of(classic)
        except MalformedProtocolError:
            return refuse("the embedded consumer protocol is malformed")
        except CustomAssignmentError:
            return refuse(
                "an unsupported custom assignor is in use. Please refer to the documentation "
                "or switch to a default assignor before re-attempting the upgrade"
            )
        self._retire_classic(classic)
        self.consumer_groups[group_id] = group
        holder = self._offsets_holder(group_id, classic)
        self._append([group_record(holder), consumer_group_record(group)])
        for member in group.members.values():
            self._schedule_session(group, member)
        log.info("group %s: converted the classic group to a consumer group", group_id)
        return None

    def _consumer_group_of(self, classic: ClassicGroup) -> ConsumerGroup:
        """Kafka's ConsumerGroup.fromClassicGroup: every member Stable at the generation, with
        its last assignment as both its partitions and its target."""
        gen = classic.generation
        group = ConsumerGroup(classic.group_id, epoch=gen, assignment_epoch=gen)
        for m in classic.members.values():
            protocol = classic.protocol_name or (m.protocols[0][0] if m.protocols else None)
            sub = parse_subscription(m.metadata_for(protocol))
            assigned = parse_assignment(m.assignment)
            member = ConsumerMember(
                m.member_id,
                instance_id=m.group_instance_id,
                rack_id=sub.rack_id,
                client_id=m.client_id,
                client_host=m.client_host,
                subscribed_topics=tuple(sorted(set(sub.topics))),
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                epoch=gen,
                previous_epoch=gen,
                assigned=assigned,
                classic=ClassicMetadata(m.session_timeout_ms, m.protocols),
            )
            group.members[m.member_id] = member
            group.target[m.member_id] = copy_partitions(assigned)
            if m.group_instance_id is not None:
                group.static_members[m.group_instance_id] = m.member_id
        return group

    def _retire_classic(self, classic: ClassicGroup) -> None:
        """The classic group's members move on: waiting joins and syncs are told to rejoin
        (REBALANCE_IN_PROGRESS) and its timers stop."""
        for timer in [classic.join_timer, classic.sync_timer, *classic.pending_members.values()]:
            if timer is not None:
                timer.cancel()
        for member in classic.members.values():
            if member.heartbeat_timer is not None:
                member.heartbeat_timer.cancel()
            join, sync = member.join_waiter, member.sync_waiter
            member.join_waiter = member.sync_waiter = None
            if join is not None:
                join(JoinResult(GroupError.REBALANCE_IN_PROGRESS, member_id=member.member_id))
            if sync is not None:
                sync(SyncResult(GroupError.REBALANCE_IN_PROGRESS))

    def _offsets_holder(self, group_id: str, old: ClassicGroup | None) -> ClassicGroup:
        """An empty classic entry that keeps the group's committed offsets (a consumer group
        keeps its offsets there)."""
        holder = ClassicGroup(group_id, GroupState.EMPTY, self.clock.now_ms())
        if old is not None:
            holder.offsets = old.offsets
            holder.generation = old.generation
        self.groups[group_id] = holder
        return holder

    # -- downgrade --------------------------------------------------------------------------

    def _remove_consumer_member(
        self, group: ConsumerGroup, member: ConsumerMember, why: str
    ) -> None:
        if self._may_downgrade(group, member):
            log.info("group %s: member %s %s", group.group_id, member.member_id, why)
            self._downgrade(group, member)
            return
        super()._remove_consumer_member(group, member, why)

    def _may_downgrade(self, group: ConsumerGroup, leaving: ConsumerMember) -> bool:
        """Kafka's validateOnlineDowngradeWithFencedMembers."""
        others = [m for m in group.members.values() if m is not leaving]
        if leaving.classic is not None or not others:
            return False
        if any(m.classic is None for m in others):
            return False
        if not self.config.downgrade_enabled():
            log.info(
                "Cannot downgrade consumer group %s to classic group because the online "
                "downgrade is disabled.",
                group.group_id,
            )
            return False
        return self._fits_classic(group, len(others))

    def _may_downgrade_all_classic(self, group: ConsumerGroup) -> bool:
        """Kafka's validateOnlineDowngradeWithReplacedMember, once the replacement is made."""
        if any(m.classic is None for m in group.members.values()):
            return False
        if not self.config.downgrade_enabled():
            log.info(
                "Cannot downgrade consumer group %s to classic group because the online "
                "downgrade is disabled.",
                group.group_id,
            )
            return False
        return self._fits_classic(group, len(group.members))

    def _fits_classic(self, group: ConsumerGroup, size: int) -> bool:
        """A classic group of ``size`` members would be within group.max.size."""
        if size <= self.config.classic_max_size:
            return True
        log.info(
            "Cannot downgrade consumer group %s to classic group because its group size is "
            "greater than classic group max size.",
            group.group_id,
        )
        return False

    def _downgrade(
        self, group: ConsumerGroup, leaving: ConsumerMember | None, rebalance: bool = True
    ) -> None:
        """Kafka's convertToClassicGroup: the remaining (classic) members form a Stable classic
        group at the group epoch with their target assignments, which then rebalances."""
        group_id = group.group_id
        old = self.groups.get(group_id)
        classic = self._offsets_holder(group_id, old)
        classic.state = GroupState.STABLE
        classic.generation = group.epoch
        classic.protocol_type = PROTOCOL_TYPE
        for m in group.members.values():
            m.cancel_timers()
        for m in group.members.values():
            if m is leaving or m.classic is None:
                continue
            classic.members[m.member_id] = Member(
                member_id=m.member_id,
                group_instance_id=m.instance_id,
                client_id=m.client_id,
                client_host=m.client_host,
                session_timeout_ms=m.classic.session_timeout_ms,
                rebalance_timeout_ms=m.rebalance_timeout_ms,
                protocol_type=PROTOCOL_TYPE,
                protocols=m.classic.protocols,
            )
            if m.instance_id is not None:
                classic.static_members[m.instance_id] = m.member_id
        classic.leader_id = next(iter(classic.members))
        classic.protocol_name = classic.select_protocol()
        classic.subscribed_topics = subscribed_topics(classic)
        for member in classic.members.values():
            version = protocol_version(member.metadata_for(classic.protocol_name))
            member.assignment = encode_assignment(group.target.get(member.member_id, {}), version)
        del self.consumer_groups[group_id]
        self._append([consumer_group_tombstone(group_id), group_record(classic)])
        for member in classic.members.values():
            self._schedule_heartbeat(classic, member)
        log.info("group %s: converted the consumer group to a classic group", group_id)
        if rebalance:
            self._prepare_rebalance(classic, GroupEvent.DOWNGRADE)

    # -- classic requests to a consumer group -----------------------------------------------

    def join(self, req: JoinRequest, respond: Callable[[JoinResult], None]) -> None:
        group = self.consumer_groups.get(req.group_id)
        session_ok = (
            self.config.min_session_timeout_ms
            <= req.session_timeout_ms
            <= self.config.max_session_timeout_ms
        )
        if group is None or not group.members or not req.group_id or not session_ok:
            super().join(req, respond)
            return
        respond(self._classic_join(group, req))

    def _classic_join(self, group: ConsumerGroup, req: JoinRequest) -> JoinResult:
        """Kafka's classicGroupJoinToConsumerGroup: answered at once (no join phase)."""
        unknown = not req.member_id
        member_id = _new_member_id() if unknown else req.member_id
        if member_id not in group.members and len(group.members) >= self.config.consumer_max_size:
            return JoinResult(GroupError.GROUP_MAX_SIZE_REACHED, member_id="")
        names = [name for name, _ in req.protocols]
        if not group.supports_classic_protocols(req.protocol_type, names):
            return JoinResult(GroupError.INCONSISTENT_GROUP_PROTOCOL, member_id=req.member_id)
        try:
            sub = parse_subscription(req.protocols[0][1])
        except MalformedProtocolError:
            return JoinResult(GroupError.INCONSISTENT_GROUP_PROTOCOL, member_id=req.member_id)
        if unknown and req.require_known_member_id and req.group_instance_id is None:
            return JoinResult(GroupError.MEMBER_ID_REQUIRED, member_id=member_id)
        # A static classic member replacing a consumer-protocol one (its instance id's member).
        previous_id = (
            None
            if req.group_instance_id is None
            else group.static_members.get(req.group_instance_id)
        )
        previous = None if previous_id is None else group.members.get(previous_id)
        replaced_consumer = previous is not None and previous.classic is None
        member, error = self._classic_member(group, member_id, req, unknown)
        if member is None:
            return JoinResult(error, member_id=req.member_id)
        replaced_consumer &= member.member_id != previous_id
        # A new member bumps the group epoch; a static member taking its place does not.
        bump = member.member_id not in group.members and previous is None
        group.members[member.member_id] = member
        if req.rebalance_timeout_ms >= 0:
            member.rebalance_timeout_ms = req.rebalance_timeout_ms
        member.classic = ClassicMetadata(req.session_timeout_ms, req.protocols)
        member.client_id = req.client_id
        member.client_host = req.client_host
        member.server_assignor = None
        member.subscribed_regex = None
        if sub.rack_id is not None:
            member.rack_id = sub.rack_id
        topics = tuple(sorted(set(sub.topics)))
        changed = topics != member.subscribed_topics
        bump |= changed
        member.subscribed_topics = topics
        if self._refresh_metadata(group, self.topic_partitions, self.topic_names) or bump:
            group.epoch += 1
        if group.epoch > group.assignment_epoch:
            self._compute_target(group)
        self._reconcile(group, member, sub.owned)
        if member.state is MemberState.UNREVOKED_PARTITIONS:
            # It told us what it owns: if the partitions to give up are gone, move on now.
            self._reconcile(group, member, sub.owned)
        result = JoinResult(
            GroupError.NONE,
            member_id=member.member_id,
            generation=member.epoch,
            protocol_type=PROTOCOL_TYPE,
            protocol_name=member.classic.protocol_name(),
        )
        if replaced_consumer and self._may_downgrade_all_classic(group):
            # Kafka: the last consumer-protocol member was a static one replaced by a classic
            # member; the group is classic again, rebalancing only if the subscription changed.
            self._downgrade(group, None, rebalance=changed)
            return result
        self._persist_consumer_group(group)
        self._cancel(member, "join_timer")
        self._schedule_session(group, member)
        self._schedule_fence(group, member, "sync_timer", "did not sync in time")
        return result

    def _classic_member(
        self, group: ConsumerGroup, member_id: str, req: JoinRequest, unknown: bool
    ) -> tuple[ConsumerMember | None, GroupError]:
        if req.group_instance_id is None:
            member = group.members.get(member_id)
            if member is not None and member.classic is None:
                return None, GroupError.UNKNOWN_MEMBER_ID
            return member or ConsumerMember(member_id), GroupError.NONE
        previous_id = group.static_members.get(req.group_instance_id)
        if previous_id is None:
            member = group.members.get(member_id) or ConsumerMember(member_id)
            member.instance_id = req.group_instance_id
            group.static_members[req.group_instance_id] = member_id
            return member, GroupError.NONE
        if previous_id == member_id:
            return group.members[previous_id], GroupError.NONE
        if not unknown:
            return None, GroupError.FENCED_INSTANCE_ID
        # The static member came back under a new member id: it keeps its partitions.
        previous = group.members.pop(previous_id)
        previous.cancel_timers()
        previous.member_id = member_id
        group.static_members[req.group_instance_id] = member_id
        if previous_id in group.target:
            group.target[member_id] = group.target.pop(previous_id)
        return previous, GroupError.NONE

    def _validate_classic(
        self, group: ConsumerGroup, member_id: str, instance_id: str | None
    ) -> tuple[ConsumerMember | None, GroupError]:
        """Kafka's validateConsumerGroupMember, then the member must speak the classic protocol."""
        if instance_id is None:
            member = group.members.get(member_id)
        else:
            static_id = group.static_members.get(instance_id)
            member = None if static_id is None else group.members.get(static_id)
            if member is not None and member.member_id != member_id:
                return None, GroupError.FENCED_INSTANCE_ID
        if member is None or member.classic is None:
            return None, GroupError.UNKNOWN_MEMBER_ID
        return member, GroupError.NONE

    def sync(self, req: SyncRequest, respond: Callable[[SyncResult], None]) -> None:
        group = self.consumer_groups.get(req.group_id)
        if group is None:
            super().sync(req, respond)
            return
        member, error = self._validate_classic(group, req.member_id, req.group_instance_id)
        if member is None or member.classic is None:
            respond(SyncResult(error))
            return
        if req.generation != member.epoch:
            respond(SyncResult(GroupError.ILLEGAL_GENERATION))
            return
        if (req.protocol_type is not None and req.protocol_type != PROTOCOL_TYPE) or (
            req.protocol_name is not None and req.protocol_name != member.classic.protocol_name()
        ):
            respond(SyncResult(GroupError.INCONSISTENT_GROUP_PROTOCOL))
            return
        if group.epoch > member.epoch and member.state is not MemberState.UNREVOKED_PARTITIONS:
            self._schedule_fence(group, member, "join_timer", "did not rejoin in time", True)
            respond(SyncResult(GroupError.REBALANCE_IN_PROGRESS))
            return
        self._cancel(member, "sync_timer")
        self._schedule_session(group, member)
        version = protocol_version(member.classic.protocols[0][1])
        respond(
            SyncResult(
                GroupError.NONE,
                encode_assignment(member.assigned, version),
                req.protocol_type,
                req.protocol_name,
            )
        )

    def heartbeat(
        self, group_id: str, member_id: str, generation: int, group_instance_id: str | None = None
    ) -> GroupError:
        group = self.consumer_groups.get(group_id)
        if group is None:
            return super().heartbeat(group_id, member_id, generation, group_instance_id)
        member, error = self._validate_classic(group, member_id, group_instance_id)
        if member is None:
            return error
        if generation != member.epoch:
            return GroupError.ILLEGAL_GENERATION
        self._schedule_session(group, member)
        if (
            member.epoch < group.epoch
            or member.state is MemberState.UNREVOKED_PARTITIONS
            or (
                member.state is MemberState.UNRELEASED_PARTITIONS
                and not self._waiting_on_unreleased(group, member)
            )
        ):
            self._schedule_fence(group, member, "join_timer", "did not rejoin in time", True)
            return GroupError.REBALANCE_IN_PROGRESS
        return GroupError.NONE

    @staticmethod
    def _waiting_on_unreleased(group: ConsumerGroup, member: ConsumerMember) -> bool:
        pending = minus(group.target.get(member.member_id, {}), member.assigned)
        held = group.held_by_others(member.member_id)
        return any(ps & held.get(t, set()) for t, ps in pending.items())

    def leave(self, group_id: str, members: list[tuple[str, str | None]]) -> LeaveResult:
        group = self.consumer_groups.get(group_id)
        if group is None:
            return super().leave(group_id, members)
        results = []
        for member_id, instance_id in members:
            # Kafka's classicGroupLeaveToConsumerGroup: only classic members leave this way
            # (a static one may be named by its instance id alone).
            error = GroupError.UNKNOWN_MEMBER_ID
            if instance_id is None:
                found = group.members.get(member_id)
            else:
                static_id = group.static_members.get(instance_id)
                found = None if static_id is None else group.members.get(static_id)
                if found is not None and member_id and member_id != found.member_id:
                    found, error = None, GroupError.FENCED_INSTANCE_ID
            if found is None or found.classic is None:
                results.append((member_id, instance_id, error))
                continue
            self._remove_consumer_member(group, found, "left the group (LeaveGroup)")
            results.append((found.member_id, instance_id, GroupError.NONE))
        return LeaveResult(GroupError.NONE, tuple(results))

    # -- timers -----------------------------------------------------------------------------

    @staticmethod
    def _cancel(member: ConsumerMember, which: str) -> None:
        timer: Timer | None = getattr(member, which)
        if timer is not None:
            timer.cancel()
            setattr(member, which, None)

    def _schedule_fence(
        self,
        group: ConsumerGroup,
        member: ConsumerMember,
        which: str,
        why: str,
        if_absent: bool = False,
    ) -> None:
        """Fence the classic member unless it rejoins (join_timer) or syncs (sync_timer) within
        its rebalance timeout."""
        if getattr(member, which) is not None:
            if if_absent:
                return
            self._cancel(member, which)

        def fence() -> None:
            setattr(member, which, None)
            if self.consumer_groups.get(group.group_id) is group and (
                group.members.get(member.member_id) is member
            ):
                self._remove_consumer_member(group, member, why)

        setattr(member, which, self.scheduler.call_later(member.rebalance_timeout_ms, fence))
