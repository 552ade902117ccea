"""The start screen's local-cluster card: start, open and stop a 3-broker playground."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QStyle

from desktop.domain.local import LocalClusterInfo
from desktop.views.widgets.common import Badge, hint
from desktop.workers.local_cluster import LocalCluster, default_cluster_dir


class LocalClusterCard(QFrame):
    open_requested = Signal()

    def __init__(self, cluster: LocalCluster) -> None:
        super().__init__()
        self._cluster = cluster
        self.setObjectName("clusterCard")
        self.setStyleSheet(
            "QFrame#clusterCard { background: #ffffff; border: 1px solid #d8dee6;"
            " border-radius: 10px; }"
        )
        style = self.style()
        title = QLabel("Local cluster")
        title.setStyleSheet("font-size: 16px; font-weight: 600;")
        self.badge = Badge("stopped", "info")
        self.start_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay),
            f"Start local cluster ({cluster.brokers} brokers)",
        )
        self.start_button.setMinimumHeight(36)
        self.open_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_DirOpenIcon), "Open"
        )
        self.stop_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop"
        )
        self.address = QLabel("—")
        self.address.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_dir = QLabel("")
        self.data_dir.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.data_dir.setWordWrap(True)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a11d12;")

        grid = QGridLayout(self)
        grid.setContentsMargins(20, 16, 20, 16)
        row = QHBoxLayout()
        row.addWidget(title)
        row.addWidget(self.badge)
        row.addStretch(1)
        grid.addLayout(row, 0, 0, 1, 2)
        grid.addWidget(
            hint(
                "A controller and brokers 101, 102 and 103, each its own process, with real "
                "replication. Stop or kill -9 a broker from the Brokers tab and watch leaders "
                "move, ISRs shrink and acks=all fail."
            ),
            1,
            0,
            1,
            2,
        )
        grid.addWidget(QLabel("Brokers"), 2, 0)
        grid.addWidget(self.address, 2, 1)
        grid.addWidget(QLabel("Data directory"), 3, 0)
        grid.addWidget(self.data_dir, 3, 1)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.stop_button)
        buttons.addStretch(1)
        grid.addLayout(buttons, 4, 0, 1, 2)
        grid.addWidget(self.error, 5, 0, 1, 2)
        grid.setColumnStretch(1, 1)

        self.start_button.clicked.connect(cluster.start)
        self.stop_button.clicked.connect(cluster.stop)
        self.open_button.clicked.connect(self.open_requested)
        cluster.started.connect(lambda _i: self._clear_error())
        cluster.stopped.connect(self.update_state)
        cluster.failed.connect(self._on_failed)
        cluster.busy_changed.connect(lambda _b: self.update_state())
        cluster.nodes_changed.connect(lambda _i: self.update_state())
        self.update_state()

    def _clear_error(self) -> None:
        self.error.setText("")
        self.update_state()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error.setText(message)
        self.update_state()

    @Slot()
    def update_state(self) -> None:
        cluster = self._cluster
        info: LocalClusterInfo | None = cluster.info
        if cluster.busy:
            self.badge.setText("working…")
            self.badge.set_kind("warn")
        elif info is not None:
            up = sum(1 for n in info.brokers if n.alive)
            self.badge.setText(f"running · {up} of {len(info.brokers)} brokers up")
            self.badge.set_kind("ok" if up == len(info.brokers) else "warn")
        else:
            self.badge.setText("stopped")
            self.badge.set_kind("info")
        self.address.setText(info.bootstrap if info else "—")
        planned = info.data_dir if info else cluster.data_dir or default_cluster_dir(None)
        self.data_dir.setText(str(planned) if planned else "platform data directory")
        self.start_button.setVisible(info is None)
        self.start_button.setEnabled(not cluster.busy)
        for b in (self.open_button, self.stop_button):
            b.setVisible(info is not None)
            b.setEnabled(not cluster.busy)
