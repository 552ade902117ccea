"""Screenshots of the local-cluster playground: a real 3-broker cluster started from the app, one
broker killed (-9) from its Brokers tab. Usage: part of python -m desktop.tools.screenshots."""

from __future__ import annotations

import sys
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.context import AppContext
from desktop.domain.timeline import EventKind
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.ui_state import UiState
from desktop.tools.capture import grab, pause, spin
from desktop.views.main_window import CLUSTER_NAME, MainWindow
from desktop.workers.local_broker import LocalBroker
from desktop.workers.local_cluster import LocalCluster

SIZE = (1280, 900)
TOPIC = "orders"
VICTIM = 103


def _fill(bootstrap: str) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    new = NewTopic(TOPIC, 6, 3, config={"min.insync.replicas": "2"})
    admin.create_topics([new])[TOPIC].result(timeout=60)
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 20})
    for i in range(600):
        producer.produce(TOPIC, key=f"order-{i % 50}".encode(), value=f'{{"n": {i}}}'.encode())
    producer.flush(30)


def render_cluster_screens(out: Path, app: QApplication, root: Path) -> bool:
    """start-cluster.png and local-cluster.png (broker 103 killed), then preferred-election.png
    once it is back; False if the cluster did not start."""
    ui = UiState(QSettings(str(root / "cluster-ui.ini"), QSettings.Format.IniFormat))
    ui.refresh_interval_s = 1.0
    ctx = AppContext(
        ProfileStore(root / "cluster-config"),
        SecretStore(),
        ui,
        LocalBroker(data_dir=root / "cluster-broker"),
        cluster=LocalCluster(
            data_dir=root / "cluster",
            port=0,
            config={"broker.session.timeout.ms": "3000"},  # the failover within the shot
        ),
    )
    window = MainWindow(ctx)
    window.resize(*SIZE)
    window.show()
    try:
        return _render(out, app, window, ctx)
    finally:
        jobs = window.shutdown()
        spin(app, lambda: all(job.ended for job in jobs), 60)  # before the data goes
        window.close()


def _render(out: Path, app: QApplication, window: MainWindow, ctx: AppContext) -> bool:
    ctx.cluster.start()
    if not spin(app, lambda: window.find_view(CLUSTER_NAME) is not None, 120):
        print("the local cluster did not start", file=sys.stderr)
        return False
    view = window.find_view(CLUSTER_NAME)
    assert view is not None
    info = ctx.cluster.info
    assert info is not None
    _fill(info.bootstrap)
    session = view.session

    def healthy() -> bool:
        snap = session.snapshot
        t = snap.topic(TOPIC) if snap else None
        return t is not None and snap is not None and snap.complete and t.under_replicated == 0

    spin(app, healthy, 60)
    view.tabs.setCurrentWidget(view.brokers)
    pause(app, 1.0)
    ctx.cluster.kill_node(VICTIM)

    def failed_over() -> bool:
        shrank = [e for e in session.timeline.events if e.kind is EventKind.ISR_SHRANK]
        return len(shrank) >= 6 and not session.refreshing

    spin(app, failed_over, 60)
    pause(app, 2.0)  # "unreachable for N s" ticks a little
    grab(window, out / "local-cluster.png")
    window.tabs.setCurrentIndex(0)
    pause(app, 0.5)
    grab(window, out / "start-cluster.png")
    window.tabs.setCurrentWidget(view)
    view.tabs.setCurrentWidget(view.replication)
    election = view.replication.election
    assert election is not None
    view.replication.tabs.setCurrentWidget(election)
    # broker 103 back: its partitions are in sync again but led elsewhere, so they would move
    ctx.cluster.start_node(VICTIM)
    spin(app, healthy, 90)
    election.preview()
    spin(app, lambda: election.job is not None and election.job.ended, 30)
    pause(app, 0.8)
    grab(window, out / "preferred-election.png")
    return True
