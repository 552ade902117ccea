"""The finish of every screen: aligned and unclipped columns, counts with separators, colours that
read in dark mode, a compact lag rule, and charts of one screen on one time range."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QLabel, QProgressBar, QTableView
from pytestqt.qtbot import QtBot

from desktop.charts.lag import GroupCharts, LagHistory
from desktop.charts.live import LiveCharts
from desktop.domain.cluster import PartitionInfo
from desktop.domain.health import BrokerLoad
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.models.health import BrokerLoadModel
from desktop.models.partitions import PartitionsModel
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.theme import StyleSheets, Theme, apply_theme
from desktop.views.widgets.common import InfoButton
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.messages_support import create_topic

Align = Qt.AlignmentFlag


SHEETS = StyleSheets.bundled()


@pytest.fixture(autouse=True)
def light_again(qapp: QApplication) -> Iterator[None]:
    yield
    apply_theme(qapp, Theme.LIGHT, SHEETS)


@pytest.fixture
def view(qtbot: QtBot, window: MainWindow) -> ClusterView:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    found = window.find_view(LOCAL_NAME)
    assert found is not None
    wait_snapshot(qtbot, found)
    return found


def _contrast(a: QColor, b: QColor) -> float:
    def lum(c: QColor) -> float:
        def ch(v: float) -> float:
            return v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4

        return 0.2126 * ch(c.redF()) + 0.7152 * ch(c.greenF()) + 0.0722 * ch(c.blueF())

    hi, lo = sorted((lum(a), lum(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_leader_sits_apart_from_partition_and_replicas(qtmodeltester: object) -> None:
    model = PartitionsModel()
    model.set_partitions((PartitionInfo("t", 0, 1, (1, 2, 3), (1, 2, 3), 0, 10),), 1)
    qtmodeltester.check(model)  # type: ignore[attr-defined]

    def align(col: int) -> int:
        return int(model.index(0, col).data(Qt.ItemDataRole.TextAlignmentRole))

    titles = [c.title for c in model.columns]
    partition, leader, replicas = (titles.index(t) for t in ("Partition", "Leader", "Replicas"))
    assert align(partition) & Align.AlignRight
    assert align(leader) & Align.AlignHCenter  # not right-aligned into "1, 2, 3"
    assert align(replicas) & Align.AlignLeft


def _clipped(table: QTableView) -> list[str]:
    header = table.horizontalHeader()
    model = table.model()
    last = header.count() - 1
    return [
        str(model.headerData(col, Qt.Orientation.Horizontal))
        for col in range(header.count())
        if not header.isSectionHidden(col)
        and not (header.stretchLastSection() and col == last)
        and header.sectionSize(col) < header.sectionSizeHint(col)
    ]


def test_no_table_header_is_clipped(qtbot: QtBot, view: ClusterView) -> None:
    for page in (view.topics, view.groups, view.brokers, view.replication, view.timeline):
        view.tabs.setCurrentWidget(page)
        qtbot.waitExposed(page)
    view.topics.detail.tabs.setCurrentIndex(0)
    tables = view.findChildren(QTableView)
    shown = [t for t in tables if t.isVisible()]
    assert len(shown) >= 1
    groups = view.groups
    view.tabs.setCurrentWidget(groups)
    for table in (groups.table, groups.detail.partitions_table, view.topics.detail.table):
        table.show()
        assert _clipped(table) == [], table.objectName()


def test_status_counts_connected_clusters_only(
    qtbot: QtBot, window: MainWindow, view: ClusterView
) -> None:
    window.open_cluster(ClusterProfile("nowhere", "127.0.0.1:1"), Credentials())
    window.tabs.setCurrentIndex(0)
    qtbot.waitUntil(
        lambda: window.status_cluster.text() == "1 cluster connected, 1 not connected",
        timeout=WAIT_MS,
    )


def test_status_bar_forgets_the_broker_after_stop(
    qtbot: QtBot, window: MainWindow, view: ClusterView
) -> None:
    window.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: "local broker at" in window.status_refresh.text())
    job = window.ctx.local.stop()
    assert job is not None
    qtbot.waitUntil(lambda: job.ended, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "local broker" not in window.status_refresh.text())


@pytest.mark.parametrize("theme", [Theme.LIGHT, Theme.DARK])
def test_progress_text_reads_on_the_fill_and_off_it(
    qtbot: QtBot, qapp: QApplication, theme: Theme
) -> None:
    apply_theme(qapp, theme, SHEETS)
    for value in (100, 0):
        bar = QProgressBar()
        qtbot.addWidget(bar)
        bar.resize(240, 22)
        bar.setRange(0, 100)
        bar.setValue(value)
        bar.setFormat("88%")
        bar.show()
        qtbot.waitExposed(bar)
        image = bar.grab().toImage()
        centre_y = image.height() // 2
        row = [image.pixelColor(x, centre_y) for x in range(90, 150)]
        fill = image.pixelColor(8, centre_y)  # left of the text: the fill (or the groove)
        best = max(_contrast(c, fill) for c in row)
        assert best >= 4.5, (theme, value, fill.name())


def test_start_screen_reads_in_dark_mode(
    qtbot: QtBot, qapp: QApplication, window: MainWindow
) -> None:
    apply_theme(qapp, Theme.DARK, SHEETS)
    start = window.start
    title = next(label for label in start.findChildren(QLabel) if label.text() == "Topicscope")
    qtbot.waitExposed(title)
    image = title.grab().toImage()
    colours = {
        image.pixelColor(x, y).lightness()
        for x in range(image.width())
        for y in range(image.height())
    }
    assert max(colours) > 180  # light letters on the dark window
    card = start.findChild(type(start.start_local.parentWidget()), "localCard")
    assert card is not None
    corner = card.grab().toImage().pixelColor(card.width() // 2, card.height() - 6)
    assert corner.lightness() < 80  # the card is dark too, not a white box


def test_lag_rule_is_an_info_button_not_a_paragraph(view: ClusterView) -> None:
    for page in (view.groups, view.topics.detail):
        paragraphs = [
            label
            for label in page.findChildren(QLabel)
            if label.text().startswith("Lag rule") and not label.isHidden()
        ]
        assert paragraphs == []
    buttons = view.groups.findChildren(InfoButton)
    assert len(buttons) >= 2  # the list and the group detail
    assert all("high watermark" in b.toolTip() for b in buttons)


def test_live_charts_share_one_time_range(qtbot: QtBot) -> None:
    charts = LiveCharts(1.0)
    qtbot.addWidget(charts)
    charts.resize(800, 600)
    charts.show()
    qtbot.waitExposed(charts)
    rate, leaders = charts.rate_plot.plot, charts.leader_plot.plot
    assert rate is not None and leaders is not None
    rate.setXRange(1_700_000_000, 1_700_000_600, padding=0)
    lo, hi = leaders.getViewBox().viewRange()[0]
    assert (round(lo), round(hi)) == (1_700_000_000, 1_700_000_600)


def test_group_charts_share_one_time_range(qtbot: QtBot) -> None:
    charts = GroupCharts(LagHistory())
    qtbot.addWidget(charts)
    charts.resize(800, 600)
    charts.show()
    qtbot.waitExposed(charts)
    lag, rate = charts.lag_plot.plot, charts.rate_plot.plot
    assert lag is not None and rate is not None
    rate.setXRange(10, 70, padding=0)
    lo, hi = lag.getViewBox().viewRange()[0]
    assert (round(lo), round(hi)) == (10, 70)


def test_counts_have_thousands_separators(qtbot: QtBot, view: ClusterView) -> None:
    create_topic(view.session.profile.bootstrap, "wide", 1200)
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(lambda: view.topics.select("wide"), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "1,200 partitions" in view.topics.detail.title.text())


def test_preferred_leader_share_is_a_right_aligned_number(qtmodeltester: object) -> None:
    model = BrokerLoadModel()
    model.set_rows([BrokerLoad(1, 17, 17, 17, 17)])
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    share = model.index(0, 3)
    assert share.data() == "100%"
    assert int(share.data(Qt.ItemDataRole.TextAlignmentRole)) & Align.AlignRight


@pytest.mark.parametrize("theme", [Theme.LIGHT, Theme.DARK])
def test_every_screen_fits_1024_by_640(
    qtbot: QtBot, qapp: QApplication, window: MainWindow, view: ClusterView, theme: Theme
) -> None:
    apply_theme(qapp, theme, SHEETS)
    for page in (view.overview, view.topics, view.charts, view.messages, view.producer):
        view.tabs.setCurrentWidget(page)
    view.tabs.setCurrentWidget(view.groups)
    qtbot.waitExposed(view.groups)
    need = window.minimumSizeHint()
    assert need.width() <= 1024 and need.height() <= 640, (need.width(), need.height())
