"""Chart axes: whole-number ticks for counts, SI rate labels with no multiplier, shared x."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from desktop.charts.plots import LazyPlot, link_x, make_plot, rate_labels


def _ticks(plot: object, qtbot: QtBot) -> list[float]:
    plot.resize(500, 300)  # type: ignore[attr-defined]
    plot.show()  # type: ignore[attr-defined]
    qtbot.waitExposed(plot)
    vb = plot.getPlotItem().getViewBox()  # type: ignore[attr-defined]
    vb.autoRange()
    lo, hi = vb.viewRange()[1]
    axis = plot.getAxis("left")  # type: ignore[attr-defined]
    return [v for _spacing, values in axis.tickValues(lo, hi, 300) for v in values]


def test_a_flat_line_of_integers_has_whole_number_ticks(qtbot: QtBot) -> None:
    plot = make_plot("Partition leaders per broker", "leaders")
    qtbot.addWidget(plot)
    plot.plot(np.arange(10.0), np.full(10, 5.0))
    ticks = _ticks(plot, qtbot)
    assert ticks and 5.0 in ticks
    assert all(float(t).is_integer() for t in ticks)


def test_a_rate_near_zero_shows_no_tiny_range_nor_multiplier(qtbot: QtBot) -> None:
    plot = make_plot("Consumption vs produce rate", "offsets/s")
    qtbot.addWidget(plot)
    plot.plot(np.arange(10.0), np.array([0.0, 0.0004, 0.0, 0.0002, 0.0] * 2))
    _ticks(plot, qtbot)
    lo, hi = plot.getPlotItem().getViewBox().viewRange()[1]
    assert lo >= 0 and hi - lo >= 1 - 1e-9  # not ±0.0004, drawn as "±400 (x0.001)"
    assert "x0.001" not in plot.getAxis("left").labelString()


def test_rate_labels_are_si_scaled() -> None:
    assert rate_labels([0.0, 1500.0, 3000.0], 1500.0) == ["0.0k", "1.5k", "3.0k"]
    assert rate_labels([0.0, 2e6, 4e6], 2e6) == ["0M", "2M", "4M"]
    assert rate_labels([0.0, 0.5, 1.0], 0.5) == ["0.0", "0.5", "1.0"]


def test_charts_of_one_screen_share_their_x_range(qtbot: QtBot) -> None:
    a, b = LazyPlot("rates", "msg/s"), LazyPlot("leaders", "leaders")
    link_x(a, b)
    for slot in (a, b):
        qtbot.addWidget(slot)
        slot.show()
    assert a.plot is not None and b.plot is not None
    a.plot.plot(np.array([100.0, 160.0]), np.array([1.0, 2.0]))
    b.plot.plot(np.array([130.0, 160.0]), np.array([3.0, 3.0]))
    a.plot.setXRange(100, 160, padding=0)
    assert b.plot.getPlotItem().getViewBox().viewRange()[0] == [100.0, 160.0]
