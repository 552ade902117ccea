"""One worker thread and job queue per cluster; results and failures come back as signals."""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from desktop.domain.cluster import ClusterSnapshot
from desktop.services.admin import ClusterAdmin, KafkaServiceError

log = logging.getLogger(__name__)

AdminFactory = Callable[[], ClusterAdmin]
Job = Callable[[ClusterAdmin], Any]
REFRESH = "refresh"


@dataclass
class _Pending:
    on_done: Callable[[Any], None] | None
    on_error: Callable[[str], None] | None


def user_message(exc: BaseException) -> str:
    if isinstance(exc, KafkaServiceError):
        return str(exc)
    return f"Unexpected error: {type(exc).__name__}: {exc}"


class ClusterWorker(QObject):
    """Runs jobs against one cluster on its own thread, in order."""

    snapshot_loaded = Signal(object)  # ClusterSnapshot
    refresh_failed = Signal(str)
    failed = Signal(str, str)  # job name, user-readable message
    busy_changed = Signal(bool)
    _job_finished = Signal(int, object)
    _snapshot_partial = Signal(object)
    _job_failed = Signal(int, str, str)

    def __init__(self, factory: AdminFactory, name: str = "cluster") -> None:
        super().__init__()
        self._factory = factory
        self._queue: queue.Queue[tuple[int, str, Job] | None] = queue.Queue()
        self._pending: dict[int, _Pending] = {}
        self._ids = itertools.count(1)
        self._refresh_queued = False
        self._reconnect = False
        self._stopped = False
        self._job_finished.connect(self._on_finished)
        self._job_failed.connect(self._on_failed)
        self._snapshot_partial.connect(self._on_partial)
        self._thread = threading.Thread(target=self._run, name=f"kafka-{name}", daemon=True)
        self._thread.start()

    # ---- GUI thread ----------------------------------------------------------------------

    def submit(
        self,
        name: str,
        job: Job,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
    ) -> int:
        job_id = next(self._ids)
        self._pending[job_id] = _Pending(on_done, on_error)
        self._queue.put((job_id, name, job))
        return job_id

    def request_refresh(self) -> bool:
        """Queue a snapshot refresh unless one is already waiting (coalescing)."""
        if self._refresh_queued or self._stopped:
            return False
        self._refresh_queued = True
        self.submit(REFRESH, lambda admin: admin.snapshot(self._snapshot_partial.emit))
        return True

    @property
    def refresh_queued(self) -> bool:
        return self._refresh_queued

    def stop(self) -> None:
        """Finish the running job, drop the rest; no callback fires after this (its widgets
        may already be gone)."""
        self._stopped = True
        self._pending.clear()
        self._queue.put(None)

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @Slot(object)
    def _on_partial(self, snapshot: object) -> None:
        if not self._stopped:
            self.snapshot_loaded.emit(snapshot)

    @Slot(int, object)
    def _on_finished(self, job_id: int, result: object) -> None:
        if self._stopped:
            return
        pending = self._pending.pop(job_id, None)
        if isinstance(result, ClusterSnapshot):
            self._refresh_queued = False
            self.snapshot_loaded.emit(result)
        if pending and pending.on_done:
            pending.on_done(result)

    @Slot(int, str, str)
    def _on_failed(self, job_id: int, name: str, message: str) -> None:
        if self._stopped:
            return
        pending = self._pending.pop(job_id, None)
        if name == REFRESH:
            self._refresh_queued = False
            self.refresh_failed.emit(message)
        self.failed.emit(name, message)
        if pending and pending.on_error:
            pending.on_error(message)

    # ---- worker thread -------------------------------------------------------------------

    def _run(self) -> None:
        admin: ClusterAdmin | None = None
        while True:
            item = self._queue.get()
            if item is None:
                return
            job_id, name, job = item
            if self._stopped:
                continue  # closed: skip what is still queued
            try:
                if admin is None:
                    admin = self._factory()
                elif self._reconnect:
                    admin.reconnect()
                    self._reconnect = False
                result = job(admin)
            except BaseException as exc:
                if name == REFRESH:
                    self._reconnect = True
                log.info("job %s failed: %s", name, exc)
                self._job_failed.emit(job_id, name, user_message(exc))
            else:
                self._job_finished.emit(job_id, result)
