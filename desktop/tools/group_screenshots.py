"""Render the consumer-group screens offscreen to PNG, with live groups on the built-in broker.

Usage: python -m desktop.tools.group_screenshots docs/screenshots
From code: render_group_screens(Path("docs/screenshots")) -> list of written PNGs.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtWidgets import QApplication

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.tools.capture import grab, pause, spin
from desktop.views.groups import GroupsPage
from desktop.views.reset_offsets import ResetOffsetsDialog
from desktop.views.topic_consumers import TopicConsumers
from desktop.workers.session import ClusterSession
from embedded_broker.runner import BrokerRunner

TOPICS = {"orders.v1": 6, "payments": 3, "clickstream": 4}
SIZE = (1280, 860)
LIVE_GROUP = "billing-service"


def _consumer(bootstrap: str, group: str, client: str) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "client.id": client,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )


def _seed(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futs = admin.create_topics([NewTopic(n, p, 1) for n, p in TOPICS.items()])
    for f in futs.values():
        f.result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for name, parts in TOPICS.items():
        for i in range(400 * parts):
            producer.produce(name, f'{{"n": {i}}}'.encode(), partition=i % parts)
    producer.flush(30)
    commits = {
        "analytics-etl": {("orders.v1", p): 150 + 20 * p for p in range(6)},
        "fraud-detector": {("payments", p): 400 for p in range(3)},
        "search-indexer": {("clickstream", p): 90 * (p + 1) for p in range(4)}
        | {("orders.v1", p): 380 for p in range(6)},
    }
    for group, offsets in commits.items():
        tps = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        fut = admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, tps)])
        fut[group].result(timeout=30)


def render_group_screens(out: Path, app: QApplication | None = None) -> list[Path]:
    """Start a built-in broker, run real consumers, and save the group screens under `out`."""
    app = app or QApplication.instance() or QApplication([])  # type: ignore[assignment]
    assert isinstance(app, QApplication)
    out.mkdir(parents=True, exist_ok=True)
    runner = BrokerRunner(port=0, in_memory=True, config={"group.initial.rebalance.delay.ms": "0"})
    bootstrap = runner.start().bootstrap
    written: list[Path] = []
    live = _consumer(bootstrap, LIVE_GROUP, "billing-1")
    idle = _consumer(bootstrap, "audit-archiver", "archiver-1")  # joins, never commits
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    session = ClusterSession(ClusterProfile("local", bootstrap, local=True), Credentials(), 1.0)
    page = GroupsPage(session)
    try:
        _seed(bootstrap)
        live.subscribe(["orders.v1", "payments"])
        idle.subscribe(["clickstream"])
        page.resize(*SIZE)
        page.show()
        session.start()
        page.activate()
        spin(app, lambda: LIVE_GROUP in page.poller.groups and page.poller.loaded)
        page.select(LIVE_GROUP)
        # the live group consumes faster than the producer writes: the lag shrinks
        end = time.monotonic() + 14
        read = 0
        while time.monotonic() < end:
            for msg in live.consume(num_messages=int(60 + read / 40), timeout=0.05):
                if msg.error() is None:
                    read += 1
            idle.poll(0)
            for i in range(12):
                producer.produce("orders.v1", f'{{"live": {i}}}'.encode())
            producer.poll(0)
            if read:
                live.commit(asynchronous=True)
            pause(app, 0.25)
        page.detail.load()
        spin(app, lambda: page.detail.detail is not None)
        pause(app, 1.5)
        written.append(out / "groups.png")
        grab(page, written[-1])
        page.detail.tabs.setCurrentWidget(page.detail.charts)
        pause(app, 0.5)
        written.append(out / "group_lag_chart.png")
        grab(page, written[-1])
        page.tabs.setCurrentWidget(page.total_chart)
        pause(app, 0.5)
        written.append(out / "groups_lag_history.png")
        grab(page, written[-1])
        page.tabs.setCurrentIndex(0)
        page.detail.tabs.setCurrentIndex(0)

        page.select("analytics-etl")
        page.reset_offsets()
        dialog = page.dialog
        assert isinstance(dialog, ResetOffsetsDialog)
        spin(app, lambda: dialog.state == "Empty")
        dialog.mode.setCurrentIndex(4)  # shift by ±N
        dialog.shift.setText("-100")
        dialog.preview()
        spin(app, lambda: dialog.plan is not None)
        pause(app, 0.3)
        written.append(out / "reset_offsets.png")
        grab(dialog, written[-1])
        dialog.reject()

        page.select(LIVE_GROUP)
        page.reset_offsets()
        refused = page.dialog
        assert isinstance(refused, ResetOffsetsDialog)
        spin(app, refused.refusal.isVisible)
        pause(app, 0.3)
        written.append(out / "reset_refused.png")
        grab(refused, written[-1])
        refused.reject()

        consumers = TopicConsumers(session)
        consumers.resize(900, 360)
        consumers.show()
        consumers.show_topic("orders.v1")
        spin(app, lambda: consumers.model.rowCount() >= 3)
        pause(app, 0.3)
        written.append(out / "topic_consumers.png")
        grab(consumers, written[-1])
        consumers.close()
    finally:
        live.close()
        idle.close()
        session.close()
        session.runner.join(10)
        runner.stop()
    return written


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else "docs/screenshots")
    render_group_screens(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
