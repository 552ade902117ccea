"""Live charts screen: produce rate per topic and leader count per broker."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.charts.rates import SeriesStore
from desktop.domain.cluster import ClusterSnapshot

PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
SHOWN_TOPICS = 8


def _plot(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#1d2733", size="11pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", "seconds")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(10, 10))
    plot.setDownsampling(mode="peak")
    plot.setClipToView(True)
    return plot


class LiveCharts(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.store = SeriesStore()
        self.rate_plot = _plot("Produce rate per topic (messages/s)", "msg/s")
        self.leader_plot = _plot("Partition leaders per broker", "leaders")
        self._rate_curves: dict[str, pg.PlotDataItem] = {}
        self._leader_curves: dict[int, pg.PlotDataItem] = {}
        self.note = QLabel("Rates come from high-watermark deltas between refreshes.")
        self.note.setStyleSheet("color: #5f6b7a;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.rate_plot, 1)
        layout.addWidget(self.leader_plot, 1)
        layout.addWidget(self.note)

    def add_snapshot(self, s: ClusterSnapshot) -> None:
        self.store.add(s)
        shown = self.store.top_topics(SHOWN_TOPICS)
        for name in list(self._rate_curves):
            if name not in shown:
                self.rate_plot.removeItem(self._rate_curves.pop(name))
        for i, name in enumerate(shown):
            curve = self._rate_curves.get(name)
            if curve is None:
                pen = pg.mkPen(PALETTE[i % len(PALETTE)], width=2)
                curve = self._rate_curves[name] = self.rate_plot.plot(name=name, pen=pen)
            t, v = self.store.rates[name].arrays()
            curve.setData(t, v)
        for i, (broker, buf) in enumerate(sorted(self.store.leaders.items())):
            curve = self._leader_curves.get(broker)
            if curve is None:
                pen = pg.mkPen(PALETTE[i % len(PALETTE)], width=2)
                curve = self.leader_plot.plot(name=f"broker {broker}", pen=pen, stepMode=None)
                self._leader_curves[broker] = curve
            t, v = buf.arrays()
            curve.setData(t, v)
