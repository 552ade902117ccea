"""Committed offsets: OffsetCommit, OffsetFetch, OffsetDelete and retention of empty groups."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping

from .base import CoordinatorBase, log
from .consumer_records import consumer_group_tombstone
from .errors import GroupError
from .group import CommittedOffset
from .journal import Record
from .messages import OffsetCommitEntry, OffsetFetchEntry
from .records import group_tombstone, offset_record, offset_tombstone
from .state import GroupEvent, GroupState

S = GroupState


class Offsets(CoordinatorBase):
    def commit_offsets(
        self,
        group_id: str,
        member_id: str,
        generation: int,
        entries: Iterable[OffsetCommitEntry],
        *,
        group_instance_id: str | None = None,
        unknown_group_error: GroupError = GroupError.ILLEGAL_GENERATION,
        member_epochs: bool = True,
    ) -> list[tuple[OffsetCommitEntry, GroupError]]:
        """Commit offsets, or return the one error that rejects the whole request per entry.

        unknown_group_error is what a commit with a generation >= 0 to a group that does not
        exist gets: ILLEGAL_GENERATION before OffsetCommit v9, GROUP_ID_NOT_FOUND from v9.
        member_epochs: the request may carry a consumer group's member epoch (v9+).
        """
        entries = list(entries)
        cgroup = self.consumer_groups.get(group_id)
        if cgroup is not None:
            error = self._validate_consumer_commit(group_id, member_id, generation, member_epochs)
        else:
            error = self._validate_commit(
                group_id, member_id, generation, group_instance_id, unknown_group_error
            )
        if error is not GroupError.NONE:
            return [(e, error) for e in entries]
        now = self.clock.now_ms()
        results: list[tuple[OffsetCommitEntry, GroupError]] = []
        records: list[Record] = []
        for e in entries:
            metadata_size = len(e.metadata.encode()) if e.metadata else 0
            if metadata_size > self.config.offset_metadata_max_bytes:
                results.append((e, GroupError.OFFSET_METADATA_TOO_LARGE))
                continue
            committed = CommittedOffset(e.offset, e.leader_epoch, e.metadata, now)
            records.append(offset_record(group_id, e.topic, e.partition, committed))
            results.append((e, GroupError.NONE))
        self._append(records)
        return results

    def commit_transactional_offsets(
        self, group_id: str, entries: Iterable[OffsetCommitEntry]
    ) -> None:
        """Offsets of a committed transaction (TxnOffsetCommit, then EndTxn commit): stored
        when the commit marker is written, whatever the group's membership is by then, as
        Kafka's completePendingTxnOffsetCommit (the commit was validated when it came in)."""
        if self._live_group(group_id) is None and group_id not in self.consumer_groups:
            group = self._new_group(group_id)
            self._transition(group, GroupEvent.OFFSET_COMMIT)
            self._persist_group(group)
        now = self.clock.now_ms()
        self._append(
            [
                offset_record(
                    group_id,
                    e.topic,
                    e.partition,
                    CommittedOffset(e.offset, e.leader_epoch, e.metadata, now),
                )
                for e in entries
            ]
        )

    def _validate_consumer_commit(
        self, group_id: str, member_id: str, member_epoch: int, member_epochs: bool
    ) -> GroupError:
        """Kafka's ConsumerGroup.validateOffsetCommit: a member commits with its current epoch;
        a commit without member (admin, assign()) only while the group has no members."""
        group = self.consumer_groups[group_id]
        if member_epoch < 0 and not member_id:
            return GroupError.UNKNOWN_MEMBER_ID if group.members else GroupError.NONE
        member = group.members.get(member_id)
        if member is None:
            return GroupError.UNKNOWN_MEMBER_ID
        if member.classic is not None:
            # A classic member commits with its generation (its member epoch), any version.
            if member_epoch != member.epoch:
                return GroupError.ILLEGAL_GENERATION
            return GroupError.NONE
        if not member_epochs:
            return GroupError.UNSUPPORTED_VERSION
        if member_epoch != member.epoch:
            return GroupError.STALE_MEMBER_EPOCH
        return GroupError.NONE

    def _validate_commit(
        self,
        group_id: str,
        member_id: str,
        generation: int,
        group_instance_id: str | None,
        unknown_group_error: GroupError,
    ) -> GroupError:
        if not group_id:
            return GroupError.INVALID_GROUP_ID
        group = self._live_group(group_id)
        if group is None:
            if generation >= 0:
                return unknown_group_error
            # A group that only stores offsets (admin tools, consumers using assign()).
            group = self._new_group(group_id)
            self._transition(group, GroupEvent.OFFSET_COMMIT)
            self._persist_group(group)
            return GroupError.NONE
        if generation < 0 and group.is_(S.EMPTY):
            self._transition(group, GroupEvent.OFFSET_COMMIT)
            return GroupError.NONE
        if generation >= 0 or member_id or group_instance_id is not None:
            error = self._validate_member(group, member_id, group_instance_id)
            if error is not GroupError.NONE:
                return error
            if generation != group.generation:
                return GroupError.ILLEGAL_GENERATION
        elif not group.is_(S.EMPTY):
            return GroupError.UNKNOWN_MEMBER_ID
        if group.is_(S.COMPLETING_REBALANCE):
            return GroupError.REBALANCE_IN_PROGRESS
        if member_id in group.members:
            self._member_activity(group, member_id)
        return GroupError.NONE

    def visible_offsets(self, group_id: str) -> Mapping[tuple[str, int], CommittedOffset]:
        """A group's committed offsets as readers see them (do not modify: it may be the
        group's own map, copied only when some of its writes are not committed yet)."""
        group = self._live_group(group_id)
        if group is None:
            return {}
        stored = group.offsets
        uncommitted = self.uncommitted
        hidden = [] if uncommitted is None else uncommitted.keys_of(group_id)
        if uncommitted is None or not hidden:
            return stored
        # what is not committed yet is not seen (Kafka reads at the committed offset)
        stored = dict(stored)
        for t, p in hidden:
            seen = uncommitted.visible((group_id, t, p), stored.get((t, p)))
            if seen is None:
                stored.pop((t, p), None)
            else:
                stored[(t, p)] = seen
        return stored

    def fetch_offsets(
        self, group_id: str, partitions: Iterable[tuple[str, int]] | None
    ) -> list[OffsetFetchEntry]:
        """Committed offsets; partitions=None means every partition the group has committed."""
        stored = self.visible_offsets(group_id)
        if partitions is None:
            return [
                OffsetFetchEntry(t, p, o.offset, o.leader_epoch, o.metadata)
                for (t, p), o in sorted(stored.items())
            ]
        result = []
        for t, p in partitions:
            o = stored.get((t, p))
            if o is None:
                result.append(OffsetFetchEntry(t, p, -1, -1, ""))
            else:
                result.append(OffsetFetchEntry(t, p, o.offset, o.leader_epoch, o.metadata))
        return result

    def delete_offsets(
        self, group_id: str, partitions: Iterable[tuple[str, int]]
    ) -> tuple[GroupError, list[tuple[str, int, GroupError]]]:
        """OffsetDelete: refused for topics the group is actively consuming."""
        group = self._live_group(group_id)
        if group is None:
            return GroupError.GROUP_ID_NOT_FOUND, []
        if not group.is_(S.EMPTY) and group.protocol_type != "consumer":
            return GroupError.NON_EMPTY_GROUP, []
        results = []
        records: list[Record] = []
        for topic, partition in partitions:
            if not group.is_(S.EMPTY) and group.is_subscribed_to(topic):
                results.append((topic, partition, GroupError.GROUP_SUBSCRIBED_TO_TOPIC))
                continue
            if (topic, partition) in group.offsets:
                records.append(offset_tombstone(group_id, topic, partition))
            results.append((topic, partition, GroupError.NONE))
        self._append(records)
        return GroupError.NONE, results

    def forget_partitions(self, group_id: str, exists: Callable[[str, int], bool]) -> None:
        """Drop a group's offsets of partitions that no longer exist (their topic was deleted),
        as Kafka does when a topic goes away."""
        self.forget_missing_partitions(
            group_id, lambda keys: [key for key in keys if not exists(*key)]
        )

    def forget_missing_partitions(
        self,
        group_id: str,
        missing: Callable[[Collection[tuple[str, int]]], Iterable[tuple[str, int]]],
    ) -> None:
        """forget_partitions, where ``missing`` returns those of the given partitions that do
        not exist, asked once for all of them (the check runs on every OffsetFetch)."""
        group = self._live_group(group_id)
        if group is None or not group.offsets:
            return
        gone = list(missing(group.offsets.keys()))
        self._append([offset_tombstone(group_id, *key) for key in gone])

    def expire_offsets(self) -> None:
        """Drop offsets of groups empty for offsets.retention.minutes, then drop such groups.

        Groups that had members expire as a whole once empty for the retention period; groups
        that only store offsets expire each offset retention after it was committed (Kafka).
        """
        now = self.clock.now_ms()
        retention_ms = self.config.offsets_retention_minutes * 60_000
        records: list[Record] = []
        for group in list(self.groups.values()):
            if not group.is_(S.EMPTY):
                continue
            cgroup = self.consumer_groups.get(group.group_id)
            if cgroup is not None and cgroup.members:
                continue  # the offsets of an active consumer group do not expire
            for key, committed in list(group.offsets.items()):
                since = group.state_since_ms if group.protocol_type else committed.commit_ms
                if now - since >= retention_ms:
                    del group.offsets[key]
                    records.append(offset_tombstone(group.group_id, *key))
            if not group.offsets and not group.pending_members:
                log.info("group %s: empty with no committed offsets, removed", group.group_id)
                self._transition(group, GroupEvent.OFFSETS_EXPIRED)
                del self.groups[group.group_id]
                records.append(group_tombstone(group.group_id))
        for cgroup in list(self.consumer_groups.values()):
            if not cgroup.members and cgroup.group_id not in self.groups:
                log.info(
                    "consumer group %s: empty with no committed offsets, removed", cgroup.group_id
                )
                del self.consumer_groups[cgroup.group_id]
                records.append(consumer_group_tombstone(cgroup.group_id))
        self._append(records)
