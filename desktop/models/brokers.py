"""The brokers table, with leader/replica counts to show skew and each broker's liveness."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.cluster import BrokerInfo
from desktop.models.base import RED, Column, LastKnownByteSize, RowTableModel, byte_size


@dataclass(frozen=True)
class BrokerRow:
    broker: BrokerInfo
    controller: bool
    leaders: int
    replicas: int
    log_dir_bytes: int | None = None
    log_dir_stale: bool = False  # the broker did not answer the latest DescribeLogDirs
    status: str = "up"
    up: bool = True


def _log_dir_size(row: BrokerRow) -> object:
    if row.log_dir_stale and row.log_dir_bytes is not None:
        return LastKnownByteSize(row.log_dir_bytes)
    return byte_size(row.log_dir_bytes)


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
            _log_dir_size,
            True,
            "Bytes of partitions in this broker's log dirs (DescribeLogDirs; blank when "
            "unavailable; 'last known' when the broker did not answer the latest round)",
        ),
    )

    def row_key(self, row: BrokerRow) -> Any:
        return row.broker.id

    def background(self, row: BrokerRow) -> str | None:
        return None if row.up else RED
