"""The connection form guides: fields for the chosen security protocol only, "Save and connect",
errors in an area that never moves the buttons, and a dead port shown as failed at once."""

from __future__ import annotations

import socket
import time

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.views.main_window import MainWindow
from desktop.views.profile_dialog import ProfileDialog
from desktop.workers.session import ClusterSession, SessionState
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import WAIT_MS, wait_snapshot


def _open_dialog(qtbot: QtBot, window: MainWindow) -> ProfileDialog:
    qtbot.mouseClick(window.start.add_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.profile_dialog is not None and window.profile_dialog.isVisible())
    dialog = window.profile_dialog
    assert dialog is not None
    return dialog


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in(dialog: QWidget, widget: QWidget) -> QRect:
    return QRect(widget.mapTo(dialog, widget.rect().topLeft()), widget.size())


@pytest.mark.parametrize(
    ("protocol", "sasl", "tls"),
    [
        ("PLAINTEXT", False, False),
        ("SASL_PLAINTEXT", True, False),
        ("SSL", False, True),
        ("SASL_SSL", True, True),
    ],
)
def test_only_the_protocols_fields_and_labels_are_enabled(
    qtbot: QtBot, window: MainWindow, protocol: str, sasl: bool, tls: bool
) -> None:
    dialog = _open_dialog(qtbot, window)
    dialog.protocol.setCurrentText(protocol)
    for field, wanted in (
        (dialog.username, sasl),
        (dialog.password, sasl),
        (dialog.mechanism, sasl),
        (dialog.ca, tls),
        (dialog.key_password, tls),
    ):
        label = dialog._form.labelForField(field)
        assert label is not None
        assert field.isEnabled() is wanted, label.text()
        assert label.isEnabled() is wanted, label.text()  # the label greys out too
        assert ("Used only with" in field.toolTip()) is not wanted


def test_a_long_error_neither_overlaps_the_form_nor_moves_the_buttons(
    qtbot: QtBot, window: MainWindow
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.waitExposed(dialog)
    save = dialog.buttons.button(dialog.buttons.StandardButton.Save)
    before = (_in(dialog, dialog.test_button), _in(dialog, save), _in(dialog, dialog.extra))
    long = "\n".join(
        f"line {i}: the broker at 10.0.0.{i}:9093 closed the connection during the TLS handshake"
        for i in range(8)
    )
    dialog.test_result.setText(long)
    dialog.error.setText("Enter at least one bootstrap server as host:port.")
    qtbot.wait(50)  # one layout pass
    after = (_in(dialog, dialog.test_button), _in(dialog, save), _in(dialog, dialog.extra))
    assert after == before
    area = _in(dialog, dialog.messages)
    assert not area.intersects(_in(dialog, dialog.extra))
    assert not area.intersects(_in(dialog, save))
    assert area.bottom() < _in(dialog, save).top()
    assert dialog.messages.verticalScrollBar().maximum() > 0  # the rest scrolls, inside


def test_save_and_connect_opens_the_cluster(
    qtbot: QtBot, window: MainWindow, builtin_broker: RunningBroker
) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "saved-and-open")
    qtbot.keyClicks(dialog.bootstrap, builtin_broker.bootstrap)
    qtbot.mouseClick(dialog.save_connect, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert window.ctx.profiles.get("saved-and-open") is not None
    qtbot.waitUntil(lambda: window.find_view("saved-and-open") is not None, timeout=WAIT_MS)
    view = window.find_view("saved-and-open")
    assert view is not None
    wait_snapshot(qtbot, view)


def test_save_alone_says_it_saved(qtbot: QtBot, window: MainWindow) -> None:
    dialog = _open_dialog(qtbot, window)
    qtbot.keyClicks(dialog.name, "only-saved")
    qtbot.keyClicks(dialog.bootstrap, "127.0.0.1:9")
    qtbot.mouseClick(
        dialog.buttons.button(dialog.buttons.StandardButton.Save), Qt.MouseButton.LeftButton
    )
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert "Saved the cluster 'only-saved'" in window.statusBar().currentMessage()
    assert window.find_view("only-saved") is None


def test_a_dead_port_is_shown_failed_at_once(qtbot: QtBot) -> None:
    port = _free_port()
    session = ClusterSession(ClusterProfile("dead", f"127.0.0.1:{port}"), Credentials())
    start = time.monotonic()
    session.start()
    try:
        qtbot.waitUntil(lambda: session.state == SessionState.LOST, timeout=2_500)
        assert time.monotonic() - start < 2.5
        assert session.last_error.startswith("Connection refused")
    finally:
        session.close()
