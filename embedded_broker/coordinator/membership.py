"""Classic group membership: JoinGroup, SyncGroup, Heartbeat, LeaveGroup and their timers."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from .base import CoordinatorBase, log
from .consumer_records import consumer_group_tombstone
from .errors import GroupError
from .group import ClassicGroup, Member, subscribed_topics
from .messages import JoinedMember, JoinRequest, JoinResult, LeaveResult, SyncRequest, SyncResult
from .state import GroupEvent, GroupState

S = GroupState
E = GroupEvent
JoinCallback = Callable[[JoinResult], None]
SyncCallback = Callable[[SyncResult], None]


class Membership(CoordinatorBase):
    # -- JoinGroup --------------------------------------------------------------------------

    def join(self, req: JoinRequest, respond: JoinCallback) -> None:
        """Handle a JoinGroup; respond is called now (errors) or when the join phase ends."""
        if not req.group_id:
            respond(JoinResult(GroupError.INVALID_GROUP_ID, member_id=req.member_id))
            return
        if req.group_id in self.consumer_groups:
            # A consumer-protocol group: an empty one becomes classic again (its offsets stay),
            # one with members refuses classic members.
            if self.consumer_groups[req.group_id].members:
                respond(JoinResult(GroupError.INCONSISTENT_GROUP_PROTOCOL, member_id=req.member_id))
                return
            del self.consumer_groups[req.group_id]
            self._append([consumer_group_tombstone(req.group_id)])
        if not (
            self.config.min_session_timeout_ms
            <= req.session_timeout_ms
            <= self.config.max_session_timeout_ms
        ):
            respond(JoinResult(GroupError.INVALID_SESSION_TIMEOUT, member_id=req.member_id))
            return
        group = self._live_group(req.group_id)
        created = False
        if group is None:
            if req.member_id:
                respond(JoinResult(GroupError.UNKNOWN_MEMBER_ID, member_id=req.member_id))
                return
            group, created = self._new_group(req.group_id), True
        if not group.supports_protocols(req.protocol_type, [n for n, _ in req.protocols]):
            if created:
                del self.groups[req.group_id]
            respond(JoinResult(GroupError.INCONSISTENT_GROUP_PROTOCOL, member_id=req.member_id))
            return
        if req.rebalance_timeout_ms < 0:
            req = _with_rebalance_timeout(req, req.session_timeout_ms)
        if not self._accepts_joining(group, req.member_id):
            self._refuse_over_capacity(group, req.member_id)
            respond(JoinResult(GroupError.GROUP_MAX_SIZE_REACHED, member_id=""))
            return
        if req.member_id:
            self._join_known_member(group, req, respond)
        else:
            self._join_unknown_member(group, req, respond)

    def _accepts_joining(self, group: ClassicGroup, member_id: str) -> bool:
        """Kafka's acceptJoiningMember (group.max.size). While the group rebalances, the
        members that already rejoined count, not the group's size: it may be over a lowered
        limit, and the last members to rejoin are the ones turned away."""
        limit = self.config.classic_max_size
        if group.is_(S.EMPTY, S.DEAD):
            return True
        member = group.members.get(member_id) if member_id else None
        if group.is_(S.PREPARING_REBALANCE):
            rejoined = member is not None and member.join_waiter is not None
            return rejoined or group.awaiting_join_count() < limit
        return member is not None or len(group.members) < limit

    def _refuse_over_capacity(self, group: ClassicGroup, member_id: str) -> None:
        """A known member turned away by group.max.size leaves the group, as in Kafka."""
        pending = group.pending_members.pop(member_id, None) if member_id else None
        if pending is not None:
            pending.cancel()
        member = group.members.get(member_id) if member_id else None
        if member is not None:
            log.info(
                "group %s: member %s removed, the group is at group.max.size (%d)",
                group.group_id,
                member_id,
                self.config.classic_max_size,
            )
            self._remove_member_and_rebalance(group, member, E.LEAVE)
        elif pending is not None:
            self._maybe_complete_join(group)

    def _join_unknown_member(
        self, group: ClassicGroup, req: JoinRequest, respond: JoinCallback
    ) -> None:
        prefix = req.group_instance_id if req.group_instance_id is not None else req.client_id
        member_id = f"{prefix}-{uuid.uuid4()}"
        if req.group_instance_id is not None:
            old_id = group.static_members.get(req.group_instance_id)
            if old_id is not None:
                self._replace_static_member(group, old_id, member_id, req, respond)
            else:
                self._add_member_and_rebalance(group, member_id, req, respond)
        elif req.require_known_member_id:
            group.pending_members[member_id] = self.scheduler.call_later(
                req.session_timeout_ms, lambda: self._expire_pending_member(group, member_id)
            )
            respond(JoinResult(GroupError.MEMBER_ID_REQUIRED, member_id=member_id))
        else:
            self._add_member_and_rebalance(group, member_id, req, respond)

    def _join_known_member(
        self, group: ClassicGroup, req: JoinRequest, respond: JoinCallback
    ) -> None:
        member_id = req.member_id
        error = self._validate_member(group, member_id, req.group_instance_id)
        if member_id in group.pending_members and req.group_instance_id is None:
            group.pending_members.pop(member_id).cancel()
            self._add_member_and_rebalance(group, member_id, req, respond)
            return
        if error is not GroupError.NONE:
            respond(JoinResult(error, member_id=member_id))
            return
        member = group.members[member_id]
        same_protocols = member.protocols == req.protocols
        if group.is_(S.PREPARING_REBALANCE):
            self._update_member(member, req, respond)
            self._transition(group, E.JOIN)
            self._maybe_complete_join(group)
        elif group.is_(S.COMPLETING_REBALANCE):
            if same_protocols:
                # The member missed its join response: send it again.
                respond(self._join_result(group, member, member_id == group.leader_id))
            else:
                self._update_member(member, req, respond)
                self._prepare_rebalance(group, E.JOIN)
        elif group.is_(S.STABLE):
            if member_id == group.leader_id or not same_protocols:
                self._update_member(member, req, respond)
                self._prepare_rebalance(group, E.JOIN)
            else:
                self._schedule_heartbeat(group, member)
                respond(self._join_result(group, member, False))
        else:
            respond(JoinResult(GroupError.UNKNOWN_MEMBER_ID, member_id=member_id))

    def _replace_static_member(
        self,
        group: ClassicGroup,
        old_id: str,
        new_id: str,
        req: JoinRequest,
        respond: JoinCallback,
    ) -> None:
        member = group.members.pop(old_id)
        # The old instance is fenced: its pending requests fail.
        if member.join_waiter is not None:
            waiter, member.join_waiter = member.join_waiter, None
            waiter(JoinResult(GroupError.FENCED_INSTANCE_ID, member_id=old_id))
        if member.sync_waiter is not None:
            sync_waiter, member.sync_waiter = member.sync_waiter, None
            sync_waiter(SyncResult(GroupError.FENCED_INSTANCE_ID))
        old_protocols = member.protocols
        member.member_id = new_id
        group.members[new_id] = member
        assert req.group_instance_id is not None
        group.static_members[req.group_instance_id] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        if old_id in group.pending_sync:
            group.pending_sync.discard(old_id)
            group.pending_sync.add(new_id)
        log.info(
            "group %s: static member %s replaced %s by %s",
            group.group_id,
            req.group_instance_id,
            old_id,
            new_id,
        )
        if group.is_(S.STABLE) and old_protocols == req.protocols:
            self._update_member(member, req, None)
            self._schedule_heartbeat(group, member)
            self._persist_group(group)  # the new member id must survive a restart
            is_leader = new_id == group.leader_id
            skip = is_leader and req.supports_skip_assignment
            respond(self._join_result(group, member, skip, skip_assignment=skip))
        elif group.is_(S.PREPARING_REBALANCE):
            self._update_member(member, req, respond)
            self._maybe_complete_join(group)
        else:
            self._update_member(member, req, respond)
            self._prepare_rebalance(group, E.JOIN)

    def _add_member_and_rebalance(
        self, group: ClassicGroup, member_id: str, req: JoinRequest, respond: JoinCallback
    ) -> None:
        member = Member(
            member_id=member_id,
            group_instance_id=req.group_instance_id,
            client_id=req.client_id,
            client_host=req.client_host,
            session_timeout_ms=req.session_timeout_ms,
            rebalance_timeout_ms=req.rebalance_timeout_ms,
            protocol_type=req.protocol_type,
            protocols=req.protocols,
            join_waiter=respond,
        )
        if not group.members:
            group.protocol_type = req.protocol_type
        group.members[member_id] = member
        if req.group_instance_id is not None:
            group.static_members[req.group_instance_id] = member_id
        if group.leader_id is None:
            group.leader_id = member_id
        self._schedule_heartbeat(group, member)
        if group.is_(S.PREPARING_REBALANCE):
            group.new_member_added = True
            self._transition(group, E.JOIN)
            self._maybe_complete_join(group)
        else:
            self._prepare_rebalance(group, E.JOIN)

    def _update_member(
        self, member: Member, req: JoinRequest, respond: JoinCallback | None
    ) -> None:
        member.protocols = req.protocols
        member.protocol_type = req.protocol_type
        member.session_timeout_ms = req.session_timeout_ms
        member.rebalance_timeout_ms = req.rebalance_timeout_ms
        member.client_id = req.client_id
        member.client_host = req.client_host
        if respond is not None:
            if member.join_waiter is not None:
                member.join_waiter(JoinResult(GroupError.REBALANCE_IN_PROGRESS, member.member_id))
            member.join_waiter = respond

    # -- rebalance phases -------------------------------------------------------------------

    def _prepare_rebalance(self, group: ClassicGroup, event: GroupEvent) -> None:
        if group.is_(S.PREPARING_REBALANCE):
            self._transition(group, event)
            self._maybe_complete_join(group)
            return
        self._cancel_sync_phase(group, GroupError.REBALANCE_IN_PROGRESS)
        was_empty = group.is_(S.EMPTY)
        self._transition(group, event)
        if group.join_timer is not None:
            group.join_timer.cancel()
        rebalance_timeout = group.max_rebalance_timeout_ms()
        if was_empty:
            delay = min(self.config.initial_rebalance_delay_ms, rebalance_timeout)
            group.initial_rebalance = True
            group.new_member_added = False
            remaining = max(rebalance_timeout - delay, 0)
            group.join_timer = self.scheduler.call_later(
                delay, lambda: self._on_initial_delay(group, delay, remaining)
            )
            return
        group.initial_rebalance = False
        if group.all_members_joined():
            self._complete_join(group, E.ALL_JOINED)
        else:
            group.join_timer = self.scheduler.call_later(
                rebalance_timeout, lambda: self._on_rebalance_timeout(group)
            )

    def _on_initial_delay(self, group: ClassicGroup, delay: int, remaining: int) -> None:
        if not self._current(group) or not group.is_(S.PREPARING_REBALANCE):
            return
        if group.new_member_added and remaining > 0:
            # Members are still arriving: wait one more delay, within the rebalance timeout.
            group.new_member_added = False
            new_delay = min(self.config.initial_rebalance_delay_ms, remaining)
            new_remaining = max(remaining - delay, 0)
            group.join_timer = self.scheduler.call_later(
                new_delay, lambda: self._on_initial_delay(group, new_delay, new_remaining)
            )
            return
        self._complete_join(group, E.INITIAL_DELAY_ELAPSED)

    def _on_rebalance_timeout(self, group: ClassicGroup) -> None:
        if self._current(group) and group.is_(S.PREPARING_REBALANCE):
            self._complete_join(group, E.REBALANCE_TIMEOUT)

    def _maybe_complete_join(self, group: ClassicGroup) -> None:
        if (
            group.is_(S.PREPARING_REBALANCE)
            and not group.initial_rebalance
            and group.all_members_joined()
        ):
            self._complete_join(group, E.ALL_JOINED)

    def _complete_join(self, group: ClassicGroup, event: GroupEvent) -> None:
        if group.join_timer is not None:
            group.join_timer.cancel()
            group.join_timer = None
        group.initial_rebalance = False
        if group.leader_id not in group.members or (
            group.members[group.leader_id].join_waiter is None
        ):
            joined = [m for m in group.members.values() if m.join_waiter is not None]
            group.leader_id = joined[0].member_id if joined else None
        for member in list(group.members.values()):
            if member.join_waiter is None:
                log.info(
                    "group %s: removing member %s that did not rejoin in time",
                    group.group_id,
                    member.member_id,
                )
                self._remove_member(group, member)
        group.generation += 1
        if not group.members:
            group.protocol_name = None
            group.subscribed_topics = None
            group.leader_id = None
            self._transition(group, E.JOIN_ENDED_EMPTY)
            self._persist_group(group)
            return
        group.protocol_name = group.select_protocol()
        group.subscribed_topics = subscribed_topics(group)
        # Like Kafka, the new generation is stored when the leader's assignment completes it.
        self._transition(group, event)
        group.pending_sync = set(group.members)
        generation = group.generation
        for member in list(group.members.values()):
            waiter, member.join_waiter = member.join_waiter, None
            self._schedule_heartbeat(group, member)
            if waiter is not None:
                waiter(self._join_result(group, member, member.member_id == group.leader_id))
        group.sync_timer = self.scheduler.call_later(
            group.max_rebalance_timeout_ms(), lambda: self._on_sync_timeout(group, generation)
        )

    def _join_result(
        self, group: ClassicGroup, member: Member, with_members: bool, skip_assignment: bool = False
    ) -> JoinResult:
        members: tuple[JoinedMember, ...] = ()
        if with_members:
            members = tuple(
                JoinedMember(m.member_id, m.group_instance_id, m.metadata_for(group.protocol_name))
                for m in group.members.values()
            )
        return JoinResult(
            GroupError.NONE,
            member_id=member.member_id,
            generation=group.generation,
            protocol_type=group.protocol_type,
            protocol_name=group.protocol_name,
            leader=group.leader_id or "",
            members=members,
            skip_assignment=skip_assignment,
        )

    def _on_sync_timeout(self, group: ClassicGroup, generation: int) -> None:
        if not self._current(group) or group.generation != generation or not group.pending_sync:
            return
        if not group.is_(S.COMPLETING_REBALANCE, S.STABLE):
            return
        for member_id in list(group.pending_sync):
            member = group.members.get(member_id)
            if member is not None:
                log.info(
                    "group %s: removing member %s that did not sync in time",
                    group.group_id,
                    member_id,
                )
                self._remove_member(group, member)
        self._prepare_rebalance(group, E.SYNC_TIMEOUT)

    def _cancel_sync_phase(self, group: ClassicGroup, error: GroupError) -> None:
        if group.sync_timer is not None:
            group.sync_timer.cancel()
            group.sync_timer = None
        group.pending_sync.clear()
        for member in group.members.values():
            if member.sync_waiter is not None:
                waiter, member.sync_waiter = member.sync_waiter, None
                waiter(SyncResult(error))

    # -- SyncGroup --------------------------------------------------------------------------

    def sync(self, req: SyncRequest, respond: SyncCallback) -> None:
        """Handle a SyncGroup; followers wait (respond later) until the leader's assignment."""
        group = self._live_group(req.group_id)
        if group is None:
            respond(SyncResult(GroupError.UNKNOWN_MEMBER_ID))
            return
        error = self._validate_member(group, req.member_id, req.group_instance_id)
        if error is GroupError.NONE and req.generation != group.generation:
            error = GroupError.ILLEGAL_GENERATION
        if error is GroupError.NONE and (
            (req.protocol_type is not None and req.protocol_type != group.protocol_type)
            or (req.protocol_name is not None and req.protocol_name != group.protocol_name)
        ):
            error = GroupError.INCONSISTENT_GROUP_PROTOCOL
        if error is GroupError.NONE and group.is_(S.PREPARING_REBALANCE):
            error = GroupError.REBALANCE_IN_PROGRESS
        if error is not GroupError.NONE:
            respond(SyncResult(error))
            return
        member = group.members[req.member_id]
        group.pending_sync.discard(member.member_id)
        self._schedule_heartbeat(group, member)
        if group.is_(S.STABLE):
            respond(self._sync_result(group, member))
            return
        # CompletingRebalance
        if member.sync_waiter is not None:
            member.sync_waiter(SyncResult(GroupError.REBALANCE_IN_PROGRESS))
        member.sync_waiter = respond
        if member.member_id != group.leader_id:
            return
        assignments = dict(req.assignments)
        for m in group.members.values():
            m.assignment = assignments.get(m.member_id, b"")
        self._transition(group, E.SYNC)
        # The completed rebalance is stored (Kafka's storeGroup) before any member hears of it.
        self._persist_group(group)
        for m in list(group.members.values()):
            if m.sync_waiter is not None:
                waiter, m.sync_waiter = m.sync_waiter, None
                waiter(self._sync_result(group, m))

    def store_failed(self, group_id: str, generation: int) -> None:
        """The rebalance that completed generation could not be written: as Kafka does, drop the
        assignments and rebalance again (members were answered with an error)."""
        group = self._live_group(group_id)
        if group is None or group.generation != generation or not group.is_(S.STABLE):
            return
        log.warning(
            "group %s: generation %d could not be stored; rebalancing", group_id, generation
        )
        for member in group.members.values():
            member.assignment = b""
        self._prepare_rebalance(group, E.STORE_FAILED)

    @staticmethod
    def _sync_result(group: ClassicGroup, member: Member) -> SyncResult:
        return SyncResult(
            GroupError.NONE, member.assignment, group.protocol_type, group.protocol_name
        )

    # -- Heartbeat --------------------------------------------------------------------------

    def heartbeat(
        self, group_id: str, member_id: str, generation: int, group_instance_id: str | None = None
    ) -> GroupError:
        group = self._live_group(group_id)
        if group is None or group.is_(S.EMPTY):
            return GroupError.UNKNOWN_MEMBER_ID
        error = self._validate_member(group, member_id, group_instance_id)
        if error is not GroupError.NONE:
            return error
        if generation != group.generation:
            return GroupError.ILLEGAL_GENERATION
        self._schedule_heartbeat(group, group.members[member_id])
        if group.is_(S.PREPARING_REBALANCE):
            return GroupError.REBALANCE_IN_PROGRESS
        return GroupError.NONE

    def _schedule_heartbeat(self, group: ClassicGroup, member: Member) -> None:
        if member.heartbeat_timer is not None:
            member.heartbeat_timer.cancel()
        member_id = member.member_id
        member.heartbeat_timer = self.scheduler.call_later(
            member.session_timeout_ms, lambda: self._on_session_expiry(group, member_id)
        )

    def _on_session_expiry(self, group: ClassicGroup, member_id: str) -> None:
        member = group.members.get(member_id) if self._current(group) else None
        if member is None:
            return
        if member.join_waiter is not None or member.sync_waiter is not None:
            # A member blocked in JoinGroup or SyncGroup cannot heartbeat; keep it alive.
            self._schedule_heartbeat(group, member)
            return
        log.info("group %s: member %s session expired", group.group_id, member_id)
        self._remove_member_and_rebalance(group, member, E.SESSION_EXPIRY)

    def _expire_pending_member(self, group: ClassicGroup, member_id: str) -> None:
        if self._current(group) and group.pending_members.pop(member_id, None) is not None:
            self._maybe_complete_join(group)

    # -- LeaveGroup -------------------------------------------------------------------------

    def leave(self, group_id: str, members: list[tuple[str, str | None]]) -> LeaveResult:
        """LeaveGroup for (member_id, group_instance_id) pairs (v3+ batches several)."""
        group = self._live_group(group_id)
        if group is None:
            return LeaveResult(
                GroupError.UNKNOWN_MEMBER_ID,
                tuple((m, i, GroupError.UNKNOWN_MEMBER_ID) for m, i in members),
            )
        results = []
        removed = False
        for member_id, instance_id in members:
            error = GroupError.NONE
            if instance_id is not None:
                static_id = group.static_members.get(instance_id)
                if static_id is None:
                    error = GroupError.UNKNOWN_MEMBER_ID
                elif member_id and member_id != static_id:
                    error = GroupError.FENCED_INSTANCE_ID
                else:
                    self._remove_member(group, group.members[static_id])
                    removed = True
            elif member_id in group.pending_members:
                group.pending_members.pop(member_id).cancel()
                removed = True
            elif member_id in group.members:
                self._remove_member(group, group.members[member_id])
                removed = True
            else:
                error = GroupError.UNKNOWN_MEMBER_ID
            results.append((member_id, instance_id, error))
        if removed:
            self._after_removal(group, E.LEAVE)
        return LeaveResult(GroupError.NONE, tuple(results))

    # -- member removal ---------------------------------------------------------------------

    def _remove_member(self, group: ClassicGroup, member: Member) -> None:
        if member.heartbeat_timer is not None:
            member.heartbeat_timer.cancel()
        group.members.pop(member.member_id, None)
        instance_id = member.group_instance_id
        if instance_id is not None and group.static_members.get(instance_id) == member.member_id:
            del group.static_members[instance_id]
        group.pending_sync.discard(member.member_id)
        if group.leader_id == member.member_id:
            group.leader_id = next(iter(group.members), None)
        if member.join_waiter is not None:
            waiter, member.join_waiter = member.join_waiter, None
            waiter(JoinResult(GroupError.UNKNOWN_MEMBER_ID, member_id=member.member_id))
        if member.sync_waiter is not None:
            sync_waiter, member.sync_waiter = member.sync_waiter, None
            sync_waiter(SyncResult(GroupError.UNKNOWN_MEMBER_ID))

    def _remove_member_and_rebalance(
        self, group: ClassicGroup, member: Member, event: GroupEvent
    ) -> None:
        self._remove_member(group, member)
        self._after_removal(group, event)

    def _after_removal(self, group: ClassicGroup, event: GroupEvent) -> None:
        if group.is_(S.STABLE, S.COMPLETING_REBALANCE):
            self._prepare_rebalance(group, event)
        elif group.is_(S.PREPARING_REBALANCE):
            self._transition(group, event)
            self._maybe_complete_join(group)

    def _member_activity(self, group: ClassicGroup, member_id: str) -> None:
        self._schedule_heartbeat(group, group.members[member_id])


def _with_rebalance_timeout(req: JoinRequest, timeout_ms: int) -> JoinRequest:
    from dataclasses import replace

    return replace(req, rebalance_timeout_ms=timeout_ms)
