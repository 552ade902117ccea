"""The group coordinator facade: membership + offsets + listing, deleting and durable replay."""

from __future__ import annotations

from collections.abc import Iterable

from .base import CoordinatorConfig, log
from .clock import Clock, Scheduler, Timer
from .errors import GroupError
from .group import ClassicGroup
from .journal import Journal, NullJournal, Record
from .messages import DescribedGroup, DescribedMember, JoinResult, ListedGroup, SyncResult
from .migration import Migration
from .offsets import Offsets
from .records import group_tombstone
from .state import GroupEvent, GroupState

__all__ = ["CoordinatorConfig", "GroupCoordinator"]

S = GroupState


class GroupCoordinator(Migration, Offsets):
    """Owns every classic and consumer group of this broker. Single-threaded: call it from one
    event loop."""

    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        journal: Journal | None = None,
        config: CoordinatorConfig | None = None,
        *,
        records: Iterable[Record] | None = None,
    ) -> None:
        """records: the journal's records if already loaded (off the event loop); else it is
        loaded here."""
        super().__init__(clock, scheduler, journal or NullJournal(), config or CoordinatorConfig())
        self._retention_timer: Timer | None = None
        self._load(self.journal.load() if records is None else records)

    def start(self) -> None:
        """Start the periodic offsets.retention sweep."""
        self._schedule_retention()
        self.start_consumer_sessions()

    def stop(self) -> None:
        """Cancel every timer (the journal stays open)."""
        if self._retention_timer is not None:
            self._retention_timer.cancel()
            self._retention_timer = None
        self.stop_consumer_groups()
        for group in self.groups.values():
            for timer in [group.join_timer, group.sync_timer, *group.pending_members.values()]:
                if timer is not None:
                    timer.cancel()
            for member in group.members.values():
                if member.heartbeat_timer is not None:
                    member.heartbeat_timer.cancel()

    def close(self) -> None:
        self.stop()
        self.journal.close()

    def _schedule_retention(self) -> None:
        def sweep() -> None:
            self.expire_offsets()
            self._schedule_retention()

        self._retention_timer = self.scheduler.call_later(
            self.config.offsets_retention_check_interval_ms, sweep
        )

    def _load(self, records: Iterable[Record]) -> None:
        count, loaded = self.load(records)
        if count:
            log.info("restored %d groups from %d group state records", len(loaded), count)

    def load(self, records: Iterable[Record]) -> tuple[int, set[str]]:
        """Replay records (the journal at start, or a __consumer_offsets partition this broker
        now leads) through the live replay path; (records read, ids of the groups they name).
        Groups with members come back Stable (Kafka's loadGroup) and every member's session
        timer starts now, so members that do not come back expire as usual; a group with more
        members than group.max.size is rebalanced at once, as Kafka's onLoaded does."""
        count = 0
        touched: set[str] = set()
        now = self.clock.now_ms()
        for r in records:
            count += 1
            touched.add(str(r.get("g")))
            self._replay(r, now)
        for group_id in touched:
            group = self.groups.get(group_id)
            if group is not None and group.members:
                group.state = S.STABLE  # the initial state of a loaded group, not a transition
                for member in group.members.values():
                    self._schedule_heartbeat(group, member)
                size, limit = len(group.members), self.config.classic_max_size
                if size > limit:  # group.max.size was lowered since the group was written
                    log.info(
                        "Group %s was loaded with %d members, more than group.max.size %d: "
                        "rebalancing it; members past the limit are removed when they rejoin",
                        group_id,
                        size,
                        limit,
                    )
                    self._prepare_rebalance(group, GroupEvent.OVER_CAPACITY)
        return count, touched & (set(self.groups) | set(self.consumer_groups))

    def unload(self, group_ids: Iterable[str]) -> None:
        """Forget groups whose coordinator moved to another broker (their partition of
        __consumer_offsets is led elsewhere now): timers stop, and members waiting in a join
        or sync are told NOT_COORDINATOR, so they find the new coordinator (Kafka's unload)."""
        group_ids = set(group_ids)
        if self.uncommitted is not None:
            self.uncommitted.forget(group_ids)
        for group_id in group_ids:
            cgroup = self.consumer_groups.pop(group_id, None)
            if cgroup is not None:
                for m in cgroup.members.values():
                    m.cancel_timers()
            group = self.groups.pop(group_id, None)
            if group is None:
                continue
            for timer in [group.join_timer, group.sync_timer, *group.pending_members.values()]:
                if timer is not None:
                    timer.cancel()
            for member in group.members.values():
                if member.heartbeat_timer is not None:
                    member.heartbeat_timer.cancel()
                join, sync = member.join_waiter, member.sync_waiter
                member.join_waiter = member.sync_waiter = None
                if join is not None:
                    join(JoinResult(GroupError.NOT_COORDINATOR, member_id=member.member_id))
                if sync is not None:
                    sync(SyncResult(GroupError.NOT_COORDINATOR))

    # -- ListGroups / DescribeGroups / DeleteGroups -----------------------------------------

    def list_groups(
        self, states: Iterable[str] = (), types: Iterable[str] = ()
    ) -> list[ListedGroup]:
        """Every live group, including those that only store offsets; filters ignore case."""
        state_filter = {s.lower() for s in states}
        type_filter = {t.lower() for t in types}
        listed = []
        if not type_filter or "classic" in type_filter:
            listed = [
                ListedGroup(g.group_id, g.protocol_type or "", g.state.value)
                for g in self.groups.values()
                if g.state is not S.DEAD
                and g.group_id not in self.consumer_groups
                and (not state_filter or g.state.value.lower() in state_filter)
            ]
        if not type_filter or "consumer" in type_filter:
            listed += [
                ListedGroup(c.group_id, "consumer", c.state(), "consumer")
                for c in self.consumer_groups.values()
                if not state_filter or c.state().lower() in state_filter
            ]
        return listed

    def describe_group(self, group_id: str) -> DescribedGroup:
        group = self._live_group(group_id)
        if group is None or group_id in self.consumer_groups:
            # Kafka (DescribeGroups before v6) answers Dead for a group that is not classic.
            return DescribedGroup(group_id, GroupError.NONE, S.DEAD.value, "", "")
        stable = group.is_(S.STABLE)
        members = tuple(
            DescribedMember(
                m.member_id,
                m.group_instance_id,
                m.client_id,
                m.client_host,
                m.metadata_for(group.protocol_name) if stable else b"",
                m.assignment if stable else b"",
            )
            for m in group.members.values()
        )
        return DescribedGroup(
            group_id,
            GroupError.NONE,
            group.state.value,
            group.protocol_type or "",
            (group.protocol_name or "") if stable else "",
            members,
        )

    def delete_groups(self, group_ids: Iterable[str]) -> list[tuple[str, GroupError]]:
        results = []
        records: list[Record] = []
        for group_id in group_ids:
            group = self._live_group(group_id) if group_id else None
            cgroup = self.consumer_groups.get(group_id)
            if not group_id:
                error = GroupError.INVALID_GROUP_ID
            elif cgroup is not None:
                if cgroup.members:
                    error = GroupError.NON_EMPTY_GROUP
                else:
                    self.delete_consumer_group(group_id)
                    if group is not None:
                        self._delete(group)
                        records.append(group_tombstone(group_id))
                    error = GroupError.NONE
            elif group is None:
                error = GroupError.GROUP_ID_NOT_FOUND
            elif not group.is_(S.EMPTY):
                error = GroupError.NON_EMPTY_GROUP
            else:
                self._delete(group)
                records.append(group_tombstone(group_id))
                error = GroupError.NONE
            results.append((group_id, error))
        self._append(records)
        return results

    def _delete(self, group: ClassicGroup) -> None:
        self._transition(group, GroupEvent.DELETE)
        for timer in group.pending_members.values():
            timer.cancel()
        if group.join_timer is not None:
            group.join_timer.cancel()
        del self.groups[group.group_id]
