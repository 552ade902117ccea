"""Overview: identity, counts and health badges for one cluster."""

from __future__ import annotations

import html
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.controller import ControllerWatch
from desktop.domain.health import summarize
from desktop.domain.liveness import BrokerPresence
from desktop.domain.timeline import BAD_KINDS, ClusterEvent
from desktop.views.widgets.common import STATE_BADGE, Badge, StatCard, heading
from desktop.workers.session import ClusterSession

LATEST_EVENTS = 5


class OverviewPage(QWidget):
    CARDS = (
        ("brokers", "Brokers"),
        ("topics", "Topics"),
        ("partitions", "Partitions"),
        ("under_replicated", "Under-replicated"),
        ("under_min_isr", "Under min ISR"),
        ("offline", "Offline partitions"),
        ("groups", "Consumer groups"),
        ("messages", "Total messages"),
    )

    def __init__(self, session: ClusterSession | None = None) -> None:
        super().__init__()
        self._session = session
        self._snapshot: ClusterSnapshot | None = None
        self.cluster_id = QLabel("—")
        self.controller = QLabel("—")
        self.version = QLabel("—")
        for label in (self.cluster_id, self.controller, self.version):
            label.setStyleSheet("font-weight: 600;")
        ident = QGridLayout()
        ident.addWidget(QLabel("Cluster ID"), 0, 0)
        ident.addWidget(self.cluster_id, 0, 1)
        ident.addWidget(QLabel("Controller"), 1, 0)
        ident.addWidget(self.controller, 1, 1)
        ident.addWidget(QLabel("Version"), 2, 0)
        ident.addWidget(self.version, 2, 1)
        ident.setColumnStretch(2, 1)

        self.badges = {
            "replication": Badge("replication: —"),
            "min_isr": Badge("min ISR: —"),
            "availability": Badge("availability: —"),
        }
        badge_row = QHBoxLayout()
        for b in self.badges.values():
            badge_row.addWidget(b)
        badge_row.addStretch(1)

        self.cards: dict[str, StatCard] = {}
        grid = QGridLayout()
        grid.setSpacing(12)
        for i, (key, title) in enumerate(self.CARDS):
            card = StatCard(title)
            card.setObjectName("statCard")
            self.cards[key] = card
            grid.addWidget(card, i // 4, i % 4)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.addWidget(heading("Cluster"))
        layout.addLayout(ident)
        layout.addSpacing(6)
        layout.addLayout(badge_row)
        layout.addSpacing(10)
        layout.addLayout(grid)
        layout.addSpacing(10)
        layout.addWidget(heading("Latest events"))
        self.events = QLabel("No changes seen yet.")
        self.events.setTextFormat(Qt.TextFormat.RichText)
        self.events.setWordWrap(True)
        layout.addWidget(self.events)
        layout.addStretch(1)

    def show_events(self, events: list[ClusterEvent]) -> None:
        """The newest first (at most LATEST_EVENTS)."""
        if not events:
            self.events.setText("No changes seen yet.")
            return
        lines = []
        for e in events[:LATEST_EVENTS]:
            stamp = time.strftime("%H:%M:%S", time.localtime(e.at))
            colour = "#b3261e" if e.kind in BAD_KINDS else "#1e7b34"
            lines.append(
                f"<span style='color:#5f6b7a'>{stamp}</span> &nbsp;"
                f"<span style='color:{colour}'>{html.escape(e.kind.value)}</span> &nbsp;"
                f"{html.escape(e.detail if e.subject in e.detail else e.text)}"
            )
        self.events.setText("<br>".join(lines))

    def set_presence(self, brokers: tuple[BrokerPresence, ...]) -> None:
        """ "2 of 3 brokers up": every broker seen this session counts."""
        if not brokers:
            return
        up = sum(1 for b in brokers if b.up)
        total = len(brokers)
        text = f"{up:,} of {total:,} up" if up < total else f"{total:,}"
        if self.cards["brokers"].value.text() != text:  # a restyle per second costs a repaint
            self.cards["brokers"].set_value(text, "bad" if up < total else None)

    def set_snapshot(self, s: ClusterSnapshot) -> None:
        self.cluster_id.setText(s.cluster_id or "—")
        ctrl = next((b for b in s.brokers if b.id == s.controller_id), None)
        watch = self._session.controller if self._session is not None else ControllerWatch()
        self.controller.setText(watch.describe(s.controller_id, ctrl.address if ctrl else None))
        unknown = "Kafka (version not known: probed on PLAINTEXT listeners only)"
        self.version.setText(s.version or unknown)
        health = summarize(s)
        ur, umi, off = s.under_replicated, s.under_min_isr, s.offline
        if self._session is None or not self._session.known_brokers:
            self.cards["brokers"].set_value(f"{len(s.brokers):,}")
        self.cards["topics"].set_value(f"{len(s.topics):,}")
        self.cards["partitions"].set_value(f"{s.partition_count:,}")
        self.cards["under_replicated"].set_value(f"{ur:,}", "warn" if ur else None)
        self.cards["under_min_isr"].set_value(f"{umi:,}", "bad" if umi else None)
        self.cards["offline"].set_value(f"{off:,}", "bad" if off else None)
        self.cards["groups"].set_value("—" if s.group_count is None else f"{s.group_count:,}")
        self.cards["messages"].set_value(f"{s.total_messages:,}")
        self.badges["replication"].setText(
            "fully replicated" if not ur else f"{ur} under-replicated"
        )
        self.badges["replication"].set_kind("warn" if ur else "ok")
        self.badges["min_isr"].setText("min ISR met" if not umi else f"{umi} below min ISR")
        self.badges["min_isr"].set_kind("bad" if umi else "ok")
        self.badges["availability"].setText("all partitions led" if not off else f"{off} offline")
        self.badges["availability"].set_kind(STATE_BADGE[health.state] if off else "ok")
