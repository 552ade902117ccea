"""Replication health tables: per-broker load, and problem partitions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from desktop.domain.cluster import PartitionInfo, ReplicaState
from desktop.domain.health import BrokerLoad
from desktop.models.base import STATE_COLOURS, Column, Percent, RowTableModel


def _share(b: BrokerLoad) -> Percent | None:
    share = b.preferred_share
    return None if share is None else Percent(share)


class BrokerLoadModel(RowTableModel[BrokerLoad]):
    columns = (
        Column[BrokerLoad]("Broker", lambda b: b.broker_id, numeric=True),
        Column[BrokerLoad]("Leaders", lambda b: b.leaders, numeric=True),
        Column[BrokerLoad]("Replicas", lambda b: b.replicas, numeric=True),
        Column[BrokerLoad](
            "Preferred led",
            _share,
            True,
            "Of the partitions whose preferred (first) replica is this broker, the share it "
            "leads now; below 100% after it was down, until a preferred leader election",
        ),
    )

    def row_key(self, row: BrokerLoad) -> Any:
        return row.broker_id


@dataclass(frozen=True)
class ProblemRow:
    partition: PartitionInfo
    problem: str
    state: ReplicaState


class ProblemPartitionsModel(RowTableModel[ProblemRow]):
    columns = (
        Column[ProblemRow]("Topic", lambda r: r.partition.topic),
        Column[ProblemRow]("Partition", lambda r: r.partition.partition, numeric=True),
        Column[ProblemRow]("Problem", lambda r: r.problem),
        Column[ProblemRow](
            "Leader", lambda r: r.partition.leader if r.partition.has_leader else "none"
        ),
        Column[ProblemRow]("Replicas", lambda r: r.partition.replicas),
        Column[ProblemRow]("ISR", lambda r: r.partition.isr),
    )

    def row_key(self, row: ProblemRow) -> Any:
        return (row.partition.topic, row.partition.partition, row.problem)

    def background(self, row: ProblemRow) -> str | None:
        return STATE_COLOURS.get(row.state)


@dataclass(frozen=True)
class GridRow:
    partition: PartitionInfo
    min_isr: int


class ReplicaGridModel(RowTableModel[GridRow]):
    """Partitions x brokers: L = leader, R = in-sync replica, r! = out-of-sync replica."""

    def __init__(self) -> None:
        super().__init__()
        self._broker_ids: list[int] = []
        self.down: frozenset[int] = frozenset()
        self.columns = self._make_columns()

    def set_grid(
        self, broker_ids: list[int], rows: list[GridRow], down: frozenset[int] = frozenset()
    ) -> None:
        """`broker_ids`: every broker seen (a dead one keeps its column); `down`: those known
        to be down, whose replicas are shown out of sync whatever the last ISR said."""
        if broker_ids != self._broker_ids or down != self.down:
            self.down = down
            self.beginResetModel()
            self._broker_ids = list(broker_ids)
            self.columns = self._make_columns()
            self._all = self._sorted(list(rows))
            self._rows = self._visible(self._all)
            self.endResetModel()
        else:
            self.set_rows(rows)

    def _make_columns(self) -> tuple[Column[GridRow], ...]:
        cols: list[Column[GridRow]] = [
            Column[GridRow]("Topic", lambda r: r.partition.topic),
            Column[GridRow]("Partition", lambda r: r.partition.partition, numeric=True),
        ]
        for broker in self._broker_ids:
            title = f"Broker {broker}" + (" (down)" if broker in self.down else "")
            cols.append(Column[GridRow](title, _cell_getter(broker, broker in self.down)))
        return tuple(cols)

    def row_key(self, row: GridRow) -> Any:
        return (row.partition.topic, row.partition.partition)

    def background(self, row: GridRow) -> str | None:
        return STATE_COLOURS.get(row.partition.state(row.min_isr))


def _cell_getter(broker: int, down: bool) -> Callable[[GridRow], str]:
    return lambda row: _cell(row, broker, down)


def _cell(row: GridRow, broker: int, down: bool = False) -> str:
    p = row.partition
    if broker not in p.replicas:
        return ""
    if down:
        return "r!"  # a replica on a dead broker is out of sync, even before the ISR says so
    if broker == p.leader:
        return "L"
    return "R" if broker in p.isr else "r!"
