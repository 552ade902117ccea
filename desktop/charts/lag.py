"""Lag over time: bounded ring buffers fed by group refreshes, and the pyqtgraph plots."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from pyqtgraph import ViewBox
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from desktop.charts.plots import Curves, LazyPlot, link_x
from desktop.charts.ring import RingBuffer
from desktop.domain.groups import GroupDetail, GroupSummary
from desktop.views.widgets.common import set_role

MAX_GROUP_SERIES = 500  # groups with a history (bounded memory at 5,000+ groups)
MAX_PARTITION_SERIES = 256
SHOWN_GROUPS = 8
SHOWN_PARTITIONS = 12
CATCH_UP_WINDOW_S = 30.0  # the rates behind a catch-up estimate: the last 30 s of refreshes


class LagHistory:
    """Per group: total lag, consumption rate (committed deltas), produce rate (HW deltas);
    per partition of the groups opened in detail: lag."""

    def __init__(self, capacity: int = 720) -> None:
        self.capacity = capacity
        self.t0: float | None = None
        self.total: dict[str, RingBuffer] = {}
        self.consumed: dict[str, RingBuffer] = {}
        self.produced: dict[str, RingBuffer] = {}
        self.partitions: dict[tuple[str, str, int], RingBuffer] = {}
        # per group: when, and (which partitions, committed total, end total)
        self._last: dict[str, tuple[float, tuple[int, int, int]]] = {}
        self._last_part: dict[tuple[str, str, int], float] = {}

    def _rel(self, t: float) -> float:
        if self.t0 is None:
            self.t0 = t
        return t - self.t0

    def add_groups(self, t: float, groups: Iterable[GroupSummary]) -> None:
        """One point per group: its total lag exactly as the table shows it (LagTotals)."""
        rel = self._rel(t)
        for g in groups:
            # a stale lag (its offsets could not be read this refresh) is no new sample
            if g.total_lag is None or g.offsets_error:
                continue
            buf = self.total.get(g.group_id)
            if buf is None:
                if len(self.total) >= MAX_GROUP_SERIES:
                    continue
                buf = self.total[g.group_id] = RingBuffer(self.capacity)
            buf.append(rel, float(g.total_lag))
            # rates only between samples over the same partitions, so a partition whose first
            # commit arrives does not count its whole history as one refresh's progress; the
            # totals are the table's, whether the summary is brief or full
            now = (g.rate_key(), g.totals.committed_total, g.totals.end_total)
            prev = self._last.get(g.group_id)
            self._last[g.group_id] = (t, now)
            if prev is None or t <= prev[0] or prev[1][0] != now[0]:
                continue
            dt = t - prev[0]
            consumed = now[1] - prev[1][1]
            produced = now[2] - prev[1][2]
            cons = self.consumed.setdefault(g.group_id, RingBuffer(self.capacity))
            prod = self.produced.setdefault(g.group_id, RingBuffer(self.capacity))
            cons.append(rel, max(0.0, consumed / dt))
            prod.append(rel, max(0.0, produced / dt))

    def add_detail(self, detail: GroupDetail) -> None:
        rel = self._rel(detail.fetched_at)
        gid = detail.summary.group_id
        for p in detail.summary.partitions:
            if p.lag is None:
                continue
            key = (gid, p.topic, p.partition)
            if self._last_part.get(key, -1.0) >= rel:
                continue
            buf = self.partitions.get(key)
            if buf is None:
                if len(self.partitions) >= MAX_PARTITION_SERIES:
                    continue
                buf = self.partitions[key] = RingBuffer(self.capacity)
            buf.append(rel, float(p.lag))
            self._last_part[key] = rel

    def top_groups(self, n: int) -> list[str]:
        def latest(gid: str) -> float:
            _t, v = self.total[gid].arrays()
            return float(v[-1]) if len(v) else 0.0

        return sorted(self.total, key=latest, reverse=True)[:n]

    def rates(
        self, group_id: str, window_s: float = CATCH_UP_WINDOW_S
    ) -> tuple[float, float] | None:
        """Mean (consumed, produced) offsets/s over the last `window_s`; None without samples."""
        cons, prod = self.consumed.get(group_id), self.produced.get(group_id)
        if cons is None or prod is None or not len(cons):
            return None
        t, c = cons.arrays()
        _t2, p = prod.arrays()
        recent = t >= t[-1] - window_s
        return float(c[recent].mean()), float(p[recent].mean())

    def catch_up_s(self, group_id: str, window_s: float = CATCH_UP_WINDOW_S) -> float | None:
        """Seconds until the lag reaches 0 at the rates of the last `window_s`; None unless
        the group consumed faster than the topic was produced to over that window."""
        total, rates = self.total.get(group_id), self.rates(group_id, window_s)
        if total is None or rates is None:
            return None
        _t, lag = total.arrays()
        net = rates[0] - rates[1]
        if not len(lag) or lag[-1] <= 0 or net <= 0:
            return None
        return float(lag[-1]) / net


class TotalLagChart(QWidget):
    """Total lag of the most-lagging groups over time."""

    def __init__(self, history: LagHistory) -> None:
        super().__init__()
        self.history = history
        self.plot = LazyPlot("Total lag per group (top groups by current lag)", "offsets behind")
        self.curves = Curves(self.plot)
        note = QLabel("One point per refresh; up to 500 groups are recorded, 720 points each.")
        set_role(note, "muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 8, 12, 8)
        layout.addWidget(self.plot, 1)
        layout.addWidget(note)

    def redraw(self) -> None:
        h = self.history
        self.curves.show([(g, h.total[g]) for g in h.top_groups(SHOWN_GROUPS)])

    def points(self) -> int:
        return self.curves.points()


class GroupCharts(QWidget):
    """One group: lag per partition, consumption against produce rate, catch-up estimate."""

    def __init__(self, history: LagHistory) -> None:
        super().__init__()
        self.history = history
        self.group_id: str | None = None
        self.lag_plot = LazyPlot("Lag per partition", "offsets behind")
        self.rate_plot = LazyPlot("Consumption vs produce rate", "offsets/s")
        self.lag_curves = Curves(self.lag_plot)
        self.rate_curves = Curves(self.rate_plot)
        link_x(self.lag_plot, self.rate_plot)  # one window of time, one above the other
        # Linked views switch each other's auto-range off as they pass ranges back and forth;
        # when both are off the window froze on its first second and new points were clipped.
        # The charts follow the newest points until the user pans or zooms one.
        self._user_moved = False
        for slot in (self.lag_plot, self.rate_plot):
            slot.on_built.append(partial(self._watch, slot))
        self.estimate = QLabel("")
        self.estimate.setStyleSheet("font-weight: 600;")
        note = QLabel(
            "Consumption rate: committed-offset deltas between refreshes; produce rate: "
            "high-watermark deltas of the same partitions."
        )
        note.setWordWrap(True)
        set_role(note, "muted")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.lag_plot, 1)
        layout.addWidget(self.rate_plot, 1)
        layout.addWidget(self.estimate)
        layout.addWidget(note)

    def _watch(self, slot: LazyPlot) -> None:
        if slot.plot is not None:
            slot.plot.getViewBox().sigRangeChangedManually.connect(self._moved)

    def _moved(self, *_args: object) -> None:
        self._user_moved = True

    def set_group(self, group_id: str | None) -> None:
        self.group_id = group_id
        self._user_moved = False
        self.redraw()

    def redraw(self) -> None:
        gid, h = self.group_id, self.history
        if gid is None:
            self.lag_curves.show([])
            self.rate_curves.show([])
            self.estimate.setText("")
            return
        parts = sorted(k for k in h.partitions if k[0] == gid)
        self.lag_curves.show(
            [(f"{t}[{p}]", h.partitions[(g, t, p)]) for g, t, p in parts][:SHOWN_PARTITIONS]
        )
        rates = []
        if gid in h.consumed:
            rates = [("consumed", h.consumed[gid]), ("produced", h.produced[gid])]
        self.rate_curves.show(rates)
        self.estimate.setText(catch_up_text(h.catch_up_s(gid), h.rates(gid)))
        if not self._user_moved:
            for slot in (self.lag_plot, self.rate_plot):
                if slot.plot is not None:
                    slot.plot.getViewBox().enableAutoRange(axis=ViewBox.XAxis)

    def points(self) -> int:
        return self.lag_curves.points()


def catch_up_text(
    seconds: float | None, rates: tuple[float, float] | None, window_s: float = CATCH_UP_WINDOW_S
) -> str:
    """The estimate with the window and rates it rests on; none unless consumption is faster."""
    if rates is None:
        return "Catch-up estimate: needs two refreshes."
    consumed, produced = rates
    basis = (
        f"at the last {window_s:.0f} s rates "
        f"({consumed:,.0f}/s consumed, {produced:,.0f}/s produced)"
    )
    if seconds is None:
        if consumed > produced:
            return f"Caught up {basis}."
        return f"No catch-up estimate: not consuming faster than producing {basis}."
    if seconds < 1:
        when = "under a second"
    elif seconds < 120:
        when = f"about {seconds:.0f} s"
    elif seconds < 7200:
        when = f"about {seconds / 60:.0f} min"
    else:
        when = f"about {seconds / 3600:.1f} h"
    return f"Catch-up in {when} {basis}."
