"""Export the scanned result set, parse it back, import it and re-produce a selection."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from confluent_kafka import Producer
from PySide6.QtCore import QItemSelectionModel
from pytestqt.qtbot import QtBot

from desktop.domain.messages import Record
from desktop.services.export import read_jsonl
from desktop.views.messages import MessagesPage
from tests.broker_fixtures import RunningBroker
from tests.gui.messages_support import (
    WAIT_MS,
    browser_fixture,  # noqa: F401 (a fixture)
    create_topic,
    scan,
    session_fixture,  # noqa: F401 (a fixture)
)


def _fill(bootstrap: str, topic: str, count: int) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 10})
    for i in range(count):
        key = None if i % 10 == 0 else f"key-{i}".encode()
        value = bytes([i % 256, 0xFF, 0x00]) if i % 7 == 0 else f'{{"i": {i}, "t": "ü"}}'.encode()
        headers = [("n", str(i).encode()), ("bin", b"\x80\x81")] if i % 3 == 0 else None
        producer.produce(topic, key=key, value=value, headers=headers)
    assert producer.flush(30) == 0


def _wait_export(qtbot: QtBot, page: MessagesPage) -> None:
    qtbot.waitUntil(lambda: not page.io.exporting, timeout=WAIT_MS)
    assert page.io.io_status.text().startswith("Exported"), page.io.io_status.text()


def _same(a: list[Record], b: list[Record]) -> None:
    """The same keys, values and headers (in any order: retries may reorder a send)."""

    def content(records: list[Record]) -> list[tuple[object, ...]]:
        return sorted(((r.key, r.value, r.headers) for r in records), key=repr)

    assert content(a) == content(b)


def test_export_parse_and_import_round_trip(
    qtbot: QtBot, tmp_path: Path, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "source", 3)
    create_topic(builtin_broker.bootstrap, "copy", 1)
    _fill(builtin_broker.bootstrap, "source", 300)
    scan(qtbot, browser, "source")
    scanned = browser.model.records
    assert len(scanned) == 300

    for encoding in ("text", "base64"):
        browser.io.encoding.setCurrentText(encoding)
        path = tmp_path / f"out-{encoding}.jsonl"
        browser.io.export_to(path, "jsonl")
        _wait_export(qtbot, browser)
        parsed = list(read_jsonl(path))
        assert parsed == scanned
        first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
        assert set(first) >= {
            "partition",
            "offset",
            "timestamp",
            "timestamp_type",
            "key",
            "value",
            "headers",
        }
        assert first["timestamp_type"] == "CreateTime"

    csv_path = tmp_path / "out.csv"
    browser.io.export_to(csv_path, "csv")
    _wait_export(qtbot, browser)
    with csv_path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300
    assert [(int(r["partition"]), int(r["offset"])) for r in rows] == [
        (r.partition, r.offset) for r in scanned
    ]

    worker = browser.io.import_from(tmp_path / "out-text.jsonl", "copy")
    assert worker is not None
    qtbot.waitUntil(lambda: not browser.io.producing, timeout=WAIT_MS)
    assert browser.io.io_status.text() == "Imported out-text.jsonl: 300 messages to 'copy'."
    scan(qtbot, browser, "copy")
    _same(browser.model.records, scanned)


def test_export_after_rows_were_dropped_covers_the_whole_range(
    qtbot: QtBot, tmp_path: Path, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "long", 2)
    _fill(builtin_broker.bootstrap, "long", 1000)
    browser.cap.setValue(100)
    scan(qtbot, browser, "long")
    assert browser.model.dropped == 900
    path = tmp_path / "all.jsonl"
    browser.io.export_to(path, "jsonl")
    _wait_export(qtbot, browser)
    parsed = list(read_jsonl(path))
    assert len(parsed) == 1000
    assert len({(r.partition, r.offset) for r in parsed}) == 1000
    # partitions interleave differently in each scan; every held row is in the file
    assert set(browser.model.records) <= set(parsed)


def test_reproduce_selected_to_another_topic(
    qtbot: QtBot, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "from", 1)
    create_topic(builtin_broker.bootstrap, "to", 1)
    _fill(builtin_broker.bootstrap, "from", 30)
    scan(qtbot, browser, "from")
    selection = browser.table.selectionModel()
    flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
    for row in (3, 4, 9):
        selection.select(browser.model.index(row, 0), flags)
    chosen = browser.selected_records()
    assert [r.offset for r in chosen] == [3, 4, 9]
    browser.io.target_topic.setCurrentText("to")
    worker = browser.io.reproduce_selected()
    assert worker is not None
    qtbot.waitUntil(lambda: not browser.io.producing, timeout=WAIT_MS)
    assert browser.io.io_status.text().startswith("Re-produced: 3 of 3")
    scan(qtbot, browser, "to")
    _same(browser.model.records, chosen)


def test_import_of_a_bad_file_names_the_line(
    qtbot: QtBot, tmp_path: Path, builtin_broker: RunningBroker, browser: MessagesPage
) -> None:
    create_topic(builtin_broker.bootstrap, "target", 1)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"key": "a", "value": "b"}\n{"key": \n', encoding="utf-8")
    worker = browser.io.import_from(bad, "target")
    assert worker is not None
    qtbot.waitUntil(lambda: not browser.io.producing, timeout=WAIT_MS)
    assert browser.io.io_status.text().startswith("Imported bad.jsonl failed: Line 2 of bad.jsonl")
    assert browser.io.import_from(tmp_path / "missing.jsonl", "target") is not None
    qtbot.waitUntil(lambda: not browser.io.producing, timeout=WAIT_MS)  # checked off the GUI
    assert "is not a readable file" in browser.io.io_status.text()
