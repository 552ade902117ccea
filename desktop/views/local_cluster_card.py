"""The start screen's local-cluster card: start, open and stop a 3-broker playground."""

from __future__ import annotations

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import QPushButton, QStyle

from desktop.domain.local import LocalClusterInfo
from desktop.views.widgets.local_card import LocalCard
from desktop.workers.local_cluster import LocalCluster, default_cluster_dir


class LocalClusterCard(LocalCard):
    open_requested = Signal()

    def __init__(self, cluster: LocalCluster) -> None:
        super().__init__(
            "Local cluster",
            "A controller and brokers 101, 102 and 103, each its own process, with real "
            "replication. Stop or kill -9 a broker from the Brokers tab and watch leaders "
            "move, ISRs shrink and acks=all fail.",
            "Brokers",
        )
        self._cluster = cluster
        style = self.style()
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
        self.add_buttons(self.start_button, self.open_button, self.stop_button)

        self.start_button.clicked.connect(cluster.start)
        self.stop_button.clicked.connect(cluster.stop)
        self.open_button.clicked.connect(self.open_requested)
        # bound methods: Qt disconnects them when this card is deleted (the cluster lives on)
        cluster.started.connect(self._on_started)
        cluster.stopped.connect(self.update_state)
        cluster.failed.connect(self._on_failed)
        cluster.busy_changed.connect(self._on_cluster_changed)
        cluster.nodes_changed.connect(self._on_cluster_changed)
        self.update_state()

    def _on_started(self, _info: object) -> None:
        self._clear_error()

    def _on_cluster_changed(self, *_args: object) -> None:
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
