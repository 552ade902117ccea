"""Bytes on disk per broker and per topic (DescribeLogDirs), merged into a snapshot."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from desktop.domain.cluster import ClusterSnapshot


@dataclass(frozen=True)
class LogDirSizes:
    """One DescribeLogDirs round: bytes of each topic in each broker's log dirs. A broker that
    did not answer is in `unanswered`; its figures, if any, are the last it gave (see
    `keep_last_known`)."""

    by_broker: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    fetched_at: float = 0.0
    unanswered: frozenset[int] = frozenset()

    @property
    def brokers(self) -> dict[int, int]:
        """Bytes in each broker's log dirs (0 for one whose dirs hold nothing)."""
        return {node: sum(sizes.values()) for node, sizes in self.by_broker.items()}

    @property
    def topics(self) -> dict[str, int]:
        """Bytes of each topic, summed over every replica, as all brokers' disks hold them."""
        out: dict[str, int] = {}
        for sizes in self.by_broker.values():
            for name, size in sizes.items():
                out[name] = out.get(name, 0) + size
        return out


def keep_last_known(previous: LogDirSizes | None, fresh: LogDirSizes) -> LogDirSizes:
    """`fresh`, with the last known figures of the brokers that did not answer it: a dead
    broker's files are still on its disk, and leaving them out would shrink every topic it
    holds a replica of."""
    if previous is None or not fresh.unanswered:
        return fresh
    by_broker = dict(fresh.by_broker)
    for node in fresh.unanswered:
        if node in previous.by_broker:
            by_broker[node] = previous.by_broker[node]
    return dataclasses.replace(fresh, by_broker=by_broker)


def with_sizes(snapshot: ClusterSnapshot, sizes: LogDirSizes | None) -> ClusterSnapshot:
    """`snapshot` with its Size column and broker log-dir sizes filled from `sizes`."""
    if sizes is None:
        return snapshot
    by_topic, by_node = sizes.topics, sizes.brokers
    topics = tuple(
        t
        if t.size_bytes == by_topic.get(t.name)
        else dataclasses.replace(t, size_bytes=by_topic.get(t.name))
        for t in snapshot.topics
    )
    return dataclasses.replace(
        snapshot,
        topics=topics,
        broker_sizes=by_node,
        stale_broker_sizes=sizes.unanswered & frozenset(by_node),
    )
