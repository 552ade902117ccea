"""Adding a profile and testing it, as a user would, against real Apache Kafka."""

from __future__ import annotations

import socket

import pytest
from PySide6.QtCore import Qt, QTimer
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
    qtbot.waitUntil(lambda: window.find_view("dev cluster") is not None)  # after the keyring
    view = window.find_view("dev cluster")
    assert view is not None
    wait_snapshot(qtbot, view)
    assert view.overview.cards["brokers"].value.text() == "1"
    # told from the broker's ApiVersions answer (Kafka 4 refuses Fetch below v4)
    assert view.overview.version.text().startswith("Apache Kafka 4.x or later (Produce v")
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


def test_without_keyring_the_password_is_kept_only_after_asking(
    qtbot: QtBot, window: MainWindow
) -> None:
    import keyring
    from keyring.backends import fail
    from PySide6.QtWidgets import QApplication, QMessageBox

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        assert not window.ctx.secrets.keyring_available
        dialog = _open_dialog(qtbot, window)
        qtbot.keyClicks(dialog.name, "secured")
        qtbot.keyClicks(dialog.bootstrap, "127.0.0.1:9093")
        dialog.protocol.setCurrentText("SASL_PLAINTEXT")
        qtbot.keyClicks(dialog.username, "alice")
        qtbot.keyClicks(dialog.password, "s3cret-pw")
        asked: list[str] = []

        def answer(button: QMessageBox.StandardButton) -> None:
            box = QApplication.activeModalWidget()
            if not isinstance(box, QMessageBox):
                QTimer.singleShot(20, lambda: answer(button))
                return
            asked.append(box.text())
            qtbot.mouseClick(box.button(button), Qt.MouseButton.LeftButton)

        save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
        QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.No))
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        assert asked and "No system keyring" in asked[0]
        assert window.ctx.profiles.get("secured") is None  # declined: nothing stored
        assert dialog.isVisible()

        QTimer.singleShot(0, lambda: answer(QMessageBox.StandardButton.Yes))
        qtbot.mouseClick(save, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not dialog.isVisible())
        assert window.ctx.profiles.get("secured") is not None
        assert "s3cret-pw" not in window.ctx.profiles.path.read_text()
        assert window.ctx.secrets.load("secured").password == "s3cret-pw"  # this session only
    finally:
        keyring.set_keyring(previous)
