"""Typed keys and values in the producer, numbers kept as typed, the topic preselected, internal
topics hidden, and focus that stays put after Send."""

from __future__ import annotations

import base64
import dataclasses
import struct

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.cluster import TopicInfo
from desktop.domain.typed_bytes import Encoding, encode, pretty_json
from desktop.models.topics import TopicsModel
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.messages import MessagesPage
from desktop.views.producer import ProducerPage
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.conftest import wait_snapshot
from tests.gui.helpers import click_row
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    click,
    create_topic,
    producer_page_fixture,  # noqa: F401 (a fixture)
    scan,
    session_fixture,  # noqa: F401 (a fixture)
    type_text,
    wait_topic_known,
)


@pytest.mark.parametrize(
    ("text", "encoding", "expected"),
    [
        ("42", Encoding.INT, struct.pack(">i", 42)),
        ("-1", Encoding.LONG, b"\xff" * 8),
        ("49.90", Encoding.DOUBLE, struct.pack(">d", 49.90)),
        ("00 0a FF", Encoding.HEX, b"\x00\x0a\xff"),
        ("0x0aff", Encoding.HEX, b"\x0a\xff"),
        ("AAr/", Encoding.BASE64, b"\x00\x0a\xff"),
        ('{"price": 49.90}', Encoding.JSON, b'{"price": 49.90}'),
        ("ünï", Encoding.TEXT, "ünï".encode()),
    ],
)
def test_typed_text_becomes_the_expected_bytes(
    text: str, encoding: Encoding, expected: bytes
) -> None:
    assert encode(text, encoding) == expected


@pytest.mark.parametrize(
    ("text", "encoding", "says"),
    [
        ("2147483648", Encoding.INT, "does not fit 32 bits"),
        ("4.5", Encoding.LONG, "not a whole number"),
        ("abc", Encoding.DOUBLE, "not a number"),
        ("0g", Encoding.HEX, "Not hex"),
        ("A", Encoding.BASE64, "Not base64"),
    ],
)
def test_text_that_is_not_of_its_type_is_refused(text: str, encoding: Encoding, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        encode(text, encoding)


def test_format_keeps_numbers_as_typed() -> None:
    typed = '{"price": 49.90, "qty": 3, "big": 1e3, "list": [1.50, {"a": -0.0}], "s": "ü"}'
    assert pretty_json(typed) == (
        "{\n"
        '  "price": 49.90,\n'
        '  "qty": 3,\n'
        '  "big": 1e3,\n'
        '  "list": [\n'
        "    1.50,\n"
        "    {\n"
        '      "a": -0.0\n'
        "    }\n"
        "  ],\n"
        '  "s": "ü"\n'
        "}"
    )


def test_typed_key_and_value_reach_the_broker_as_bytes(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
    browser: MessagesPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "typed", 1)
    wait_topic_known(qtbot, session, "typed")
    page = producer_page
    page.topic.setCurrentText("typed")
    page.key_mode.setCurrentText(Encoding.LONG)
    type_text(qtbot, page.key, "9000000000")
    page.value_mode.setCurrentText(Encoding.JSON)
    type_text(qtbot, page.value, '{"price":49.90}')
    click(qtbot, page.format_button)
    assert "49.90" in page.value.toPlainText()  # not 49.9
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    assert page.last_report is not None, page.result.text()
    assert "key=9000000000" in page.history_list.item(0).text()  # the key as typed

    page.key_mode.setCurrentText(Encoding.HEX)
    page.key.setText("de ad be ef")
    page.value_mode.setCurrentText(Encoding.BASE64)
    page.value.setPlainText(base64.b64encode(b"\x00\x01binary").decode())
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)

    scan(qtbot, browser, "typed")
    got = [(r.key, r.value) for r in browser.model.records]
    assert got == [
        (struct.pack(">q", 9_000_000_000), b'{\n  "price": 49.90\n}'),
        (b"\xde\xad\xbe\xef", b"\x00\x01binary"),
    ]


def test_a_bad_typed_key_is_said_inline_and_not_sent(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "typed-bad", 1)
    wait_topic_known(qtbot, session, "typed-bad")
    page = producer_page
    page.topic.setCurrentText("typed-bad")
    page.key_mode.setCurrentText(Encoding.INT)
    type_text(qtbot, page.key, "12x")
    assert "not a whole number" in page.key_error.text()
    assert page.key_error.isVisible()
    click(qtbot, page.send_button)
    assert not page.busy and page.last_report is None
    assert page.result.text() == "Not sent: fix the key first."
    page.key.setText("12")
    assert page.key_error.text() == ""  # gone as soon as the key is valid


def test_internal_topics_are_hidden_unless_asked(
    qtbot: QtBot, session: ClusterSession, producer_page: ProducerPage
) -> None:
    qtbot.waitUntil(lambda: session.snapshot is not None, timeout=WAIT_MS)
    snap = session.snapshot
    assert snap is not None
    topics = (
        TopicInfo("__consumer_offsets", (), internal=True),
        TopicInfo("__transaction_state", (), internal=True),
        TopicInfo("orders", ()),
    )
    page = producer_page
    page._on_snapshot(dataclasses.replace(snap, topics=topics))

    def offered() -> list[str]:
        return [page.topic.itemText(i) for i in range(page.topic.count())]

    assert offered() == ["orders"]
    assert page.bulk.topic.topics() == ("orders",)
    page.show_internal.setChecked(True)
    assert offered() == ["__consumer_offsets", "__transaction_state", "orders"]


def test_focus_stays_in_the_form_after_send(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "focus", 1)
    wait_topic_known(qtbot, session, "focus")
    page = producer_page
    page.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is page.window())
    page.topic.setCurrentText("focus")
    type_text(qtbot, page.value, "hello")
    click(qtbot, page.send_button)  # a click gives the button focus, as with a mouse
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    assert page.last_report is not None
    focused = QApplication.focusWidget()
    assert focused is page.value, focused
    assert not page.bulk.isAncestorOf(focused)


def test_the_producer_starts_from_the_selected_topic(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.mouseClick(window.start.start_local, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.find_view(LOCAL_NAME) is not None, timeout=WAIT_MS)
    view = window.find_view(LOCAL_NAME)
    assert isinstance(view, ClusterView)
    create_topic(view.session.profile.bootstrap, "payments", 3)
    wait_snapshot(qtbot, view)
    wait_topic_known(qtbot, view.session, "payments")
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(lambda: click_row(qtbot, view.topics.table, TopicsModel.NAME, "payments"))
    view.tabs.setCurrentWidget(view.producer)
    assert view.producer.topic.currentText() == "payments"
