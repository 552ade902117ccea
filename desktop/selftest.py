"""`topicscope --self-test`: broker, window, connect, create, produce, read back; then a 3-broker
local cluster: an RF-3 topic, acks=all, kill -9 a broker, acks=all again, read back; report."""

from __future__ import annotations

import contextlib
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QEventLoop, QTimer

from desktop.domain.messages import ProduceRequest
from desktop.services.messages import read_one
from desktop.services.produce import ProducerSettings
from desktop.views.main_window import CLUSTER_NAME, MainWindow
from desktop.workers.session import ClusterSession

ACKS_ALL = ProducerSettings(acks="all")
# After the kill the controller moves leadership after broker.session.timeout.ms (9 s): one
# send that waits for it, not retries of the form's 8 s sends (a send given up on may still
# be written, and a retry then lands one offset later).
ACKS_ALL_PATIENT = ProducerSettings(acks="all", delivery_timeout_s=60.0)


class StepFailedError(Exception):
    pass


class Progress:
    """The step under way, named in the report when it fails."""

    step = "start application"


def _wait(
    start: Callable[[Callable[[Any], None], Callable[[str], None]], object], timeout: float
) -> Any:
    """Run `start(ok, fail)` and spin an event loop until one of them is called."""
    loop = QEventLoop()
    outcome: dict[str, Any] = {}

    def ok(value: Any) -> None:
        outcome.setdefault("ok", value)
        loop.quit()

    def fail(message: str) -> None:
        outcome.setdefault("err", message)
        loop.quit()

    timer = QTimer()
    timer.setSingleShot(True)
    timer.timeout.connect(lambda: fail(f"no answer within {timeout:.0f} s"))
    timer.start(int(timeout * 1000))
    start(ok, fail)
    if not outcome:
        loop.exec()
    timer.stop()
    if "err" in outcome:
        raise StepFailedError(str(outcome["err"]))
    return outcome.get("ok")


def _send(
    session: ClusterSession,
    topic: str,
    value: bytes,
    timeout: float,
    settings: ProducerSettings = ACKS_ALL,
) -> int:
    """One message with acks=all through the cluster's own producer (a job); its offset."""
    report = _wait(
        lambda ok, fail: session.send(settings, ProduceRequest(topic, b"k", value), ok, fail),
        timeout,
    )
    return int(report.offset)


def _read(session: ClusterSession, topic: str, offset: int) -> tuple[bytes | None, bytes | None]:
    """The message at `offset` of partition 0, read in a job (cancelled with the cluster's tab)."""
    profile, creds = session.profile, session.creds
    return cast(
        tuple[bytes | None, bytes | None],
        _wait(
            lambda ok, fail: session.act(
                "read back",
                lambda ctx: read_one(
                    profile, creds, topic, partition=0, offset=offset, token=ctx.token
                ),
                ok,
                fail,
            ),
            30,
        ),
    )


def run_self_test(local_port: int | None = None, data_dir: Path | None = None) -> int:
    """`local_port` and `data_dir` are --local-port and --data-dir: the broker runs there (the
    data directory is kept); without them, on a free port over a throw-away directory."""
    from desktop.app import create_application
    from desktop.context import AppContext

    report: list[str] = []
    progress = Progress()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="topicscope-selftest-") as tmp:
        window: MainWindow | None = None
        try:
            app = create_application()
            ctx = AppContext.create(
                config_dir=Path(tmp) / "config",
                local_port=local_port,
                data_dir=data_dir or Path(tmp) / "data",
            )
            progress.step = "open main window"
            window = MainWindow(ctx)
            window.show()
            app.processEvents()
            report.append(f"window: shown ({app.platformName()})")

            progress.step = "start built-in broker"

            def start_broker(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
                ctx.local.started.connect(ok)
                ctx.local.failed.connect(fail)
                ctx.local.start()

            info = _wait(start_broker, 30)
            report.append(f"broker: {info.bootstrap} (data in {info.data_dir})")

            progress.step = "connect"
            view = window.find_view("Local broker")
            if view is None:
                raise StepFailedError("the local cluster tab did not open")
            session = view.session
            if session.snapshot is None:

                def connected(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
                    session.snapshot_changed.connect(ok)
                    session.error.connect(fail)

                _wait(connected, 30)
            snap = session.snapshot
            assert snap is not None
            report.append(
                f"connect: cluster {snap.cluster_id or '?'}, {len(snap.brokers)} broker(s)"
            )

            progress.step = "create topic"
            topic = f"selftest-{uuid.uuid4().hex[:8]}"
            _wait(
                lambda ok, fail: session.create_topic(topic, 1, 1, {}, on_done=ok, on_error=fail),
                30,
            )
            report.append(f"create topic: {topic}")

            progress.step = "produce"
            payload = f"hello from topicscope {uuid.uuid4().hex}".encode()
            offset = _send(session, topic, payload, 30)
            report.append(f"produce: offset {offset}")

            progress.step = "read back"
            key, value = _read(session, topic, offset)
            if value != payload or key != b"k":
                raise StepFailedError(f"read back {key!r}:{value!r}, expected b'k':{payload!r}")
            report.append("read back: message matches")

            _cluster_steps(window, local_port, report, progress)
        except BaseException as exc:
            print("Topicscope self-test FAILED")
            for line in report:
                print(f"  ok  {line}")
            print(f"  FAILED at step '{progress.step}': {exc}")
            _close(window)
            return 1
        _close(window)
    print("Topicscope self-test passed")
    for line in report:
        print(f"  ok  {line}")
    print(f"  total {time.monotonic() - t0:.1f} s")
    return 0


def _cluster_steps(
    window: MainWindow, local_port: int | None, report: list[str], progress: Progress
) -> None:
    """A 3-broker local cluster: an RF-3 topic, acks=all, kill -9 a broker, acks=all again,
    everything read back."""
    ctx = window.ctx
    # next to the single broker's ports when --local-port is given, else any free ones
    ctx.cluster.port = local_port + 1 if local_port else 0
    progress.step = "start local cluster (3 brokers)"

    def start_cluster(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
        ctx.cluster.started.connect(ok)
        ctx.cluster.failed.connect(fail)
        ctx.cluster.start()

    info = _wait(start_cluster, 120)
    report.append(f"cluster: brokers {info.bootstrap} (data in {info.data_dir})")

    progress.step = "connect to the local cluster"
    view = window.find_view(CLUSTER_NAME)
    if view is None:
        raise StepFailedError("the local cluster tab did not open")
    session = view.session

    def three_brokers(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
        def check(snap: Any) -> None:
            if len(snap.brokers) == 3:
                ok(snap)

        session.snapshot_changed.connect(check)
        if session.snapshot is not None:
            check(session.snapshot)

    _wait(three_brokers, 60)
    report.append("cluster connect: 3 brokers")

    progress.step = "create an RF-3 topic"
    topic = f"selftest-rf3-{uuid.uuid4().hex[:8]}"
    _wait(
        lambda ok, fail: session.create_topic(
            topic, 1, 3, {"min.insync.replicas": "2"}, on_done=ok, on_error=fail
        ),
        60,
    )
    report.append(f"create topic: {topic} (replication factor 3, min.insync.replicas 2)")

    payloads = [f"before the kill {uuid.uuid4().hex}".encode(), b""]

    progress.step = "produce with acks=all"
    first = _send(session, topic, payloads[0], 45, ACKS_ALL_PATIENT)
    report.append(f"produce acks=all: offset {first}")

    progress.step = "kill -9 the partition's leader"
    snap = session.snapshot
    t = snap.topic(topic) if snap is not None else None
    leader = t.partitions[0].leader if t is not None and t.partitions else -1
    victim = leader if leader > 0 else info.brokers[-1].id

    def kill(ok: Callable[[Any], None], fail: Callable[[str], None]) -> None:
        ctx.cluster.node_failed.connect(fail)
        job = ctx.cluster.kill_node(victim)
        if job is None:
            fail(f"broker {victim} could not be killed now")
            return
        job.finished.connect(ok)

    _wait(kill, 30)
    report.append(f"kill -9: broker {victim}")

    progress.step = "produce with acks=all after the kill"
    payloads[1] = f"after the kill {uuid.uuid4().hex}".encode()
    second = _send(session, topic, payloads[1], 75, ACKS_ALL_PATIENT)
    report.append(f"produce acks=all with broker {victim} dead: offset {second}")

    progress.step = "read everything back from the cluster"
    for offset, payload in ((first, payloads[0]), (second, payloads[1])):
        _key, value = _read(session, topic, offset)
        if value != payload:
            raise StepFailedError(f"offset {offset} read back {value!r}, expected {payload!r}")
    report.append("cluster read back: both messages match")


def _close(window: Any) -> None:
    """Close the window and wait (spinning events) until the brokers it started have stopped."""
    if window is None:
        return
    for job in window.shutdown():

        def ended(ok: Callable[[Any], None], fail: Callable[[str], None], j: Any = job) -> None:
            j.finished.connect(ok)
            j.failed.connect(lambda f: fail(f.message))

        if not job.ended:
            with contextlib.suppress(StepFailedError):  # the exit goes on regardless
                _wait(ended, 60)
    window.close()
