"""The message browser's finish (issue 14): sorting, time formats, columns, fair stop-at-N,
per-partition start offsets, the empty detail pane, and a layout that fits small windows."""

from __future__ import annotations

import random
import time
from collections import Counter
from itertools import combinations
from pathlib import Path

from confluent_kafka import Producer
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QProgressBar,
    QWidget,
)
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.domain.messages import TIMESTAMP, Record, Row, StartMode, StopMode
from desktop.domain.timefmt import TimeFormat, format_timestamp
from desktop.models.messages import MessagesModel
from desktop.views.message_detail import EMPTY_TEXT
from desktop.views.messages import MessagesPage
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    click,
    create_topic,
    prefs_at,
    scan,
    session_fixture,  # noqa: F401 (a fixture)
)

BASE_MS = 1_700_000_000_123  # 2023-11-14 22:13:20.123 UTC


def produce_to(bootstrap: str, topic: str, per_partition: dict[int, int], **kw: int) -> None:
    """`per_partition[p]` messages into each partition p, timestamps shuffled across them."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    rng = random.Random(sum(per_partition.values()) + time.monotonic_ns())
    for p, n in per_partition.items():
        for i in range(n):
            stamp = kw.get("timestamp") or BASE_MS + rng.randrange(0, 10_000_000)
            producer.produce(topic, value=f"{p}-{i}".encode(), partition=p, timestamp=stamp)
            if i % 5000 == 0:
                producer.poll(0)
    assert producer.flush(60) == 0


def click_header(qtbot: QtBot, page: MessagesPage, column: int) -> None:
    header = page.table.horizontalHeader()
    x = header.sectionViewportPosition(column) + header.sectionSize(column) // 2
    qtbot.mouseClick(
        header.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, header.height() // 2)
    )


def shown_timestamps(page: MessagesPage) -> list[int]:
    return [r.timestamp for r in page.model.records]


def test_clicking_timestamp_sorts_and_rows_stay_sorted_while_a_scan_appends(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "sortme", 3)
    produce_to(builtin_broker.bootstrap, "sortme", {0: 3000, 1: 3000, 2: 3000})
    click_header(qtbot, browser, MessagesModel.TIMESTAMP)
    assert browser.model.sort_column == MessagesModel.TIMESTAMP
    seen: list[list[Row]] = []

    def check() -> None:  # after every batch merged in during the scan (checked afterwards)
        seen.append(browser.model.view_rows())

    browser.model.layoutChanged.connect(check)
    browser.stop_mode.setCurrentText(StopMode.LIVE.value)
    browser.topic.setCurrentText("sortme")
    click(qtbot, browser.scan_button)
    qtbot.waitUntil(lambda: browser.model.rowCount() == 9000, timeout=WAIT_MS)
    for more in range(1, 4):  # new messages, older and newer than those shown, while tailing
        produce_to(builtin_broker.bootstrap, "sortme", {0: 1000, 1: 1000, 2: 1000})
        qtbot.waitUntil(lambda n=more: browser.model.rowCount() == 9000 + n * 3000, timeout=WAIT_MS)
    click(qtbot, browser.stop_button)
    qtbot.waitUntil(lambda: not browser.scanning, timeout=WAIT_MS)
    browser.model.layoutChanged.disconnect(check)
    assert len(seen) >= 4  # the rows came in several batches, each landing in sorted place
    for rows in seen:
        stamps = [r[TIMESTAMP] for r in rows]
        assert stamps == sorted(stamps)
    stamps = shown_timestamps(browser)
    assert stamps == sorted(stamps)
    first_shown = browser.model.index(0, MessagesModel.TIMESTAMP).data()
    assert first_shown == format_timestamp(stamps[0])  # the view shows the sorted rows

    # a second click: newest first; the selection stays on the same message
    browser.table.selectRow(0)
    selected = browser.selected_records()[0]
    click_header(qtbot, browser, MessagesModel.TIMESTAMP)
    stamps = shown_timestamps(browser)
    assert stamps == sorted(stamps, reverse=True)
    assert browser.selected_records() == [selected]
    assert browser.detail.record == selected

    # offset, partition and size sort too
    for col, key in (
        (MessagesModel.OFFSET, lambda r: r.offset),
        (MessagesModel.PARTITION, lambda r: r.partition),
        (MessagesModel.SIZE, lambda r: r.size),
    ):
        click_header(qtbot, browser, col)
        keys = [key(r) for r in browser.model.records]
        assert keys in (sorted(keys), sorted(keys, reverse=True))


def test_stop_at_n_takes_a_fair_share_of_every_partition(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "spread", 6)
    produce_to(builtin_broker.bootstrap, "spread", {p: 50 for p in range(6)})
    browser.stop_mode.setCurrentText(StopMode.COUNT.value)
    browser.stop_count.setValue(60)
    scan(qtbot, browser, "spread")
    assert Counter(r.partition for r in browser.model.records) == {p: 10 for p in range(6)}
    assert browser.last_result is not None
    assert browser.last_result.reason == "limit"
    assert all(p.done for p in browser.last_result.partitions)
    assert browser.progress.value() == 1000 or browser.last_result.fraction == 1.0
    # the form says what it does
    assert (
        "split evenly over partitions"
        in browser.stop_param.currentWidget().findChildren(QLabel)[0].text()
    )

    # a short partition gives what it cannot use to the others
    create_topic(builtin_broker.bootstrap, "uneven", 6)
    produce_to(builtin_broker.bootstrap, "uneven", {**{p: 50 for p in range(5)}, 5: 4})
    scan(qtbot, browser, "uneven")
    counts = Counter(r.partition for r in browser.model.records)
    assert sum(counts.values()) == 60
    assert counts[5] == 4
    assert max(counts[p] for p in range(5)) - min(counts[p] for p in range(5)) <= 1


def test_start_offsets_per_partition_are_honoured(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage, session: ClusterSession
) -> None:
    create_topic(builtin_broker.bootstrap, "starts", 3)
    produce_to(builtin_broker.bootstrap, "starts", {0: 20, 1: 20, 2: 20})
    session.refresh()
    qtbot.waitUntil(
        lambda: session.snapshot is not None and session.snapshot.topic("starts") is not None,
        timeout=WAIT_MS,
    )
    browser.set_topic("starts")
    browser.start_mode.setCurrentText(StartMode.PER_PARTITION.value)
    table = browser.offsets_table
    assert table.isVisible()
    assert table.rowCount() == 3
    table.item(0, 1).setText("5")
    table.item(2, 1).setText("18")  # partition 1 left blank: from the earliest
    click(qtbot, browser.scan_button)
    qtbot.waitUntil(lambda: browser.scan is not None and not browser.scanning, timeout=WAIT_MS)
    first: dict[int, int] = {}
    for rec in sorted(browser.model.records, key=lambda r: (r.partition, r.offset)):
        first.setdefault(rec.partition, rec.offset)
    assert first == {0: 5, 1: 0, 2: 18}
    assert browser.model.rowCount() == 15 + 20 + 2

    table.item(1, 1).setText("ten")
    click(qtbot, browser.scan_button)
    assert "Start offset of partition 1" in browser.search_error.text()
    browser.start_mode.setCurrentText(StartMode.EARLIEST.value)
    assert not table.isVisible()


def test_time_format_toggle_changes_the_shown_text_and_is_remembered(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    browser: MessagesPage,
    session: ClusterSession,
    tmp_path: Path,
) -> None:
    create_topic(builtin_broker.bootstrap, "stamped", 1)
    produce_to(builtin_broker.bootstrap, "stamped", {0: 1}, timestamp=BASE_MS)
    scan(qtbot, browser, "stamped")
    browser.table.selectRow(0)

    def shown() -> str:
        return str(browser.model.index(0, MessagesModel.TIMESTAMP).data())

    local = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(BASE_MS // 1000)) + ".123"
    assert shown() == local
    expected = {
        TimeFormat.UTC: "2023-11-14 22:13:20.123 UTC",
        TimeFormat.ISO: "2023-11-14T22:13:20.123Z",
        TimeFormat.EPOCH: "1700000000123",
        TimeFormat.LOCAL: local,
    }
    for fmt, text in expected.items():
        browser.time_format.setCurrentText(fmt.value)
        assert shown() == text
        assert text in browser.detail.summary.text()
    browser.time_format.setCurrentText(TimeFormat.ISO.value)
    assert browser.prefs.store.flush()  # written on the write-behind thread
    again = MessagesPage(session, prefs_at(tmp_path))
    qtbot.addWidget(again)
    assert again.time_format.currentText() == TimeFormat.ISO.value
    assert again.model.time_format is TimeFormat.ISO
    again.shutdown()


def test_column_chooser_hides_and_shows_columns_and_remembers(
    qtbot: QtBot, browser: MessagesPage, session: ClusterSession, tmp_path: Path
) -> None:
    menu = browser.column_menu()
    actions = {a.text(): a for a in menu.actions() if a.isCheckable()}
    assert list(actions) == list(MessagesModel.TITLES)
    assert all(a.isChecked() for a in actions.values())
    actions["Type"].setChecked(False)
    actions["Headers"].setChecked(False)
    assert browser.table.isColumnHidden(MessagesModel.TS_TYPE)
    assert browser.table.isColumnHidden(MessagesModel.HEADERS)
    actions["Headers"].setChecked(True)
    assert not browser.table.isColumnHidden(MessagesModel.HEADERS)
    menu.deleteLater()

    assert browser.prefs.store.flush()  # written on the write-behind thread
    again = MessagesPage(session, prefs_at(tmp_path))
    qtbot.addWidget(again)
    hidden = [t for c, t in enumerate(MessagesModel.TITLES) if again.table.isColumnHidden(c)]
    assert hidden == ["Type"]
    reopened = {a.text(): a for a in again.column_menu().actions() if a.isCheckable()}
    assert not reopened["Type"].isChecked()
    again.shutdown()


def test_the_empty_detail_pane_says_select_a_message(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    detail = browser.detail
    assert detail.placeholder.isVisible()
    assert detail.placeholder.text() == EMPTY_TEXT
    assert not detail.value.isVisible()  # no "Value null" before anything is chosen
    create_topic(builtin_broker.bootstrap, "one", 1)
    produce_to(builtin_broker.bootstrap, "one", {0: 2})
    scan(qtbot, browser, "one")
    browser.table.selectRow(1)
    assert not detail.placeholder.isVisible()
    assert detail.value.isVisible()
    browser.table.clearSelection()
    assert detail.placeholder.isVisible()


LEAVES = (QAbstractButton, QLabel, QLineEdit, QComboBox, QAbstractSpinBox, QProgressBar)


def visible_rect(w: QWidget, page: QWidget) -> QRect:
    """Where `w` shows on the page: its rectangle cut by every ancestor's (a scroll viewport)."""
    rect = QRect(w.mapTo(page, QPoint(0, 0)), w.size())
    parent = w.parentWidget()
    while parent is not None and parent is not page:
        rect = rect.intersected(QRect(parent.mapTo(page, QPoint(0, 0)), parent.size()))
        parent = parent.parentWidget()
    return rect


def controls(page: QWidget) -> list[QWidget]:
    """Visible leaf controls: inside a combo, spin box or item view they are its own parts."""
    found = []
    for w in page.findChildren(QWidget):
        if not isinstance(w, (*LEAVES, QAbstractItemView)) or not w.isVisible():
            continue
        parent = w.parentWidget()
        inner = False
        while parent is not None and parent is not page:
            if isinstance(parent, (QComboBox, QAbstractSpinBox, QAbstractItemView)):
                inner = True
                break
            parent = parent.parentWidget()
        if not inner and not visible_rect(w, page).isEmpty():
            found.append(w)
    return found


def assert_tidy(page: MessagesPage) -> None:
    widgets = controls(page)
    assert len(widgets) > 25
    for a, b in combinations(widgets, 2):
        if a.isAncestorOf(b) or b.isAncestorOf(a):
            continue
        ra, rb = visible_rect(a, page), visible_rect(b, page)
        assert not ra.intersects(rb), f"{a!r} {ra} overlaps {b!r} {rb}"
    for w in widgets:
        if isinstance(w, QAbstractButton) and w.text():
            needed = QFontMetrics(w.font()).horizontalAdvance(w.text().replace("&", ""))
            if w.icon().isNull() is False:
                needed += w.iconSize().width()
            assert needed + 8 <= w.width(), f"'{w.text()}' clipped: {w.width()} < {needed}"


def test_layout_fits_small_windows_and_keeps_15_rows_at_the_default_size(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "rows", 2)
    produce_to(builtin_broker.bootstrap, "rows", {0: 30, 1: 30})
    scan(qtbot, browser, "rows")
    browser.table.selectRow(0)
    # the page's share of a 1280x820 window (menu, toolbar, tabs and status bar take ~150)
    browser.resize(1260, 660)
    qtbot.waitUntil(lambda: browser.table.viewport().height() > 0)
    qtbot.wait(50)
    visible_rows = browser.table.viewport().height() // browser.table.rowHeight(0)
    assert visible_rows >= 15
    for size in ((1024, 640), (1004, 490), (800, 600), (780, 450)):
        for mode in (StartMode.EARLIEST, StartMode.PER_PARTITION):
            browser.start_mode.setCurrentText(mode.value)
            browser.resize(*size)
            qtbot.wait(50)  # layouts settle on posted events
            assert browser.width() == size[0]
            assert_tidy(browser)
    # the form folds away for more rows
    before = browser.table.height()
    click(qtbot, browser.form_toggle)
    qtbot.waitUntil(lambda: browser.table.height() > before)
    assert browser.form_toggle.text() == "Show form"


def test_sorted_model_passes_modeltester(qtmodeltester: ModelTester) -> None:
    model = MessagesModel(cap=6)
    rows = [
        Record("t", i % 3, i, BASE_MS + (i * 7919) % 13, 1, b"k%d" % i, b"v" * i, ())
        for i in range(5)
    ]
    model.append(rows)
    model.sort(MessagesModel.TIMESTAMP, Qt.SortOrder.AscendingOrder)
    qtmodeltester.check(model)
    stamps = [r.timestamp for r in model.records]
    assert stamps == sorted(stamps)
    model.append(rows)  # over the cap while sorted: the oldest four go, the rest stay in order
    qtmodeltester.check(model)
    assert model.rowCount() == 6
    assert model.dropped == 4
    stamps = [r.timestamp for r in model.records]
    assert stamps == sorted(stamps)
    model.sort(MessagesModel.KEY, Qt.SortOrder.DescendingOrder)
    keys = [r.key for r in model.records]
    assert keys == sorted(keys, reverse=True)
    model.set_time_format(TimeFormat.EPOCH)
    assert model.index(0, MessagesModel.TIMESTAMP).data() == str(model.record(0).timestamp)
    model.sort(-1)  # back to arrival order
    assert [r.offset for r in model.records] == [4, 0, 1, 2, 3, 4]
    model.clear()
    qtmodeltester.check(model)
