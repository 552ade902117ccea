"""Cluster-wide replication health derived from a snapshot (pure functions, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

from desktop.domain.cluster import ClusterSnapshot, PartitionInfo, ReplicaState


@dataclass(frozen=True)
class BrokerLoad:
    broker_id: int
    leaders: int
    replicas: int
    preferred_leaders: int  # partitions where this broker is first replica AND leads
    preferred_total: int  # partitions where this broker is first replica

    @property
    def preferred_share(self) -> float | None:
        if self.preferred_total == 0:
            return None
        return self.preferred_leaders / self.preferred_total


@dataclass(frozen=True)
class HealthSummary:
    under_replicated: tuple[PartitionInfo, ...]
    under_min_isr: tuple[PartitionInfo, ...]
    leaderless: tuple[PartitionInfo, ...]
    loads: tuple[BrokerLoad, ...]

    @property
    def leader_skew(self) -> int:
        counts = [b.leaders for b in self.loads]
        return max(counts) - min(counts) if counts else 0

    @property
    def replica_skew(self) -> int:
        counts = [b.replicas for b in self.loads]
        return max(counts) - min(counts) if counts else 0

    @property
    def state(self) -> ReplicaState:
        if self.under_min_isr or self.leaderless:
            return ReplicaState.CRITICAL
        if self.under_replicated:
            return ReplicaState.UNDER_REPLICATED
        return ReplicaState.HEALTHY


def summarize(snapshot: ClusterSnapshot) -> HealthSummary:
    """The health of `snapshot`, computed once and kept with it (warm it off the GUI thread)."""
    cached = snapshot.__dict__.get("_health")
    if isinstance(cached, HealthSummary):
        return cached
    summary = _summarize(snapshot)
    object.__setattr__(snapshot, "_health", summary)
    return summary


def _summarize(snapshot: ClusterSnapshot) -> HealthSummary:
    under: list[PartitionInfo] = []
    below_min: list[PartitionInfo] = []
    leaderless: list[PartitionInfo] = []
    leaders: dict[int, int] = {b.id: 0 for b in snapshot.brokers}
    replicas: dict[int, int] = {b.id: 0 for b in snapshot.brokers}
    pref_lead: dict[int, int] = {b.id: 0 for b in snapshot.brokers}
    pref_total: dict[int, int] = {b.id: 0 for b in snapshot.brokers}
    for topic in snapshot.topics:
        for p in topic.partitions:
            if len(p.isr) < len(p.replicas):
                under.append(p)
            if len(p.isr) < min(topic.min_isr, len(p.replicas)):
                below_min.append(p)
            if not p.has_leader:
                leaderless.append(p)
            else:
                leaders[p.leader] = leaders.get(p.leader, 0) + 1
            for r in p.replicas:
                replicas[r] = replicas.get(r, 0) + 1
            if p.replicas:
                first = p.replicas[0]
                pref_total[first] = pref_total.get(first, 0) + 1
                if p.leader == first:
                    pref_lead[first] = pref_lead.get(first, 0) + 1
    loads = tuple(
        BrokerLoad(
            broker_id=b,
            leaders=leaders.get(b, 0),
            replicas=replicas.get(b, 0),
            preferred_leaders=pref_lead.get(b, 0),
            preferred_total=pref_total.get(b, 0),
        )
        for b in sorted(set(leaders) | set(replicas))
    )
    return HealthSummary(tuple(under), tuple(below_min), tuple(leaderless), loads)
