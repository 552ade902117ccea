"""A connected cluster: its worker, a refresh poller that coalesces, and its connection state."""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.domain.cluster import ClusterSnapshot, TopicInfo
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.admin import ClusterAdmin
from desktop.workers.cluster_worker import ClusterWorker

LOST_AFTER_FAILURES = 2


class SessionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost — reconnecting"


class ClusterSession(QObject):
    """Owns one cluster's worker and poller; views listen to its signals."""

    snapshot_changed = Signal(object)  # ClusterSnapshot
    state_changed = Signal(str)
    error = Signal(str)

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        refresh_s: float = 5.0,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.creds = creds  # screens with clients of their own (scans, producers) need them too
        self.worker = ClusterWorker(
            lambda: ClusterAdmin(profile, creds, timeout=timeout_s), name=profile.name
        )
        self.snapshot: ClusterSnapshot | None = None
        self.state = SessionState.CONNECTING
        self.last_error = ""
        self.last_refresh: float | None = None
        self._failures = 0
        self._timer = QTimer(self)
        self._timer.setInterval(int(refresh_s * 1000))
        self._timer.timeout.connect(self.refresh)
        self.worker.snapshot_loaded.connect(self._on_snapshot)
        self.worker.refresh_failed.connect(self._on_refresh_failed)
        self.worker.failed.connect(self._on_failed)
        self._paused = False

    def start(self) -> None:
        self.refresh()
        self._timer.start()

    def close(self) -> None:
        self._timer.stop()
        self.worker.stop()

    @property
    def refresh_interval_s(self) -> float:
        return self._timer.interval() / 1000

    def set_refresh_interval(self, seconds: float) -> None:
        self._timer.setInterval(int(max(0.2, seconds) * 1000))

    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        self._paused = paused
        if paused:
            self._timer.stop()
        else:
            self._timer.start()

    @Slot()
    def refresh(self) -> None:
        self.worker.request_refresh()

    def _set_state(self, state: SessionState) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state.value)

    @Slot(object)
    def _on_snapshot(self, snapshot: ClusterSnapshot) -> None:
        self.snapshot = snapshot
        self.last_refresh = time.time()
        self._failures = 0
        self.last_error = ""
        self._set_state(SessionState.CONNECTED)
        self.snapshot_changed.emit(snapshot)

    @Slot(str)
    def _on_refresh_failed(self, message: str) -> None:
        self._failures += 1
        self.last_error = message
        if self._failures >= LOST_AFTER_FAILURES or self.snapshot is None:
            self._set_state(SessionState.LOST)
        else:
            self._set_state(SessionState.STALE)
        self.state_changed.emit(self.state.value)

    @Slot(str, str)
    def _on_failed(self, job: str, message: str) -> None:
        self.error.emit(message)

    # ---- operations (each runs on the cluster's worker thread) ---------------------------

    def run(
        self,
        name: str,
        job: Callable[[ClusterAdmin], object],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        refresh_after: bool = False,
    ) -> None:
        def done(result: Any) -> None:
            if on_done:
                on_done(result)
            if refresh_after:
                self.refresh()

        self.worker.submit(name, job, done, on_error)

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication: int,
        configs: dict[str, str],
        *,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run(
            "create topic",
            lambda a: a.create_topic(name, partitions, replication, configs),
            on_done,
            on_error,
            refresh_after=True,
        )

    def delete_topic(
        self,
        name: str,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run("delete topic", lambda a: a.delete_topic(name), on_done, on_error, True)

    def add_partitions(
        self,
        name: str,
        total: int,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run("add partitions", lambda a: a.add_partitions(name, total), on_done, on_error, True)

    def empty_topic(
        self,
        topic: TopicInfo,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run("empty topic", lambda a: a.empty_topic(topic), on_done, on_error, True)

    def topic_configs(
        self,
        topic: str,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run("topic configs", lambda a: a.topic_configs(topic), on_done, on_error)

    def broker_configs(
        self,
        broker_id: int,
        on_done: Callable[[Any], None],
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run("broker configs", lambda a: a.broker_configs(broker_id), on_done, on_error)

    def set_topic_config(
        self,
        topic: str,
        key: str,
        value: str | None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run(
            "set topic config",
            lambda a: a.set_topic_config(topic, key, value),
            on_done,
            on_error,
            True,
        )

    def set_broker_config(
        self,
        broker_id: int,
        key: str,
        value: str | None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.run(
            "set broker config",
            lambda a: a.set_broker_config(broker_id, key, value),
            on_done,
            on_error,
        )
