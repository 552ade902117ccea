"""The brokers table, with leader/replica counts to show skew and each broker's liveness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.cluster import BrokerInfo
from desktop.models.base import RED, Column, RowTableModel, byte_size


@dataclass(frozen=True)
class BrokerRow:
    broker: BrokerInfo
    controller: bool
    leaders: int
    replicas: int
    log_dir_bytes: int | None = None
    status: str = "up"
    up: bool = True


class BrokersModel(RowTableModel[BrokerRow]):
    columns = (
        Column[BrokerRow]("ID", lambda r: r.broker.id, numeric=True),
        Column[BrokerRow]("Host:port", lambda r: r.broker.address),
        Column[BrokerRow](
            "Status",
            lambda r: r.status,
            tooltip="From a probe of each broker every second, apart from the metadata refresh",
        ),
        Column[BrokerRow]("Rack", lambda r: r.broker.rack or ""),
        Column[BrokerRow]("Controller", lambda r: r.controller),
        Column[BrokerRow]("Leaders", lambda r: r.leaders, numeric=True),
        Column[BrokerRow]("Replicas", lambda r: r.replicas, numeric=True),
        Column[BrokerRow](
            "Log-dir size",
            lambda r: byte_size(r.log_dir_bytes),
            True,
            "Bytes of partitions in this broker's log dirs (DescribeLogDirs; blank when "
            "unavailable)",
        ),
    )

    def row_key(self, row: BrokerRow) -> Any:
        return row.broker.id

    def background(self, row: BrokerRow) -> str | None:
        return None if row.up else RED
