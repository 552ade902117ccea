"""Snapshots of a cluster's state: brokers, topics, partitions and derived health figures."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
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
    """One topic; the aggregates are computed once, at construction (on the worker thread)."""

    name: str
    partitions: tuple[PartitionInfo, ...]
    internal: bool = False
    cleanup_policy: str = ""
    min_isr: int = 1
    size_bytes: int | None = None
    replication_factor: int = field(init=False, compare=False)
    messages: int | None = field(init=False, compare=False)
    high_total: int = field(init=False, compare=False)
    under_replicated: int = field(init=False, compare=False)
    under_min_isr: int = field(init=False, compare=False)
    offline: int = field(init=False, compare=False)
    worst_state: ReplicaState = field(init=False, compare=False)

    def __post_init__(self) -> None:
        parts = self.partitions
        counts = [p.messages for p in parts]
        rf = max((len(p.replicas) for p in parts), default=0)
        under = sum(1 for p in parts if len(p.isr) < len(p.replicas))
        below = sum(1 for p in parts if len(p.isr) < min(self.min_isr, len(p.replicas)))
        offline = sum(1 for p in parts if p.leader < 0)
        if below or offline:
            state = ReplicaState.CRITICAL
        elif under:
            state = ReplicaState.UNDER_REPLICATED
        else:
            state = ReplicaState.HEALTHY
        known = [c for c in counts if c is not None]
        values = {
            "replication_factor": rf,
            "messages": sum(known) if len(known) == len(counts) else None,
            "high_total": sum(p.high or 0 for p in parts),
            "under_replicated": under,
            "under_min_isr": below,
            "offline": offline,
            "worst_state": state,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def partition_count(self) -> int:
        return len(self.partitions)

    def state(self) -> ReplicaState:
        return self.worst_state


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything one refresh learned; totals are computed at construction."""

    cluster_id: str
    controller_id: int
    brokers: tuple[BrokerInfo, ...]
    topics: tuple[TopicInfo, ...]
    group_count: int | None
    fetched_at: float
    version: str = ""
    broker_sizes: dict[int, int] = field(default_factory=dict)
    stale_broker_sizes: frozenset[int] = frozenset()  # last known: no answer in the latest round
    complete: bool = True  # False while watermarks and configs are still being fetched
    partition_count: int = field(init=False, compare=False)
    under_replicated: int = field(init=False, compare=False)
    under_min_isr: int = field(init=False, compare=False)
    offline: int = field(init=False, compare=False)
    total_messages: int = field(init=False, compare=False)

    def __post_init__(self) -> None:
        ts = self.topics
        values = {
            "partition_count": sum(t.partition_count for t in ts),
            "under_replicated": sum(t.under_replicated for t in ts),
            "under_min_isr": sum(t.under_min_isr for t in ts),
            "offline": sum(t.offline for t in ts),
            "total_messages": sum(t.messages or 0 for t in ts),
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)
        object.__setattr__(self, "_by_name", {t.name: t for t in ts})

    def topic(self, name: str) -> TopicInfo | None:
        by_name: dict[str, TopicInfo] = self.__dict__["_by_name"]
        return by_name.get(name)


def reuse_unchanged(previous: ClusterSnapshot | None, snapshot: ClusterSnapshot) -> ClusterSnapshot:
    """`snapshot` with every topic equal to one of `previous` replaced by that very object.

    Run on the worker thread: the tables then tell unchanged rows by identity, and a steady
    10,000-topic cluster's refresh leaves no new long-lived objects for the collector to scan.
    """
    if previous is None:
        return snapshot
    old = previous.__dict__["_by_name"]
    topics = tuple(
        kept if (kept := old.get(t.name)) is not None and (kept is t or kept == t) else t
        for t in snapshot.topics
    )
    return replace(snapshot, topics=topics)


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
    pid: int | None = None  # the broker's own process
    username: str = ""  # the user it requires (SASL/SCRAM-SHA-512), or anyone when empty
