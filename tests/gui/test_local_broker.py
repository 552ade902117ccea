"""The built-in broker from the UI: start, stop, start again (data kept), restart (the
self-test: test_self_test_cluster.py)."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.workers.session import SessionState
from tests.gui.conftest import WAIT_MS, wait_snapshot


def test_start_stop_restart_local_broker(qtbot: QtBot, window: MainWindow) -> None:
    start = window.start
    assert start.start_local.isVisible()
    assert not start.stop_local.isVisible()
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.local_badge.text() == "running", timeout=WAIT_MS)
    info = window.ctx.local.info
    assert info is not None
    assert start.local_address.text() == info.bootstrap
    assert start.local_data_dir.text() == info.data_dir
    assert info.data_dir == str(window.ctx.local.data_dir)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    view = window.find_view(LOCAL_NAME)
    assert view is not None
    wait_snapshot(qtbot, view)
    assert view.overview.version.text() == "Topicscope built-in"

    admin = AdminClient({"bootstrap.servers": info.bootstrap})
    admin.create_topics([NewTopic("kept", 2, 1)])["kept"].result(timeout=20)
    del admin

    window.tabs.setCurrentIndex(0)
    qtbot.mouseClick(start.stop_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.local_badge.text() == "stopped", timeout=WAIT_MS)
    assert window.ctx.local.info is None
    assert start.start_local.isVisible()

    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.local_badge.text() == "running", timeout=WAIT_MS)
    again = window.ctx.local.info
    assert again is not None and again.bootstrap == info.bootstrap  # same port
    qtbot.waitUntil(
        lambda: (
            view.session.snapshot is not None and view.session.snapshot.topic("kept") is not None
        ),
        timeout=WAIT_MS,
    )

    window.tabs.setCurrentIndex(0)
    qtbot.mouseClick(start.restart_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.local_badge.text() == "working…", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: start.local_badge.text() == "running", timeout=WAIT_MS)
    admin = AdminClient({"bootstrap.servers": info.bootstrap})
    assert "kept" in admin.list_topics(timeout=10).topics


def test_lost_cluster_shows_banner_and_reconnects(qtbot: QtBot, window: MainWindow) -> None:
    window.ctx.ui.request_timeout_s = 2.0
    start = window.start
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    view = window.find_view(LOCAL_NAME)
    assert view is not None
    wait_snapshot(qtbot, view)
    qtbot.waitUntil(lambda: view.session.state == SessionState.CONNECTED, timeout=WAIT_MS)
    assert not view.banner.isVisible()

    window.tabs.setCurrentIndex(0)
    qtbot.mouseClick(start.stop_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: start.local_badge.text() == "stopped", timeout=WAIT_MS)
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.session.state == SessionState.LOST, timeout=60_000)
    assert view.banner.isVisible()
    assert view.banner.text().startswith(f"Lost contact with {view.session.profile.bootstrap}")
    assert view.freshness.text().startswith("stale: last good snapshot")
    assert "lost" in window.status_state.text()
    assert view.session.snapshot is not None  # the last data stays on screen

    window.tabs.setCurrentIndex(0)
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)  # same port as before
    qtbot.waitUntil(lambda: view.session.state == SessionState.CONNECTED, timeout=60_000)
    qtbot.waitUntil(lambda: not view.banner.isVisible(), timeout=WAIT_MS)
    assert window.find_view(LOCAL_NAME) is view
