"""The topics table."""

from __future__ import annotations

from typing import Any

from desktop.domain.cluster import TopicInfo
from desktop.models.base import STATE_COLOURS, Column, RowTableModel


def _size(t: TopicInfo) -> str:
    if t.size_bytes is None:
        return ""
    size = float(t.size_bytes)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


class TopicsModel(RowTableModel[TopicInfo]):
    columns = (
        Column[TopicInfo]("Name", lambda t: t.name),
        Column[TopicInfo]("Partitions", lambda t: t.partition_count, numeric=True),
        Column[TopicInfo]("RF", lambda t: t.replication_factor, True, "Replication factor"),
        Column[TopicInfo](
            "Messages", lambda t: t.messages, True, "Σ (high - low watermark) over partitions"
        ),
        Column[TopicInfo](
            "Size", _size, False, "On-disk size (needs DescribeLogDirs; blank when unavailable)"
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
