"""Failure benchmark for the app: kill -9 of one of 3 real Kafka brokers → shown unreachable.

Used by bench/gui.py: broker_down_detect_s (median of 3 kills) and max_stall_during_failure_ms
(the longest GUI-thread gap from a kill until the cluster is healthy again), with
max_stall_during_failure_busy_ms: the GUI thread's own CPU time in that gap. On a loaded machine
a gap is mostly waiting for a CPU while the JVMs restart; the busy part is the app's work."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

Spin = Callable[[Callable[[], bool], float], bool]
ROUNDS = 3


class Gaps:
    """A 5 ms GUI-thread timer's gaps (ms), each with the GUI thread's CPU time (ms) in it."""

    def __init__(self) -> None:
        from PySide6.QtCore import QElapsedTimer, QTimer

        self.wall: list[int] = []
        self.busy: list[float] = []
        self._clock = QElapsedTimer()
        self._cpu = 0.0
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._clock.start()
        self._cpu = time.thread_time()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        self.wall.append(self._clock.restart())
        now = time.thread_time()
        self.busy.append((now - self._cpu) * 1000)
        self._cpu = now

    def worst(self) -> tuple[int, float]:
        """The longest gap and the CPU in it; the first gap (the bench's own kill) is not one."""
        if len(self.wall) < 2:
            return 0, 0.0
        i = max(range(1, len(self.wall)), key=self.wall.__getitem__)
        return self.wall[i], round(self.busy[i], 1)


def measure(window: Any, spin: Spin, emit: Callable[[dict[str, Any]], None]) -> dict[str, float]:
    """Start a 3-broker cluster, kill each broker once in turn; returns the summary figures."""
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    from desktop.domain.profile import ClusterProfile, Credentials
    from tests.kafka.cluster import start_cluster

    cluster = start_cluster(3)
    try:
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        admin.create_topics([NewTopic("bench-failure", 6, 3)])["bench-failure"].result(30)
        window.ctx.ui.refresh_interval_s = 1.0
        view = window.open_cluster(ClusterProfile("three", cluster.bootstrap), Credentials())
        session = view.session

        def healthy() -> bool:
            snap = session.snapshot
            return (
                snap is not None
                and snap.complete
                and len(snap.brokers) == 3
                and snap.under_replicated == 0
                and len(session.liveness) == 3
                and all(b.up for b in session.liveness.values())
            )

        if not spin(healthy, 120):
            raise RuntimeError(f"cluster not healthy in the app: {session.last_error}")
        view.tabs.setCurrentWidget(view.brokers)
        detects: list[float] = []
        stalls: list[int] = []
        stall_busy: list[float] = []
        for i in range(ROUNDS):
            victim = cluster.broker_ids[i % len(cluster.broker_ids)]
            gaps = Gaps()
            gaps.start()
            cluster.kill(victim)
            killed = time.monotonic()

            def shown(v: int = victim) -> bool:
                rows = view.brokers.model.rows
                return any(r.broker.id == v and r.status.startswith("offline") for r in rows)

            if not spin(shown, 60):
                raise RuntimeError(f"broker {victim} never shown unreachable")
            detect = time.monotonic() - killed
            # only the Popen here (never in a helper thread: the JVM's pdeathsig would kill it
            # when that thread ends); readiness is what the app itself sees
            cluster.node(victim).start(cluster.classpath, cluster.log4j_file)
            if not spin(healthy, 300):
                raise RuntimeError(f"cluster not healthy again after restarting broker {victim}")
            gaps.stop()
            detects.append(detect)
            stall, busy = gaps.worst()
            stalls.append(stall)
            stall_busy.append(busy)
            emit(
                {
                    "metric": "broker_down_detect_s",
                    "round": i + 1,
                    "broker": victim,
                    "value": round(detect, 2),
                    "max_stall_ms": stalls[-1],
                    "max_stall_busy_ms": stall_busy[-1],
                }
            )
        window.close_tab(window.tabs.indexOf(view))
        return {
            "broker_down_detect_s": round(statistics.median(detects), 2),
            "max_stall_during_failure_ms": float(max(stalls)),
            "max_stall_during_failure_busy_ms": stall_busy[stalls.index(max(stalls))],
        }
    finally:
        cluster.stop_all()
