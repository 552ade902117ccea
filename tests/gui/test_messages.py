"""The message browser as a user drives it: scans, search, progress, Stop, detail, model."""

from __future__ import annotations

import json
import re

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from PySide6.QtCore import QDateTime, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from desktop.domain.codec import ViewMode
from desktop.domain.messages import Record, StartMode, StopMode
from desktop.models.messages import MessagesModel
from desktop.views.messages import MessagesPage
from tests.broker_fixtures import RunningBroker
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    click,
    create_topic,
    produce_all,
    scan,
    session_fixture,  # noqa: F401 (a fixture)
    type_text,
)

BIG = 100_000


def _value(i: int) -> bytes:
    return f"event-{i:06d} payload {'x' * (i % 7)}".encode()


def test_regex_search_over_100k_finds_exactly_the_expected(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "big", 4)
    produce_all(
        builtin_broker.bootstrap,
        "big",
        ((str(i).encode(), _value(i)) for i in range(BIG)),
        **{"batch.num.messages": 5000},
    )
    pattern = r"^event-\d\d7\d[05]\d payload x{3}$"
    expected = {_value(i) for i in range(BIG) if re.search(pattern.encode(), _value(i))}
    assert 50 < len(expected) < 2000
    click(qtbot, browser.regex)
    type_text(qtbot, browser.search_text, pattern)
    scan(qtbot, browser, "big", timeout=120_000)
    result = browser.last_result
    assert result is not None
    assert result.reason == "end"
    assert result.scanned == BIG
    assert result.matched == len(expected)
    assert {r.value for r in browser.model.records} == expected
    assert browser.model.rowCount() == len(expected)
    # progress shows every partition at its end
    assert browser.partition_table.rowCount() == 4
    assert "matched" in browser.status.text()

    # Stop mid-scan: a live tail never ends by itself
    browser.regex.setChecked(False)
    browser.search_text.clear()
    browser.stop_mode.setCurrentText(StopMode.LIVE.value)
    click(qtbot, browser.scan_button)
    qtbot.waitUntil(lambda: browser.model.rowCount() > 0, timeout=WAIT_MS)
    assert browser.scanning
    click(qtbot, browser.stop_button)
    qtbot.waitUntil(lambda: not browser.scanning, timeout=WAIT_MS)
    assert browser.last_result is not None
    assert browser.last_result.reason == "stopped"
    assert browser.stop_latency_s is not None
    assert browser.stop_latency_s < 1.0


def test_start_at_timestamp_starts_at_the_right_offsets(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "timed", 2)
    base = 1_700_000_000_000
    producer = Producer({"bootstrap.servers": builtin_broker.bootstrap})
    for p in range(2):
        for i in range(50):
            producer.produce(
                "timed", value=f"{p}-{i}".encode(), partition=p, timestamp=base + i * 1000
            )
    assert producer.flush(30) == 0
    browser.start_mode.setCurrentText(StartMode.TIMESTAMP.value)
    browser.start_time.setDateTime(QDateTime.fromMSecsSinceEpoch(base + 20_500))
    scan(qtbot, browser, "timed")
    first = {}
    for rec in browser.model.records:
        first.setdefault(rec.partition, rec.offset)
    assert first == {0: 21, 1: 21}
    assert browser.model.rowCount() == 2 * 29
    assert all(r.timestamp >= base + 20_500 for r in browser.model.records)

    # stop at a timestamp and start at an offset, over one chosen partition
    browser.start_mode.setCurrentText(StartMode.OFFSET.value)
    browser.start_offset.setValue(5)
    browser.stop_mode.setCurrentText(StopMode.TIMESTAMP.value)
    browser.stop_time.setDateTime(QDateTime.fromMSecsSinceEpoch(base + 10_000))
    type_text(qtbot, browser.partitions, "1")
    scan(qtbot, browser, "timed")
    assert [(r.partition, r.offset) for r in browser.model.records] == [
        (1, i) for i in range(5, 10)
    ]

    # newest N per partition
    browser.partitions.clear()
    browser.start_mode.setCurrentText(StartMode.NEWEST_N.value)
    browser.newest_n.setValue(3)
    browser.stop_mode.setCurrentText(StopMode.END.value)
    scan(qtbot, browser, "timed")
    assert sorted((r.partition, r.offset) for r in browser.model.records) == [
        (p, o) for p in range(2) for o in (47, 48, 49)
    ]


def test_start_at_a_groups_committed_offsets_without_joining_it(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "grouped", 1)
    produce_all(builtin_broker.bootstrap, "grouped", ((None, b"m%d" % i) for i in range(20)))
    committer = Consumer(
        {
            "bootstrap.servers": builtin_broker.bootstrap,
            "group.id": "billing",
            "enable.auto.commit": False,
        }
    )
    committer.commit(offsets=[TopicPartition("grouped", 0, 12)], asynchronous=False)
    committer.close()
    browser.start_mode.setCurrentText(StartMode.GROUP.value)
    type_text(qtbot, browser.group, "billing")
    scan(qtbot, browser, "grouped")
    assert [r.offset for r in browser.model.records] == list(range(12, 20))
    # the browser never committed anything for the group
    check = Consumer({"bootstrap.servers": builtin_broker.bootstrap, "group.id": "billing"})
    committed = check.committed([TopicPartition("grouped", 0)], timeout=10)
    check.close()
    assert committed[0].offset == 12


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_display_correctly(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage, codec: str
) -> None:
    create_topic(builtin_broker.bootstrap, "packed", 1)
    values = [f'{{"n": {i}, "codec": "{codec}", "pad": "{"ab" * i}"}}'.encode() for i in range(200)]
    produce_all(
        builtin_broker.bootstrap,
        "packed",
        ((b"k%d" % i, v) for i, v in enumerate(values)),
        **{"compression.type": codec, "linger.ms": 50},
    )
    scan(qtbot, browser, "packed")
    assert [r.value for r in browser.model.records] == values
    index = browser.model.index(150, MessagesModel.VALUE)
    assert index.data().startswith('{"n": 150')
    browser.table.selectRow(150)
    assert browser.detail.value.view_mode is ViewMode.AUTO
    assert browser.detail.value.stack.currentWidget() is browser.detail.value.tree
    assert f'"codec": "{codec}"' in browser.detail.value.shown_text()


def test_binary_values_show_as_hex_and_numbers(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "binary", 1)
    blob = bytes(range(256))
    confluent = b"\x00\x00\x00\x01\x2c" + b"\x02\x06abc"  # schema id 300
    producer = Producer({"bootstrap.servers": builtin_broker.bootstrap})
    producer.produce(
        "binary", key=b"\xff\xfe", value=blob, headers=[("bin", b"\x00\x01"), ("empty", None)]
    )
    producer.produce("binary", key=(7).to_bytes(8, "big"), value=confluent)
    assert producer.flush(30) == 0
    scan(qtbot, browser, "binary")
    assert browser.model.index(0, MessagesModel.VALUE).data().startswith("00 01 02")
    assert browser.model.index(0, MessagesModel.KEY).data() == "ff fe"
    rect = browser.table.visualRect(browser.model.index(0, 0))
    qtbot.mouseClick(browser.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    detail = browser.detail
    assert detail.record is not None and detail.record.value == blob
    assert detail.value.text.toPlainText().startswith("00000000  00 01 02 03")
    assert detail.value.error.text() == ""
    detail.value.set_mode(ViewMode.BASE64)
    assert detail.value.text.toPlainText().startswith("AAECAwQF")
    detail.value.set_mode(ViewMode.TEXT)
    assert "replacements" in detail.value.error.text()
    detail.value.set_mode(ViewMode.LONG)
    assert "exactly 8 bytes" in detail.value.error.text()
    assert detail.header_texts()[0][0] == "bin"
    browser.table.selectRow(1)
    assert "schema id 300" in detail.value.info.text()
    detail.key.set_mode(ViewMode.LONG)
    assert detail.key.text.toPlainText() == "7"
    click(qtbot, detail.copy_record)
    from PySide6.QtGui import QGuiApplication

    assert '"offset": 1' in QGuiApplication.clipboard().text()


def test_cap_drops_oldest_rows_and_says_so(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "capped", 1)
    produce_all(builtin_broker.bootstrap, "capped", ((None, b"%d" % i) for i in range(1500)))
    browser.cap.setValue(500)
    scan(qtbot, browser, "capped")
    assert browser.model.rowCount() == 500
    assert browser.model.dropped == 1000
    assert browser.model.records[0].offset == 1000
    assert "1,000 older rows dropped" in browser.dropped.text()


def test_bad_regex_and_missing_topic_are_reported(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    click(qtbot, browser.regex)
    type_text(qtbot, browser.search_text, "([a-")
    type_text(qtbot, browser.topic.lineEdit(), "whatever")
    click(qtbot, browser.scan_button)
    assert browser.scan is None
    assert "regular expression" in browser.search_error.text()
    browser.regex.setChecked(False)
    browser.search_text.clear()
    browser.topic.setCurrentText("")
    type_text(qtbot, browser.topic.lineEdit(), "no-such-topic")
    click(qtbot, browser.scan_button)
    qtbot.waitUntil(lambda: not browser.scanning, timeout=WAIT_MS)
    assert "does not exist" in browser.search_error.text()


def test_messages_model_passes_modeltester(qtmodeltester: ModelTester) -> None:
    model = MessagesModel(cap=5)
    rows = [
        Record("t", i % 2, i, 1_700_000_000_000 + i, 1, b"k", b"v" * i, (("h", b"x"),))
        for i in range(4)
    ]
    model.append(rows)
    qtmodeltester.check(model)
    model.append(rows)  # over the cap: the oldest three go
    qtmodeltester.check(model)
    assert model.rowCount() == 5
    assert model.dropped == 3
    model.append(rows * 3)  # more than the cap at once
    assert model.rowCount() == 5
    qtmodeltester.check(model)
    model.clear()
    qtmodeltester.check(model)


def test_json_path_header_search_and_match_limit(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "docs", 2)
    producer = Producer({"bootstrap.servers": builtin_broker.bootstrap})
    for i in range(300):
        doc = {"customer": {"id": i % 10, "tier": "gold" if i % 3 == 0 else "basic"}}
        headers = [("region", b"eu" if i % 2 else b"us")]
        producer.produce("docs", value=json.dumps(doc).encode(), headers=headers, partition=i % 2)
    producer.produce("docs", value=b"not json", partition=0)
    assert producer.flush(30) == 0
    type_text(qtbot, browser.json_path, "customer.id")
    type_text(qtbot, browser.json_value, "4")
    scan(qtbot, browser, "docs")
    assert browser.model.rowCount() == 30
    assert all(json.loads(r.value or b"")["customer"]["id"] == 4 for r in browser.model.records)

    browser.json_path.clear()
    browser.json_value.clear()
    browser.search_field.setCurrentText("header")
    type_text(qtbot, browser.header_name, "region")
    type_text(qtbot, browser.search_text, "eu")
    scan(qtbot, browser, "docs")
    assert browser.model.rowCount() == 150
    assert {r.partition for r in browser.model.records} == {1}

    browser.max_matches.setValue(7)
    scan(qtbot, browser, "docs")
    assert browser.model.rowCount() == 7
    assert browser.last_result is not None and browser.last_result.reason == "limit"
    assert "limit reached" in browser.status.text()


def test_tail_live_shows_new_messages_and_count_limit(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "live", 2)
    produce_all(builtin_broker.bootstrap, "live", ((None, b"old-%d" % i) for i in range(10)))
    browser.start_mode.setCurrentText(StartMode.LATEST.value)
    browser.stop_mode.setCurrentText(StopMode.LIVE.value)
    type_text(qtbot, browser.topic.lineEdit(), "live")
    click(qtbot, browser.scan_button)
    # the scan is assigned once its progress shows every partition
    qtbot.waitUntil(lambda: browser.partition_table.rowCount() == 2, timeout=WAIT_MS)
    produce_all(builtin_broker.bootstrap, "live", ((None, b"new-%d" % i) for i in range(3)))
    qtbot.waitUntil(lambda: browser.model.rowCount() == 3, timeout=WAIT_MS)
    assert sorted(r.value for r in browser.model.records) == [b"new-0", b"new-1", b"new-2"]
    assert browser.progress.maximum() == 0  # unbounded: a busy indicator
    click(qtbot, browser.stop_button)
    qtbot.waitUntil(lambda: not browser.scanning, timeout=WAIT_MS)

    browser.start_mode.setCurrentText(StartMode.EARLIEST.value)
    browser.stop_mode.setCurrentText(StopMode.COUNT.value)
    browser.stop_count.setValue(4)
    scan(qtbot, browser, "live")
    assert browser.model.rowCount() == 4
    assert browser.last_result is not None and browser.last_result.reason == "limit"


def test_closing_the_page_stops_a_live_tail(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "forever", 1)
    page = MessagesPage(browser.session)
    page.stop_mode.setCurrentText(StopMode.LIVE.value)
    type_text(qtbot, page.topic.lineEdit(), "forever")
    click(qtbot, page.scan_button)
    worker = page.scan
    assert worker is not None
    qtbot.waitUntil(lambda: page.partition_table.rowCount() == 1, timeout=WAIT_MS)
    page.deleteLater()
    qtbot.waitUntil(lambda: not worker.running, timeout=WAIT_MS)
    assert worker.join(10)
    assert worker.result is not None and worker.result.reason == "stopped"


def test_a_large_value_shows_quickly_in_part_and_copies_whole(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "large", 1)
    big = b"y" * 900_000  # one long line
    produce_all(builtin_broker.bootstrap, "large", [(b"k", big)])
    scan(qtbot, browser, "large")
    browser.table.selectRow(0)
    view = browser.detail.value
    assert "showing the first 256 KiB" in view.info.text()
    assert len(view.text.toPlainText()) == 256 * 1024
    click(qtbot, browser.detail.copy_value)
    from PySide6.QtGui import QGuiApplication

    assert QGuiApplication.clipboard().text() == big.decode()


def test_topic_combo_fills_only_when_shown(qtbot: QtBot) -> None:
    from desktop.views.topic_choice import TopicCombo

    combo = TopicCombo()
    qtbot.addWidget(combo)
    combo.set_topics(["b", "a"])
    assert combo.count() == 0  # hidden: nothing built yet
    combo.show()
    qtbot.waitExposed(combo)
    assert [combo.itemText(i) for i in range(combo.count())] == ["a", "b"]
    combo.setCurrentText("typed")
    combo.set_topics(["c"])
    assert [combo.itemText(i) for i in range(combo.count())] == ["c"]
    assert combo.currentText() == "typed"
