"""The partitions table of one topic, coloured by replication state."""

from __future__ import annotations

from typing import Any

from desktop.domain.cluster import PartitionInfo, ReplicaState
from desktop.models.base import STATE_COLOURS, Column, RowTableModel


class PartitionsModel(RowTableModel[PartitionInfo]):
    columns = (
        Column[PartitionInfo]("Partition", lambda p: p.partition, numeric=True),
        Column[PartitionInfo](
            "Leader", lambda p: p.leader if p.has_leader else "none", numeric=True, centre=True
        ),
        Column[PartitionInfo]("Replicas", lambda p: p.replicas),
        Column[PartitionInfo]("ISR", lambda p: p.isr, tooltip="In-sync replicas"),
        Column[PartitionInfo]("Offline replicas", lambda p: p.offline_replicas),
        Column[PartitionInfo]("Low watermark", lambda p: p.low, numeric=True),
        Column[PartitionInfo]("High watermark", lambda p: p.high, numeric=True),
        Column[PartitionInfo]("Messages", lambda p: p.messages, numeric=True),
    )

    def __init__(self) -> None:
        super().__init__()
        self.min_isr = 1

    def set_partitions(self, partitions: tuple[PartitionInfo, ...], min_isr: int) -> None:
        if min_isr != self.min_isr:
            self.beginResetModel()
            self.min_isr = min_isr
            self._all = self._sorted(list(partitions))
            self._rows = self._visible(self._all)
            self.endResetModel()
            return
        self.set_rows(partitions)

    def row_key(self, row: PartitionInfo) -> Any:
        return (row.topic, row.partition)

    def state(self, row: int) -> ReplicaState:
        return self.row_at(row).state(self.min_isr)

    def background(self, row: PartitionInfo) -> str | None:
        return STATE_COLOURS.get(row.state(self.min_isr))
