"""Consumer groups at scale (issues 7 and 14) on the built-in broker.

2,000 groups, then 5,000 (each run on a broker of its own), each group with committed offsets
on 3 topics x 6 partitions. Measures the time from opening the groups screen until its table
shows every group with its lag, and the longest GUI-thread stall meanwhile (gaps of a 5 ms
QTimer), then the stall during steady refreshes. Prints JSON lines, then one
{"summary": {...}} line: the 2,000-group keys as before, and groups_5k_load_s and
groups_5k_max_stall_ms for the 5,000-group run.

    python -m bench.groups_ui [--groups N] [--large N (0: skip)]
"""

from __future__ import annotations

import argparse
import gc
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from bench.support import builtin_broker, emit

TOPICS = 3
PARTITIONS = 6
MESSAGES_PER_PARTITION = 200
TIMER_MS = 5


def seed(bootstrap: str, groups: int) -> dict[str, float]:
    """Topics with messages, then `groups` groups committed in parallel (no consumers)."""
    from confluent_kafka import ConsumerGroupTopicPartitions, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient
    from confluent_kafka.cimpl import NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    names = [f"bench.groups.{i}" for i in range(TOPICS)]
    t0 = time.perf_counter()
    futs = admin.create_topics([NewTopic(n, PARTITIONS, 1) for n in names])
    for f in futs.values():
        f.result(timeout=60)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for name in names:
        for p in range(PARTITIONS):
            for i in range(MESSAGES_PER_PARTITION):
                producer.produce(name, f"m{i}".encode(), partition=p)
            producer.poll(0)
    producer.flush(60)
    topics_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    pending = []
    for g in range(groups):
        gid = f"bench-group-{g:05d}"
        tps = [
            TopicPartition(n, p, (g * 7 + p * 13) % MESSAGES_PER_PARTITION)
            for n in names
            for p in range(PARTITIONS)
        ]
        pending.append(
            admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(gid, tps)])[gid]
        )
    for f in pending:
        f.result(timeout=120)
    return {"topics_s": round(topics_s, 3), "groups_commit_s": round(time.perf_counter() - t1, 3)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--groups", type=int, default=2000)
    parser.add_argument("--large", type=int, default=5000, help="the large run (0: skip)")
    parser.add_argument("--probe", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe:
        return probe()

    summary: dict[str, float | int] = {}
    ok = True
    if args.groups:
        small = run(args.groups)
        ok = ok and bool(small.pop("ok"))
        summary.update(small)
    if args.large:
        large = run(args.large)
        ok = ok and bool(large.pop("ok"))
        summary.update(
            {
                "groups_5k": large["groups"],
                "groups_5k_load_s": large["groups_load_s"],
                "groups_5k_max_stall_ms": large["max_stall_ms"],
                "groups_5k_load_stall_ms": large["load_stall_ms"],
                "groups_5k_steady_stall_ms": large["steady_stall_ms"],
                "groups_5k_gui_busy_ms": large["gui_busy_ms"],
                "groups_5k_idle_process_max_gap_ms": large["idle_process_max_gap_ms"],
            }
        )
    emit({"summary": summary})
    return 0 if ok else 1


def run(groups: int) -> dict[str, float | int]:
    """One screen against a broker of its own holding `groups` groups."""
    from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

    from desktop.app import create_application
    from desktop.domain.profile import ClusterProfile, Credentials
    from desktop.views.groups import GroupsPage
    from desktop.workers.session import ClusterSession

    app = create_application([])  # as the app runs: its garbage-collector tuning included

    def wait(until: Callable[[], bool], timeout_s: float) -> bool:
        """Run the event loop (no sleeping on the GUI thread) until `until()` holds."""
        loop = QEventLoop()
        check = QTimer()
        check.setInterval(10)
        deadline = time.monotonic() + timeout_s
        check.timeout.connect(
            lambda: loop.quit() if until() or time.monotonic() > deadline else None
        )
        check.start()
        if not until():
            loop.exec()
        check.stop()
        return until()

    with builtin_broker({"group.initial.rebalance.delay.ms": "0"}) as broker:
        emit({"event": "broker", "bootstrap": broker.bootstrap, "startup_s": broker.startup_s})
        seeded = seed(broker.bootstrap, groups)
        emit({"event": "seeded", "groups": groups, **seeded})

        session = ClusterSession(ClusterProfile("bench", broker.bootstrap), Credentials(), 2.0)
        page = GroupsPage(session)
        page.resize(1280, 820)
        page.show()
        # the screen's first paint (widget and chart creation) is not part of loading groups
        painted = time.perf_counter()
        app.processEvents()
        emit({"event": "first_paint", "s": round(time.perf_counter() - painted, 3)})

        gaps: list[int] = []
        busy: list[float] = []  # CPU time of the GUI thread itself within each gap (ms)
        clock = QElapsedTimer()
        timer = QTimer()
        timer.setInterval(TIMER_MS)
        cpu = [time.thread_time()]

        def tick() -> None:
            gaps.append(clock.restart())
            now = time.thread_time()
            busy.append((now - cpu[0]) * 1000)
            cpu[0] = now

        timer.timeout.connect(tick)
        gc_pauses: list[float] = []  # garbage collections on any thread (ms)
        gc_started: list[float] = []

        def on_gc(phase: str, _info: dict[str, object]) -> None:
            if phase == "start":
                gc_started[:] = [time.perf_counter()]
            elif gc_started:
                gc_pauses.append((time.perf_counter() - gc_started[0]) * 1000)

        gc.callbacks.append(on_gc)

        def all_shown() -> bool:
            model = page.model
            if not page.poller.loaded or model.rowCount() < groups:
                return False  # (checked every 10 ms: the whole list only once it may hold)
            return all(g.offsets_loaded and g.total_lag is not None for g in model.rows)

        def worst() -> tuple[int, float]:
            """The longest gap, and the longest the GUI thread itself computed within a gap:
            the rest of a gap is waiting (for the interpreter lock, or for a CPU)."""
            return max(gaps[1:] or [0]), round(max(busy[1:] or [0.0]), 1)

        probe = IdleProbe()
        clock.start()
        timer.start()
        t0 = time.perf_counter()
        session.start()
        page.activate()
        ok = wait(all_shown, 120)
        load_s = time.perf_counter() - t0
        load_stall, load_busy = worst()
        load_idle = probe.max_gap_ms()
        emit(
            {
                "event": "groups_loaded",
                "ok": ok,
                "groups_shown": page.model.rowCount(),
                "groups_load_s": round(load_s, 3),
                "max_stall_ms": load_stall,
                "gui_busy_ms": load_busy,
                "idle_process_max_gap_ms": load_idle,
                "longest_gc_ms": round(max(gc_pauses, default=0.0), 1),
            }
        )
        gc_pauses.clear()

        # steady state: two more full refreshes while the table is shown
        gaps.clear()
        busy.clear()
        probe = IdleProbe()
        start = page.poller.refreshes
        wait(lambda: page.poller.refreshes >= start + 2, 120)
        steady_stall, steady_busy = worst()
        steady_idle = probe.max_gap_ms()
        emit(
            {
                "event": "steady_refreshes",
                "refreshes": 2,
                "max_stall_ms": steady_stall,
                "gui_busy_ms": steady_busy,
                "idle_process_max_gap_ms": steady_idle,
                "longest_gc_ms": round(max(gc_pauses, default=0.0), 1),
            }
        )
        timer.stop()
        gc.callbacks.remove(on_gc)
        # A refresh cut short leaves reference cycles holding a client; collected on a
        # librdkafka thread (Python collects on whichever thread allocates), freeing it there
        # aborts the process (rd_kafka_destroy from a librdkafka thread). Collect them here.
        gc.disable()
        session.close()
        session.runner.join(30)
        page.close()
        page.deleteLater()
        app.processEvents()
        gc.enable()
        gc.collect()

    return {
        "ok": ok,
        "groups": groups,
        "groups_load_s": round(load_s, 3),
        "max_stall_ms": max(load_stall, steady_stall),
        "load_stall_ms": load_stall,
        "steady_stall_ms": steady_stall,
        "gui_busy_ms": max(load_busy, steady_busy),
        "idle_process_max_gap_ms": max(load_idle, steady_idle),
    }


class IdleProbe:
    """The same 5 ms timer in a process doing nothing else, run meanwhile: the gaps this
    machine gives any process (CPU contention), to read the screen's stalls against."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.groups_ui", "--probe"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def max_gap_ms(self) -> int:
        out, _err = self.proc.communicate("", timeout=30)
        return int(out.strip() or 0)


def probe() -> int:
    """Gaps of a 5 ms timer until stdin closes; prints the longest (ms)."""
    from PySide6.QtCore import QCoreApplication, QElapsedTimer, QTimer

    app = QCoreApplication([])
    gaps: list[int] = []
    clock = QElapsedTimer()
    timer = QTimer()
    timer.setInterval(TIMER_MS)
    timer.timeout.connect(lambda: gaps.append(clock.restart()))
    closed = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), closed.set()), daemon=True).start()
    check = QTimer()
    check.setInterval(50)
    check.timeout.connect(lambda: app.quit() if closed.is_set() else None)
    check.start()
    clock.start()
    timer.start()
    app.exec()
    print(max(gaps[1:] or [0]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
