"""The local broker started from the Start screen with a required user (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.local import LOCAL_SIGN_IN_SECRET
from desktop.domain.profile import SecurityProtocol
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.start_screen import StartScreen
from tests.gui.conftest import WAIT_MS, wait_snapshot

PASSWORD = "s3cret-local"


def test_local_broker_with_sign_in_lets_only_its_user_in(qtbot: QtBot, window: MainWindow) -> None:
    start = window.start
    form = start.sign_in
    assert not form.username.isEnabled()
    qtbot.mouseClick(form.required, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(form.username, "dev")
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    assert start.local_error.text() == "Sign-in needs a user name and a password."
    qtbot.keyClicks(form.password, PASSWORD)
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    info = window.ctx.local.info
    assert info is not None and info.username == "dev"
    assert not form.isVisible()

    view = window.find_view(LOCAL_NAME)
    assert view is not None
    assert view.session.profile.security_protocol is SecurityProtocol.SASL_PLAINTEXT
    wait_snapshot(qtbot, view)  # the app signed in
    assert window.ctx.secrets.load(LOCAL_SIGN_IN_SECRET).password == PASSWORD

    # the password never shows in the broker's command line (ps)
    assert info.pid is not None
    assert PASSWORD not in Path(f"/proc/{info.pid}/cmdline").read_text()

    signed = AdminClient(
        {
            "bootstrap.servers": info.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "dev",
            "sasl.password": PASSWORD,
        }
    )
    assert signed.list_topics(timeout=10).brokers
    anonymous = AdminClient({"bootstrap.servers": info.bootstrap})
    with pytest.raises(KafkaException):
        anonymous.list_topics(timeout=3)
    wrong = AdminClient(
        {
            "bootstrap.servers": info.bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "SCRAM-SHA-512",
            "sasl.username": "dev",
            "sasl.password": "not-it",
        }
    )
    with pytest.raises(KafkaException):
        wrong.list_topics(timeout=3)


def test_the_next_launch_offers_the_same_user_with_the_kept_password(
    qtbot: QtBot, window: MainWindow
) -> None:
    start = window.start
    start.sign_in.required.setChecked(True)
    start.sign_in.username.setText("ops")
    start.sign_in.password.setText(PASSWORD)
    qtbot.mouseClick(start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.ctx.local.info is not None, timeout=WAIT_MS)
    assert window.ctx.ui.local_sign_in_user == "ops"

    ctx = window.ctx
    again = StartScreen(ctx.profiles, ctx.local)  # as the next launch builds it
    qtbot.addWidget(again)
    again.restore_sign_in(ctx.ui.local_sign_in_user, ctx.secrets, ctx.jobs)
    assert again.sign_in.required.isChecked()
    assert again.sign_in.username.text() == "ops"
    qtbot.waitUntil(lambda: again.sign_in.password.text() == PASSWORD, timeout=WAIT_MS)
