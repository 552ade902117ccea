"""The data of one consumer-protocol group (KIP-848) and its members, with pure queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from .clock import Timer

# topic -> partitions
Partitions = dict[str, set[int]]

JOIN_EPOCH = 0
LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2


class MemberState(Enum):
    """Where a member is in reconciling its assignment toward the group's target."""

    STABLE = "stable"
    # Told to revoke partitions; it keeps its epoch until it reports them gone.
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    # At the target epoch but waiting for partitions other members still hold.
    UNRELEASED_PARTITIONS = "unreleased_partitions"


@dataclass(slots=True)
class ClassicMetadata:
    """What a member speaking the classic protocol (JoinGroup/SyncGroup) keeps in a consumer
    group: its session timeout and its protocols (name, subscription) in its order."""

    session_timeout_ms: int
    protocols: tuple[tuple[str, bytes], ...]

    def protocol_name(self) -> str:
        """The protocol its join response names: its most preferred (as Kafka)."""
        return self.protocols[0][0] if self.protocols else ""


@dataclass(slots=True)
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    subscribed_topics: tuple[str, ...] = ()
    subscribed_regex: str | None = None
    server_assignor: str | None = None
    rebalance_timeout_ms: int = 300_000
    epoch: int = 0
    previous_epoch: int = -1
    state: MemberState = MemberState.STABLE
    assigned: Partitions = field(default_factory=dict)
    pending_revocation: Partitions = field(default_factory=dict)
    # Set for a member that joined with JoinGroup (or came from an upgraded classic group).
    classic: ClassicMetadata | None = None
    session_timer: Timer | None = None
    revocation_timer: Timer | None = None
    # A classic member told to rejoin (or that joined) must rejoin (sync) within its
    # rebalance timeout, or it is fenced.
    join_timer: Timer | None = None
    sync_timer: Timer | None = None

    def cancel_timers(self) -> None:
        for timer in (self.session_timer, self.revocation_timer, self.join_timer, self.sync_timer):
            if timer is not None:
                timer.cancel()
        self.session_timer = self.revocation_timer = self.join_timer = self.sync_timer = None


@dataclass(slots=True)
class ConsumerGroup:
    group_id: str
    epoch: int = 0
    assignment_epoch: int = 0
    members: dict[str, ConsumerMember] = field(default_factory=dict)
    # instance id -> member id of static members
    static_members: dict[str, str] = field(default_factory=dict)
    # member id -> its partitions in the target assignment of assignment_epoch
    target: dict[str, Partitions] = field(default_factory=dict)
    # Partition counts of the subscribed topics the target was computed from.
    metadata: dict[str, int] = field(default_factory=dict)
    stored: dict[str, Any] | None = None

    def state(self) -> str:
        """Kafka's ConsumerGroupState names."""
        if not self.members:
            return "Empty"
        if self.epoch > self.assignment_epoch:
            return "Assigning"
        for m in self.members.values():
            if m.epoch != self.assignment_epoch or m.state is not MemberState.STABLE:
                return "Reconciling"
        return "Stable"

    def classic_members(self) -> list[ConsumerMember]:
        return [m for m in self.members.values() if m.classic is not None]

    def supports_classic_protocols(self, protocol_type: str, names: list[str]) -> bool:
        """Kafka's ConsumerGroup.supportsClassicProtocols: a classic member may join if it
        speaks the consumer protocol with a protocol every classic member supports."""
        if protocol_type != "consumer" or not names:
            return False
        classic = self.classic_members()
        return any(
            all(n in (p for p, _ in m.classic.protocols) for m in classic if m.classic)
            for n in names
        )

    def held_by_others(self, member_id: str) -> Partitions:
        """Partitions other members hold (assigned or still to revoke)."""
        held: Partitions = {}
        for m in self.members.values():
            if m.member_id != member_id:
                for part in (m.assigned, m.pending_revocation):
                    for t, ps in part.items():
                        held.setdefault(t, set()).update(ps)
        return held

    def preferred_assignor(self, allowed: tuple[str, ...]) -> str:
        """The assignor most members asked for, else the first configured one (Kafka)."""
        votes: dict[str, int] = {}
        for m in self.members.values():
            if m.server_assignor in allowed:
                votes[m.server_assignor] = votes.get(m.server_assignor, 0) + 1
        if not votes:
            return allowed[0]
        return max(sorted(votes), key=lambda name: votes[name])


def copy_partitions(p: Partitions) -> Partitions:
    return {t: set(ps) for t, ps in p.items() if ps}


def minus(a: Partitions, b: Partitions) -> Partitions:
    return {t: ps - b.get(t, set()) for t, ps in a.items() if ps - b.get(t, set())}


def intersect(a: Partitions, b: Partitions) -> Partitions:
    return {t: ps & b[t] for t, ps in a.items() if t in b and ps & b[t]}


def union(a: Partitions, b: Partitions) -> Partitions:
    out = copy_partitions(a)
    for t, ps in b.items():
        if ps:
            out.setdefault(t, set()).update(ps)
    return out


def overlaps(a: Partitions, b: Partitions) -> bool:
    return any(ps & b.get(t, set()) for t, ps in a.items())


def contains(a: Partitions, b: Partitions) -> bool:
    """Every partition of b is in a."""
    return all(ps <= a.get(t, set()) for t, ps in b.items())
