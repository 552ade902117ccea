"""Brokers: addresses, racks, leader/replica counts, and broker configs (dynamic ones editable)."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from desktop.domain.cluster import ClusterSnapshot, ConfigEntryInfo
from desktop.domain.health import summarize
from desktop.domain.liveness import presence
from desktop.models.base import ROW_ROLE
from desktop.models.brokers import BrokerRow, BrokersModel
from desktop.views.config_editor import ConfigPanel
from desktop.views.local_nodes import LocalNodesPanel
from desktop.views.widgets.common import FilterProxy, heading, make_table
from desktop.workers.local_cluster import LocalCluster
from desktop.workers.session import ClusterSession

DYNAMIC_SOURCES = ("dynamic broker", "dynamic cluster default", "default")


class BrokersPage(QWidget):
    def __init__(self, session: ClusterSession, local: LocalCluster | None = None) -> None:
        super().__init__()
        self._session = session
        # the app's own local cluster: Stop, Kill (-9) and Start for every node
        self.nodes = LocalNodesPanel(local) if local is not None else None
        self.model = BrokersModel()
        self.proxy = FilterProxy(1)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy, stretch=None)
        for col, width in enumerate((50, 160, 470, 70, 80, 70, 70, 100)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._load_configs())
        self.configs = ConfigPanel(lambda c: not c.read_only)
        self.configs.edit_requested.connect(self._edit)
        self.config_title = heading("Broker configs")
        top = QWidget()
        tl = QVBoxLayout(top)
        tl.setContentsMargins(0, 0, 0, 0)
        if self.nodes is not None:
            tl.addWidget(self.nodes)
        tl.addWidget(heading("Brokers"))
        tl.addWidget(self.table)
        bottom = QWidget()
        bl = QVBoxLayout(bottom)
        bl.setContentsMargins(0, 0, 0, 0)
        bl.addWidget(self.config_title)
        bl.addWidget(self.configs)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(top)
        split.addWidget(bottom)
        split.setSizes([420, 300] if self.nodes is not None else [200, 400])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(split)
        self._broker_id: int | None = None
        self._snapshot: ClusterSnapshot | None = None

    def set_snapshot(self, s: ClusterSnapshot) -> None:
        self._snapshot = s
        self.update_liveness()

    def update_liveness(self) -> None:
        """Rows for every broker seen this session; called on each probe round and snapshot."""
        s = self._snapshot
        if s is None:
            return
        session = self._session
        loads = {b.broker_id: b for b in summarize(s).loads}
        listed = frozenset(b.id for b in s.brokers)
        now = time.time()
        rows = [
            BrokerRow(
                broker=p.broker,
                controller=session.controller.is_controller(p.broker.id, s.controller_id),
                leaders=loads[p.broker.id].leaders if p.broker.id in loads else 0,
                replicas=loads[p.broker.id].replicas if p.broker.id in loads else 0,
                log_dir_bytes=s.broker_sizes.get(p.broker.id),
                log_dir_stale=p.broker.id in s.stale_broker_sizes,
                status=p.status(now),
                up=p.up,
            )
            for p in presence(session.known_brokers, listed, session.liveness)
        ]
        self.model.set_rows(rows)
        if self._broker_id is None and rows:
            self.table.selectRow(0)

    def _selected(self) -> BrokerRow | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        row = self.proxy.data(rows[0], ROW_ROLE)
        return row if isinstance(row, BrokerRow) else None

    @Slot()
    def _load_configs(self) -> None:
        row = self._selected()
        if row is None:
            return
        self._broker_id = row.broker.id
        self.config_title.setText(f"Configs of broker {row.broker.id}")
        self._session.broker_configs(row.broker.id, self._on_configs, self._on_error)

    def _on_configs(self, configs: list[ConfigEntryInfo]) -> None:
        self.configs.set_configs(configs)

    def _on_error(self, message: str) -> None:
        self.configs.status.setText(message)

    @Slot(str, object)
    def _edit(self, name: str, value: str | None) -> None:
        if self._broker_id is None:
            return
        broker = self._broker_id
        self._session.set_broker_config(
            broker, name, value, lambda _r: self._load_configs(), self._on_error
        )
