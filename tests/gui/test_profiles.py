"""Adding a profile and testing it, as a user would, against real Apache Kafka."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.views.main_window import MainWindow
from desktop.views.profile_dialog import ProfileDialog
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.kafka.fixtures import KafkaScram, KafkaSingle


def _open_dialog(qtbot: QtBot, window: MainWindow) -> ProfileDialog:
    qtbot.mouseClick(window.start.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.profile_dialog is not None and window.profile_dialog.isVisible())
    dialog = window.profile_dialog
    assert dialog is not None
    return dialog


def _test(qtbot: QtBot, dialog: ProfileDialog) -> str:
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(dialog.test_button.isEnabled, timeout=WAIT_MS)
    return dialog.test_result.text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.realkafka
def test_add_profile_test_and_connect(
    qtbot: QtBot, window: MainWindow, kafka_single: KafkaSingle
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "dev cluster")
    qtbot.keyClicks(dialog.bootstrap, kafka_single.bootstrap)
    assert _test(qtbot, dialog) == "Connected: 1 broker."
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: not dialog.isVisible())
    saved = window.ctx.profiles.get("dev cluster")
    assert saved is not None and saved.bootstrap == kafka_single.bootstrap
    assert "password" not in window.ctx.profiles.path.read_text()
    assert window.start.profile_list.count() == 1

    qtbot.mouseClick(window.start.connect_button, Qt.MouseButton.LeftButton)
    view = window.find_view("dev cluster")
    assert view is not None
    wait_snapshot(qtbot, view)
    assert view.overview.cards["brokers"].value.text() == "1"
    assert "dev cluster" in window.status_cluster.text()


@pytest.mark.realkafka
def test_refused_port_says_connection_refused(qtbot: QtBot, window: MainWindow) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "nothing")
    qtbot.keyClicks(dialog.bootstrap, f"127.0.0.1:{_free_port()}")
    assert _test(qtbot, dialog).startswith("Connection refused")


def test_unknown_host_says_not_resolved(qtbot: QtBot, window: MainWindow) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "typo")
    qtbot.keyClicks(dialog.bootstrap, "no-such-host.invalid:9092")
    assert _test(qtbot, dialog).startswith("Host name not resolved")


def test_invalid_bootstrap_is_explained(qtbot: QtBot, window: MainWindow) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "bad")
    qtbot.keyClicks(dialog.bootstrap, "localhost")
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    assert dialog.error.text() == "'localhost' is not host:port."
    assert window.ctx.profiles.all() == []


@pytest.mark.realkafka
def test_scram_password(qtbot: QtBot, window: MainWindow, kafka_scram: KafkaScram) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "secure")
    qtbot.keyClicks(dialog.bootstrap, kafka_scram.bootstrap)
    dialog.protocol.setCurrentText("SASL_PLAINTEXT")
    dialog.mechanism.setCurrentText(kafka_scram.mechanism)
    qtbot.keyClicks(dialog.username, kafka_scram.username)
    qtbot.keyClicks(dialog.password, "not-the-password")
    assert _test(qtbot, dialog).startswith("Authentication failed")
    dialog.password.clear()
    qtbot.keyClicks(dialog.password, kafka_scram.password)
    assert _test(qtbot, dialog) == "Connected: 1 broker."
