"""One thread per scan; rows and progress come back to the GUI thread in chunks, by signal."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from desktop.domain.messages import Row, ScanProgress, ScanSpec
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.browse import ScanError, Scanner
from desktop.workers.session import ClusterSession
from desktop.workers.thread_job import ThreadJob

log = logging.getLogger(__name__)

Sink = Callable[[list[Row]], None]


class GuiFirst:
    """Lets the GUI thread pause scans while it paints or takes rows in.

    Each Python call the GUI makes during a paint (a table paint makes ~700 data() calls) must
    take the GIL from a busy scan thread; holding this gate makes scans wait at their next
    message instead, so the paint runs uncontended."""

    def __init__(self) -> None:
        self.go = threading.Event()
        self.go.set()
        self._depth = 0

    def __enter__(self) -> None:
        self._depth += 1
        self.go.clear()

    def __exit__(self, *exc: object) -> None:
        self._depth -= 1
        if self._depth == 0:
            self.go.set()


GUI_FIRST = GuiFirst()


class Stoppable(Protocol):
    def stop(self) -> None: ...


def stopped_with(owner: QObject) -> Callable[[Stoppable], None]:
    """`track(job)`: every tracked job is stopped when `owner` is destroyed (a closed cluster
    tab must not leave a live tail running). Finished jobs are not kept alive by this."""
    jobs: weakref.WeakSet[Stoppable] = weakref.WeakSet()

    def stop_all(*_args: object) -> None:
        for job in list(jobs):
            job.stop()

    owner.destroyed.connect(stop_all)
    return jobs.add


def session_credentials(session: ClusterSession) -> Credentials:
    """The secrets a cluster session was opened with."""
    return session.creds


class ScanWorker(ThreadJob):
    """Runs one Scanner on its own thread. With a `sink`, rows go there (on the scan thread)
    instead of to `rows_arrived` — used to export a whole range without holding it."""

    rows_arrived = Signal(object)  # list[Row]
    result: ScanProgress | None

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        spec: ScanSpec,
        sink: Sink | None = None,
    ) -> None:
        super().__init__(f"scan-{spec.topic}")
        self.spec = spec
        self._scanner = Scanner(profile, creds, spec, self._stop, GUI_FIRST.go)
        self._sink = sink

    # ---- scan thread ---------------------------------------------------------------------

    def _batch(self, rows: list[Row], progress: ScanProgress) -> None:
        if rows:
            if self._sink is not None:
                self._sink(rows)
            else:
                self.rows_arrived.emit(rows)
        self._report(progress)

    def _run(self) -> None:
        try:
            self._scanner.run(self._batch)
        except ScanError as exc:
            self.failed.emit(str(exc))
        except BaseException as exc:
            log.exception("scan failed")
            self.failed.emit(f"Unexpected error while scanning: {type(exc).__name__}: {exc}")
