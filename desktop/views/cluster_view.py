"""One cluster's tab: banner, refresh controls, and the cluster screens."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.charts.live import LiveCharts
from desktop.domain.cluster import ClusterSnapshot
from desktop.views.brokers import BrokersPage
from desktop.views.groups import GroupsPage
from desktop.views.messages import MessagesPage
from desktop.views.overview import OverviewPage
from desktop.views.producer import ProducerPage
from desktop.views.replication import ReplicationPage
from desktop.views.topics import TopicsPage
from desktop.views.widgets.common import Banner
from desktop.workers.session import ClusterSession, SessionState


class ClusterView(QWidget):
    status_changed = Signal()

    def __init__(self, session: ClusterSession, hide_internal: bool = True) -> None:
        super().__init__()
        self.session = session
        style = self.style()
        self.banner = Banner()
        self.refresh_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Refresh"
        )
        self.refresh_button.clicked.connect(session.refresh)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.2, 3600)
        self.interval.setDecimals(1)
        self.interval.setSuffix(" s")
        self.interval.setValue(session.refresh_interval_s)
        self.interval.valueChanged.connect(session.set_refresh_interval)
        self.pause = QCheckBox("Pause")
        self.pause.toggled.connect(session.set_paused)
        self.freshness = QLabel("connecting…")
        self.freshness.setStyleSheet("color: #5f6b7a;")
        bar = QHBoxLayout()
        title = QLabel(f"<b>{session.profile.name}</b> &nbsp; {session.profile.bootstrap}")
        bar.addWidget(title)
        bar.addStretch(1)
        bar.addWidget(self.freshness)
        bar.addWidget(QLabel("Refresh every"))
        bar.addWidget(self.interval)
        bar.addWidget(self.pause)
        bar.addWidget(self.refresh_button)

        self.overview = OverviewPage()
        self.brokers = BrokersPage(session)
        self.topics = TopicsPage(session, hide_internal)
        self.replication = ReplicationPage()
        self.charts = LiveCharts()
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.overview, "Overview")
        self.tabs.addTab(self.brokers, "Brokers")
        self.tabs.addTab(self.topics, "Topics")
        self.tabs.addTab(self.replication, "Replication")
        self.tabs.addTab(self.charts, "Live charts")
        self.messages = MessagesPage(session)
        self.producer = ProducerPage(session)
        self.tabs.addTab(self.messages, "Messages")
        self.tabs.addTab(self.producer, "Produce")
        self.groups = GroupsPage(session)  # follows refreshes once first shown
        self.tabs.addTab(self.groups, "Consumer groups")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

        self._latest: ClusterSnapshot | None = None
        self._applied: dict[QWidget, ClusterSnapshot] = {}
        self.tabs.currentChanged.connect(lambda _i: self._apply(self.tabs.currentWidget()))
        session.snapshot_changed.connect(self._on_snapshot)
        session.state_changed.connect(self._on_state)

    @Slot(object)
    def _on_snapshot(self, s: ClusterSnapshot) -> None:
        # Only the visible screen is updated now; the others catch up when shown.
        self._latest = s
        self._apply(self.tabs.currentWidget())
        if s.complete:
            self.charts.add_snapshot(s)
        self.banner.setVisible(False)
        self._update_freshness()

    def _apply(self, page: QWidget) -> None:
        s = self._latest
        if s is None or self._applied.get(page) is s:
            return
        self._applied[page] = s
        if page is self.overview:
            self.overview.set_snapshot(s)
        elif page is self.brokers:
            self.brokers.set_snapshot(s)
        elif page is self.topics:
            self.topics.set_snapshot(s)
        elif page is self.replication:
            self.replication.set_snapshot(s)

    @Slot(str)
    def _on_state(self, _state: str) -> None:
        s = self.session
        if s.state == SessionState.LOST and s.snapshot is None:
            self.banner.show_message(
                f"Cannot reach {s.profile.bootstrap}: {s.last_error}\n"
                "Retrying automatically; check the address and your network."
            )
        elif s.state == SessionState.LOST:
            self.banner.show_message(
                f"Lost contact with {s.profile.bootstrap}: {s.last_error}\n"
                "Showing the last data received; reconnecting automatically.",
            )
        elif s.state == SessionState.STALE:
            self.banner.show_message(f"Refresh failed: {s.last_error}", "warn")
        self._update_freshness()

    def _update_freshness(self) -> None:
        self.freshness.setText(self.status_text())
        self.status_changed.emit()

    def status_text(self) -> str:
        s = self.session
        if s.last_refresh is None:
            return s.state.value
        stamp = time.strftime("%H:%M:%S", time.localtime(s.last_refresh))
        stale = "" if s.state == SessionState.CONNECTED else " (stale)"
        if s.snapshot is not None and not s.snapshot.complete:
            stale += " · still loading watermarks and configs"
        return f"{s.state.value} · last refresh {stamp}{stale}"

    def close_session(self) -> None:
        self.session.close()
