"""Render each main screen offscreen to PNG with realistic data from the built-in broker.

Usage: python -m desktop.tools.screenshots docs/screenshots
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from confluent_kafka import Producer
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from desktop.app import create_application
from desktop.context import AppContext
from desktop.domain.profile import ClusterProfile, SaslMechanism, SecurityProtocol
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.ui_state import UiState
from desktop.tools.capture import grab, pause, spin
from desktop.tools.cluster_screens import render_cluster_screens
from desktop.tools.failure_screens import render_failure_screens
from desktop.tools.group_screenshots import render_group_screens
from desktop.tools.messages_screens import render_message_screens
from desktop.tools.security_screens import render_security_screens
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import LOCAL_NAME, MainWindow
from desktop.views.theme import Theme
from desktop.workers.local_broker import LocalBroker

TOPICS = {
    "orders.v1": (6, 120),
    "payments": (3, 60),
    "inventory.updates": (4, 30),
    "audit-log": (1, 10),
    "clickstream": (8, 200),
    "user.profiles": (2, 5),
}
SIZE = (1280, 820)


def produce(bootstrap: str, rounds: int = 1, scale: float = 1.0) -> None:
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for name, (_parts, rate) in TOPICS.items():
        for i in range(int(rate * scale * rounds)):
            key = f"key-{random.randrange(200)}".encode()
            producer.produce(name, key=key, value=f'{{"n": {i}, "topic": "{name}"}}'.encode())
    producer.flush(15)


def _discarder(pending: set[str], name: str) -> Callable[[object], None]:
    return lambda _result: pending.discard(name)


def render_dark(app: QApplication, window: MainWindow, view: ClusterView, out: Path) -> None:
    """The start, overview, topics and producer screens in the dark theme, then back to light."""
    window.set_theme(Theme.DARK)
    window.tabs.setCurrentIndex(0)
    pause(app, 0.6)
    grab(window, out / "start-dark.png")
    window.tabs.setCurrentWidget(view)
    view.topics.detail.tabs.setCurrentIndex(0)
    for page, name in (
        (view.overview, "overview-dark"),
        (view.topics, "topics-dark"),
        (view.producer, "producer-dark"),
    ):
        view.tabs.setCurrentWidget(page)
        pause(app, 1.2)
        grab(window, out / f"{name}.png")
    window.set_theme(Theme.LIGHT)
    pause(app, 0.3)


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    out = Path(args[0] if args else "docs/screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = create_application()
    # the broker may still be syncing its files after the window has gone: don't fail on them
    with tempfile.TemporaryDirectory(prefix="topicscope-shots-", ignore_cleanup_errors=True) as tmp:
        root = Path(tmp)
        ui = UiState(QSettings(str(root / "ui.ini"), QSettings.Format.IniFormat))
        ui.refresh_interval_s = 1.0
        profiles = ProfileStore(root / "config")
        profiles.put(
            ClusterProfile(
                "production",
                "kafka-1.prod.example.com:9093,kafka-2.prod.example.com:9093",
                SecurityProtocol.SASL_SSL,
                SaslMechanism.SCRAM_SHA_512,
                "ops",
            )
        )
        profiles.put(ClusterProfile("staging", "kafka.staging.example.com:9092"))
        ctx = AppContext(profiles, SecretStore(), ui, LocalBroker(data_dir=root / "broker"))
        window = MainWindow(ctx)
        window.resize(*SIZE)
        window.show()
        spin(app, window.isVisible)
        pause(app, 0.3)
        grab(window, out / "start.png")

        ctx.local.start()
        if not spin(app, lambda: window.find_view(LOCAL_NAME) is not None, 30):
            print("the built-in broker did not start", file=sys.stderr)
            return 1
        view = window.find_view(LOCAL_NAME)
        assert isinstance(view, ClusterView)
        session = view.session
        spin(app, lambda: session.snapshot is not None)
        pending = set(TOPICS)
        for name, (parts, _rate) in TOPICS.items():
            session.create_topic(
                name,
                parts,
                1,
                {"cleanup.policy": "compact" if "profiles" in name else "delete"},
                on_done=_discarder(pending, name),
                on_error=lambda msg: print(msg, file=sys.stderr),
            )
        spin(app, lambda: not pending)
        for i in range(8):  # a few refreshes worth of traffic for the charts
            produce(ctx.local.info.bootstrap if ctx.local.info else "", 1, 1.0 + (i % 3))
            pause(app, 1.0)
        window.tabs.setCurrentIndex(0)
        pause(app, 0.3)
        grab(window, out / "start-local-running.png")
        window.tabs.setCurrentWidget(view)
        for page, name in (
            (view.overview, "overview"),
            (view.brokers, "brokers"),
            (view.replication, "replication"),
            (view.charts, "charts"),
        ):
            view.tabs.setCurrentWidget(page)
            pause(app, 1.2)
            grab(window, out / f"{name}.png")
        view.tabs.setCurrentWidget(view.topics)
        view.topics.select("orders.v1")
        pause(app, 1.2)
        grab(window, out / "topics.png")
        view.topics.detail.tabs.setCurrentWidget(view.topics.detail.configs)
        pause(app, 1.0)
        grab(window, out / "topic-configs.png")
        render_dark(app, window, view, out)
        window.add_profile()
        dialog = window.profile_dialog
        if dialog is not None:
            dialog.name.setText("production")
            dialog.bootstrap.setText("kafka-1.prod.example.com:9093")
            dialog.protocol.setCurrentText("SASL_SSL")
            dialog.username.setText("ops")
            dialog.password.setText("secret")
            dialog.ca.edit.setText("/etc/kafka/ca.pem")
            pause(app, 0.3)
            grab(dialog, out / "profile-dialog.png")
            dialog.reject()
        view.topics.create_topic()
        create = view.topics.dialog
        if create is not None:
            create.name.setText("bad name!")  # type: ignore[attr-defined]
            pause(app, 0.3)
            grab(create, out / "create-topic.png")
            create.reject()
        stopping = window.shutdown()
        spin(app, lambda: all(job.ended for job in stopping), 30)  # the broker stops as a job
        window.close()
    # the messages and consumer-group screens bring their own broker and sample traffic
    render_message_screens(out)
    render_group_screens(out, app)
    render_failure_screens(out, app)  # sample domain objects, as a real Kafka failure looks
    with tempfile.TemporaryDirectory(prefix="topicscope-shots-", ignore_cleanup_errors=True) as tmp:
        # the local-cluster playground: a real 3-broker cluster, one broker killed
        if not render_cluster_screens(out, app, Path(tmp)):
            return 1
    render_security_screens(out, app)  # a broker of its own, started with an authorizer
    return 0


if __name__ == "__main__":
    sys.exit(main())
