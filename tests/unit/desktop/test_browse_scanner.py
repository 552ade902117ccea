"""The scanner service on the built-in broker, without Qt: plans, limits, the pause gate, Stop."""

from __future__ import annotations

import socket
import threading

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic

from desktop.domain.messages import Row, ScanProgress, ScanSpec, StartMode, StopMode
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.browse import ScanError, Scanner
from tests.broker_fixtures import RunningBroker


def _topic(bootstrap: str, name: str, partitions: int, count: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(count):
        producer.produce(name, value=b"%d" % i, partition=i % partitions)
    assert producer.flush(30) == 0


def _run(bootstrap: str, spec: ScanSpec, **kw: object) -> tuple[list[Row], list[ScanProgress]]:
    rows: list[Row] = []
    progress: list[ScanProgress] = []

    def on_batch(batch: list[Row], p: ScanProgress) -> None:
        rows.extend(batch)
        progress.append(p)

    Scanner(ClusterProfile("t", bootstrap), Credentials(), spec, **kw).run(on_batch)  # type: ignore[arg-type]
    return rows, progress


def test_plan_errors_are_for_users(builtin_broker: RunningBroker) -> None:
    _topic(builtin_broker.bootstrap, "two", 2, 4)
    with pytest.raises(ScanError, match=r"has no partition 5 \(it has 2\)"):
        _run(builtin_broker.bootstrap, ScanSpec("two", partitions=(0, 5)))
    with pytest.raises(ScanError, match="does not exist"):
        _run(builtin_broker.bootstrap, ScanSpec("nope"))
    with pytest.raises(ScanError, match="Choose the consumer group"):
        _run(builtin_broker.bootstrap, ScanSpec("two", start=StartMode.GROUP))


def test_group_without_commits_starts_at_earliest(builtin_broker: RunningBroker) -> None:
    _topic(builtin_broker.bootstrap, "fresh", 1, 5)
    rows, progress = _run(
        builtin_broker.bootstrap, ScanSpec("fresh", start=StartMode.GROUP, group="never-used")
    )
    assert [r[2] for r in rows] == [0, 1, 2, 3, 4]
    last = progress[-1]
    assert last.finished and last.reason == "end" and last.fraction == 1.0


def test_latest_to_end_reads_nothing_and_finishes(builtin_broker: RunningBroker) -> None:
    _topic(builtin_broker.bootstrap, "quiet", 3, 9)
    rows, progress = _run(builtin_broker.bootstrap, ScanSpec("quiet", start=StartMode.LATEST))
    assert rows == []
    assert progress[-1].finished and progress[-1].scanned == 0
    assert [p.done for p in progress[-1].partitions] == [True, True, True]


def test_a_held_gate_pauses_the_scan_and_stop_still_ends_it(
    builtin_broker: RunningBroker,
) -> None:
    _topic(builtin_broker.bootstrap, "gated", 1, 2000)
    stop = threading.Event()
    waits: list[float] = []

    class Gate(threading.Event):
        """Held (never set); the user presses Stop while the scan waits at it."""

        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0.0)
            stop.set()
            return super().wait(timeout)

    spec = ScanSpec("gated", stop=StopMode.LIVE)
    scanner = Scanner(
        ClusterProfile("t", builtin_broker.bootstrap), Credentials(), spec, stop, Gate()
    )
    result = scanner.run(lambda _rows, _p: None)
    assert result.reason == "stopped"
    assert result.scanned == 0  # the first message waited at the gate, then Stop ended the scan
    assert len(waits) == 1


def test_stop_at_n_messages_stops_at_the_end_when_there_are_fewer(
    builtin_broker: RunningBroker,
) -> None:
    _topic(builtin_broker.bootstrap, "few", 2, 6)
    rows, progress = _run(
        builtin_broker.bootstrap, ScanSpec("few", stop=StopMode.COUNT, stop_count=100)
    )
    assert len(rows) == 6
    assert progress[-1].reason == "end"
    rows, progress = _run(
        builtin_broker.bootstrap, ScanSpec("few", stop=StopMode.COUNT, stop_count=4)
    )
    assert len(rows) == 4
    assert progress[-1].reason == "limit"


def test_stop_while_planning_ends_at_once(builtin_broker: RunningBroker) -> None:
    _topic(builtin_broker.bootstrap, "planned", 3, 3)
    stop = threading.Event()
    stop.set()  # pressed before the watermarks were read
    scanner = Scanner(
        ClusterProfile("t", builtin_broker.bootstrap), Credentials(), ScanSpec("planned"), stop
    )
    result = scanner.run(lambda _rows, _p: None)
    assert result.reason == "stopped" and result.scanned == 0


def test_stop_works_while_an_unreachable_cluster_keeps_the_scan_waiting() -> None:
    with socket.socket() as sock:  # a port with nothing listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    stop = threading.Event()
    result: list[object] = []
    scanner = Scanner(ClusterProfile("t", f"127.0.0.1:{port}"), Credentials(), ScanSpec("x"), stop)

    def run() -> None:
        try:
            result.append(scanner.run(lambda _rows, _p: None))
        except ScanError as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    stop.set()
    thread.join(5)  # well before the 10 s metadata timeout
    assert not thread.is_alive()
    assert isinstance(result[0], ScanProgress) and result[0].reason == "stopped"
