"""Message browser benchmark (issue 6): scan 500,000 messages of 200 B into the browser's model.

Measures, on a built-in broker in its own process: messages per second from Scan to done, RSS
growth of this process with the table at its 100,000-row cap, the longest GUI-thread stall (a
QTimer on the GUI thread measures the gaps between its ticks), and the bulk-produce rate through
the producer page's code path. Prints JSON lines, then one {"summary": {...}} line.

    python -m bench.messages [--messages N] [--bulk N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic
from PySide6.QtCore import QElapsedTimer, QTimer
from PySide6.QtWidgets import QApplication

from bench.support import builtin_broker, emit, rss_mb
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.produce import ProducerSettings
from desktop.services.templates import Template, bulk_requests
from desktop.views.messages import MessagesPage
from desktop.workers.bulk_produce import bulk_send_job
from desktop.workers.session import ClusterSession

TOPIC = "bench.messages"
BULK_TOPIC = "bench.bulk"
PARTITIONS = 8
VALUE_SIZE = 200


class StallMeter:
    """Ticks every 5 ms on the GUI thread; the longest gap beyond that is a stall."""

    def __init__(self) -> None:
        self.max_gap_ms = 0.0
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(5)
        self._timer.timeout.connect(self._tick)

    def start(self) -> None:
        self.max_gap_ms = 0.0
        self._clock.start()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        gap = self._clock.nsecsElapsed() / 1e6
        self._clock.restart()
        self.max_gap_ms = max(self.max_gap_ms, gap - 5)


def spin(app: QApplication, until: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not until():
        if time.monotonic() > end:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.001)


def fill(bootstrap: str, count: int) -> float:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for name in (TOPIC, BULK_TOPIC):
        admin.create_topics([NewTopic(name, PARTITIONS, 1)])[name].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 50, "batch.size": 1_000_000})
    started = time.perf_counter()
    pad = b"p" * VALUE_SIZE
    for i in range(count):
        value = (b"%08d|" % i + pad)[:VALUE_SIZE]
        while True:
            try:
                producer.produce(TOPIC, key=b"%d" % (i % 1000), value=value)
                break
            except BufferError:
                producer.poll(0.01)
    producer.flush(120)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--messages", type=int, default=500_000)
    parser.add_argument("--bulk", type=int, default=100_000)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication([])
    assert isinstance(app, QApplication)
    with builtin_broker() as broker:
        fill_s = fill(broker.bootstrap, args.messages)
        emit(
            {
                "step": "fill",
                "messages": args.messages,
                "value_bytes": VALUE_SIZE,
                "s": round(fill_s, 2),
            }
        )
        session = ClusterSession(ClusterProfile("bench", broker.bootstrap), Credentials(), 30.0)
        session.start()
        spin(app, lambda: session.snapshot is not None, 60)
        page = MessagesPage(session)
        page.resize(1280, 820)
        page.show()
        page.set_topic(TOPIC)
        app.processEvents()
        meter = StallMeter()
        rss_before = rss_mb(os.getpid())
        meter.start()
        started = time.perf_counter()
        page.start_scan()
        spin(app, lambda: page.scan is not None and not page.scanning, 600)
        scan_s = time.perf_counter() - started
        meter.stop()
        rss_after = rss_mb(os.getpid())
        result = page.last_result
        assert result is not None, page.search_error.text()
        scan = {
            "step": "scan",
            "scanned": result.scanned,
            "rows_held": page.model.rowCount(),
            "rows_dropped": page.model.dropped,
            "s": round(scan_s, 3),
            "msgs_per_s": round(result.scanned / scan_s),
            "rss_before_mb": rss_before,
            "rss_after_mb": rss_after,
            "rss_growth_mb": round(rss_after - rss_before, 1),
            "max_stall_ms": round(meter.max_gap_ms, 1),
        }
        emit(scan)

        template = Template("bench", key="k-{{i}}", value='{"i": {{i}}, "n": {{random_int 1 100}}}')
        total = args.bulk
        worker = bulk_send_job(
            session, ProducerSettings(), lambda: bulk_requests(template, BULK_TOPIC, total), total
        )
        meter.start()
        session.submit(worker)
        spin(app, lambda: not worker.running, 600)
        meter.stop()
        bulk = worker.result
        assert bulk is not None
        emit(
            {
                "step": "bulk_produce",
                "messages": total,
                "delivered": bulk.delivered,
                "s": round(bulk.elapsed_s, 3),
                "per_s": round(bulk.rate),
                "max_stall_ms": round(meter.max_gap_ms, 1),
            }
        )
        page.shutdown()
        session.close()
    emit(
        {
            "summary": {
                "msgs_per_s": scan["msgs_per_s"],
                "rss_growth_mb": scan["rss_growth_mb"],
                "max_stall_ms": scan["max_stall_ms"],
                "bulk_produce_per_s": round(bulk.rate),
            }
        }
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
