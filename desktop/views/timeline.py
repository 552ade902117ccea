"""Timeline: every change the app saw in this cluster, newest first; filter and export."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.timeline import BAD_KINDS, ClusterEvent, EventKind
from desktop.models.base import RowTableModel
from desktop.models.timeline import TimelineModel
from desktop.views.widgets.common import heading, hint, make_table
from desktop.workers.jobs import Job, JobFailure, Lane
from desktop.workers.session import ClusterSession

ALL = "All events"
PROBLEMS = "Problems only"


def write_jsonl(path: Path, events: list[ClusterEvent]) -> int:
    """One JSON object per line, oldest first (a file job: runs on a stream thread)."""
    with path.open("w", encoding="utf-8") as f:
        for e in events:
            f.write(e.to_json() + "\n")
    return len(events)


class TimelinePage(QWidget):
    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self._session = session
        self.model = TimelineModel()
        self.table = make_table(cast("RowTableModel[object]", self.model), stretch=3)
        for col, width in enumerate((110, 140, 160)):
            self.table.setColumnWidth(col, width)
        self.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)  # newest first
        self.kind = QComboBox()
        self.kind.addItems([ALL, PROBLEMS, *(k.value for k in EventKind)])
        self.kind.currentTextChanged.connect(self._filter)
        self.export_button = QPushButton("Export JSON Lines…")
        self.export_button.clicked.connect(self._ask_export)
        self.status = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(heading("Incident timeline"))
        bar.addStretch(1)
        bar.addWidget(QLabel("Show"))
        bar.addWidget(self.kind)
        bar.addWidget(self.export_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)
        layout.addWidget(
            hint(
                "Changes between refreshes (leaders, ISR, min ISR, brokers in the metadata), "
                "the liveness probe's verdicts and, once the Consumer groups screen has been "
                "opened, group state changes, rebalances, members and lag crossings; kept for "
                "this session."
            )
        )
        self.model.add_events(session.timeline.events)
        session.events_added.connect(self.model.add_events)

    @Slot(str)
    def _filter(self, text: str) -> None:
        if text == ALL:
            self.model.show_kinds(None)
        elif text == PROBLEMS:
            self.model.show_kinds(BAD_KINDS)
        else:
            self.model.show_kinds(frozenset({EventKind(text)}))

    @Slot()
    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, "Export timeline", "timeline.jsonl", "JSON Lines (*.jsonl)"
        )
        if name:
            self.export(Path(name))

    def export(self, path: Path) -> Job:
        events = list(self._session.timeline.events)
        job = Job(
            "export timeline",
            lambda _ctx: write_jsonl(path, events),
            lane=Lane.STREAM,
            deadline_s=60,
        )
        job.finished.connect(lambda n: self.status.setText(f"Wrote {n} events to {path}"))
        job.failed.connect(self._failed)
        self.status.setText(f"Writing {path}…")
        return self._session.submit(job)

    def _failed(self, failure: JobFailure) -> None:
        self.status.setText(f"Export failed: {failure.message}")
