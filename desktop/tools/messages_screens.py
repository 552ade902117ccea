"""Render the message browser and the producer offscreen to PNG, with data on a built-in broker.

Usage: python -m desktop.tools.messages_screens docs/screenshots
(or call render_message_screens(out_dir) from another screenshot script).
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.settings.browser_prefs import BrowserPrefs
from desktop.views.messages import MessagesPage
from desktop.views.producer import VALUE_JSON, ProducerPage
from desktop.workers.session import ClusterSession
from embedded_broker.runner import BrokerRunner

SIZE = (1280, 820)
TOPIC = "orders.v1"


def _spin(app: QApplication, until: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.02)
    return until()


def _sample_data(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(TOPIC, 6, 1)])[TOPIC].result(timeout=30)
    rng = random.Random(7)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    cities = ["Lisbon", "Oslo", "Lyon", "Graz", "Porto", "Turin", "Cork"]
    for i in range(2400):
        customer = f"customer-{rng.randint(1, 300)}"
        doc = {
            "order_id": 10_000 + i,
            "customer": {"id": customer, "city": rng.choice(cities)},
            "items": [
                {"sku": f"SKU-{rng.randint(100, 999)}", "qty": rng.randint(1, 4)}
                for _ in range(rng.randint(1, 3))
            ],
            "total": round(rng.uniform(5, 400), 2),
            "status": rng.choice(["NEW", "PAID", "SHIPPED"]),
        }
        headers: list[tuple[str, str | bytes | None]] = [
            ("trace-id", f"{rng.getrandbits(64):016x}".encode()),
            ("source", b"web"),
        ]
        producer.produce(
            TOPIC, key=customer.encode(), value=json.dumps(doc).encode(), headers=headers
        )
    producer.flush(30)


def render_message_screens(out_dir: Path, bootstrap: str | None = None) -> list[Path]:
    """Write messages.png and producer.png to `out_dir`.

    Without `bootstrap`, an in-memory built-in broker is started and filled with sample orders;
    with one, its topic "orders.v1" is browsed (and receives one message and a short bulk run)."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    out_dir.mkdir(parents=True, exist_ok=True)
    runner: BrokerRunner | None = None
    if bootstrap is None:
        runner = BrokerRunner(port=0, in_memory=True)
        bootstrap = runner.start().bootstrap
        _sample_data(bootstrap)
    session = ClusterSession(ClusterProfile("local", bootstrap), Credentials(), refresh_s=5.0)
    session.start()
    written: list[Path] = []
    try:
        _spin(app, lambda: session.snapshot is not None and session.snapshot.complete)
        # the default choices, not the ones remembered on this machine
        prefs_dir = tempfile.TemporaryDirectory(prefix="topicscope-prefs-")
        prefs = QSettings(str(Path(prefs_dir.name) / "ui.ini"), QSettings.Format.IniFormat)
        browser = MessagesPage(session, BrowserPrefs(prefs))
        browser.resize(*SIZE)
        browser.show()
        browser.set_topic(TOPIC)
        if runner is not None:  # our own sample data: show a JSON-field search
            browser.json_path.setText("status")
            browser.json_value.setText("SHIPPED")
        browser.start_scan()
        _spin(app, lambda: browser.scan is not None and not browser.scanning)
        # newest first, the way one looks for what just happened
        browser.table.sortByColumn(browser.model.TIMESTAMP, Qt.SortOrder.DescendingOrder)
        browser.table.selectRow(3)
        _spin(app, lambda: False, 0.3)
        path = out_dir / "messages.png"
        browser.grab().save(str(path))
        written.append(path)

        producer = ProducerPage(session)
        producer.resize(*SIZE)
        producer.show()
        producer.topic.setCurrentText(TOPIC)
        producer.key.setText("customer-42")
        producer.value_mode.setCurrentText(VALUE_JSON)
        producer.value.setPlainText('{"order_id": 99, "total": 12.5, "status": "NEW"}')
        producer.format_json()
        producer.headers.add("trace-id", "4f1c2a9e")
        producer.headers.add("source", "topicscope")
        producer.send()
        _spin(app, lambda: not producer.busy)
        producer.bulk.topic.setCurrentText(TOPIC)
        producer.bulk.count.setValue(5000)
        producer.bulk.rate.setValue(2000)
        producer.bulk.start()
        _spin(app, lambda: producer.bulk.progress.value() > 1500, 10)
        path = out_dir / "producer.png"
        producer.grab().save(str(path))
        written.append(path)
        producer.bulk.stop()
        _spin(app, lambda: not producer.bulk.running, 10)
        browser.shutdown()
        prefs_dir.cleanup()
    finally:
        session.close()
        if runner is not None:
            runner.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0] if args else "docs/screenshots")
    for path in render_message_screens(out):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
