"""The Messages and Produce tabs inside a cluster tab of the main window, end to end."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.views.cluster_view import PAGES
from desktop.views.main_window import LOCAL_NAME, MainWindow
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.messages_support import click, create_topic, scan, type_text, wait_topic_known


def test_produce_tab_then_messages_tab_on_the_local_broker(
    qtbot: QtBot, window: MainWindow
) -> None:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    view = window.find_view(LOCAL_NAME)
    assert view is not None
    wait_snapshot(qtbot, view)
    assert view.tabs.count() == len(PAGES)  # every tab at once; each screen built when shown
    titles = [view.tabs.tabText(i) for i in range(view.tabs.count())]
    assert "Messages" in titles and "Produce" in titles
    create_topic(view.session.profile.bootstrap, "tabbed", 2)
    wait_topic_known(qtbot, view.session, "tabbed")

    view.tabs.setCurrentWidget(view.producer)
    form = view.producer
    type_text(qtbot, form.topic.lineEdit(), "tabbed")
    type_text(qtbot, form.key, "k1")
    type_text(qtbot, form.value, "hello from the tab")
    click(qtbot, form.send_button)
    qtbot.waitUntil(lambda: not form.busy, timeout=WAIT_MS)
    report = form.last_report
    assert report is not None, form.result.text()

    view.tabs.setCurrentWidget(view.messages)
    assert view.messages.topic.findText("tabbed") >= 0  # offered once the tab is shown
    scan(qtbot, view.messages, "tabbed")
    records = view.messages.model.records
    assert [(r.partition, r.offset, r.key, r.value) for r in records] == [
        (report.partition, report.offset, b"k1", b"hello from the tab")
    ]
