"""Replication health on a real 3-broker cluster, and responsiveness with an unreachable one."""

from __future__ import annotations

import socket
import time

import pytest
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.cluster import ReplicaState
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.models.base import AMBER
from desktop.views.main_window import MainWindow
from desktop.workers.session import SessionState
from tests.gui.conftest import WAIT_MS, wait_snapshot
from tests.gui.helpers import click_row
from tests.integration.cluster.local_cluster import start_timeout_s
from tests.kafka.fixtures import KafkaCluster3

REFRESH_S = 1.0


def _background(view_table: object, row: int) -> str | None:
    model = view_table.model()  # type: ignore[attr-defined]
    brush = model.index(row, 0).data(8)  # Qt.BackgroundRole
    return None if brush is None else brush.name()


@pytest.mark.realkafka
def test_stopped_broker_turns_partitions_amber(
    qtbot: QtBot, window: MainWindow, kafka_cluster3: KafkaCluster3
) -> None:
    admin = AdminClient({"bootstrap.servers": kafka_cluster3.bootstrap})
    topic = "gui-rf3"
    md = admin.list_topics(timeout=10)
    if topic not in md.topics:
        admin.create_topics([NewTopic(topic, 3, 3)])[topic].result(timeout=30)
    window.ctx.ui.refresh_interval_s = REFRESH_S
    view = window.open_cluster(ClusterProfile("three", kafka_cluster3.bootstrap), Credentials())

    def healthy() -> bool:
        snap = view.session.snapshot
        t = snap.topic(topic) if snap else None
        return t is not None and t.partition_count == 3 and t.under_replicated == 0

    wait_snapshot(qtbot, view, healthy)
    qtbot.waitUntil(lambda: view.overview.cards["under_replicated"].value.text() == "0")
    view.tabs.setCurrentWidget(view.topics)
    assert click_row(qtbot, view.topics.table, 0, topic)
    detail = view.topics.detail
    qtbot.waitUntil(lambda: detail.partitions.rowCount() == 3, timeout=WAIT_MS)

    victim = kafka_cluster3.broker_ids[-1]
    kafka_cluster3.stop(victim)
    stopped_at = time.monotonic()
    view.tabs.setCurrentWidget(view.overview)
    # Kafka itself needs replica.lag / session expiry before it shrinks the ISR; once the
    # metadata says so, the app must show it within two refresh intervals.
    qtbot.waitUntil(
        lambda: int(view.overview.cards["under_replicated"].value.text().replace(",", "")) > 0,
        timeout=30_000,
    )
    shown_after = time.monotonic() - stopped_at
    # two refresh intervals, plus room for the refresh's own round trips (stretched with the
    # machine's load, as every wait in the suite is)
    bound_s = 2 * REFRESH_S + start_timeout_s(5.0)
    assert shown_after < bound_s, f"shown after {shown_after:.1f} s (bound {bound_s:.0f} s)"
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(
        lambda: all(detail.partitions.state(r) == ReplicaState.UNDER_REPLICATED for r in range(3)),
        timeout=WAIT_MS,
    )
    assert all(_background(detail.table, r) == AMBER for r in range(3))
    assert view.overview.badges["replication"].kind == "warn"

    kafka_cluster3.start(victim)
    view.tabs.setCurrentWidget(view.overview)
    qtbot.waitUntil(
        lambda: view.overview.cards["under_replicated"].value.text() == "0", timeout=90_000
    )
    view.tabs.setCurrentWidget(view.topics)
    qtbot.waitUntil(
        lambda: all(detail.partitions.state(r) == ReplicaState.HEALTHY for r in range(3)),
        timeout=WAIT_MS,
    )
    assert _background(detail.table, 0) is None
    print(f"under-replication shown {shown_after:.1f} s after the broker stopped")


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_unreachable_cluster_keeps_the_ui_responsive(qtbot: QtBot, window: MainWindow) -> None:
    window.ctx.ui.refresh_interval_s = 0.5
    # a TEST-NET address (RFC 5737): packets go nowhere, so every call runs into its timeout
    profile = ClusterProfile("nowhere", f"192.0.2.1:9092,127.0.0.1:{_refused_port()}")
    gaps: list[int] = []
    clock = QElapsedTimer()
    clock.start()
    timer = QTimer()
    timer.setInterval(10)

    def tick() -> None:
        gaps.append(clock.restart())

    timer.timeout.connect(tick)
    view = window.open_cluster(profile, Credentials())  # builds widgets; no network here
    for _ in range(3):  # let the new tab finish its first layout and paint
        QApplication.sendPostedEvents()
        QApplication.processEvents()
    clock.restart()
    timer.start()
    qtbot.waitUntil(view.banner.isVisible, timeout=60_000)
    assert view.session.state == SessionState.LOST
    assert view.banner.text().startswith("Cannot reach 192.0.2.1:9092")
    assert view.session.last_error in view.banner.text()
    assert "lost" in window.status_state.text()
    # on a loaded machine the bootstrap check may report before the timer's first tick: go on
    # measuring while the session keeps retrying (it still calls the unreachable cluster)
    qtbot.waitUntil(lambda: len(gaps) > 50, timeout=60_000)
    timer.stop()
    ordered = sorted(gaps)
    p99 = ordered[int(len(ordered) * 0.99)]
    print(f"timer gaps: {len(gaps)} ticks, p99 {p99} ms, worst {ordered[-5:]} ms")
    # Any Kafka call on the GUI thread would block for its whole timeout (seconds) here.
    # On an idle machine the worst gap stays far below 100 ms; on a loaded 2-core CI box the
    # scheduler alone can delay one tick, so the hard bound is on the 99th percentile.
    assert p99 < 100, f"GUI thread stalled: p99 {p99} ms"
    assert ordered[-1] < 1000, f"GUI thread blocked {ordered[-1]} ms"
