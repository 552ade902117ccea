"""The browser's isolation level against transactions, on the built-in broker and Kafka (issue 15).

One transaction commits, one aborts, one stays open: read_committed shows the committed
records only; read_uncommitted shows every record and marks the aborted and open ones."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import Producer
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.domain.messages import Isolation
from desktop.models.messages import MessagesModel
from desktop.views.messages import MessagesPage
from tests.gui.messages_support import create_topic, make_session, prefs_at, scan


@pytest.fixture
def browser(qtbot: QtBot, bootstrap: str, tmp_path: Path) -> Iterator[MessagesPage]:
    session = make_session(qtbot, bootstrap)
    page = MessagesPage(session, prefs_at(tmp_path))
    qtbot.addWidget(page)
    page.resize(1200, 800)
    page.show()
    yield page
    page.shutdown()
    session.close()


def values_and_marks(page: MessagesPage) -> dict[str, str]:
    m = page.model
    return {
        m.data(m.index(r, MessagesModel.VALUE)): m.data(m.index(r, MessagesModel.TXN))
        for r in range(m.rowCount())
    }


def test_isolation_level_hides_or_marks_aborted(
    qtbot: QtBot,
    qtmodeltester: ModelTester,
    bootstrap: str,
    browser: MessagesPage,
) -> None:
    topic = f"txn-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    producer = Producer({"bootstrap.servers": bootstrap, "transactional.id": topic})
    producer.init_transactions(30)
    for outcome in ("ok", "no"):
        producer.begin_transaction()
        for i in range(3):
            producer.produce(topic, f"{outcome}{i}".encode(), partition=0)
        producer.flush(30)  # abort_transaction() purges what was not sent yet
        if outcome == "ok":
            producer.commit_transaction(30)
        else:
            producer.abort_transaction(30)
    plain = Producer({"bootstrap.servers": bootstrap})
    plain.produce(topic, b"after", partition=0)
    assert plain.flush(30) == 0

    assert browser.isolation.currentText() == Isolation.READ_COMMITTED.value
    assert "committed" in browser.isolation_help.text()
    scan(qtbot, browser, topic)
    assert values_and_marks(browser) == {"ok0": "", "ok1": "", "ok2": "", "after": ""}

    browser.isolation.setCurrentText(Isolation.READ_UNCOMMITTED.value)
    assert "aborted" in browser.isolation_help.text()
    scan(qtbot, browser, topic)
    assert values_and_marks(browser) == {
        "ok0": "",
        "ok1": "",
        "ok2": "",
        "no0": "aborted txn",
        "no1": "aborted txn",
        "no2": "aborted txn",
        "after": "",
    }
    assert "3 aborted-txn records marked" in browser.status.text()
    # the row is tinted too: the Txn column may be scrolled out of sight
    m = browser.model
    tints = {
        m.data(m.index(r, MessagesModel.VALUE)): m.data(
            m.index(r, MessagesModel.KEY), Qt.ItemDataRole.BackgroundRole
        )
        for r in range(m.rowCount())
    }
    assert tints["ok0"] is None and tints["after"] is None
    assert tints["no0"] is not None
    qtmodeltester.check(m)

    # an open transaction: past the last stable offset, so pending, not aborted
    producer.begin_transaction()
    producer.produce(topic, b"open", partition=0)
    producer.flush(30)
    try:
        scan(qtbot, browser, topic)
        assert values_and_marks(browser)["open"] == "pending (open txn)"
        assert values_and_marks(browser)["no0"] == "aborted txn"
    finally:
        producer.abort_transaction(30)
