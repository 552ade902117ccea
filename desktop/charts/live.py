"""Live charts screen: produce rate per topic and leader count per broker."""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.charts.plots import Curves, LazyPlot
from desktop.charts.rates import SeriesStore
from desktop.domain.cluster import ClusterSnapshot

SHOWN_TOPICS = 8


class LiveCharts(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.store = SeriesStore()
        self.rate_plot = LazyPlot("Produce rate per topic (messages/s)", "msg/s")
        self.leader_plot = LazyPlot("Partition leaders per broker", "leaders")
        self._rates = Curves(self.rate_plot)
        self._leaders = Curves(self.leader_plot)
        self.note = QLabel("Rates come from high-watermark deltas between refreshes.")
        self.note.setStyleSheet("color: #5f6b7a;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.rate_plot, 1)
        layout.addWidget(self.leader_plot, 1)
        layout.addWidget(self.note)

    def add_snapshot(self, s: ClusterSnapshot) -> None:
        self.store.add(s)
        rates = self.store.rates
        self._rates.show([(n, rates[n]) for n in self.store.top_topics(SHOWN_TOPICS)])
        leaders = sorted(self.store.leaders.items())
        self._leaders.show([(f"broker {b}", buf) for b, buf in leaders])
