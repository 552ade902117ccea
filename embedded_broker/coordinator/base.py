"""Shared state of the coordinator: settings, the group table, transitions and persistence."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .clock import Clock, Scheduler
from .consumer_group import ConsumerGroup
from .consumer_records import KINDS as CONSUMER_KINDS
from .consumer_records import replay_consumer
from .errors import GroupError
from .group import ClassicGroup, CommittedOffset
from .journal import Journal, Record
from .records import group_record, offset_record, replay
from .state import GroupEvent, GroupState, next_state
from .uncommitted import UncommittedOffsets

log = logging.getLogger("embedded_broker.coordinator")


@dataclass(frozen=True, slots=True)
class CoordinatorConfig:
    """Group coordinator settings, by their Kafka broker config names."""

    min_session_timeout_ms: int = 6000
    max_session_timeout_ms: int = 1_800_000
    initial_rebalance_delay_ms: int = 3000
    offsets_retention_minutes: int = 10080
    offsets_retention_check_interval_ms: int = 600_000
    offset_metadata_max_bytes: int = 4096
    classic_max_size: int = 2**31 - 1
    consumer_session_timeout_ms: int = 45_000
    consumer_heartbeat_interval_ms: int = 5_000
    consumer_max_size: int = 2**31 - 1
    consumer_assignors: str = "uniform,range"
    # Online conversion of non-empty groups: bidirectional, upgrade, downgrade or disabled.
    consumer_migration_policy: str = "bidirectional"

    KAFKA_NAMES = {
        "group.min.session.timeout.ms": "min_session_timeout_ms",
        "group.max.session.timeout.ms": "max_session_timeout_ms",
        "group.initial.rebalance.delay.ms": "initial_rebalance_delay_ms",
        "offsets.retention.minutes": "offsets_retention_minutes",
        "offsets.retention.check.interval.ms": "offsets_retention_check_interval_ms",
        "offset.metadata.max.bytes": "offset_metadata_max_bytes",
        "group.max.size": "classic_max_size",
        "group.consumer.session.timeout.ms": "consumer_session_timeout_ms",
        "group.consumer.heartbeat.interval.ms": "consumer_heartbeat_interval_ms",
        "group.consumer.max.size": "consumer_max_size",
        "group.consumer.assignors": "consumer_assignors",
        "group.consumer.migration.policy": "consumer_migration_policy",
    }
    TEXT = frozenset({"consumer_assignors", "consumer_migration_policy"})

    def upgrade_enabled(self) -> bool:
        return self.consumer_migration_policy.lower() in ("bidirectional", "upgrade")

    def downgrade_enabled(self) -> bool:
        return self.consumer_migration_policy.lower() in ("bidirectional", "downgrade")

    @classmethod
    def from_settings(cls, settings: Mapping[str, object]) -> CoordinatorConfig:
        """Build from broker settings (Kafka names, values as str or int); others are ignored."""
        values: dict[str, Any] = {
            attr: str(settings[name]) if attr in cls.TEXT else int(str(settings[name]))
            for name, attr in cls.KAFKA_NAMES.items()
            if name in settings
        }
        return cls(**values)


class CoordinatorBase:
    def __init__(
        self,
        clock: Clock,
        scheduler: Scheduler,
        journal: Journal,
        config: CoordinatorConfig,
    ) -> None:
        self.clock = clock
        self.scheduler = scheduler
        self.journal = journal
        self.config = config
        self.groups: dict[str, ClassicGroup] = {}
        # Consumer-protocol (KIP-848) groups; a classic entry of the same id only holds offsets.
        self.consumer_groups: dict[str, ConsumerGroup] = {}
        # offsets kept from readers until committed, when the journal says when that is (a
        # replicated log); a local journal's writes count at once
        self.uncommitted: UncommittedOffsets | None = None
        watch = getattr(journal, "watch", None)
        if callable(watch):
            self.uncommitted = UncommittedOffsets()
            watch(self.uncommitted.committed)

    # -- state ------------------------------------------------------------------------------

    def _transition(self, group: ClassicGroup, event: GroupEvent) -> None:
        new = next_state(group.state, event)
        if new is not group.state:
            log.debug(
                "group %s: %s -> %s (%s)", group.group_id, group.state.value, new.value, event.value
            )
            group.state = new
            group.state_since_ms = self.clock.now_ms()

    def _new_group(self, group_id: str) -> ClassicGroup:
        group = ClassicGroup(group_id, GroupState.EMPTY, self.clock.now_ms())
        self.groups[group_id] = group
        return group

    def _live_group(self, group_id: str) -> ClassicGroup | None:
        group = self.groups.get(group_id)
        return None if group is None or group.state is GroupState.DEAD else group

    # -- persistence ------------------------------------------------------------------------

    def _append(self, records: list[Record]) -> None:
        """Apply records through replay (as a load would) and queue them for the journal."""
        if not records:
            return
        now = self.clock.now_ms()
        seq = self.journal.mark()
        for r in records:
            key = self._offset_key(r)
            before = self._stored_offset(key)
            self._replay(r, now)
            if key is not None and self.uncommitted is not None:
                self.uncommitted.written(seq, key, before, self._stored_offset(key))
        self.journal.append(records)
        self.journal.maybe_compact(self._snapshot)

    def _replay(self, r: Record, now_ms: int) -> None:
        """Apply one record to the classic or the consumer group table."""
        if r.get("t") in CONSUMER_KINDS:
            replay_consumer(self.consumer_groups, r)
        else:
            replay(self.groups, r, now_ms)

    @staticmethod
    def _offset_key(r: Record) -> tuple[str, str, int] | None:
        if r.get("t") not in ("offset", "odel"):
            return None
        return str(r.get("g")), str(r["tp"]), int(r["p"])

    def _stored_offset(self, key: tuple[str, str, int] | None) -> CommittedOffset | None:
        if key is None:
            return None
        group = self.groups.get(key[0])
        return None if group is None else group.offsets.get((key[1], key[2]))

    def _persist_group(self, group: ClassicGroup) -> None:
        self._append([group_record(group)])

    def _snapshot(self) -> Iterator[Record]:
        for cgroup in self.consumer_groups.values():
            if cgroup.stored is not None:
                yield cgroup.stored
        for group in self.groups.values():
            if group.state is GroupState.DEAD:
                continue
            if group.stored is not None:
                yield group.stored
            for (topic, partition), o in group.offsets.items():
                yield offset_record(group.group_id, topic, partition, o)

    # -- members --------------------------------------------------------------------------

    def _validate_member(
        self, group: ClassicGroup, member_id: str, group_instance_id: str | None
    ) -> GroupError:
        if group_instance_id is not None:
            static_id = group.static_members.get(group_instance_id)
            if static_id is None:
                return GroupError.UNKNOWN_MEMBER_ID
            if static_id != member_id:
                return GroupError.FENCED_INSTANCE_ID
        if member_id not in group.members:
            return GroupError.UNKNOWN_MEMBER_ID
        return GroupError.NONE

    def _current(self, group: ClassicGroup) -> bool:
        return self.groups.get(group.group_id) is group

    def _member_activity(self, group: ClassicGroup, member_id: str) -> None:
        """A member proved it is alive (overridden by membership to reset its session)."""
