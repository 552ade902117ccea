"""A pyqtgraph plot built when first shown, and named curves on it that follow ring buffers."""

from __future__ import annotations

from collections.abc import Callable

import pyqtgraph as pg
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QVBoxLayout, QWidget

from desktop.charts.ring import RingBuffer

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


def make_plot(title: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(background="w")
    plot.setTitle(title, color="#1d2733", size="11pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", "seconds")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(10, 10))
    plot.setDownsampling(mode="peak")
    plot.setClipToView(True)
    return plot


class LazyPlot(QWidget):
    """Holds a plot's place; builds it on first show. A PlotWidget takes ~25 ms of the GUI
    thread to build and a cluster tab has five, most never looked at."""

    def __init__(self, title: str, left: str) -> None:
        super().__init__()
        self._spec = (title, left)
        self.plot: pg.PlotWidget | None = None
        self.on_built: list[Callable[[], None]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def showEvent(self, event: QShowEvent) -> None:
        if self.plot is None:
            self.plot = make_plot(*self._spec)
            layout = self.layout()
            assert layout is not None
            layout.addWidget(self.plot)
            for callback in self.on_built:
                callback()
        super().showEvent(event)


class Curves:
    """Named curves on one plot, created on first use and removed when no longer shown; the
    latest series are kept until the plot exists."""

    def __init__(self, slot: LazyPlot) -> None:
        self.slot = slot
        self.items: dict[str, pg.PlotDataItem] = {}
        self._series: list[tuple[str, RingBuffer]] = []
        self._created = 0
        slot.on_built.append(lambda: self.show(self._series))

    def show(self, series: list[tuple[str, RingBuffer]]) -> None:
        self._series = series
        plot = self.slot.plot
        if plot is None:
            return
        names = {n for n, _b in series}
        for name in list(self.items):
            if name not in names:
                plot.removeItem(self.items.pop(name))
        for name, buf in series:
            item = self.items.get(name)
            if item is None:
                # colours by creation order: a curve keeps its colour while others come and go
                pen = pg.mkPen(PALETTE[self._created % len(PALETTE)], width=2)
                self._created += 1
                item = self.items[name] = plot.plot(name=name, pen=pen)
            t, v = buf.arrays()
            item.setData(t, v)

    def points(self) -> int:
        """Points currently drawn (for tests and the status line)."""
        total = 0
        for item in self.items.values():
            xs = item.getData()[0]
            total += 0 if xs is None else len(xs)
        return total
