"""The data of one classic group and its members, with the pure queries the coordinator asks."""

from __future__ import annotations

import struct
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .clock import Timer
from .messages import JoinResult, SyncResult
from .state import GroupState


@dataclass(slots=True)
class CommittedOffset:
    offset: int
    leader_epoch: int
    metadata: str | None
    commit_ms: int


@dataclass(slots=True)
class Member:
    member_id: str
    group_instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: tuple[tuple[str, bytes], ...]
    assignment: bytes = b""
    join_waiter: Callable[[JoinResult], None] | None = None
    sync_waiter: Callable[[SyncResult], None] | None = None
    heartbeat_timer: Timer | None = None

    def protocol_names(self) -> list[str]:
        return [name for name, _ in self.protocols]

    def metadata_for(self, protocol: str | None) -> bytes:
        for name, metadata in self.protocols:
            if name == protocol:
                return metadata
        return b""


@dataclass(slots=True)
class ClassicGroup:
    group_id: str
    state: GroupState
    state_since_ms: int
    generation: int = 0
    protocol_type: str | None = None
    protocol_name: str | None = None
    leader_id: str | None = None
    members: dict[str, Member] = field(default_factory=dict)
    static_members: dict[str, str] = field(default_factory=dict)
    # Member ids handed out with MEMBER_ID_REQUIRED, waiting for the member to rejoin with them.
    pending_members: dict[str, Timer] = field(default_factory=dict)
    # Members that got a join response for this generation but have not sent SyncGroup yet.
    pending_sync: set[str] = field(default_factory=set)
    join_timer: Timer | None = None
    sync_timer: Timer | None = None
    # Set when a member joins while the initial rebalance delay is running (extends the delay).
    new_member_added: bool = False
    # True while group.initial.rebalance.delay.ms runs: the join phase does not end early.
    initial_rebalance: bool = False
    initial_join_remaining_ms: int = 0
    subscribed_topics: frozenset[str] | None = None
    offsets: dict[tuple[str, int], CommittedOffset] = field(default_factory=dict)
    # The last group metadata record stored for this group: what compaction keeps, as Kafka's
    # log cleaner keeps the last record of a key (a rebalance in progress is not stored yet).
    stored: dict[str, Any] | None = None

    def is_(self, *states: GroupState) -> bool:
        return self.state in states

    def awaiting_join_count(self) -> int:
        return sum(1 for m in self.members.values() if m.join_waiter is not None)

    def all_members_joined(self) -> bool:
        return len(self.members) == self.awaiting_join_count() and not self.pending_members

    def max_rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def supports_protocols(self, protocol_type: str, names: list[str]) -> bool:
        if self.state is GroupState.EMPTY:
            return bool(protocol_type) and bool(names)
        if protocol_type != self.protocol_type:
            return False
        counts = Counter(n for m in self.members.values() for n in set(m.protocol_names()))
        return any(counts[n] == len(self.members) for n in names)

    def select_protocol(self) -> str:
        """Kafka's vote: each member votes for its most preferred protocol all members support."""
        members = list(self.members.values())
        candidates = set(members[0].protocol_names())
        for m in members[1:]:
            candidates &= set(m.protocol_names())
        if not candidates:
            # Joins are refused unless a common protocol exists, so this is only a safeguard.
            return members[0].protocol_names()[0]
        votes: Counter[str] = Counter()
        for m in members:
            votes[next(n for n in m.protocol_names() if n in candidates)] += 1
        best = max(votes.values())
        # Ties go to the protocol the first member prefers, so the choice is deterministic.
        return next(n for n in members[0].protocol_names() if votes.get(n) == best)

    def is_subscribed_to(self, topic: str) -> bool:
        if self.subscribed_topics is None:
            # Unknown subscriptions (a non-consumer protocol) count as subscribed while active.
            return bool(self.members)
        return topic in self.subscribed_topics


_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


def parse_subscription_topics(metadata: bytes) -> list[str] | None:
    """Topics of a ConsumerProtocolSubscription (any version); None if it does not parse."""
    try:
        pos = 2  # version
        (count,) = _I32.unpack_from(metadata, pos)
        pos += 4
        if count < 0 or count > len(metadata):
            return None
        topics = []
        for _ in range(count):
            (size,) = _I16.unpack_from(metadata, pos)
            pos += 2
            if size < 0 or pos + size > len(metadata):
                return None
            topics.append(metadata[pos : pos + size].decode())
            pos += size
        return topics
    except (struct.error, UnicodeDecodeError):
        return None


def subscribed_topics(group: ClassicGroup) -> frozenset[str] | None:
    if group.protocol_type != "consumer" or not group.members:
        return None
    topics: set[str] = set()
    for m in group.members.values():
        parsed = parse_subscription_topics(m.metadata_for(group.protocol_name))
        if parsed is None:
            return None
        topics.update(parsed)
    return frozenset(topics)
