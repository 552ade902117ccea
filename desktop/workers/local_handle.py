"""What the built-in broker's and the local cluster's handles share: start and stop run as
jobs in order in one lane, and the GUI follows them by busy/started/stopped/failed signals."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.services.local_process import LocalProcessError
from desktop.workers.jobs import Job, JobContext, JobFailure, Lane, UserError
from desktop.workers.runner import JobRunner


@contextlib.contextmanager
def undone_on_failure(undo: Callable[[], None]) -> Iterator[None]:
    """Run `undo` (stop what was started) if the block fails, cancelled included; a child
    process's own failure reaches the user as a plain message."""
    try:
        yield
    except BaseException as exc:
        undo()
        if isinstance(exc, LocalProcessError):
            raise UserError(str(exc)) from exc
        raise


class LocalHandle(QObject):
    """A handle on local broker processes; `subject` names them in failure messages."""

    started = Signal(object)  # the handle's info (LocalBrokerInfo or LocalClusterInfo)
    stopped = Signal()
    failed = Signal(str)
    busy_changed = Signal(bool)

    subject = "The built-in broker"

    def __init__(self, runner_name: str) -> None:
        super().__init__()
        self.info: Any = None  # set when running, None when stopped
        self._jobs = JobRunner(runner_name)
        self._busy = False

    @property
    def running(self) -> bool:
        return self.info is not None

    @property
    def busy(self) -> bool:
        return self._busy

    def _submit(
        self, name: str, work: Callable[[JobContext], Any], deadline_s: float, verb: str
    ) -> Job:
        job = Job(name, work, lane=Lane.ACTION, deadline_s=deadline_s)
        job.finished.connect(self._on_done)
        job.failed.connect(lambda failure: self._on_failed(verb, failure))
        self._busy = True
        self.busy_changed.emit(True)
        return self._jobs.submit(job)

    def _exit_job(self, name: str, work: Callable[[JobContext], Any], deadline_s: float) -> Job:
        """The stop for the app's exit; this handle's runner (its thread) closes after it."""
        self.info = None
        job = Job(name, work, lane=Lane.ACTION, deadline_s=deadline_s)
        job.finished.connect(lambda _r: self._jobs.close())
        job.failed.connect(lambda _f: self._jobs.close())
        return self._jobs.submit(job)

    # ---- GUI thread ----------------------------------------------------------------------

    def _on_done(self, info: Any) -> None:
        self._busy = False
        self.busy_changed.emit(False)
        self.info = info
        if info is None:
            self.stopped.emit()
            return
        self.started.emit(info)
        self._after_start()

    def _after_start(self) -> None:
        """What a handle does once running (the cluster watches its cluster.json)."""

    def _on_failed(self, verb: str, failure: JobFailure) -> None:
        self._busy = False
        self.busy_changed.emit(False)
        self.failed.emit(f"{self.subject} did not {verb}: {failure.message}")
