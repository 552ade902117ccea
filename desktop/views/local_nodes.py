"""The Brokers tab's controls for a local cluster: Stop, Kill (-9) and Start on every node."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.domain.local import LocalClusterInfo, LocalNode
from desktop.views.widgets.common import heading, hint
from desktop.workers.local_cluster import LocalCluster


class NodeRow:
    """One node's line: what it is, its process and state, and its three buttons."""

    def __init__(self, grid: QGridLayout, row: int, node: LocalNode, cluster: LocalCluster) -> None:
        self.node_id = node.id
        self.name = QLabel(("Controller " if node.is_controller else "Broker ") + str(node.id))
        self.name.setStyleSheet("font-weight: 600;")
        self.address = QLabel(node.address)
        self.state = QLabel("")
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("SIGTERM: the broker shuts down cleanly and leaves the cluster")
        self.kill = QPushButton("Kill (-9)")
        self.kill.setToolTip(
            "SIGKILL: the process dies at once, as in a crash; the controller fences it after "
            "broker.session.timeout.ms"
        )
        self.start = QPushButton("Start")
        self.start.setToolTip("Starts this node again from its data directory (--node)")
        self.stop.clicked.connect(lambda: cluster.stop_node(node.id))
        self.kill.clicked.connect(lambda: cluster.kill_node(node.id))
        self.start.clicked.connect(lambda: cluster.start_node(node.id))
        for col, widget in enumerate(
            (self.name, self.address, self.state, self.stop, self.kill, self.start)
        ):
            grid.addWidget(widget, row, col)

    def show(self, node: LocalNode, busy: bool) -> None:
        pid = f"pid {node.pid}" if node.alive and node.pid else "no process"
        state = "working…" if busy else node.shown_state
        self.state.setText(f"{state} · {pid}")
        colour = "#1e7b34" if node.alive and node.state == "active" else "#a11d12"
        if busy or (node.alive and node.state != "active"):
            colour = "#8a5a00"
        self.state.setStyleSheet(f"color: {colour};")
        self.stop.setEnabled(node.alive and not busy)
        self.kill.setEnabled(node.alive and not busy)
        self.start.setEnabled(not node.alive and not busy)


class LocalNodesPanel(QFrame):
    """Shown above the brokers table when the tab is the app's own local cluster."""

    def __init__(self, cluster: LocalCluster) -> None:
        super().__init__()
        self._cluster = cluster
        self.rows: dict[int, NodeRow] = {}
        self._grid = QGridLayout()
        self._grid.setColumnStretch(6, 1)  # the buttons stay next to the state they change
        self._grid.setHorizontalSpacing(12)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a11d12;")
        self.error.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 8)
        layout.addWidget(heading("Local cluster processes"))
        layout.addWidget(
            hint(
                "Each node is its own process. Kill one and watch the Timeline, the Replication "
                "tab and a produce with acks=all (min.insync.replicas) vs acks=1."
            )
        )
        holder = QWidget()
        holder.setLayout(self._grid)
        layout.addWidget(holder)
        layout.addWidget(self.error)
        cluster.nodes_changed.connect(self._on_nodes)
        cluster.node_failed.connect(self._on_failed)
        if cluster.info is not None:
            self._on_nodes(cluster.info)

    def row(self, node_id: int) -> NodeRow:
        return self.rows[node_id]

    @Slot(object)
    def _on_nodes(self, info: LocalClusterInfo) -> None:
        # brokers first, in id order, then the controller (the one a learner kills least)
        nodes = sorted(info.nodes, key=lambda n: (n.is_controller, n.id))
        for node in nodes:
            if node.id not in self.rows:
                self.rows[node.id] = NodeRow(self._grid, len(self.rows), node, self._cluster)
            self.rows[node.id].show(node, node.id in self._cluster.node_busy)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)
