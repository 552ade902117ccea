"""Incident timeline: the changes between two cluster snapshots as timestamped events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum

from desktop.domain.cluster import ClusterSnapshot, PartitionInfo


class EventKind(StrEnum):
    BROKER_UNREACHABLE = "broker unreachable"  # the liveness probe, seconds after a death
    BROKER_REACHABLE = "broker reachable"
    BROKER_DOWN = "broker down"  # gone from the metadata: the controller fenced it
    BROKER_UP = "broker up"
    LEADER_MOVED = "leader moved"
    ISR_SHRANK = "ISR shrank"
    ISR_EXPANDED = "ISR expanded"
    PARTITION_OFFLINE = "partition offline"
    PARTITION_ONLINE = "partition online"
    UNDER_MIN_ISR = "under min ISR"
    MIN_ISR_MET = "min ISR met again"
    CONTROLLER_CHANGED = "controller changed"
    GROUP_STATE = "group state changed"
    REBALANCE_STARTED = "rebalance started"
    REBALANCE_COMPLETED = "rebalance completed"
    MEMBER_JOINED = "member joined"
    MEMBER_LEFT = "member left"
    LAG_ABOVE = "lag above threshold"
    LAG_BELOW = "lag below threshold"


# Kinds that mean something broke (the rest are recoveries or moves)
BAD_KINDS = frozenset(
    {
        EventKind.BROKER_UNREACHABLE,
        EventKind.BROKER_DOWN,
        EventKind.ISR_SHRANK,
        EventKind.PARTITION_OFFLINE,
        EventKind.UNDER_MIN_ISR,
        EventKind.REBALANCE_STARTED,
        EventKind.MEMBER_LEFT,
        EventKind.LAG_ABOVE,
    }
)


@dataclass(frozen=True)
class ClusterEvent:
    at: float  # wall-clock seconds
    kind: EventKind
    subject: str  # "broker 3" or "orders-2"
    detail: str
    broker: int | None = None
    topic: str | None = None
    partition: int | None = None

    @property
    def text(self) -> str:
        return f"{self.subject}: {self.detail}"

    def to_json(self) -> str:
        return json.dumps(
            {
                "at": round(self.at, 3),
                "kind": self.kind.value,
                "subject": self.subject,
                "detail": self.detail,
                "broker": self.broker,
                "topic": self.topic,
                "partition": self.partition,
            },
            sort_keys=True,
        )


def _ids(ids: tuple[int, ...]) -> str:
    return ",".join(str(i) for i in ids) or "none"


def _partitions(s: ClusterSnapshot) -> dict[tuple[str, int], tuple[PartitionInfo, int]]:
    return {(p.topic, p.partition): (p, t.min_isr) for t in s.topics for p in t.partitions}


def diff_snapshots(
    old: ClusterSnapshot, new: ClusterSnapshot, at: float | None = None
) -> list[ClusterEvent]:
    """Every change from `old` to `new`, stamped `at` (default: when `new` was fetched).

    Partitions that exist in only one of the two (created or deleted topics) are not events."""
    when = new.fetched_at if at is None else at
    events: list[ClusterEvent] = []
    old_b = {b.id: b for b in old.brokers}
    new_b = {b.id: b for b in new.brokers}
    for bid in sorted(old_b.keys() - new_b.keys()):
        events.append(
            ClusterEvent(
                when,
                EventKind.BROKER_DOWN,
                f"broker {bid}",
                f"broker {bid} down: left the cluster metadata ({old_b[bid].address})",
                broker=bid,
            )
        )
    for bid in sorted(new_b.keys() - old_b.keys()):
        events.append(
            ClusterEvent(
                when,
                EventKind.BROKER_UP,
                f"broker {bid}",
                f"broker {bid} up: in the cluster metadata ({new_b[bid].address})",
                broker=bid,
            )
        )
    before = _partitions(old)
    for key, (p, min_isr) in sorted(_partitions(new).items()):
        prev = before.get(key)
        if prev is None:
            continue
        events.extend(_partition_events(when, prev[0], p, min_isr))
    return events


def _partition_events(
    when: float, a: PartitionInfo, b: PartitionInfo, min_isr: int
) -> list[ClusterEvent]:
    name = f"{b.topic}-{b.partition}"
    out: list[ClusterEvent] = []

    def add(kind: EventKind, detail: str, broker: int | None = None) -> None:
        out.append(ClusterEvent(when, kind, name, detail, broker, b.topic, b.partition))

    if a.leader != b.leader:
        if not b.has_leader:
            add(EventKind.PARTITION_OFFLINE, f"no leader (was broker {a.leader})", a.leader)
        elif not a.has_leader:
            add(EventKind.PARTITION_ONLINE, f"led again, by broker {b.leader}", b.leader)
        else:
            add(
                EventKind.LEADER_MOVED,
                f"leader moved from broker {a.leader} to broker {b.leader}",
                b.leader,
            )
    lost = tuple(r for r in a.isr if r not in b.isr)
    gained = tuple(r for r in b.isr if r not in a.isr)
    if lost:
        add(
            EventKind.ISR_SHRANK,
            f"ISR shrank {_ids(a.isr)} → {_ids(b.isr)} (lost {_ids(lost)})",
            lost[0],
        )
    if gained:
        add(
            EventKind.ISR_EXPANDED,
            f"ISR expanded {_ids(a.isr)} → {_ids(b.isr)} (regained {_ids(gained)})",
            gained[0],
        )
    need = min(min_isr, len(b.replicas))
    was_below = len(a.isr) < min(min_isr, len(a.replicas))
    is_below = len(b.isr) < need
    if is_below and not was_below:
        add(
            EventKind.UNDER_MIN_ISR,
            f"{len(b.isr)} in-sync replica(s), min.insync.replicas is {min_isr}: "
            "acks=all produce fails",
        )
    elif was_below and not is_below:
        add(EventKind.MIN_ISR_MET, f"{len(b.isr)} in-sync replicas, min.insync.replicas met")
    return out


class Timeline:
    """The events of one session, oldest first, bounded."""

    def __init__(self, capacity: int = 20_000) -> None:
        self.capacity = capacity
        self.events: list[ClusterEvent] = []

    def extend(self, events: list[ClusterEvent]) -> None:
        self.events.extend(events)
        if len(self.events) > self.capacity:
            del self.events[: len(self.events) - self.capacity]

    def latest(self, n: int) -> list[ClusterEvent]:
        """The newest `n`, newest first."""
        return list(reversed(self.events[-n:]))
