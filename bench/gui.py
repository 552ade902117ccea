"""Desktop app at scale (issue 5's benchmark): 10,000 topics x 3 partitions on the built-in broker.

Measures: connect -> topic table populated; one filter keystroke; the longest GUI-thread stall
during a refresh; cold start of `python -m desktop` to its first painted window; and (issue 17)
clicking Create topic while a refresh is held 5 s by a proxy -> the result shown.
Prints JSON lines, then one {"summary": {...}} line.

    python -m bench.gui [--topics N] [--partitions P]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from desktop.first_paint import FIRST_PAINT_MARKER

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def emit(record: dict[str, Any]) -> None:
    print(json.dumps(record), flush=True)


def cold_child() -> int:
    """Runs in a fresh interpreter: build the app, show the window, report the first paint."""
    from desktop.app import build_window, create_application
    from desktop.context import AppContext
    from desktop.first_paint import watch_first_paint

    app = create_application()
    ctx = AppContext.create(config_dir=Path(tempfile.mkdtemp(prefix="topicscope-bench-")))
    window = build_window(ctx)

    reporter = watch_first_paint(app, window)
    window.show()
    return app.exec() if reporter else 1


def cold_start_s() -> float:
    env = {**os.environ}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "bench.gui", "--cold-child"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == FIRST_PAINT_MARKER:
            elapsed = time.perf_counter() - t0
            break
    else:
        raise RuntimeError("the window never painted")
    proc.wait(30)
    return elapsed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"the built-in broker did not listen on {port}")


def create_topics(bootstrap: str, count: int, partitions: int) -> float:
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    t0 = time.perf_counter()
    names = [f"bench.topic-{i:05d}" for i in range(count)]
    for start in range(0, count, 500):
        chunk = names[start : start + 500]
        futs = admin.create_topics([NewTopic(n, partitions, 1) for n in chunk], request_timeout=120)
        for fut in futs.values():
            fut.result(timeout=180)
    return time.perf_counter() - t0


def start_broker(port: int, *config: str) -> subprocess.Popen[bytes]:
    """The built-in broker in its own process, so the stalls measured are the app's own."""
    extra = [arg for kv in config for arg in ("--config", kv)]
    argv = [sys.executable, "-m", "embedded_broker", "--port", str(port), "--in-memory"]
    return subprocess.Popen(
        [*argv, "--log-level", "ERROR", *extra],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def action_during_slow_refresh_ms(
    window: Any, spin: Callable[[Callable[[], bool], float], bool]
) -> float:
    """Click Create topic (the dialog's OK) while the cluster's refresh waits 5 s on a proxy that
    holds its ListOffsets answers; milliseconds until the result is shown."""
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest

    from desktop.domain.profile import ClusterProfile, Credentials
    from desktop.views.topic_dialogs import CreateTopicDialog
    from tests.slow_proxy import LIST_OFFSETS, SlowProxy

    proxy = SlowProxy()
    port = free_port()
    broker = start_broker(port, *(f"{k}={v}" for k, v in proxy.advertised().items()))
    proxy.upstream = ("127.0.0.1", port)
    try:
        wait_port(port, 30)
        create_topics(f"127.0.0.1:{port}", 1, 1)  # a refresh reads its watermarks
        view = window.open_cluster(ClusterProfile("slow", proxy.bootstrap), Credentials())
        session = view.session
        if not spin(lambda: session.snapshot is not None and not session.refreshing, 60):
            raise RuntimeError(f"no snapshot through the proxy: {session.last_error}")
        view.tabs.setCurrentWidget(view.topics)
        proxy.hold(LIST_OFFSETS, 5.0)
        session.refresh()
        if not spin(lambda: proxy.held > 0, 30):
            raise RuntimeError("the refresh never reached the proxy")
        view.topics.create_topic()
        dialog = view.topics.dialog
        assert isinstance(dialog, CreateTopicDialog)
        QTest.keyClicks(dialog.name, "created.during.refresh")
        t0 = time.perf_counter()
        QTest.mouseClick(dialog.ok, Qt.MouseButton.LeftButton)
        done = spin(lambda: "created.during.refresh" in view.topics.message.text(), 30)
        elapsed = (time.perf_counter() - t0) * 1000
        if not done:
            raise RuntimeError(f"Create topic did not finish: {view.topics.message.text()}")
        if proxy.held == 0:
            raise RuntimeError("the refresh was no longer held: the figure would prove nothing")
        window.close_tab(window.tabs.indexOf(view))
        return elapsed
    finally:
        proxy.close()
        broker.terminate()
        broker.wait(30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--topics", type=int, default=10_000)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--cold-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--no-failure", action="store_true", help="skip the 3-broker kill -9 figures (needs java)"
    )
    args = parser.parse_args(argv)
    if args.cold_child:
        return cold_child()

    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtTest import QTest

    from desktop.app import create_application
    from desktop.context import AppContext
    from desktop.domain.profile import ClusterProfile, Credentials
    from desktop.settings.profiles import ProfileStore
    from desktop.settings.secrets import SecretStore
    from desktop.settings.ui_state import UiState
    from desktop.views.main_window import MainWindow
    from desktop.workers.local_broker import LocalBroker

    cold = cold_start_s()
    emit({"metric": "cold_start_s", "value": round(cold, 3)})

    app = create_application()

    def spin(until: Callable[[], bool], timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            app.processEvents()
            if until():
                return True
            time.sleep(0.001)
        return until()

    with tempfile.TemporaryDirectory(prefix="topicscope-bench-") as tmp:
        root = Path(tmp)
        # The broker runs in its own process so the stalls measured are the app's own; inside
        # the app (--local) it shares the interpreter, and its GIL, with the GUI thread.
        port = free_port()
        broker = start_broker(port)
        bootstrap = f"127.0.0.1:{port}"
        try:
            wait_port(port, 30)
            created = create_topics(bootstrap, args.topics, args.partitions)
            emit(
                {
                    "metric": "create_topics_s",
                    "value": round(created, 2),
                    "topics": args.topics,
                    "partitions": args.partitions,
                }
            )
            ui = UiState(QSettings(str(root / "ui.ini"), QSettings.Format.IniFormat))
            ui.refresh_interval_s = 3600  # refreshes below are triggered explicitly
            ctx = AppContext(ProfileStore(root / "cfg"), SecretStore(), ui, LocalBroker())
            window = MainWindow(ctx)
            window.resize(1280, 820)
            window.show()
            app.processEvents()

            t0 = time.perf_counter()
            view = window.open_cluster(
                ClusterProfile("bench", bootstrap, local=True), Credentials()
            )
            view.tabs.setCurrentWidget(view.topics)
            ok = spin(lambda: view.topics.model.rowCount() >= args.topics, 300)
            load = time.perf_counter() - t0
            if not ok:
                raise RuntimeError(f"topic table not populated: {view.session.last_error}")
            emit(
                {
                    "metric": "topics_load_s",
                    "value": round(load, 3),
                    "rows": view.topics.model.rowCount(),
                }
            )

            # one keystroke in the filter: the proxy filters synchronously on textChanged
            QTest.keyClicks(view.topics.filter, "bench.topic-0")
            app.processEvents()
            t0 = time.perf_counter()
            QTest.keyClick(view.topics.filter, Qt.Key.Key_7)
            app.processEvents()
            filter_ms = (time.perf_counter() - t0) * 1000
            emit(
                {
                    "metric": "filter_ms",
                    "value": round(filter_ms, 2),
                    "shown": view.topics.proxy.rowCount(),
                }
            )
            view.topics.filter.clear()
            app.processEvents()

            # longest GUI-thread stall while refreshes run (a 5 ms timer measures gaps)
            clock = QElapsedTimer()
            gaps: list[int] = []
            timer = QTimer()
            timer.setInterval(5)
            timer.timeout.connect(lambda: gaps.append(clock.restart()))
            stalls = []
            gc_pauses: list[float] = []
            gc_started: list[float] = []

            def on_gc(phase: str, _info: dict[str, Any]) -> None:
                if phase == "start":
                    gc_started[:] = [time.perf_counter()]
                elif gc_started:
                    gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000)

            gc.callbacks.append(on_gc)
            for page in (view.topics, view.overview, view.replication):
                view.tabs.setCurrentWidget(page)
                app.processEvents()
                gaps.clear()
                before = view.session.last_refresh
                clock.start()
                timer.start()
                view.session.refresh()
                spin(lambda b=before: view.session.last_refresh != b, 300)
                spin(lambda: False, 0.2)  # let the view finish painting
                timer.stop()
                stalls.append(max(gaps[1:] or [0]))
                longest_gc = round(max(gc_pauses, default=0.0), 1)
                gc_pauses.clear()
                emit(
                    {
                        "metric": "refresh_stall_ms",
                        "page": type(page).__name__,
                        "value": stalls[-1],
                        "longest_gc_ms": longest_gc,
                        "ticks": len(gaps),
                    }
                )
            max_stall = max(stalls)
            action_ms = action_during_slow_refresh_ms(window, spin)
            emit({"metric": "action_during_slow_refresh_ms", "value": round(action_ms, 1)})
            failure: dict[str, float] = {}
            if not args.no_failure:
                from bench.gui_failure import measure

                failure = measure(window, spin, emit)
            window.shutdown()
            window.close()
        finally:
            broker.terminate()
            broker.wait(30)
    emit(
        {
            "summary": {
                "topics_load_s": round(load, 3),
                "filter_ms": round(filter_ms, 2),
                "max_stall_ms": max_stall,
                "cold_start_s": round(cold, 3),
                "action_during_slow_refresh_ms": round(action_ms, 1),
                **failure,
            }
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
