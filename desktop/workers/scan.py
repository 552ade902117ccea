"""One thread per scan; rows and progress come back to the GUI thread in chunks, by signal."""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from desktop.domain.messages import Row, ScanProgress, ScanSpec
from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.browse import ScanError, Scanner
from desktop.workers.session import ClusterSession

log = logging.getLogger(__name__)

Sink = Callable[[list[Row]], None]


# A scan (or a bulk send) is a busy Python thread. While it runs, every call the GUI thread makes
# into Python (each data() of a table paint) may wait up to the interpreter's switch interval for
# the GIL: at the default 5 ms one paint took 85 ms median, at 1 ms 27 ms (measured, 100k rows).
GIL_SWITCH_S = 0.001


def favour_gui_thread() -> None:
    """Shorten the GIL switch interval for the process (never lengthens it)."""
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)


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


class ScanWorker(QObject):
    """Runs one Scanner on its own thread. With a `sink`, rows go there (on the scan thread)
    instead of to `rows_arrived` — used to export a whole range without holding it."""

    rows_arrived = Signal(object)  # list[Row]
    progressed = Signal(object)  # ScanProgress
    finished = Signal(object)  # ScanProgress, finished=True
    failed = Signal(str)

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        spec: ScanSpec,
        sink: Sink | None = None,
    ) -> None:
        super().__init__()
        self.spec = spec
        self._stop = threading.Event()
        self._scanner = Scanner(profile, creds, spec, self._stop, GUI_FIRST.go)
        self._sink = sink
        self._thread = threading.Thread(target=self._run, name=f"scan-{spec.topic}", daemon=True)
        self.running = False
        self.result: ScanProgress | None = None
        self.error = ""
        self.finished.connect(self._on_done)
        self.failed.connect(self._on_failed)

    def start(self) -> None:
        favour_gui_thread()
        self.running = True
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _on_done(self, progress: ScanProgress) -> None:
        self.running = False
        self.result = progress

    def _on_failed(self, message: str) -> None:
        self.running = False
        self.error = message

    # ---- scan thread ---------------------------------------------------------------------

    def _batch(self, rows: list[Row], progress: ScanProgress) -> None:
        if rows:
            if self._sink is not None:
                self._sink(rows)
            else:
                self.rows_arrived.emit(rows)
        if progress.finished:
            self.finished.emit(progress)
        else:
            self.progressed.emit(progress)

    def _run(self) -> None:
        try:
            self._scanner.run(self._batch)
        except ScanError as exc:
            self.failed.emit(str(exc))
        except BaseException as exc:
            log.exception("scan failed")
            self.failed.emit(f"Unexpected error while scanning: {type(exc).__name__}: {exc}")
