"""One runner per cluster (and one for the app): lanes of threads that run Jobs."""

from __future__ import annotations

import itertools
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import QObject

from desktop.services.cancel import JobCancelled, JobTimedOut
from desktop.workers.clients import AdminFactory, Clients, ProducerFactory, ProducerPool
from desktop.workers.jobs import Job, Lane

log = logging.getLogger(__name__)

_ids = itertools.count(1)

# A job is a busy Python thread. While it runs, every call the GUI thread makes into Python (each
# data() of a table paint) may wait up to the interpreter's switch interval for the GIL: at the
# default 5 ms one paint took 85 ms median, at 1 ms 27 ms (measured, 100k rows, a scan running).
GIL_SWITCH_S = 0.001


def favour_gui_thread() -> None:
    """Shorten the GIL switch interval for the process (never lengthens it)."""
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)


class _Worker:
    """A lane thread and its clients; retired when a job on it is abandoned."""

    def __init__(self, name: str, clients: Clients, serve: Callable[[_Worker], None]) -> None:
        self.clients = clients
        self.retired = False
        self.thread = threading.Thread(target=serve, args=(self,), name=name, daemon=True)


class _SerialLane:
    """Jobs one after another on one thread; an abandoned job takes its thread (and client)
    with it and a fresh thread serves the rest."""

    def __init__(self, runner: JobRunner, lane: Lane) -> None:
        self._runner = runner
        self._lane = lane
        self._cond = threading.Condition()
        self._queue: deque[Job] = deque()
        self._current: _Worker | None = None
        self._closed = False

    def submit(self, job: Job) -> None:
        with self._cond:
            if job.key is not None:
                for old in [j for j in self._queue if j.key == job.key]:
                    self._queue.remove(old)  # latest wins: the waiting one never runs
                    old.drop()
                    self._runner.forget(old)
            self._queue.append(job)
            if self._current is None:
                self._current = self._spawn()
            self._cond.notify_all()

    def pending(self, key: str) -> bool:
        with self._cond:
            return any(j.key == key for j in self._queue)

    def close(self) -> list[Job]:
        with self._cond:
            self._closed = True
            dropped = list(self._queue)
            self._queue.clear()
            self._cond.notify_all()
        return dropped

    def _spawn(self) -> _Worker:
        worker = self._runner.new_worker(self._lane.value, self._serve)
        worker.thread.start()
        return worker

    def _retire(self, worker: _Worker) -> None:
        with self._cond:
            worker.retired = True
            worker.clients.abandon()
            if self._current is worker:
                self._current = self._spawn() if self._queue and not self._closed else None
            self._cond.notify_all()

    def _serve(self, me: _Worker) -> None:
        try:
            while True:
                with self._cond:
                    while not self._queue and not me.retired and not self._closed:
                        self._cond.wait()
                    if me.retired or self._closed:
                        return
                    job = self._queue.popleft()
                if job.ended:
                    continue  # cancelled while it waited
                exc = job.run(me.clients, lambda: self._retire(me))
                if isinstance(exc, JobTimedOut):
                    me.clients.abandon()  # its handles hung: the next job gets fresh ones
                    me.clients.close()
                elif (
                    exc is not None
                    and self._lane is Lane.REFRESH
                    and not isinstance(exc, JobCancelled)
                ):
                    me.clients.close()  # a failed refresh reconnects with a fresh client
        finally:
            me.clients.close()
            with self._cond:
                if self._current is me:
                    self._current = None
                    if self._queue and not self._closed:
                        self._current = self._spawn()
            self._runner.worker_done(me)


class JobRunner(QObject):
    """Runs Jobs in lanes: refreshes, user actions and streams never wait on each other.

    Owns the clients (an admin per serial lane, producers per settings). close() returns at once:
    jobs are cancelled, threads end on their own and close their clients as they go."""

    def __init__(
        self,
        name: str,
        admin_factory: AdminFactory | None = None,
        producer_factory: ProducerFactory | None = None,
    ) -> None:
        super().__init__()
        favour_gui_thread()
        self.name = name
        self._admin_factory = admin_factory
        self.producers = ProducerPool(producer_factory)
        self._lanes = {lane: _SerialLane(self, lane) for lane in (Lane.REFRESH, Lane.ACTION)}
        self._jobs: set[Job] = set()  # running or waiting: kept alive until they end
        self._workers: set[_Worker] = set()
        self._lock = threading.Lock()
        self.closed = False

    def submit(self, job: Job) -> Job:
        if self.closed:
            job.drop()
            return job
        job.submitted = True
        self._jobs.add(job)
        job.finished.connect(lambda _r: self._jobs.discard(job))
        job.failed.connect(lambda _f: self._jobs.discard(job))
        lane = self._lanes.get(job.lane)
        if lane is not None:
            lane.submit(job)
        else:
            self._start_stream(job)
        return job

    def forget(self, job: Job) -> None:
        """A job that will never end by signal (superseded while waiting)."""
        self._jobs.discard(job)

    def pending(self, lane: Lane, key: str) -> bool:
        """A job with `key` waits in `lane` (not yet started)."""
        serial = self._lanes.get(lane)
        return serial.pending(key) if serial is not None else False

    def close(self) -> None:
        """Cancel everything; never blocks. Producers are flushed by the last thread to end."""
        if self.closed:
            return
        self.closed = True
        for lane in self._lanes.values():
            for job in lane.close():
                job.drop()
        for job in list(self._jobs):
            job.drop()
        self._jobs.clear()
        with self._lock:
            idle = not self._workers
        if idle:
            self._close_producers_off_thread()

    def threads(self) -> list[threading.Thread]:
        with self._lock:
            return [w.thread for w in self._workers]

    def join(self, timeout: float) -> bool:
        """Wait for every thread to end (tests and tools only, never the GUI thread)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            alive = [t for t in self.threads() if t.is_alive()]
            if not alive:
                return True
            alive[0].join(max(0.0, min(0.1, end - time.monotonic())))
        return not any(t.is_alive() for t in self.threads())

    # ---- lane threads --------------------------------------------------------------------

    def new_worker(self, role: str, serve: Callable[[_Worker], None]) -> _Worker:
        clients = Clients(role, self._admin_factory, self.producers)
        worker = _Worker(f"{self.name}-{role}-{next(_ids)}", clients, serve)
        with self._lock:
            self._workers.add(worker)
        return worker

    def worker_done(self, worker: _Worker) -> None:
        with self._lock:
            self._workers.discard(worker)
            last = self.closed and not self._workers
        if last:
            self.producers.close()

    def _start_stream(self, job: Job) -> None:
        def abandon(worker: _Worker) -> None:
            worker.retired = True
            worker.clients.abandon()

        def serve(worker: _Worker) -> None:
            try:
                job.run(worker.clients, lambda: abandon(worker))
            finally:
                worker.clients.close()
                self.worker_done(worker)

        self.new_worker(Lane.STREAM.value, serve).thread.start()

    def _close_producers_off_thread(self) -> None:
        threading.Thread(
            target=self.producers.close, name=f"{self.name}-close", daemon=True
        ).start()
