"""The one job model: named blocking work with a deadline and a cancel token; outcomes by signal."""

from __future__ import annotations

import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from desktop.services.admin import KafkaServiceError
from desktop.services.browse import ScanError
from desktop.services.cancel import CancelToken, JobCancelled, JobTimedOut
from desktop.services.produce import ProduceError

if TYPE_CHECKING:
    from desktop.workers.clients import Clients

log = logging.getLogger(__name__)

# A cancelled job whose work has not returned after this long is abandoned (its client with it).
CANCEL_GRACE_MS = 700


class Lane(StrEnum):
    REFRESH = "refresh"  # periodic snapshots: coalesced per key, the latest request wins
    ACTION = "action"  # what the user clicked: never queued behind a refresh
    STREAM = "stream"  # scans, bulk sends, file and child-process work: a thread each


class UserError(Exception):
    """A failure whose text is already written for the user."""


@dataclass(frozen=True)
class JobFailure:
    """Why a job ended without a result, phrased for the user."""

    job: str
    message: str
    timed_out: bool = False
    cancelled: bool = False


@dataclass
class JobContext:
    """What the work receives on its thread: its token, a progress callback, the lane's clients."""

    token: CancelToken
    report: Callable[[Any], None]
    clients: Clients


def user_message(exc: BaseException) -> str:
    if isinstance(
        exc, UserError | KafkaServiceError | ScanError | ProduceError | OSError | ValueError
    ):
        return str(exc) or type(exc).__name__
    return f"Unexpected error: {type(exc).__name__}: {exc}"


def timeout_text(name: str, seconds: float) -> str:
    return (
        f"{name[:1].upper()}{name[1:]} took longer than {seconds:g} s and was abandoned; "
        "its connection was reset. Try again, or check the cluster."
    )


class Job(QObject):
    """Construct on the GUI thread, connect, then hand to a JobRunner.

    Exactly one of `finished` (the result) or `failed` (a JobFailure) ends every job, on the GUI
    thread; nothing is emitted after it, even when abandoned work returns later.
    """

    started = Signal()
    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(object)  # JobFailure
    _began = Signal()
    _reported = Signal(object)
    _returned = Signal(object)
    _raised = Signal(object)

    def __init__(
        self,
        name: str,
        work: Callable[[JobContext], Any],
        *,
        lane: Lane = Lane.ACTION,
        deadline_s: float | None = 30.0,
        key: str | None = None,
    ) -> None:
        super().__init__()
        self.name = name
        self.lane = lane
        self.deadline_s = deadline_s
        self.key = key  # refresh lane: a newer job with the same key replaces a waiting one
        self.token = CancelToken()
        self.result: Any = None
        self.error = ""
        self.failure: JobFailure | None = None
        self.submitted = False
        self.began = False
        self.ended = False
        self._work = work
        self._thread: threading.Thread | None = None
        self._abandon: Callable[[], None] = lambda: None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._on_deadline)
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.timeout.connect(self._on_cancel_grace)
        self._began.connect(self._on_began)
        self._reported.connect(self._on_reported)
        self._returned.connect(self._on_returned)
        self._raised.connect(self._on_raised)

    @property
    def running(self) -> bool:
        """Submitted and not yet ended (as seen on the GUI thread)."""
        return self.submitted and not self.ended

    def cancel(self) -> None:
        """Stop the work; it ends (finished or failed) within CANCEL_GRACE_MS either way."""
        if self.ended:
            return
        self.token.cancel()
        if not self.began:  # waiting, or started with the news still on its way here
            self._abandon()  # a no-op until a lane thread has taken the job
            self._end_failed(JobFailure(self.name, "Cancelled.", cancelled=True))
            return
        self._timer.stop()
        if not self._grace.isActive():
            self._grace.start(CANCEL_GRACE_MS)

    def join(self, timeout: float) -> bool:
        """Wait for the thread that ran the work (tests and tools only, never the GUI)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    def drop(self) -> None:
        """End silently: the receivers are going away (a closed tab) or superseded."""
        self.token.cancel()
        self.ended = True
        self._timer.stop()
        self._grace.stop()

    # ---- worker thread -------------------------------------------------------------------

    def run(self, clients: Clients, abandon: Callable[[], None]) -> BaseException | None:
        """Run the work here and now; returns the exception that ended it, if any."""
        self._thread = threading.current_thread()
        self._abandon = abandon
        self.token.start_clock(self.deadline_s)
        clients.bind(self.token)
        ctx = JobContext(self.token, self._emit_progress, clients)
        self._emit(self._began)
        try:
            result = self._work(ctx)
        except JobCancelled as exc:
            self._emit(self._raised, JobFailure(self.name, "Cancelled.", cancelled=True))
            return exc
        except JobTimedOut as exc:
            self._emit(self._raised, self._timed_out())
            return exc
        except BaseException as exc:
            if self.token.cancelled:
                # cancelled, abandoned or its tab closed: whatever its work says now is late
                # news for nobody (its clients were cut off under it), not an error
                log.debug("job %s ended after it was cancelled: %r", self.name, exc)
                self._emit(self._raised, JobFailure(self.name, "Cancelled.", cancelled=True))
                return exc
            if not isinstance(
                exc, UserError | KafkaServiceError | ScanError | ProduceError | OSError
            ):
                log.exception("job %s failed", self.name)
            self._emit(self._raised, JobFailure(self.name, user_message(exc)))
            return exc
        self._emit(self._returned, result)
        return None

    def _emit_progress(self, progress: Any) -> None:
        self._emit(self._reported, progress)

    def _emit(self, signal: Any, *args: Any) -> None:
        if self.ended:
            return
        with contextlib.suppress(RuntimeError):  # deleted with its window: nobody listens
            signal.emit(*args)

    def _timed_out(self) -> JobFailure:
        return JobFailure(self.name, timeout_text(self.name, self.deadline_s or 0), timed_out=True)

    # ---- GUI thread ----------------------------------------------------------------------

    @Slot()
    def _on_began(self) -> None:
        if self.ended:
            return
        self.began = True
        if self.deadline_s is not None and not self.token.cancelled:
            self._timer.start(int(self.deadline_s * 1000))
        self.started.emit()

    @Slot(object)
    def _on_reported(self, progress: Any) -> None:
        if not self.ended:
            self.progress.emit(progress)

    @Slot(object)
    def _on_returned(self, result: Any) -> None:
        if self.ended:
            return
        self.ended = True
        self._timer.stop()
        self._grace.stop()
        self.result = result
        self.finished.emit(result)

    @Slot(object)
    def _on_raised(self, failure: JobFailure) -> None:
        if not self.ended:
            self._end_failed(failure)

    @Slot()
    def _on_deadline(self) -> None:
        if self.ended:
            return
        self.token.cancel()
        self._abandon()
        self._end_failed(self._timed_out())

    @Slot()
    def _on_cancel_grace(self) -> None:
        if self.ended:
            return
        self._abandon()
        self._end_failed(JobFailure(self.name, "Cancelled.", cancelled=True))

    def _end_failed(self, failure: JobFailure) -> None:
        self.ended = True
        self._timer.stop()
        self._grace.stop()
        self.failure = failure
        self.error = failure.message
        self.failed.emit(failure)


def cancelled_with(owner: QObject) -> Callable[[Job], None]:
    """`track(job)`: every tracked job is cancelled when `owner` is destroyed (a closed messages
    tab must not leave a live tail running). Ended jobs are not kept alive by this."""
    jobs: weakref.WeakSet[Job] = weakref.WeakSet()

    def cancel_all(*_args: object) -> None:
        for job in list(jobs):
            job.cancel()

    owner.destroyed.connect(cancel_all)
    return jobs.add
