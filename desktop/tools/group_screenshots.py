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

from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    Producer,
    ShareConsumer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from kio.schema.incremental_alter_configs.v1 import request as alter
from kio.static.primitive import i8
from PySide6.QtWidgets import QApplication

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.kio_wire import KioWire
from desktop.tools.capture import grab, pause, spin
from desktop.views.groups import GroupsPage
from desktop.views.reset_offsets import ResetOffsetsDialog
from desktop.views.topic_consumers import TopicConsumers
from desktop.workers.session import ClusterSession
from embedded_broker.runner import BrokerRunner

TOPICS = {"orders.v1": 6, "payments": 3, "clickstream": 4}
SIZE = (1280, 860)
LIVE_GROUP = "billing-service"
MODERN_GROUP = "inventory-sync"  # group.protocol=consumer (KIP-848)
SHARE_GROUP = "email-queue"  # a share group (KIP-932)


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


def _share_from_earliest(bootstrap: str, group: str) -> None:
    """share.auto.offset.reset=earliest for the group (a group config, which confluent-kafka
    cannot set), so its consumers read what was produced before they joined."""
    wire = KioWire(ClusterProfile("shots", bootstrap), Credentials(), 10.0)
    try:
        wire.send(
            alter.IncrementalAlterConfigsRequest(
                resources=(
                    alter.AlterConfigsResource(
                        resource_type=i8(32),  # GROUP
                        resource_name=group,
                        configs=(
                            alter.AlterableConfig(
                                name="share.auto.offset.reset",
                                config_operation=i8(0),
                                value="earliest",
                            ),
                        ),
                    ),
                ),
                validate_only=False,
            )
        )
    finally:
        wire.close()


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

        written += _protocol_screens(app, page, bootstrap, out)
    finally:
        live.close()
        idle.close()
        session.close()
        page.poller.close()  # ends the groups helper process, as closing the screen does
        session.runner.join(10)
        runner.stop()
    return written


def _protocol_screens(app: QApplication, page: GroupsPage, bootstrap: str, out: Path) -> list[Path]:
    """A consumer-protocol group's members with their epochs, and a share group's partitions."""
    written: list[Path] = []
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    modern = [
        Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": MODERN_GROUP,
                "group.protocol": "consumer",
                "client.id": f"inventory-{n}",
                "auto.offset.reset": "earliest",
            }
        )
        for n in (1, 2)
    ]
    _share_from_earliest(bootstrap, SHARE_GROUP)
    share = [
        ShareConsumer(
            {"bootstrap.servers": bootstrap, "group.id": SHARE_GROUP, "client.id": f"mailer-{n}"}
        )
        for n in (1, 2)
    ]
    try:
        for c in modern:
            c.subscribe(["orders.v1"])
        for s in share:
            s.subscribe(["payments"])
        end = time.monotonic() + 12
        while time.monotonic() < end:
            for c in modern:
                c.poll(0.05)
            for s in share[:1]:  # one mailer works, the other holds what it got
                s.poll(0.05)
            pause(app, 0.1)
        # more mail arrives; the second mailer takes some and holds it: lag, and records in flight
        for i in range(300):
            producer.produce("payments", f'{{"mail": {i}}}'.encode(), partition=i % 3)
        producer.flush(10)
        share[1].poll(1.0)
        page.select(MODERN_GROUP)
        page.detail.tabs.setCurrentIndex(1)  # members
        spin(app, lambda: page.detail.members.rowCount() == 2 and page.detail.protocol.text() != "")
        pause(app, 0.5)
        written.append(out / "group_members_848.png")
        grab(page, written[-1])
        page.detail.tabs.setCurrentIndex(0)
        spin(app, lambda: SHARE_GROUP in page.poller.groups)
        page.select(SHARE_GROUP)
        spin(app, lambda: page.detail.partitions.rowCount() > 0)
        pause(app, 0.5)
        written.append(out / "share_group.png")
        grab(page, written[-1])
        written.append(out / "topic_consumers_share.png")
        _topic_consumers(app, page.session, "payments", written[-1])
    finally:
        for c in modern:
            c.close()
        for s in share:
            s.close()
    return written


def _topic_consumers(app: QApplication, session: ClusterSession, topic: str, png: Path) -> None:
    """A topic's Consumers tab with a share group among its consumers."""
    consumers = TopicConsumers(session)
    consumers.resize(1200, 300)
    consumers.show()
    consumers.show_topic(topic)
    spin(app, lambda: any(g.group_type == "share" for g in consumers.model.rows))
    pause(app, 0.3)
    grab(consumers, png)
    consumers.close()


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else "docs/screenshots")
    render_group_screens(out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
