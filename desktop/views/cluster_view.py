"""One cluster's tab: banner, refresh controls, and the cluster screens."""

from __future__ import annotations

import time
from typing import cast

from PySide6.QtCore import QTimer, Signal, Slot
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

PAGES = (
    "overview",
    "brokers",
    "topics",
    "replication",
    "charts",
    "messages",
    "producer",
    "groups",
)
TITLES = {
    "overview": "Overview",
    "brokers": "Brokers",
    "topics": "Topics",
    "replication": "Replication",
    "charts": "Live charts",
    "messages": "Messages",
    "producer": "Produce",
    "groups": "Consumer groups",
}
EAGER = ("overview",)


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

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._hide_internal = hide_internal
        self._pages: dict[str, QWidget] = {}
        for name in EAGER:  # what the user sees first; the rest follow one per event-loop turn
            self._page(name)

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
        session.interval_changed.connect(lambda _s: self._update_freshness())
        QTimer.singleShot(0, self._build_next)

    # ---- pages, built in stages: building them all at once held the GUI thread ~250 ms ----

    def _make(self, name: str) -> QWidget:
        session = self.session
        if name == "overview":
            return OverviewPage()
        if name == "brokers":
            return BrokersPage(session)
        if name == "topics":
            return TopicsPage(session, self._hide_internal)
        if name == "replication":
            return ReplicationPage()
        if name == "charts":
            return LiveCharts()
        if name == "messages":
            return MessagesPage(session)
        if name == "producer":
            return ProducerPage(session)
        return GroupsPage(session)  # follows refreshes once first shown

    def _page(self, name: str) -> QWidget:
        page = self._pages.get(name)
        if page is None:
            page = self._pages[name] = self._make(name)
            index = sum(1 for n in PAGES if n in self._pages and PAGES.index(n) < PAGES.index(name))
            self.tabs.insertTab(index, page, TITLES[name])
        return page

    @Slot()
    def _build_next(self) -> None:
        missing = [n for n in PAGES if n not in self._pages]
        if missing and not self.session.runner.closed:
            self._page(missing[0])
            QTimer.singleShot(0, self._build_next)

    @property
    def overview(self) -> OverviewPage:
        return cast(OverviewPage, self._page("overview"))

    @property
    def brokers(self) -> BrokersPage:
        return cast(BrokersPage, self._page("brokers"))

    @property
    def topics(self) -> TopicsPage:
        return cast(TopicsPage, self._page("topics"))

    @property
    def replication(self) -> ReplicationPage:
        return cast(ReplicationPage, self._page("replication"))

    @property
    def charts(self) -> LiveCharts:
        return cast(LiveCharts, self._page("charts"))

    @property
    def messages(self) -> MessagesPage:
        return cast(MessagesPage, self._page("messages"))

    @property
    def producer(self) -> ProducerPage:
        return cast(ProducerPage, self._page("producer"))

    @property
    def groups(self) -> GroupsPage:
        return cast(GroupsPage, self._page("groups"))

    @Slot(object)
    def _on_snapshot(self, s: ClusterSnapshot) -> None:
        # Only the visible screen is updated now; the others catch up when shown.
        self._latest = s
        self._apply(self.tabs.currentWidget())
        charts = self._pages.get("charts")
        if s.complete and isinstance(charts, LiveCharts):
            charts.add_snapshot(s)
        self.banner.setVisible(False)
        self._update_freshness()

    def _apply(self, page: QWidget) -> None:
        s = self._latest
        if s is None or self._applied.get(page) is s:
            return
        self._applied[page] = s
        if isinstance(page, OverviewPage | BrokersPage | TopicsPage | ReplicationPage):
            page.set_snapshot(s)

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
        if s.backed_off and s.last_refresh_s is not None:
            stale += (
                f" · slow cluster: a refresh takes {s.last_refresh_s:.1f} s, so every "
                f"{s.effective_interval_s:.0f} s"
            )
        return f"{s.state.value} · last refresh {stamp}{stale}"

    def close_session(self) -> None:
        self.session.close()
