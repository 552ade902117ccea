"""A topic's consumers: the groups with commits on it (share groups: share-partition state)
and their lag on that topic; apart, the groups that could not be read."""

from __future__ import annotations

from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from desktop.domain.groups import LAG_RULE, GroupSummary
from desktop.domain.topic_consumers import TopicConsumerList
from desktop.models.groups import TopicConsumersModel
from desktop.views.widgets.common import FilterProxy, InfoButton, make_table, set_role
from desktop.workers.groups import GroupsPoller
from desktop.workers.session import ClusterSession


class TopicConsumers(QWidget):
    """Loads lazily: only while visible, once per topic shown, and on Refresh."""

    def __init__(self, session: ClusterSession) -> None:
        super().__init__()
        self.poller = GroupsPoller(session)
        self.topic: str | None = None
        self._loaded_for: str | None = None
        self._loading = False
        self.model = TopicConsumersModel()
        self.proxy = FilterProxy(0)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        for col, width in enumerate((260, 80, 150, 80, 150, 110, 130, 300)):
            self.table.setColumnWidth(col, width)
        self.status = QLabel("")
        set_role(self.status, "muted")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.load)
        # groups that could not be read and may or may not read this topic: never rows
        self.unread = QLabel("")
        self.unread.setWordWrap(True)
        set_role(self.unread, "warn")
        self.unread.hide()
        self.lag_rule = InfoButton("How lag is counted", LAG_RULE)
        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.lag_rule)
        bar.addWidget(self.refresh_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.unread)

    def show_topic(self, topic: str | None) -> None:
        if topic == self.topic:
            return
        self.topic = topic
        self.model.set_rows([])
        self.status.setText("")
        self._show_unread(TopicConsumerList(topic or "", ()))
        if self.isVisible():
            self.load()

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self.topic is not None and self._loaded_for != self.topic:
            self.load()

    def load(self) -> None:
        topic = self.topic
        if topic is None or self._loading:
            return
        self._loading = True
        self.status.setText(f"Finding the groups that consume '{topic}'…")

        def done(found: TopicConsumerList) -> None:
            self._loading = False
            self._loaded_for = topic
            if topic != self.topic:
                self.load()
                return
            self.model.set_rows(list(found.consumers))
            self.status.setText(consumers_text(topic, list(found.consumers)))
            self._show_unread(found)

        def failed(message: str) -> None:
            self._loading = False
            self.status.setText(message)

        # the rows shown now stand, marked stale, for groups whose offsets cannot be read
        known = self.model.rows if self._loaded_for == topic else []
        self.poller.topic_consumers(topic, done, failed, known)

    def _show_unread(self, found: TopicConsumerList) -> None:
        self.unread.setText(found.unread_text())
        self.unread.setToolTip(found.unread_tooltip())
        self.unread.setVisible(bool(found.unread))


def consumers_text(topic: str, groups: list[GroupSummary]) -> str:
    """E.g. "3 groups with committed offsets on 'orders', 1 of them a share group; the
    offsets of 1 could not be read (hover over the row for why)."."""
    noun = "group" if len(groups) == 1 else "groups"
    text = f"{len(groups):,} {noun} with committed offsets on '{topic}'"
    shares = sum(1 for g in groups if g.group_type == "share")
    if shares:
        text += f", {shares:,} of them {'a share group' if shares == 1 else 'share groups'}"
    unread = sum(1 for g in groups if g.offsets_error)
    if unread:
        text += f"; the offsets of {unread:,} could not be read (hover over the row for why)"
    return text + "."
