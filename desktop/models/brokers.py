"""The brokers table, with leader/replica counts to show skew."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.cluster import BrokerInfo
from desktop.models.base import Column, RowTableModel


@dataclass(frozen=True)
class BrokerRow:
    broker: BrokerInfo
    controller: bool
    leaders: int
    replicas: int
    log_dir_bytes: int | None = None


class BrokersModel(RowTableModel[BrokerRow]):
    columns = (
        Column[BrokerRow]("ID", lambda r: r.broker.id, numeric=True),
        Column[BrokerRow]("Host:port", lambda r: r.broker.address),
        Column[BrokerRow]("Rack", lambda r: r.broker.rack or ""),
        Column[BrokerRow]("Controller", lambda r: r.controller),
        Column[BrokerRow]("Leaders", lambda r: r.leaders, numeric=True),
        Column[BrokerRow]("Replicas", lambda r: r.replicas, numeric=True),
        Column[BrokerRow](
            "Log-dir size",
            lambda r: r.log_dir_bytes,
            True,
            "Blank when DescribeLogDirs is unavailable",
        ),
    )

    def row_key(self, row: BrokerRow) -> Any:
        return row.broker.id
