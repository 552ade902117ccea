"""Snapshots of a cluster's state: brokers, topics, partitions and derived health figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum


class ReplicaState(IntEnum):
    HEALTHY = 0
    UNDER_REPLICATED = 1  # ISR smaller than the replica set
    CRITICAL = 2  # ISR below min.insync.replicas, or no leader


@dataclass(frozen=True)
class BrokerInfo:
    id: int
    host: str
    port: int
    rack: str | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PartitionInfo:
    topic: str
    partition: int
    leader: int  # -1 when there is none
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    low: int | None = None
    high: int | None = None

    @property
    def offline_replicas(self) -> tuple[int, ...]:
        return tuple(r for r in self.replicas if r not in self.isr)

    @property
    def messages(self) -> int | None:
        if self.low is None or self.high is None:
            return None
        return max(0, self.high - self.low)

    @property
    def has_leader(self) -> bool:
        return self.leader >= 0

    def state(self, min_isr: int) -> ReplicaState:
        if not self.has_leader or len(self.isr) < min(min_isr, len(self.replicas)):
            return ReplicaState.CRITICAL
        if len(self.isr) < len(self.replicas):
            return ReplicaState.UNDER_REPLICATED
        return ReplicaState.HEALTHY


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: tuple[PartitionInfo, ...]
    internal: bool = False
    cleanup_policy: str = ""
    min_isr: int = 1
    size_bytes: int | None = None

    @property
    def partition_count(self) -> int:
        return len(self.partitions)

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)

    @property
    def messages(self) -> int | None:
        counts = [p.messages for p in self.partitions]
        if any(c is None for c in counts):
            return None
        return sum(c for c in counts if c is not None)

    @property
    def under_replicated(self) -> int:
        return sum(1 for p in self.partitions if len(p.isr) < len(p.replicas))

    @property
    def under_min_isr(self) -> int:
        return sum(1 for p in self.partitions if len(p.isr) < min(self.min_isr, len(p.replicas)))

    @property
    def offline(self) -> int:
        return sum(1 for p in self.partitions if not p.has_leader)

    def state(self) -> ReplicaState:
        return max(
            (p.state(self.min_isr) for p in self.partitions),
            default=ReplicaState.HEALTHY,
        )


@dataclass(frozen=True)
class ClusterSnapshot:
    cluster_id: str
    controller_id: int
    brokers: tuple[BrokerInfo, ...]
    topics: tuple[TopicInfo, ...]
    group_count: int | None
    fetched_at: float
    version: str = ""
    broker_sizes: dict[int, int] = field(default_factory=dict)

    def topic(self, name: str) -> TopicInfo | None:
        for t in self.topics:
            if t.name == name:
                return t
        return None

    @property
    def partition_count(self) -> int:
        return sum(t.partition_count for t in self.topics)

    @property
    def under_replicated(self) -> int:
        return sum(t.under_replicated for t in self.topics)

    @property
    def under_min_isr(self) -> int:
        return sum(t.under_min_isr for t in self.topics)

    @property
    def offline(self) -> int:
        return sum(t.offline for t in self.topics)

    @property
    def total_messages(self) -> int:
        return sum(t.messages or 0 for t in self.topics)


@dataclass(frozen=True)
class ConfigEntryInfo:
    name: str
    value: str | None
    source: str
    is_default: bool
    read_only: bool
    sensitive: bool
    default_value: str | None = None


@dataclass(frozen=True)
class ConnectionResult:
    ok: bool
    message: str
    broker_count: int = 0
    cause: str = ""


@dataclass(frozen=True)
class LocalBrokerInfo:
    bootstrap: str
    data_dir: str
