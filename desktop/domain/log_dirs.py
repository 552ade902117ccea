"""Bytes on disk per broker and per topic (DescribeLogDirs), merged into a snapshot."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field

from desktop.domain.cluster import ClusterSnapshot


@dataclass(frozen=True)
class LogDirSizes:
    """One DescribeLogDirs round: bytes in each broker's log dirs and in each topic (summed over
    every replica, as the files on all brokers' disks hold them)."""

    brokers: Mapping[int, int] = field(default_factory=dict)
    topics: Mapping[str, int] = field(default_factory=dict)
    fetched_at: float = 0.0


def with_sizes(snapshot: ClusterSnapshot, sizes: LogDirSizes | None) -> ClusterSnapshot:
    """`snapshot` with its Size column and broker log-dir sizes filled from `sizes`."""
    if sizes is None:
        return snapshot
    topics = tuple(
        t
        if t.size_bytes == sizes.topics.get(t.name)
        else dataclasses.replace(t, size_bytes=sizes.topics.get(t.name))
        for t in snapshot.topics
    )
    return dataclasses.replace(snapshot, topics=topics, broker_sizes=dict(sizes.brokers))
