"""Preferred leader election: which partitions would move, and what an election did."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from desktop.domain.cluster import PartitionInfo


@dataclass(frozen=True)
class ElectionMove:
    """A partition whose leader is not its preferred replica (the first one listed)."""

    topic: str
    partition: int
    leader: int  # -1: none
    preferred: int
    eligible: bool  # the preferred replica is in sync, so an election can move leadership back
    note: str

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"


@dataclass(frozen=True)
class ElectionOutcome:
    """One partition's answer to the election: moved, or why not."""

    topic: str
    partition: int
    error: str | None  # None: leadership is on the preferred replica now

    @property
    def name(self) -> str:
        return f"{self.topic}-{self.partition}"


def preferred_moves(partitions: Iterable[PartitionInfo]) -> list[ElectionMove]:
    """Partitions not led by their preferred replica, sorted by name; `eligible` ones would move
    (Kafka elects the preferred replica only while it is in the ISR)."""
    out = []
    for p in partitions:
        if not p.replicas or p.leader == p.replicas[0]:
            continue
        preferred = p.replicas[0]
        eligible = preferred in p.isr
        leader = "no leader" if p.leader < 0 else f"broker {p.leader}"
        if eligible:
            note = f"moves from {leader} to broker {preferred}"
        else:
            note = f"stays with {leader}: preferred broker {preferred} is not in sync"
        out.append(ElectionMove(p.topic, p.partition, p.leader, preferred, eligible, note))
    return sorted(out, key=lambda m: (m.topic, m.partition))
