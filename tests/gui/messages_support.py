"""Fixtures and helpers for the message browser and producer tests (a session on a broker)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QLineEdit, QPlainTextEdit
from pytestqt.qtbot import QtBot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.settings.browser_prefs import BrowserPrefs
from desktop.views.messages import MessagesPage
from desktop.views.producer import ProducerPage
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker

WAIT_MS = 30_000


def make_session(qtbot: QtBot, bootstrap: str) -> ClusterSession:
    session = ClusterSession(ClusterProfile("test", bootstrap), Credentials(), refresh_s=1.0)
    session.start()
    qtbot.waitUntil(lambda: session.snapshot is not None, timeout=WAIT_MS)
    return session


@pytest.fixture(name="session")
def session_fixture(qtbot: QtBot, builtin_broker: RunningBroker) -> Iterator[ClusterSession]:
    s = make_session(qtbot, builtin_broker.bootstrap)
    yield s
    s.close()


def prefs_at(tmp_path: Path) -> BrowserPrefs:
    """The browser's remembered choices in a file of the test's own (never the user's)."""
    return BrowserPrefs(QSettings(str(tmp_path / "browser.ini"), QSettings.Format.IniFormat))


@pytest.fixture(name="browser")
def browser_fixture(
    qtbot: QtBot, session: ClusterSession, tmp_path: Path
) -> Iterator[MessagesPage]:
    page = MessagesPage(session, prefs_at(tmp_path))
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    yield page
    page.shutdown()


@pytest.fixture(name="producer_page")
def producer_page_fixture(qtbot: QtBot, session: ClusterSession) -> Iterator[ProducerPage]:
    page = ProducerPage(session)
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    yield page
    page.shutdown()


def create_topic(bootstrap: str, name: str, partitions: int = 1) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)


def wait_topic_known(qtbot: QtBot, session: ClusterSession, name: str) -> None:
    """Until a refresh has seen the topic (the forms take partition counts from snapshots)."""
    session.refresh()
    qtbot.waitUntil(
        lambda: session.snapshot is not None and session.snapshot.topic(name) is not None,
        timeout=WAIT_MS,
    )


def produce_all(
    bootstrap: str,
    topic: str,
    messages: Iterable[tuple[bytes | None, bytes | None]],
    **conf: object,
) -> int:
    """Produce quickly with a plain client; returns how many were acknowledged."""
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20, **conf})
    delivered = [0]

    def cb(err: object, _msg: object) -> None:
        assert err is None, err
        delivered[0] += 1

    for key, value in messages:
        while True:
            try:
                producer.produce(topic, key=key, value=value, on_delivery=cb)
                break
            except BufferError:
                producer.poll(0.05)
    assert producer.flush(60) == 0
    return delivered[0]


def watermarks(bootstrap: str, topic: str, partitions: int) -> list[tuple[int, int]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "topicscope-test-marks"})
    try:
        return [
            consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10, cached=False)
            for p in range(partitions)
        ]
    finally:
        consumer.close()


def total_messages(bootstrap: str, topic: str, partitions: int) -> int:
    return sum(hi - lo for lo, hi in watermarks(bootstrap, topic, partitions))


def click(qtbot: QtBot, button: object) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[arg-type]


def type_text(qtbot: QtBot, widget: QLineEdit | QPlainTextEdit, text: str) -> None:
    """Type ASCII as keystrokes; anything else arrives as a paste would (QTest types ASCII)."""
    if text.isascii():
        qtbot.keyClicks(widget, text)
    elif isinstance(widget, QLineEdit):
        widget.insert(text)
    else:
        widget.insertPlainText(text)


def scan(qtbot: QtBot, page: MessagesPage, topic: str, timeout: int = 60_000) -> None:
    """Type the topic, press Scan, wait until the scan has finished."""
    page.topic.setCurrentText("")
    qtbot.keyClicks(page.topic.lineEdit(), topic)
    click(qtbot, page.scan_button)
    qtbot.waitUntil(lambda: page.scan is not None and not page.scanning, timeout=timeout)
    assert page.scan is not None
    assert page.scan.error == "", page.scan.error
