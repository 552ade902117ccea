"""Replication, Preferred leaders: preview which partitions would move, then elect (jobs)."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.domain.election import ElectionMove, ElectionOutcome
from desktop.models.election import ElectionModel, ElectionRow
from desktop.views.widgets.common import FilterProxy, hint, make_table
from desktop.workers.jobs import Job
from desktop.workers.session import ClusterSession


class ElectionPanel(QWidget):
    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self._session = session
        self.moves: list[ElectionMove] = []
        self.job: Job | None = None
        self.model = ElectionModel()
        self.proxy = FilterProxy(0)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        for col, width in enumerate((200, 70, 80, 380)):
            self.table.setColumnWidth(col, width)
        self.preview_button = QPushButton("Preview")
        self.preview_button.setToolTip("Reads the current leaders and replicas from the cluster")
        self.execute_button = QPushButton("Elect preferred leaders")
        self.execute_button.setObjectName("primary")
        self.execute_button.setEnabled(False)
        self.status = QLabel("Preview to see which partitions are led by another broker.")
        self.status.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.preview_button)
        buttons.addWidget(self.execute_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(
            hint(
                "After a broker returns, its partitions stay led by the brokers that took over. "
                "A preferred leader election (Kafka's ElectLeaders, as kafka-leader-election "
                "--election-type PREFERRED) gives each partition back to its first replica, if "
                "that replica is in sync."
            )
        )
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self.preview_button.clicked.connect(self.preview)
        self.execute_button.clicked.connect(self.execute)

    def _busy(self, busy: bool, text: str) -> None:
        self.preview_button.setEnabled(not busy)
        self.execute_button.setEnabled(not busy and any(m.eligible for m in self.moves))
        self.status.setText(text)

    @Slot()
    def preview(self) -> None:
        self._busy(True, "Reading leaders and replicas…")
        self.execute_button.setEnabled(False)
        self.job = self._session.preview_election(self._previewed, self._failed)

    def _previewed(self, moves: list[ElectionMove]) -> None:
        self.moves = moves
        self.model.set_rows([ElectionRow(m) for m in moves])
        eligible = sum(1 for m in moves if m.eligible)
        if not moves:
            text = "Every partition is led by its preferred replica: nothing to elect."
        else:
            text = f"{eligible} of {len(moves)} partition(s) off their preferred leader would move."
            if eligible < len(moves):
                text += " The others stay until their preferred replica is back in sync."
        self._busy(False, text)

    @Slot()
    def execute(self) -> None:
        moves = list(self.moves)
        self._busy(True, "Electing preferred leaders…")
        self.execute_button.setEnabled(False)
        self.job = self._session.elect_preferred(moves, self._elected, self._failed)

    def _elected(self, outcomes: list[ElectionOutcome]) -> None:
        by_name = {o.name: o for o in outcomes}
        rows = []
        for m in self.moves:
            o = by_name.get(m.name)
            if o is None:
                rows.append(ElectionRow(m, "not asked: preferred replica out of sync", False))
            elif o.error is None:
                rows.append(ElectionRow(m, f"moved to broker {m.preferred}", True))
            else:
                rows.append(ElectionRow(m, o.error, False))
        self.model.set_rows(rows)
        moved = sum(1 for o in outcomes if o.error is None)
        self.moves = []
        self._busy(
            False,
            f"Elected: {moved} of {len(outcomes)} partition(s) moved back to their "
            "preferred leader. Preview again to check.",
        )

    def _failed(self, message: str) -> None:
        self._busy(False, f"Failed: {message}")
