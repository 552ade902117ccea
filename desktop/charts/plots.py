"""pyqtgraph plots built when first shown, axes for counts and rates, shared time ranges, and
named curves that follow ring buffers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pyqtgraph as pg
from PySide6.QtCore import QEvent
from PySide6.QtGui import QPalette, QShowEvent
from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

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


AxisKind = Literal["auto", "count", "rate", "plain"]
SI_PREFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def si_format(value: float, digits: int = 0) -> str:
    """1234 -> "1.2k" style (with `digits` decimals after scaling); small values as they are."""
    for scale, prefix in SI_PREFIXES:
        if abs(value) >= scale:
            return f"{value / scale:.{max(digits, 1)}f}".rstrip("0").rstrip(".") + prefix
    return f"{value:.{digits}f}"


def count_ticks(levels: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Keep only whole-number tick spacings (pyqtgraph picks 1/2/5 x 10^n, so the ones left
    are whole): a flat line of integers never shows fractional ticks."""
    return [(sp, off) for sp, off in levels if sp >= 1] or [(1.0, 0.0)]


def count_labels(values: list[float]) -> list[str]:
    """Counts with thousands separators; SI-scaled from a million up."""
    return [si_format(v, 1) if abs(v) >= 1e6 else f"{round(v):,}" for v in values]


def rate_labels(values: list[float], spacing: float) -> list[str]:
    """Rates in SI units on the ticks themselves (850, 1.2k, 3.4M): never a "(x0.001)"
    multiplier in the title."""
    top = max((abs(v) for v in values), default=0.0)
    divisor, prefix = next(((sc, p) for sc, p in SI_PREFIXES if top >= sc), (1.0, ""))
    step = spacing / divisor
    digits = 0  # as many decimals as the tick step needs (1.5k needs one), at most three
    while digits < 3 and abs(step * 10**digits - round(step * 10**digits)) > 1e-6:
        digits += 1
    return [f"{v / divisor:.{digits}f}{prefix}" for v in values]


def count_axis() -> pg.AxisItem:
    axis = pg.AxisItem("left")
    spacing = axis.tickSpacing
    # per-instance overrides: pyqtgraph is untyped, so a subclass would subclass Any
    axis.tickSpacing = lambda lo, hi, size: count_ticks(spacing(lo, hi, size))
    axis.tickStrings = lambda values, _scale, _spacing: count_labels(values)
    return axis


def rate_axis() -> pg.AxisItem:
    axis = pg.AxisItem("left")
    axis.tickStrings = lambda values, _scale, spacing: rate_labels(values, spacing)
    return axis


def axis_kind(left: str, kind: AxisKind) -> AxisKind:
    """ "auto" picks rate for a per-second unit ("msg/s", "offsets/s"), otherwise count."""
    if kind != "auto":
        return kind
    return "rate" if left.strip().endswith("/s") else "count"


def chart_colors() -> tuple[str, str]:
    """(background, foreground) matching the application's current theme."""
    app = QApplication.instance()
    pal = app.palette() if isinstance(app, QApplication) else None
    dark = pal is not None and pal.color(QPalette.ColorRole.Window).lightness() < 128
    return ("#22272f", "#c9d1dc") if dark else ("#ffffff", "#3b4654")


def style_plot(plot: pg.PlotWidget, title: str) -> None:
    """(Re)colour a plot for the current theme."""
    bg, fg = chart_colors()
    plot.setBackground(bg)
    plot.setTitle(title, color=fg, size="11pt")
    for name in ("left", "bottom"):
        axis = plot.getAxis(name)
        axis.setPen(pg.mkPen(fg))
        axis.setTextPen(pg.mkPen(fg))


def make_plot(title: str, left: str, kind: AxisKind = "auto") -> pg.PlotWidget:
    kind = axis_kind(left, kind)
    axes: dict[str, pg.AxisItem] = {}
    if kind == "count":
        axes["left"] = count_axis()
    elif kind == "rate":
        axes["left"] = rate_axis()
    plot = pg.PlotWidget(axisItems=axes)
    style_plot(plot, title)
    plot.setLabel("left", left)
    plot.setLabel("bottom", "seconds")
    plot.getAxis("left").enableAutoSIPrefix(False)
    if kind in ("count", "rate"):
        # counts and rates are never negative; a span of at least 1 keeps a flat line near 0
        # from being blown up to ±0.0004 (shown as "±400 (x0.001)")
        plot.getPlotItem().getViewBox().setLimits(yMin=0, minYRange=1)
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.addLegend(offset=(10, 10))
    plot.setDownsampling(mode="peak")
    plot.setClipToView(True)
    return plot


class LazyPlot(QWidget):
    """Holds a plot's place; builds it on first show. A PlotWidget takes ~25 ms of the GUI
    thread to build and a cluster tab has five, most never looked at."""

    def __init__(self, title: str, left: str, kind: AxisKind = "auto") -> None:
        super().__init__()
        self._spec = (title, left, kind)
        self.plot: pg.PlotWidget | None = None
        self.on_built: list[Callable[[], None]] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def build(self) -> pg.PlotWidget:
        if self.plot is None:
            self.plot = make_plot(*self._spec)
            layout = self.layout()
            assert layout is not None
            layout.addWidget(self.plot)
            for callback in self.on_built:
                callback()
        return self.plot

    def showEvent(self, event: QShowEvent) -> None:
        self.build()
        super().showEvent(event)

    def changeEvent(self, event: QEvent) -> None:
        if self.plot is not None and event.type() in (
            QEvent.Type.PaletteChange,
            QEvent.Type.ApplicationPaletteChange,
        ):
            style_plot(self.plot, self._spec[0])
        super().changeEvent(event)


def link_x(*slots: LazyPlot) -> None:
    """Share one x (time) range across the charts of a screen: panning or zooming one moves
    the others, and all show the same window of time whichever got data first."""

    def link() -> None:
        built = [s.plot for s in slots if s.plot is not None]
        for plot in built[1:]:
            plot.setXLink(built[0])

    for slot in slots:
        slot.on_built.append(link)


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
