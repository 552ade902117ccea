"""The producer form as a user drives it, checked against what the broker holds."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from desktop.views.messages import MessagesPage
from desktop.views.producer import VALUE_FILE, VALUE_JSON, ProducerPage
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import RunningBroker
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    click,
    create_topic,
    producer_page_fixture,  # noqa: F401 (a fixture)
    scan,
    session_fixture,  # noqa: F401 (a fixture)
    total_messages,
    type_text,
    wait_topic_known,
)


def _send(qtbot: QtBot, page: ProducerPage) -> None:
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    assert page.last_report is not None, page.result.text()


def _fill(qtbot: QtBot, page: ProducerPage, topic: str, key: str, value: str) -> None:
    page.topic.setCurrentText("")
    qtbot.keyClicks(page.topic.lineEdit(), topic)
    page.key.clear()
    type_text(qtbot, page.key, key)
    page.value.clear()
    type_text(qtbot, page.value, value)


def test_sent_message_is_browsed_at_its_reported_place(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
    browser: MessagesPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "orders", 6)
    wait_topic_known(qtbot, session, "orders")
    page = producer_page
    _fill(qtbot, page, "orders", "customer-42", '{"total": 12.5, "note": "ünïcode"}')
    click(qtbot, page.add_header)
    page.headers.item(0, 0).setText("trace-id")
    page.headers.item(0, 1).setText("abc-123")
    click(qtbot, page.add_header)
    page.headers.item(1, 0).setText("source")
    page.headers.item(1, 1).setText("gui-test")
    predicted = page.predicted_partition()
    assert predicted is not None
    assert f"partition {predicted} of 6" in page.prediction.text()
    assert "consistent_random" in page.prediction.text()
    _send(qtbot, page)
    first = page.last_report
    assert first is not None
    assert first.partition == predicted
    assert f"partition {first.partition} at offset {first.offset}" in page.result.text()
    _send(qtbot, page)  # the same key again: the same partition
    second = page.last_report
    assert second is not None
    assert second.partition == first.partition
    assert second.offset == first.offset + 1
    assert page.history_list.count() == 2

    scan(qtbot, browser, "orders")
    found = [
        r
        for r in browser.model.records
        if r.partition == first.partition and r.offset == first.offset
    ]
    assert len(found) == 1
    rec = found[0]
    assert rec.key == b"customer-42"
    assert rec.value == '{"total": 12.5, "note": "ünïcode"}'.encode()
    assert rec.headers == (("trace-id", b"abc-123"), ("source", b"gui-test"))
    assert rec.timestamp == first.timestamp
    assert browser.model.rowCount() == 2


def test_murmur2_partitioner_prediction_matches_the_broker(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "keyed", 5)
    wait_topic_known(qtbot, session, "keyed")
    page = producer_page
    page.partitioner.setCurrentText("murmur2_random")
    for key in ("a", "user-1", "user-2", "café", "x" * 37):
        _fill(qtbot, page, "keyed", key, "v")
        predicted = page.predicted_partition()
        assert "murmur2_random" in page.prediction.text()
        _send(qtbot, page)
        assert page.last_report is not None
        assert page.last_report.partition == predicted, (key, page.prediction.text())


def test_invalid_json_shows_inline_error_and_sends_nothing(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "json-only", 1)
    wait_topic_known(qtbot, session, "json-only")
    page = producer_page
    page.value_mode.setCurrentText(VALUE_JSON)
    _fill(qtbot, page, "json-only", "k", '{"a": 1,')
    assert page.value_error.text().startswith("Not valid JSON")
    click(qtbot, page.send_button)
    assert not page.busy
    assert page.last_report is None
    assert page.result.text() == "Not sent: fix the value first."
    assert total_messages(builtin_broker.bootstrap, "json-only", 1) == 0
    # fixing it and pressing Format pretty-prints; then it sends
    page.value.clear()
    qtbot.keyClicks(page.value, '{"a": 1, "b": [1, 2]}')
    assert page.value_error.text() == ""
    click(qtbot, page.format_button)
    assert page.value.toPlainText().startswith('{\n  "a": 1')
    _send(qtbot, page)
    assert total_messages(builtin_broker.bootstrap, "json-only", 1) == 1


def test_given_partition_timestamp_and_resend_from_history(
    qtbot: QtBot,
    builtin_broker: RunningBroker,
    session: ClusterSession,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "pinned", 3)
    wait_topic_known(qtbot, session, "pinned")
    page = producer_page
    _fill(qtbot, page, "pinned", "k", "hello")
    click(qtbot, page.auto_partition)
    page.partition.setValue(2)
    click(qtbot, page.now)
    stamp = 1_700_000_000_123
    from PySide6.QtCore import QDateTime

    page.timestamp.setDateTime(QDateTime.fromMSecsSinceEpoch(stamp))
    page.compression.setCurrentText("zstd")
    page.acks.setCurrentText("1")
    _send(qtbot, page)
    report = page.last_report
    assert report is not None
    assert (report.partition, report.offset, report.timestamp) == (2, 0, stamp)
    page.history_list.setCurrentRow(0)
    click(qtbot, page.resend)
    qtbot.waitUntil(lambda: page.history_list.count() == 2, timeout=WAIT_MS)
    assert page.last_report is not None
    assert (page.last_report.partition, page.last_report.offset) == (2, 1)
    # an idempotent producer (acks=all forced) sends as well
    click(qtbot, page.idempotence)
    assert page.settings().config()["acks"] == "all"
    _send(qtbot, page)
    assert (page.last_report.partition, page.last_report.offset) == (2, 2)


def test_send_failure_shows_the_error(
    qtbot: QtBot,
    tmp_path: Path,
    builtin_broker: RunningBroker,
    producer_page: ProducerPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "small", 1)
    wait_topic_known(qtbot, producer_page.session, "small")
    page = producer_page
    _fill(qtbot, page, "small", "k", "v")
    click(qtbot, page.auto_partition)
    page.partition.setValue(7)  # no such partition: caught before sending
    click(qtbot, page.send_button)
    assert not page.busy
    assert page.result.text() == "Not sent: 'small' has 1 partition(s), numbered 0 to 0."
    click(qtbot, page.auto_partition)
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2_000_000)  # over the client's message.max.bytes
    page.value_mode.setCurrentText(VALUE_FILE)
    job = page.load_file(big)
    qtbot.waitUntil(lambda: job.ended, timeout=WAIT_MS)
    click(qtbot, page.send_button)
    qtbot.waitUntil(lambda: not page.busy, timeout=WAIT_MS)
    assert page.last_report is None
    assert page.result.text().startswith("Not delivered: The client refused the message:")
    assert "too large" in page.result.text().lower()
    assert total_messages(builtin_broker.bootstrap, "small", 1) == 0


def test_value_from_file_is_sent_byte_for_byte(
    qtbot: QtBot,
    tmp_path: Path,
    builtin_broker: RunningBroker,
    producer_page: ProducerPage,
    browser: MessagesPage,
) -> None:
    create_topic(builtin_broker.bootstrap, "files", 1)
    wait_topic_known(qtbot, producer_page.session, "files")
    blob = bytes(range(256)) * 40
    path = tmp_path / "payload.bin"
    path.write_bytes(blob)
    page = producer_page
    _fill(qtbot, page, "files", "f", "")
    page.value_mode.setCurrentText(VALUE_FILE)
    assert page.value_error.text() == "Choose a file to send as the value."
    click(qtbot, page.send_button)
    assert not page.busy and page.last_report is None
    job = page.load_file(path)
    qtbot.waitUntil(lambda: job.ended, timeout=WAIT_MS)
    assert page.value_error.text() == ""
    _send(qtbot, page)
    scan(qtbot, browser, "files")
    assert [r.value for r in browser.model.records] == [blob]
