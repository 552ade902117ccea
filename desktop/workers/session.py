"""A connected cluster: its job runner, an adaptive refresh timer, and its connection state."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.domain.cluster import BrokerInfo, ClusterSnapshot, TopicInfo, reuse_unchanged
from desktop.domain.controller import ControllerWatch
from desktop.domain.election import ElectionMove
from desktop.domain.health import summarize
from desktop.domain.liveness import BrokerLiveness, ProbeResult, update_liveness
from desktop.domain.log_dirs import LogDirSizes, keep_last_known, with_sizes
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.domain.timeline import ClusterEvent, EventKind, Timeline, diff_snapshots
from desktop.services.admin import ClusterAdmin
from desktop.services.connection import dead_bootstrap
from desktop.services.election import elect_preferred, election_preview
from desktop.services.log_dirs import describe_sizes
from desktop.services.produce import FormProducer, ProducerSettings
from desktop.workers.jobs import Job, JobContext, JobFailure, Lane
from desktop.workers.liveness import ProbeTargets, liveness_job
from desktop.workers.runner import JobRunner

log = logging.getLogger(__name__)
LOST_AFTER_FAILURES = 2
# sizes on disk change slowly, and DescribeLogDirs touches every broker: ask this often at most
SIZES_EVERY_S = 30.0
SNAPSHOT = "snapshot"
BACKOFF = 1.5  # a slow cluster is refreshed at most every 1.5 times its last refresh's duration
MAX_INTERVAL_S = 120.0

Done = Callable[[Any], None]
Failed = Callable[[str], None]


def prepared(previous: ClusterSnapshot | None, snapshot: ClusterSnapshot) -> ClusterSnapshot:
    """A snapshot made ready for the GUI thread, on the worker: unchanged topics are the
    previous objects (the tables skip them by identity) and its health summary is computed
    (a new snapshot object would otherwise have the screens compute it, 100s of ms at 10k
    topics)."""
    snapshot = reuse_unchanged(previous, snapshot)
    summarize(snapshot)
    return snapshot


class SessionState(StrEnum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    STALE = "stale"
    LOST = "lost — reconnecting"


class ClusterSession(QObject):
    """Owns one cluster's runner and refresh timer; views listen to its signals."""

    snapshot_changed = Signal(object)  # ClusterSnapshot
    state_changed = Signal(str)
    interval_changed = Signal(float)  # the effective refresh interval (backed off or not)
    error = Signal(str)
    refreshing_changed = Signal(bool)
    liveness_changed = Signal()  # self.liveness changed (a probe round)
    events_added = Signal(object)  # list[ClusterEvent], oldest first
    closed = Signal()  # close() was called: helpers tied to this cluster let go of theirs too

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        refresh_s: float = 5.0,
        timeout_s: float = 10.0,
    ) -> None:
        super().__init__()
        self.profile = profile
        self.creds = creds
        self.timeout_s = timeout_s
        # a refresh makes several calls in a row; a user action one or two
        self.refresh_deadline_s = 3 * timeout_s + 5
        self.action_deadline_s = 2 * timeout_s + 5
        self.runner = JobRunner(
            profile.name,
            lambda lane: ClusterAdmin(profile, creds, timeout_s, f"topicscope-{lane}"),
            lambda settings: FormProducer(profile, creds, settings),
        )
        self.snapshot: ClusterSnapshot | None = None
        self.state = SessionState.CONNECTING
        self.last_error = ""
        self.last_refresh: float | None = None
        self.last_refresh_s: float | None = None  # how long the last full refresh took
        self._requested_s = max(0.2, refresh_s)
        self._failures = 0
        self._refresh_job: Job | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(int(self._requested_s * 1000))
        self._timer.timeout.connect(self._tick)
        self._paused = False
        # brokers ever seen in a snapshot: a dead one stays on screen, marked offline
        self.known_brokers: dict[int, BrokerInfo] = {}
        self.liveness: dict[int, BrokerLiveness] = {}
        self.timeline = Timeline()
        self.controller = ControllerWatch()
        self._diffed: ClusterSnapshot | None = None  # the last complete snapshot diffed
        self._targets = ProbeTargets()
        self._probe: Job | None = None
        self.sizes: LogDirSizes | None = None
        self.sizes_error = ""
        self._sizes_job: Job | None = None
        self._sizes_asked = -SIZES_EVERY_S

    def start(self) -> None:
        self.refresh()
        self._timer.start()
        self._start_probe()
        self._check_bootstrap()

    def _check_bootstrap(self) -> None:
        """A port nobody listens on is known in milliseconds; librdkafka would say so only
        when the first refresh times out. Ask the bootstrap servers directly, beside it."""
        profile = self.profile
        job = Job(
            "check the bootstrap servers",
            lambda _ctx: dead_bootstrap(profile.bootstrap, profile.security_protocol.value),
            lane=Lane.STREAM,
            deadline_s=10,
        )
        job.finished.connect(self._on_bootstrap_checked)
        self.runner.submit(job)

    @Slot(object)
    def _on_bootstrap_checked(self, reason: str | None) -> None:
        if reason is None or self.snapshot is not None or self.state != SessionState.CONNECTING:
            return
        self.last_error = reason
        self._set_state(SessionState.LOST)
        self.error.emit(reason)

    def _start_probe(self) -> None:
        job = liveness_job(self._targets, speak=not self.profile.security_protocol.uses_tls)
        job.progress.connect(self._on_probe_round)
        self._probe = job
        self.runner.submit(job)

    def broker_up(self, broker_id: int) -> bool:
        """Up as far as the app knows: the probe's word first, else listed in the metadata."""
        live = self.liveness.get(broker_id)
        if live is not None:
            return live.up
        return self.snapshot is not None and any(b.id == broker_id for b in self.snapshot.brokers)

    @Slot(object)
    def _on_probe_round(self, results: list[ProbeResult]) -> None:
        self.apply_probe_round(results)

    def apply_probe_round(self, results: list[ProbeResult], now: float | None = None) -> None:
        """One round of the liveness probe (also how sample data is replayed, for screenshots)."""
        now = time.time() if now is None else now
        self.liveness, flipped = update_liveness(self.liveness, self.known_brokers, results, now)
        events = [
            ClusterEvent(
                now,
                EventKind.BROKER_REACHABLE if b.up else EventKind.BROKER_UNREACHABLE,
                f"broker {b.broker.id}",
                f"broker {b.broker.id} answers again ({b.broker.address})"
                if b.up
                else f"broker {b.broker.id} down: unreachable ({b.reason}, {b.broker.address})",
                broker=b.broker.id,
            )
            for b in flipped
        ]
        self._add_events(events)
        self.liveness_changed.emit()
        if flipped and self._timer.isActive() and not self.runner.closed:
            # a refresh under way may be waiting on the broker that just died (its metadata
            # still names it as leader): start over without it rather than wait out the timeouts
            self.cancel_refresh()
            self.refresh()

    def record_events(self, events: list[ClusterEvent]) -> None:
        """Events found outside the snapshot diff (the groups poll's) join the timeline."""
        self._add_events(events)

    def _add_events(self, events: list[ClusterEvent]) -> None:
        if events:
            self.timeline.extend(events)
            self.events_added.emit(events)

    def _learn(self, snapshot: ClusterSnapshot) -> None:
        for b in snapshot.brokers:
            self.known_brokers[b.id] = b
        self._targets.set(list(self.known_brokers.values()))
        if not snapshot.complete:
            return
        self.controller.observe(snapshot.controller_id, frozenset(b.id for b in snapshot.brokers))
        if self._diffed is not None:
            self._add_events(diff_snapshots(self._diffed, snapshot))
        self._diffed = snapshot

    def close(self) -> None:
        """Stop refreshing and cancel every job; returns at once (threads end on their own)."""
        self._timer.stop()
        if self.runner.closed:
            return
        self.runner.close()
        self.closed.emit()

    # ---- the refresh interval: the user's, backed off while refreshes take longer ---------

    @property
    def refresh_interval_s(self) -> float:
        """The interval the user asked for."""
        return self._requested_s

    @property
    def effective_interval_s(self) -> float:
        return self._timer.interval() / 1000

    @property
    def backed_off(self) -> bool:
        return self.effective_interval_s > self._requested_s

    def set_refresh_interval(self, seconds: float) -> None:
        self._requested_s = max(0.2, seconds)
        self._adapt()

    def _adapt(self) -> None:
        took = self.last_refresh_s or 0.0
        wanted = self._requested_s
        if took > wanted:
            wanted = min(MAX_INTERVAL_S, max(wanted, took * BACKOFF))
        ms = int(wanted * 1000)
        if ms != self._timer.interval():
            self._timer.setInterval(ms)
            self.interval_changed.emit(wanted)

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
    def _tick(self) -> None:
        if self._probe is not None and self._probe.ended and not self.runner.closed:
            self._start_probe()  # the probe never ends on its own; restart it if it did
        if self._refresh_job is None:  # still refreshing: this tick is skipped (backing off)
            self.refresh()

    @property
    def refreshing(self) -> bool:
        return self._refresh_job is not None

    @Slot()
    def refresh(self) -> None:
        """Refresh now; a request made while one waits replaces it (the latest wins)."""
        if self.runner.closed:
            return
        down = frozenset(b for b, live in self.liveness.items() if not live.up)
        sizes = self.sizes  # the latest known sizes go into every snapshot, off this thread
        previous = self.snapshot

        def work(ctx: JobContext) -> ClusterSnapshot:
            def report(partial: ClusterSnapshot) -> None:
                ctx.report(prepared(previous, with_sizes(partial, sizes)))

            return prepared(previous, with_sizes(ctx.clients.admin.snapshot(report, down), sizes))

        job = Job(
            "refresh",
            work,
            lane=Lane.REFRESH,
            deadline_s=self.refresh_deadline_s,
            key=SNAPSHOT,
        )
        started = [0.0]
        job.started.connect(lambda: started.__setitem__(0, time.monotonic()))
        job.progress.connect(self._on_partial)
        job.finished.connect(lambda snap: self._on_snapshot(job, snap, started[0]))
        job.failed.connect(lambda failure: self._on_refresh_failed(job, failure))
        was = self._refresh_job
        self._refresh_job = job
        self.runner.submit(job)
        if was is None:
            self.refreshing_changed.emit(True)

    def cancel_refresh(self) -> None:
        if self._refresh_job is not None:
            self._refresh_job.cancel()

    def _set_state(self, state: SessionState) -> None:
        if state != self.state:
            self.state = state
            self.state_changed.emit(state.value)

    @Slot(object)
    def _on_partial(self, snapshot: ClusterSnapshot) -> None:
        self._show(snapshot)

    def _refresh_ended(self, job: Job) -> None:
        if self._refresh_job is job:
            self._refresh_job = None
            self.refreshing_changed.emit(False)

    def _on_snapshot(self, job: Job, snapshot: ClusterSnapshot, started: float) -> None:
        self._refresh_ended(job)
        self.last_refresh_s = time.monotonic() - started
        self._adapt()
        self._show(snapshot)
        self._maybe_fetch_sizes()

    # ---- sizes on disk: DescribeLogDirs through kafka-python, beside the refreshes ----------

    def _maybe_fetch_sizes(self) -> None:
        if self._sizes_job is not None or self.runner.closed:
            return
        if time.monotonic() - self._sizes_asked < SIZES_EVERY_S:
            return
        self.fetch_sizes()

    def fetch_sizes(self) -> Job:
        """Ask every broker for its log dirs' sizes, then show them in the current snapshot."""
        self._sizes_asked = time.monotonic()
        profile, creds, timeout = self.profile, self.creds, self.timeout_s
        base, known = self.snapshot, self.sizes

        def work(ctx: JobContext) -> tuple[LogDirSizes, ClusterSnapshot | None]:
            ids = None if base is None else [b.id for b in base.brokers]
            fresh = describe_sizes(profile, creds, timeout, ctx.token, ids)
            sizes = keep_last_known(known, fresh)
            return sizes, None if base is None else prepared(base, with_sizes(base, sizes))

        job = Job("sizes on disk", work, lane=Lane.STREAM, deadline_s=2 * timeout + 5)
        job.finished.connect(lambda result: self._on_sizes(job, base, *result))
        job.failed.connect(lambda failure: self._on_sizes_failed(job, failure))
        self._sizes_job = job
        self.runner.submit(job)
        return job

    def _on_sizes(
        self,
        job: Job,
        base: ClusterSnapshot | None,
        sizes: LogDirSizes,
        merged: ClusterSnapshot | None,
    ) -> None:
        if self._sizes_job is job:
            self._sizes_job = None
        self.sizes, self.sizes_error = sizes, ""
        # a newer snapshot (without these sizes) gets them at the next refresh
        if merged is not None and self.snapshot is base:
            self.snapshot = merged
            self.snapshot_changed.emit(merged)

    def _on_sizes_failed(self, job: Job, failure: JobFailure) -> None:
        if self._sizes_job is job:
            self._sizes_job = None
        if not failure.cancelled:
            self.sizes_error = failure.message
            log.info("Sizes on disk unavailable for %s: %s", self.profile.name, failure.message)

    def ingest(self, snapshot: ClusterSnapshot) -> None:
        """Take a snapshot as if a refresh had returned it (replaying sample data)."""
        self._show(snapshot)

    def _show(self, snapshot: ClusterSnapshot) -> None:
        self._learn(snapshot)
        self.snapshot = snapshot
        self.last_refresh = time.time()
        self._failures = 0
        self.last_error = ""
        self._set_state(SessionState.CONNECTED)
        self.snapshot_changed.emit(snapshot)

    def _on_refresh_failed(self, job: Job, failure: JobFailure) -> None:
        self._refresh_ended(job)
        if failure.cancelled:
            return
        self._failures += 1
        self.last_error = failure.message
        if self._failures >= LOST_AFTER_FAILURES or self.snapshot is None:
            self._set_state(SessionState.LOST)
        else:
            self._set_state(SessionState.STALE)
        self.state_changed.emit(self.state.value)
        self.error.emit(failure.message)

    # ---- operations: the action lane, never behind a refresh ------------------------------

    def submit(self, job: Job) -> Job:
        """Run any job on this cluster's runner (streams: scans, bulk sends, files)."""
        return self.runner.submit(job)

    def run(
        self,
        name: str,
        work: Callable[[ClusterAdmin], object],
        on_done: Done | None = None,
        on_error: Failed | None = None,
        refresh_after: bool = False,
    ) -> Job:
        """A user action against the cluster's admin client, with the action deadline."""
        return self.act(name, lambda ctx: work(ctx.clients.admin), on_done, on_error, refresh_after)

    def act(
        self,
        name: str,
        work: Callable[[JobContext], object],
        on_done: Done | None = None,
        on_error: Failed | None = None,
        refresh_after: bool = False,
    ) -> Job:
        job = Job(name, work, lane=Lane.ACTION, deadline_s=self.action_deadline_s)

        def done(result: Any) -> None:
            if on_done:
                on_done(result)
            if refresh_after:
                self.refresh()

        def failed(failure: JobFailure) -> None:
            if not failure.cancelled:
                self.error.emit(failure.message)
            if on_error:
                on_error(failure.message)

        job.finished.connect(done)
        job.failed.connect(failed)
        return self.runner.submit(job)

    def send(
        self, settings: ProducerSettings, request: Any, on_done: Done, on_error: Failed
    ) -> Job:
        """Send one message with the cluster's producer for `settings`."""
        return self.act(
            "send",
            lambda ctx: ctx.clients.producer(settings).send(request, ctx.token),
            on_done,
            on_error,
        )

    def create_topic(
        self,
        name: str,
        partitions: int,
        replication: int,
        configs: dict[str, str],
        *,
        on_done: Done | None = None,
        on_error: Failed | None = None,
    ) -> Job:
        return self.run(
            "create topic",
            lambda a: a.create_topic(name, partitions, replication, configs),
            on_done,
            on_error,
            refresh_after=True,
        )

    def delete_topic(
        self, name: str, on_done: Done | None = None, on_error: Failed | None = None
    ) -> Job:
        return self.run("delete topic", lambda a: a.delete_topic(name), on_done, on_error, True)

    def add_partitions(
        self, name: str, total: int, on_done: Done | None = None, on_error: Failed | None = None
    ) -> Job:
        return self.run(
            "add partitions", lambda a: a.add_partitions(name, total), on_done, on_error, True
        )

    def empty_topic(
        self, topic: TopicInfo, on_done: Done | None = None, on_error: Failed | None = None
    ) -> Job:
        return self.run("empty topic", lambda a: a.empty_topic(topic), on_done, on_error, True)

    def topic_configs(self, topic: str, on_done: Done, on_error: Failed | None = None) -> Job:
        return self.run("topic configs", lambda a: a.topic_configs(topic), on_done, on_error)

    def broker_configs(self, broker_id: int, on_done: Done, on_error: Failed | None = None) -> Job:
        return self.run("broker configs", lambda a: a.broker_configs(broker_id), on_done, on_error)

    def set_topic_config(
        self,
        topic: str,
        key: str,
        value: str | None,
        on_done: Done | None = None,
        on_error: Failed | None = None,
    ) -> Job:
        return self.run(
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
        on_done: Done | None = None,
        on_error: Failed | None = None,
    ) -> Job:
        return self.run(
            "set broker config",
            lambda a: a.set_broker_config(broker_id, key, value),
            on_done,
            on_error,
        )

    # ---- preferred leader election (Replication tab) ---------------------------------------

    def preview_election(self, on_done: Done, on_error: Failed | None = None) -> Job:
        return self.run("preview a preferred leader election", election_preview, on_done, on_error)

    def elect_preferred(
        self, moves: list[ElectionMove], on_done: Done, on_error: Failed | None = None
    ) -> Job:
        return self.run(
            "elect preferred leaders",
            lambda a: elect_preferred(a, moves),
            on_done,
            on_error,
            refresh_after=True,
        )
