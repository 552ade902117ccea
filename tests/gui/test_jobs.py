"""The job model against a real broker behind a proxy that can hold responses back: user actions
never wait behind a slow refresh, deadlines abandon a hung client, Cancel ends any job fast,
and closing a cluster tab neither stalls the GUI nor leaves a thread behind."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.groups import ResetMode, ResetPlan, ResetRequest
from desktop.domain.messages import BulkProgress, ProduceRequest, ScanSpec, StopMode
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.kio_wire import KioWire, WireHolder
from desktop.services.produce import ProducerSettings
from desktop.views.main_window import MainWindow
from desktop.views.profile_dialog import ProfileDialog
from desktop.views.topic_consumers import TopicConsumers
from desktop.workers.bulk_produce import bulk_send_job
from desktop.workers.groups import GroupsPoller
from desktop.workers.jobs import Job, JobContext, JobFailure
from desktop.workers.runner import JobRunner
from desktop.workers.scan import scan_job
from desktop.workers.session import ClusterSession
from tests.broker_fixtures import BROKER_THREAD_PREFIXES, BrokerFactory, RunningBroker
from tests.gui.conftest import WAIT_MS, StallWatch
from tests.slow_proxy import LIST_OFFSETS, SlowProxy

CANCEL_MS = 1000
METADATA = 3  # the Kafka API key of a Metadata request


class Proxied:
    def __init__(self, proxy: SlowProxy, broker: RunningBroker) -> None:
        self.proxy = proxy
        self.broker = broker
        self.admin = AdminClient({"bootstrap.servers": broker.bootstrap})  # not through the proxy

    def create_topic(self, name: str, partitions: int = 1) -> None:
        self.admin.create_topics([NewTopic(name, partitions, 1)])[name].result(timeout=30)

    def commit(self, group: str, topic: str, offset: int) -> None:
        req = [ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, offset)])]
        self.admin.alter_consumer_group_offsets(req)[group].result(timeout=30)


@pytest.fixture
def proxied(builtin_broker_factory: BrokerFactory) -> Iterator[Proxied]:
    proxy = SlowProxy()
    broker = builtin_broker_factory(config=proxy.advertised())
    proxy.upstream = ("127.0.0.1", broker.port)
    yield Proxied(proxy, broker)
    proxy.close()


def open_session(qtbot: QtBot, proxied: Proxied, timeout_s: float = 10.0) -> ClusterSession:
    profile = ClusterProfile("slow", proxied.proxy.bootstrap)
    session = ClusterSession(profile, Credentials(), refresh_s=3600, timeout_s=timeout_s)
    session.start()
    qtbot.waitUntil(
        lambda: session.snapshot is not None and not session.refreshing, timeout=WAIT_MS
    )
    return session


def close_session(session: ClusterSession) -> None:
    session.close()
    assert session.runner.join(20)


def timed(
    qtbot: QtBot, start: Callable[[Callable[[Any], None], Callable[[str], None]], object]
) -> tuple[float, Any]:
    """Start an operation with (ok, fail) callbacks; milliseconds until either, and the result."""
    out: list[tuple[str, Any]] = []
    t0 = time.perf_counter()
    start(lambda r: out.append(("ok", r)), lambda m: out.append(("error", m)))
    qtbot.waitUntil(lambda: bool(out), timeout=WAIT_MS)
    ms = (time.perf_counter() - t0) * 1000
    kind, value = out[0]
    assert kind == "ok", value
    return ms, value


def hold_refresh(qtbot: QtBot, proxied: Proxied, session: ClusterSession, seconds: float) -> None:
    """Start a refresh whose watermarks (ListOffsets) the proxy holds back for `seconds`."""
    proxied.proxy.hold(LIST_OFFSETS, seconds)
    session.refresh()
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)


def test_create_topic_and_reset_offsets_do_not_wait_behind_a_slow_refresh(
    qtbot: QtBot, proxied: Proxied
) -> None:
    proxied.create_topic("orders")
    proxied.commit("billing", "orders", 0)
    session = open_session(qtbot, proxied)
    poller = GroupsPoller(session)
    request = ResetRequest("billing", "orders", (), ResetMode.LATEST)
    _ms, plan = timed(qtbot, lambda ok, fail: poller.plan_reset(request, ok, fail))
    assert isinstance(plan, ResetPlan)

    hold_refresh(qtbot, proxied, session, 30.0)
    create_ms, _ = timed(
        qtbot, lambda ok, fail: session.create_topic("fresh", 1, 1, {}, on_done=ok, on_error=fail)
    )
    reset_ms, done = timed(qtbot, lambda ok, fail: poller.execute_reset(plan, ok, fail))
    assert proxied.proxy.held > 0 and session.refreshing  # the refresh is still held
    assert create_ms < 1000, create_ms
    assert reset_ms < 1000, reset_ms
    assert "fresh" in proxied.admin.list_topics(timeout=10).topics
    assert isinstance(done, ResetPlan)
    proxied.proxy.release()
    close_session(session)


def test_a_job_past_its_deadline_fails_clearly_and_a_fresh_client_succeeds(
    qtbot: QtBot, proxied: Proxied
) -> None:
    proxied.create_topic("orders")
    session = open_session(qtbot, proxied)
    session.action_deadline_s = 1.0
    proxied.proxy.hold(LIST_OFFSETS, 60.0)
    connections = proxied.proxy.connections
    errors: list[str] = []
    t0 = time.perf_counter()
    session.run("read watermarks", lambda admin: admin.snapshot(), on_error=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert time.perf_counter() - t0 < 2.0
    assert errors == [
        "Read watermarks took longer than 1 s and was abandoned; its connection was reset. "
        "Try again, or check the cluster."
    ]

    proxied.proxy.release()  # the cluster recovers; the old connection stays abandoned
    _ms, snap = timed(
        qtbot, lambda ok, fail: session.run("read watermarks", lambda a: a.snapshot(), ok, fail)
    )
    assert snap.topic("orders") is not None
    assert proxied.proxy.connections > connections  # a new client, not the hung one
    close_session(session)


def _cancel_ms(qtbot: QtBot, job: Job) -> float:
    t0 = time.perf_counter()
    job.cancel()
    qtbot.waitUntil(lambda: job.ended, timeout=5000)
    return (time.perf_counter() - t0) * 1000


def test_cancel_ends_a_scan_a_bulk_send_and_a_slow_refresh_within_a_second(
    qtbot: QtBot, proxied: Proxied
) -> None:
    proxied.create_topic("events")
    session = open_session(qtbot, proxied)

    scan = scan_job(session, ScanSpec("events", stop=StopMode.LIVE))
    batches: list[object] = []
    scan.progress.connect(batches.append)
    session.submit(scan)
    qtbot.waitUntil(lambda: bool(batches), timeout=WAIT_MS)  # tailing
    assert _cancel_ms(qtbot, scan) < CANCEL_MS
    assert scan.result is not None and scan.result.reason == "stopped"

    def requests() -> Iterator[ProduceRequest]:
        i = 0
        while True:
            i += 1
            yield ProduceRequest("events", None, f"m{i}".encode())

    bulk = bulk_send_job(session, ProducerSettings(), requests, 1_000_000, rate=20.0)
    sent: list[BulkProgress] = []
    bulk.progress.connect(sent.append)
    session.submit(bulk)
    qtbot.waitUntil(lambda: any(p.delivered for p in sent), timeout=WAIT_MS)
    assert _cancel_ms(qtbot, bulk) < CANCEL_MS
    assert bulk.result is not None and bulk.result.sent < 1_000_000

    hold_refresh(qtbot, proxied, session, 60.0)
    refresh = session._refresh_job
    assert refresh is not None
    assert _cancel_ms(qtbot, refresh) < CANCEL_MS
    assert not session.refreshing
    proxied.proxy.release()
    close_session(session)


def _start_kind(qtbot: QtBot, proxied: Proxied, session: ClusterSession, kind: str) -> None:
    if kind == "refresh":
        hold_refresh(qtbot, proxied, session, 60.0)
    elif kind == "action":
        proxied.proxy.hold(LIST_OFFSETS, 60.0)
        session.run("read watermarks", lambda admin: admin.snapshot())
        qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)
    elif kind == "scan":
        scan = scan_job(session, ScanSpec("events", stop=StopMode.LIVE))
        got: list[object] = []
        scan.progress.connect(got.append)
        session.submit(scan)
        qtbot.waitUntil(lambda: bool(got), timeout=WAIT_MS)
    else:
        bulk = bulk_send_job(
            session,
            ProducerSettings(),
            lambda: (ProduceRequest("events", None, b"x") for _ in range(10**6)),
            10**6,
            rate=50.0,
        )
        sent: list[BulkProgress] = []
        bulk.progress.connect(sent.append)
        session.submit(bulk)
        qtbot.waitUntil(lambda: any(p.delivered for p in sent), timeout=WAIT_MS)


@pytest.mark.parametrize("kind", ["refresh", "action", "scan", "bulk send"])
def test_closing_a_cluster_tab_mid_job_neither_stalls_nor_leaves_threads(
    qtbot: QtBot, proxied: Proxied, window: MainWindow, stall_watch: StallWatch, kind: str
) -> None:
    proxied.create_topic("events")
    before = {t.ident for t in threading.enumerate()}
    profile = ClusterProfile("slow", proxied.proxy.bootstrap)
    window.open_cluster(profile, Credentials())
    view = window.find_view("slow")
    assert view is not None
    session = view.session
    qtbot.waitUntil(
        lambda: session.snapshot is not None and not session.refreshing, timeout=WAIT_MS
    )
    _start_kind(qtbot, proxied, session, kind)
    assert session.runner.threads()

    stall_watch.reset()
    t0 = time.perf_counter()
    window.close_tab(window.tabs.indexOf(view))
    close_ms = (time.perf_counter() - t0) * 1000
    qtbot.waitUntil(lambda: not session.runner.threads(), timeout=15_000)
    assert close_ms < 100, close_ms
    assert stall_watch.max_late_ms < 100, stall_watch.max_late_ms
    proxied.proxy.release()

    def leftover() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            # the proxy's threads and the in-process broker's executor (it grows a worker when
            # two of its blocking calls overlap, as the once-a-second liveness probe makes
            # likelier) are the test fixture's, not the app's
            if t.ident not in before and not t.name.startswith(("proxy-", *BROKER_THREAD_PREFIXES))
        ]

    # a lane thread leaves the runner's books just before its last bytecodes run: give it a
    # moment to end (a leaked thread stays for good)
    qtbot.waitUntil(lambda: not leftover(), timeout=WAIT_MS)


def test_a_refresh_stuck_on_metadata_leaves_librdkafka_soon_after_its_tab_closes(
    qtbot: QtBot, proxied: Proxied
) -> None:
    """librdkafka's list_topics cannot be interrupted; one call for the whole request timeout
    kept the closed tab's thread and client alive for 10 s after the tab had gone."""
    session = open_session(qtbot, proxied, timeout_s=10.0)
    proxied.proxy.hold(METADATA, 60.0)
    session.refresh()
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)
    t0 = time.perf_counter()
    session.close()

    def refreshing() -> list[threading.Thread]:
        return [t for t in session.runner.threads() if "-refresh-" in t.name]

    qtbot.waitUntil(lambda: not refreshing(), timeout=15_000)
    gone_s = time.perf_counter() - t0
    proxied.proxy.release()
    assert gone_s < 5.0, gone_s  # a slice (1-2 s), not the 10 s timeout
    assert session.runner.join(20)


def test_closing_the_profile_dialog_ends_its_connection_test_and_its_thread(
    qtbot: QtBot, proxied: Proxied, window: MainWindow
) -> None:
    proxied.proxy.hold(METADATA, 60.0)  # the broker answers the probe, never the metadata
    ctx = window.ctx
    dialog = ProfileDialog(ctx.profiles, ctx.secrets, ctx.jobs, parent=window)
    dialog.show()
    qtbot.keyClicks(dialog.name, "slow")
    qtbot.keyClicks(dialog.bootstrap, proxied.proxy.bootstrap)
    qtbot.mouseClick(dialog.test_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)
    job = dialog.test_job
    assert job is not None and job.running

    t0 = time.perf_counter()
    dialog.reject()
    qtbot.waitUntil(lambda: job.ended, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: job.join(0.0), timeout=15_000)
    gone_s = time.perf_counter() - t0
    proxied.proxy.release()
    assert job.failure is not None and job.failure.cancelled
    assert gone_s < 4.0, gone_s  # within a slice, not the test's 9 s timeout


def test_a_failure_names_the_job(qtbot: QtBot, proxied: Proxied) -> None:
    session = open_session(qtbot, proxied)
    failures: list[JobFailure] = []
    job = Job("broken", lambda _ctx: 1 / 0)
    job.failed.connect(failures.append)
    session.submit(job)
    qtbot.waitUntil(lambda: bool(failures), timeout=WAIT_MS)
    assert failures[0] == JobFailure(
        "broken", "Unexpected error: ZeroDivisionError: division by zero"
    )
    close_session(session)


def test_refreshes_back_off_while_slower_than_the_interval_and_the_header_says_so(
    qtbot: QtBot, proxied: Proxied, window: MainWindow
) -> None:
    proxied.create_topic("events")
    view = window.open_cluster(ClusterProfile("slow", proxied.proxy.bootstrap), Credentials())
    session = view.session
    assert session.refresh_interval_s == 1.0  # the fixture's setting
    qtbot.waitUntil(
        lambda: session.snapshot is not None and not session.refreshing, timeout=WAIT_MS
    )

    proxied.proxy.hold(LIST_OFFSETS, 2.5)
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)  # the next timed refresh
    qtbot.waitUntil(lambda: session.backed_off, timeout=WAIT_MS)
    took = session.last_refresh_s
    assert took is not None and took >= 2.5
    assert session.effective_interval_s == pytest.approx(took * 1.5, abs=0.01)
    assert session.refresh_interval_s == 1.0  # the user's choice is kept
    assert (
        f"slow cluster: a refresh takes {took:.1f} s, so every {took * 1.5:.0f} s"
        in view.freshness.text()
    )

    proxied.proxy.release()
    qtbot.waitUntil(lambda: not session.backed_off, timeout=WAIT_MS)
    assert session.effective_interval_s == 1.0
    assert "slow cluster" not in view.freshness.text()


def test_a_sizes_job_stuck_in_kafka_python_ends_quietly_soon_after_its_tab_closes(
    qtbot: QtBot, proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    """kafka-python's bootstrap cannot look at a cancel token: the sizes job of a closed tab
    lingered for its 10 s timeout, then logged 'Bootstrap failed' and 'job sizes on disk
    failed' at ERROR (in CI into later tests of the same process)."""
    before = {t.name for t in threading.enumerate()}  # earlier tests' threads are not judged
    session = open_session(qtbot, proxied, timeout_s=10.0)
    qtbot.waitUntil(lambda: session.sizes is not None, timeout=WAIT_MS)  # the first, unheld
    proxied.proxy.hold(METADATA, 60.0)
    job = session.fetch_sizes()
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)
    failures: list[JobFailure] = []
    job.failed.connect(failures.append)
    t0 = time.perf_counter()
    session.close()

    def kafka_python() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            if t.name.startswith("kafka-io-") and t.name not in before
        ]

    qtbot.waitUntil(lambda: not session.runner.threads() and not kafka_python(), timeout=15_000)
    gone_s = time.perf_counter() - t0
    proxied.proxy.release()
    assert gone_s < 2.0, gone_s  # about a second at most, not the 10 s bootstrap timeout
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.threadName not in before
    ]
    assert not errors
    assert not failures  # the closed tab hears nothing more


def test_a_groups_wire_stuck_connecting_ends_quietly_when_its_job_is_cancelled(
    qtbot: QtBot, proxied: Proxied, caplog: pytest.LogCaptureFixture
) -> None:
    """The group detail's kafka-python wire (epochs, share groups) connects inside a job: a
    Cancel or a closed tab cut that short too, and the next use connects afresh."""
    before = {t.name for t in threading.enumerate()}  # earlier tests' threads are not judged
    proxied.proxy.hold(METADATA, 60.0)
    holder = WireHolder(ClusterProfile("slow", proxied.proxy.bootstrap), Credentials(), 10.0)
    runner = JobRunner("wire")

    returned: list[str] = []

    def work(ctx: JobContext) -> object:
        done = holder.interrupt_on(ctx.token)
        try:
            return holder.get()
        finally:
            done()
            returned.append("cancelled" if ctx.token.cancelled else "ran")

    stuck = Job("group detail", work)
    failures: list[JobFailure] = []
    stuck.failed.connect(failures.append)
    runner.submit(stuck)
    qtbot.waitUntil(lambda: proxied.proxy.held > 0, timeout=WAIT_MS)
    t0 = time.perf_counter()
    stuck.cancel()

    def kafka_python() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            if t.name.startswith("kafka-io-") and t.name not in before
        ]

    # the job's failed signal reaches this thread after the work has returned: wait for both
    qtbot.waitUntil(lambda: bool(returned and failures) and not kafka_python(), timeout=15_000)
    gone_s = time.perf_counter() - t0
    proxied.proxy.release()
    assert gone_s < 2.0, gone_s  # not the 10 s bootstrap timeout
    assert failures == [JobFailure("group detail", "Cancelled.", cancelled=True)]

    again = runner.submit(Job("group detail", work))
    qtbot.waitUntil(lambda: again.ended, timeout=WAIT_MS)
    assert isinstance(again.result, KioWire), again.error
    errors = [
        f"{r.name}: {r.getMessage()}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.threadName not in before
    ]
    assert not errors
    runner.close()
    holder.drop()
    assert runner.join(20)


def test_closing_a_cluster_ends_the_topic_consumers_kafka_python_client(
    qtbot: QtBot, builtin_broker: RunningBroker
) -> None:
    """The topic's consumers panel never closed its groups wire: its kafka-python client
    outlived the tab and, once the broker was gone, logged ERRORs into later tests."""
    before = {t.name for t in threading.enumerate()}

    def kafka_python() -> list[str]:
        return [
            t.name
            for t in threading.enumerate()
            if t.name.startswith("kafka-io-topicscope-groups") and t.name not in before
        ]

    admin = AdminClient({"bootstrap.servers": builtin_broker.bootstrap})
    admin.create_topics([NewTopic("watched", 1, 1)])["watched"].result(timeout=30)
    del admin  # its reconnects would outlive the broker
    session = ClusterSession(ClusterProfile("c", builtin_broker.bootstrap), Credentials(), 3600)
    session.start()
    panel = TopicConsumers(session)
    qtbot.addWidget(panel)
    panel.show()
    panel.show_topic("watched")
    qtbot.waitUntil(lambda: "with committed offsets" in panel.status.text(), timeout=WAIT_MS)
    assert kafka_python()  # the wire listed the share groups and the groups' types
    session.close()
    qtbot.waitUntil(lambda: not kafka_python(), timeout=WAIT_MS)
    assert session.runner.join(20)
