"""Live charts screen: produce rate per topic and leader count per broker, with event markers."""

from __future__ import annotations

from typing import Any

import pyqtgraph as pg
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.charts.plots import Curves, LazyPlot, link_x
from desktop.charts.rates import SeriesStore
from desktop.domain.cluster import ClusterSnapshot
from desktop.domain.timeline import BAD_KINDS, ClusterEvent
from desktop.views.widgets.common import set_role

SHOWN_TOPICS = 8
MAX_MARKERS = 200  # per plot: the newest; older ones are dropped with their lines


def integer_ticks(axis: pg.AxisItem) -> pg.AxisItem:
    """Ticks on whole numbers only: a count of leaders is never 2.5."""
    general = axis.tickValues

    def ticks(lo: float, hi: float, size: float) -> list[Any]:
        out = [
            (spacing, [v for v in values if float(v).is_integer()])
            for spacing, values in general(lo, hi, size)
            if spacing >= 1
        ]
        return out or [(1.0, [float(v) for v in range(int(lo), int(hi) + 1)])]

    axis.tickValues = ticks
    return axis


def _wall_clock(slot: LazyPlot, integer: bool) -> None:
    plot = slot.plot
    if plot is None:
        return
    axes: dict[str, pg.AxisItem] = {"bottom": pg.DateAxisItem(orientation="bottom")}
    if integer:
        axes["left"] = integer_ticks(pg.AxisItem(orientation="left"))
    plot.setAxisItems(axes)
    plot.setLabel("bottom", "time")


class Markers:
    """A vertical line per instant with timeline events on one plot (a failover brings a dozen
    events in one refresh: one line, labelled with their count), kept until the plot exists."""

    def __init__(self, slot: LazyPlot) -> None:
        self.slot = slot
        self.instants: dict[float, list[ClusterEvent]] = {}
        self.lines: dict[float, pg.InfiniteLine] = {}
        slot.on_built.append(self._draw_all)

    def add(self, events: list[ClusterEvent]) -> None:
        touched: set[float] = set()
        for e in events:
            at = round(e.at, 1)
            self.instants.setdefault(at, []).append(e)
            touched.add(at)
        for old in sorted(self.instants)[:-MAX_MARKERS]:
            del self.instants[old]
            touched.discard(old)
            self._remove(old)
        if self.slot.plot is not None:
            for at in sorted(touched):
                self._draw(at)

    def _draw_all(self) -> None:
        for at in sorted(self.instants):
            self._draw(at)

    def _remove(self, at: float) -> None:
        line = self.lines.pop(at, None)
        if line is not None and self.slot.plot is not None:
            self.slot.plot.removeItem(line)

    def _draw(self, at: float) -> None:
        plot = self.slot.plot
        assert plot is not None
        self._remove(at)
        events = self.instants[at]
        bad = any(e.kind in BAD_KINDS for e in events)
        colour = "#d62728" if bad else "#2ca02c"
        label = events[0].kind.value if len(events) == 1 else f"{len(events):,} events"
        line = pg.InfiniteLine(
            pos=at,
            angle=90,
            pen=pg.mkPen(colour, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            label=label,
            labelOpts={"position": 0.7, "color": colour, "rotateAxis": (1, 0)},
        )
        line.setToolTip("\n".join(e.text for e in events[:20]))
        plot.addItem(line, ignoreBounds=True)
        self.lines[at] = line


class LiveCharts(QWidget):
    def __init__(self, interval_s: float = 5.0) -> None:
        super().__init__()
        self.store = SeriesStore(interval_s=interval_s)
        self.rate_plot = LazyPlot("Produce rate per topic (messages/s)", "msg/s")
        self.leader_plot = LazyPlot("Partition leaders per broker", "leaders")
        self.rate_plot.on_built.append(lambda: _wall_clock(self.rate_plot, integer=False))
        self.leader_plot.on_built.append(lambda: _wall_clock(self.leader_plot, integer=True))
        self._rates = Curves(self.rate_plot)
        self._leaders = Curves(self.leader_plot)
        link_x(self.rate_plot, self.leader_plot)  # one window of time, one above the other
        self.markers = [Markers(self.rate_plot), Markers(self.leader_plot)]
        self.note = QLabel(
            "Rates come from high-watermark deltas between refreshes; a missed refresh is a gap "
            "in the line, never a zero. Dashed lines mark timeline events."
        )
        set_role(self.note, "muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.rate_plot, 1)
        layout.addWidget(self.leader_plot, 1)
        layout.addWidget(self.note)

    def set_interval(self, seconds: float) -> None:
        self.store.interval_s = seconds

    def add_events(self, events: list[ClusterEvent]) -> None:
        for m in self.markers:
            m.add(events)

    def add_snapshot(self, s: ClusterSnapshot) -> None:
        self.store.add(s)
        rates = self.store.rates
        self._rates.show([(n, rates[n]) for n in self.store.top_topics(SHOWN_TOPICS)])
        leaders = sorted(self.store.leaders.items())
        self._leaders.show([(f"broker {b}", buf) for b, buf in leaders])
