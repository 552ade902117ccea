"""The topics table."""

from __future__ import annotations

from typing import Any

from desktop.domain.cluster import TopicInfo
from desktop.models.base import STATE_COLOURS, Column, RowTableModel, byte_size


class TopicsModel(RowTableModel[TopicInfo]):
    columns = (
        Column[TopicInfo]("Name", lambda t: t.name),
        Column[TopicInfo]("Partitions", lambda t: t.partition_count, numeric=True),
        Column[TopicInfo]("RF", lambda t: t.replication_factor, True, "Replication factor"),
        Column[TopicInfo](
            "Messages", lambda t: t.messages, True, "Σ (high - low watermark) over partitions"
        ),
        Column[TopicInfo](
            "Size",
            lambda t: byte_size(t.size_bytes),
            True,
            "Bytes on disk over every replica (DescribeLogDirs; blank when unavailable)",
        ),
        Column[TopicInfo](
            "Under-replicated", lambda t: t.under_replicated, True, "Partitions with ISR < replicas"
        ),
        Column[TopicInfo]("Cleanup policy", lambda t: t.cleanup_policy),
        Column[TopicInfo]("Internal", lambda t: t.internal),
    )
    NAME, PARTITIONS, RF, MESSAGES, SIZE, UNDER, POLICY, INTERNAL = range(8)

    def row_key(self, row: TopicInfo) -> Any:
        return row.name

    def background(self, row: TopicInfo) -> str | None:
        return STATE_COLOURS.get(row.state())
