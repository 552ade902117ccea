"""GUI test fixtures: an isolated AppContext and a shown main window driven through qtbot."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt import wait_signal
from pytestqt.qtbot import QtBot

from desktop.collector import GuiThreadCollector
from desktop.context import AppContext
from desktop.settings.profiles import ProfileStore
from desktop.settings.secrets import SecretStore
from desktop.settings.ui_state import UiState
from desktop.views.cluster_view import ClusterView
from desktop.views.main_window import MainWindow
from desktop.workers.local_broker import LocalBroker
from tests.broker_fixtures import RunningBroker

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WAIT_MS = 30_000
# WAIT_MS holds at a load of about 20 on 2 cores (10 per core); beyond that, waits stretch
LOAD_PER_CORE_OF_WAIT_MS = 10.0
MAX_WAIT_STRETCH = 3.0
# Suite-wide guard against a frozen GUI thread: issue 17's budget. With cycles collected on the
# GUI thread in short steps and 10k-topic refreshes prepared on the worker, the worst test took
# 83 ms of GUI-thread CPU (whole GUI suite, load average 20-40 on 2 cores).
STALL_LIMIT_MS = 100.0
# on a quiet machine, hold the wall-clock lateness itself to the limit (CPU waits included)
STRICT_STALLS = os.environ.get("TOPICSCOPE_STRICT_STALLS") == "1"
TICK_MS = 10


class StallWatch:
    """A GUI-thread watchdog: a 10 ms timer that measures its own lateness.

    It counts only while the test waits on the app (qtbot's waits spin the event loop), so time
    the test itself spends blocking the thread (setting up a topic, say) is not the app's stall.
    `max_busy_ms` is the part of the worst lateness the GUI thread spent on the CPU: the app's
    own work. The rest of `max_late_ms` is waiting for a CPU (or the GIL), which on a loaded
    test machine can exceed the limit with no app code running at all.
    """

    def __init__(self) -> None:
        self.max_late_ms = 0.0
        self.max_busy_ms = 0.0
        self._waiting = 0
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()
        self._left_wait = 0.0
        self._timer = QTimer()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def reset(self) -> None:
        self.max_late_ms = self.max_busy_ms = 0.0
        self._last = time.perf_counter()
        self._last_cpu = time.thread_time()

    def _tick(self) -> None:
        now, cpu = time.perf_counter(), time.thread_time()
        if self._waiting:
            late = (now - self._last) * 1000 - TICK_MS
            self.max_late_ms = max(self.max_late_ms, late)
            self.max_busy_ms = max(self.max_busy_ms, (cpu - self._last_cpu) * 1000)
        self._last, self._last_cpu = now, cpu

    def entering_wait(self) -> None:
        now = time.perf_counter()
        if self._waiting == 0 and now - self._left_wait > 0.02:
            # the test's own code ran since: not a stall of the app
            self._last, self._last_cpu = now, time.thread_time()
        self._waiting += 1

    def leaving_wait(self) -> None:
        self._waiting -= 1
        if self._waiting == 0:
            self._left_wait = time.perf_counter()


@pytest.fixture(scope="session")
def gui_thread_collector(qapp: QApplication) -> GuiThreadCollector:
    """As in the app: reference cycles are collected on the GUI thread, between events (the
    collector the root conftest's ``qapp`` started)."""
    collector = qapp.findChild(GuiThreadCollector)
    assert isinstance(collector, GuiThreadCollector)
    return collector


@pytest.fixture(autouse=True)
def stall_watch(monkeypatch: pytest.MonkeyPatch) -> Iterator[StallWatch]:
    """Every GUI test: no stall of the GUI thread over STALL_LIMIT_MS while it waits on the app."""
    watch = StallWatch()

    def watched(original: Callable[..., Any]) -> Callable[..., Any]:
        def wait(self: Any) -> Any:
            watch.entering_wait()
            try:
                return original(self)
            finally:
                watch.leaving_wait()

        return wait

    for cls in (wait_signal._AbstractSignalBlocker, wait_signal.CallbackBlocker):
        monkeypatch.setattr(cls, "wait", watched(cls.wait))
    watch.start()
    yield watch
    watch.stop()
    late = watch.max_late_ms if STRICT_STALLS else watch.max_busy_ms
    assert late <= STALL_LIMIT_MS, (
        f"the GUI thread stalled {late:.0f} ms (limit {STALL_LIMIT_MS:.0f} ms; "
        f"worst lateness {watch.max_late_ms:.0f} ms, of it busy {watch.max_busy_ms:.0f} ms)"
    )


def load_scaled(ms: int) -> int:
    """`ms` stretched by how much busier the machine is than the load WAIT_MS was set for
    (the 1-minute load average per core), at most MAX_WAIT_STRETCH times: a real Kafka JVM,
    the groups helper process and the app all wait for a CPU on a loaded machine."""
    try:
        per_core = os.getloadavg()[0] / (os.cpu_count() or 1)
    except OSError:  # not available here
        per_core = 0.0
    return int(ms * min(MAX_WAIT_STRETCH, max(1.0, per_core / LOAD_PER_CORE_OF_WAIT_MS)))


@pytest.fixture(autouse=True)
def patient_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    """qtbot's waits without a timeout get WAIT_MS, not pytest-qt's 5 s: most wait on a
    broker's answer or a refresh, which a loaded 2-core machine can delay past 5 s. A wait
    that is a promise of speed ("at once") passes its own, shorter timeout; waits of WAIT_MS
    or more are stretched by the load (`load_scaled`), never shortened."""
    for name in ("waitUntil", "waitSignal", "waitSignals"):
        original = getattr(QtBot, name)

        def patient(self: QtBot, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            timeout = kwargs.get("timeout", WAIT_MS)
            kwargs["timeout"] = load_scaled(timeout) if timeout >= WAIT_MS else timeout
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(QtBot, name, patient)


@pytest.fixture(params=["builtin", pytest.param("kafka", marks=pytest.mark.realkafka)])
def bootstrap(request: pytest.FixtureRequest) -> str:
    """A GUI test's cluster, run on both: a fresh built-in broker [builtin], then the shared
    real Kafka node [kafka] (marked realkafka). Only tests that take `bootstrap` get it."""
    if request.param == "builtin":
        broker: RunningBroker = request.getfixturevalue("builtin_broker")
        return broker.bootstrap
    return str(request.getfixturevalue("kafka_single").bootstrap)


@pytest.fixture
def ctx(tmp_path: Path) -> AppContext:
    settings = QSettings(str(tmp_path / "ui.ini"), QSettings.Format.IniFormat)
    ui = UiState(settings)
    ui.refresh_interval_s = 1.0
    return AppContext(
        profiles=ProfileStore(tmp_path / "config"),
        secrets=SecretStore(),
        ui=ui,
        local=LocalBroker(port=0, data_dir=tmp_path / "broker-data"),
    )


@pytest.fixture
def window(qtbot: QtBot, ctx: AppContext) -> Iterator[MainWindow]:
    win = MainWindow(ctx)
    qtbot.addWidget(win)
    win.resize(1280, 820)
    win.show()
    qtbot.waitExposed(win)
    yield win
    for stopping in win.shutdown():  # the built-in broker and cluster stop off the GUI thread
        qtbot.waitUntil(lambda job=stopping: job.ended, timeout=WAIT_MS)


def wait_snapshot(qtbot: QtBot, view: ClusterView, check: Callable[[], bool] | None = None) -> None:
    """Wait until the view has data (and `check` holds on a later refresh)."""
    qtbot.waitUntil(lambda: view.session.snapshot is not None, timeout=WAIT_MS)
    if check is not None:
        qtbot.waitUntil(check, timeout=WAIT_MS)
