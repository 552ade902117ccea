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
    QProgressBar,
    QPushButton,
    QStyle,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop.charts.live import LiveCharts
from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.liveness import presence
from desktop.domain.timeline import ClusterEvent
from desktop.settings.browser_prefs import BrowserPrefs
from desktop.views.brokers import BrokersPage
from desktop.views.groups import GroupsPage
from desktop.views.messages import MessagesPage
from desktop.views.overview import OverviewPage
from desktop.views.producer import ProducerPage
from desktop.views.replication import ReplicationPage
from desktop.views.security import SecurityPage
from desktop.views.timeline import TimelinePage
from desktop.views.topics import TopicsPage
from desktop.views.widgets.common import Banner, set_role
from desktop.workers.local_cluster import LocalCluster
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
    "timeline",
    "security",
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
    "timeline": "Timeline",
    "security": "Security",
}
# A snapshot older than this many refresh intervals (and at least LATE_MIN_S) is called stale
LATE_FACTOR = 2.0
LATE_MIN_S = 3.0
EAGER = ("overview",)
# built in the background: the live charts must see every snapshot from the start
BACKGROUND = ("charts",)


class PagePlaceholder(QWidget):
    """Holds a screen's tab until the user first opens it."""

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name


class ClusterView(QWidget):
    status_changed = Signal()

    def __init__(
        self,
        session: ClusterSession,
        hide_internal: bool = True,
        local: LocalCluster | None = None,
        prefs: BrowserPrefs | None = None,
    ) -> None:
        super().__init__()
        self.session = session
        # the app's remembered browser choices (held in memory); tools and tests open their own
        self.prefs = prefs
        self.local = local  # the app's own local cluster, when this tab is it
        style = self.style()
        self.banner = Banner()
        self.refresh_button = QPushButton(
            style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload), "Refresh"
        )
        self.refresh_button.clicked.connect(session.refresh)
        self.busy = QProgressBar()  # indeterminate while a refresh runs: the click was heard
        self.busy.setRange(0, 0)
        self.busy.setFixedWidth(60)
        self.busy.setMaximumHeight(10)
        self.busy.setTextVisible(False)
        self.busy.setVisible(False)
        self.interval = QDoubleSpinBox()
        self.interval.setRange(0.2, 3600)
        self.interval.setDecimals(1)
        self.interval.setSuffix(" s")
        self.interval.setValue(session.refresh_interval_s)
        self.interval.valueChanged.connect(session.set_refresh_interval)
        self.pause = QCheckBox("Pause")
        self.pause.toggled.connect(session.set_paused)
        self.freshness = QLabel("connecting…")
        # a long status ("… still loading watermarks and configs") may be cut, not widen the window
        self.freshness.setMinimumWidth(160)
        set_role(self.freshness, "muted")
        bar = QHBoxLayout()
        title = QLabel(f"<b>{session.profile.name}</b> &nbsp; {session.profile.bootstrap}")
        bar.addWidget(title)
        bar.addStretch(1)
        bar.addWidget(self.freshness)
        bar.addWidget(QLabel("Refresh every"))
        bar.addWidget(self.interval)
        bar.addWidget(self.pause)
        bar.addWidget(self.busy)
        bar.addWidget(self.refresh_button)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self._hide_internal = hide_internal
        self._pages: dict[str, QWidget] = {}
        # Every tab is there at once, but a screen is built the first time it is shown: building
        # them all held the GUI thread 100-250 ms, for screens most users never open.
        for name in PAGES:
            if name in EAGER:
                self._pages[name] = self._make(name)
                self.tabs.addTab(self._pages[name], TITLES[name])
            else:
                self.tabs.addTab(PagePlaceholder(name), TITLES[name])

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        layout.addWidget(self.banner)
        layout.addLayout(bar)
        layout.addWidget(self.tabs, 1)

        self._latest: ClusterSnapshot | None = None
        self._applied: dict[QWidget, ClusterSnapshot] = {}
        self.tabs.currentChanged.connect(self._on_current)
        session.snapshot_changed.connect(self._on_snapshot)
        session.state_changed.connect(self._on_state)
        session.interval_changed.connect(self._on_interval)
        session.refreshing_changed.connect(self._on_refreshing)
        session.liveness_changed.connect(self._on_liveness)
        session.events_added.connect(self._on_events)
        # the header's age and each dead broker's "unreachable for N s" tick once a second
        self._clock = QTimer(self)
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self._on_clock)
        self._clock.start()
        QTimer.singleShot(0, self._build_next)

    # ---- pages, built when first shown (the live charts in the background) ---------------

    def _make(self, name: str) -> QWidget:
        session = self.session
        if name == "overview":
            return OverviewPage(session)
        if name == "brokers":
            return BrokersPage(session, self.local)
        if name == "topics":
            return TopicsPage(session, self._hide_internal)
        if name == "replication":
            return ReplicationPage(session)
        if name == "charts":
            charts = LiveCharts(session.effective_interval_s)
            charts.add_events(session.timeline.events)
            return charts
        if name == "timeline":
            return TimelinePage(session)
        if name == "messages":
            return MessagesPage(session, self.prefs)
        if name == "producer":
            return ProducerPage(session)
        if name == "security":
            return SecurityPage(session)
        return GroupsPage(session)  # follows refreshes once first shown

    def _page(self, name: str) -> QWidget:
        page = self._pages.get(name)
        if page is None:
            page = self._pages[name] = self._make(name)
            index = PAGES.index(name)
            placeholder = self.tabs.widget(index)
            current = self.tabs.currentIndex() == index
            self.tabs.blockSignals(True)  # the same tab, only its content is new
            self.tabs.removeTab(index)
            self.tabs.insertTab(index, page, TITLES[name])
            if current:
                self.tabs.setCurrentIndex(index)
            self.tabs.blockSignals(False)
            if placeholder is not None:
                placeholder.deleteLater()
        return page

    @Slot(int)
    def _on_current(self, index: int) -> None:
        widget = self.tabs.widget(index)
        if isinstance(widget, PagePlaceholder):
            widget = self._page(widget.name)
        if widget is not None:
            self._on_tab(widget)

    @Slot()
    def _build_next(self) -> None:
        missing = [n for n in BACKGROUND if n not in self._pages]
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

    @property
    def timeline(self) -> TimelinePage:
        return cast(TimelinePage, self._page("timeline"))

    @property
    def security(self) -> SecurityPage:
        return cast(SecurityPage, self._page("security"))

    # ---- liveness, the timeline and the ticking header -----------------------------------

    @Slot(float)
    def _on_interval(self, seconds: float) -> None:
        charts = self._pages.get("charts")
        if isinstance(charts, LiveCharts):
            charts.set_interval(seconds)  # a backed-off refresh is not a gap in the charts
        self._update_freshness()

    @Slot(bool)
    def _on_refreshing(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        self.refresh_button.setText("Refreshing…" if busy else "Refresh")

    @Slot()
    def _on_liveness(self) -> None:
        s = self.session
        snap = s.snapshot
        listed = frozenset(b.id for b in snap.brokers) if snap is not None else frozenset()
        seen = presence(s.known_brokers, listed, s.liveness)
        self.overview.set_presence(seen)
        page = self.tabs.currentWidget()
        if isinstance(page, BrokersPage):
            page.update_liveness()
        replication = self._pages.get("replication")
        if isinstance(replication, ReplicationPage):
            replication.set_brokers(
                sorted(s.known_brokers), frozenset(p.broker.id for p in seen if not p.up)
            )

    @Slot(object)
    def _on_events(self, events: list[ClusterEvent]) -> None:
        self.overview.show_events(self.session.timeline.latest(5))
        charts = self._pages.get("charts")
        if isinstance(charts, LiveCharts):
            charts.add_events(events)

    @Slot()
    def _on_clock(self) -> None:
        self._update_freshness()
        if isinstance(self.tabs.currentWidget(), BrokersPage) and any(
            not b.up for b in self.session.liveness.values()
        ):
            self.brokers.update_liveness()

    def snapshot_age_s(self) -> float | None:
        last = self.session.last_refresh
        return None if last is None else max(0.0, time.time() - last)

    def is_stale(self) -> bool:
        """The last good snapshot is older than the refresh should allow (or refreshes fail)."""
        s = self.session
        age = self.snapshot_age_s()
        if age is None or s.paused:
            return False
        # the interval asked for, not the backed-off one: slow refreshes leave old data too
        late = max(LATE_MIN_S, LATE_FACTOR * s.refresh_interval_s)
        return s.state != SessionState.CONNECTED or age > late

    @Slot(object)
    def _on_snapshot(self, s: ClusterSnapshot) -> None:
        # Only the visible screen is updated now; the others catch up when shown.
        self._latest = s
        self._apply(self.tabs.currentWidget())
        charts = self._pages.get("charts")
        if s.complete and isinstance(charts, LiveCharts):
            charts.add_snapshot(s)
        self.banner.setVisible(False)
        self._on_liveness()
        self._update_freshness()

    def _on_tab(self, page: QWidget) -> None:
        self._apply(page)
        topics = self._pages.get("topics")
        if isinstance(page, ProducerPage) and isinstance(topics, TopicsPage):
            chosen = topics.selected()
            if chosen is not None:  # produce to the topic the user was looking at
                page.preselect_topic(chosen.name)

    def _apply(self, page: QWidget) -> None:
        s = self._latest
        if s is None or isinstance(page, PagePlaceholder) or self._applied.get(page) is s:
            return
        self._applied[page] = s
        if isinstance(page, OverviewPage | BrokersPage | TopicsPage | ReplicationPage):
            page.set_snapshot(s)
        if isinstance(page, OverviewPage):
            self._on_liveness()

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
        text = self.status_text()
        self.freshness.setText(text)
        self.freshness.setToolTip(text)
        self.status_changed.emit()

    def status_text(self) -> str:
        s = self.session
        if s.last_refresh is None:
            return s.state.value
        if self.is_stale():
            age = int(self.snapshot_age_s() or 0)
            text = f"stale: last good snapshot {age} s ago · {s.state.value}"
        else:
            stamp = time.strftime("%H:%M:%S", time.localtime(s.last_refresh))
            text = f"{s.state.value} · last refresh {stamp}"
        if s.snapshot is not None and not s.snapshot.complete:
            text += " · still loading watermarks and configs"
        if s.backed_off and s.last_refresh_s is not None:
            text += (
                f" · slow cluster: a refresh takes {s.last_refresh_s:.1f} s, so every "
                f"{s.effective_interval_s:.0f} s"
            )
        return text

    def close_session(self) -> None:
        self.session.close()
        groups = self._pages.get("groups")
        if isinstance(groups, GroupsPage):
            groups.poller.close()  # its helper process ends with the tab
