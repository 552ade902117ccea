"""One long job (a scan, a bulk send) on a thread of its own: Stop, join, and progress signals."""

from __future__ import annotations

import sys
import threading
from typing import Any

from PySide6.QtCore import QObject, Signal

# A scan (or a bulk send) is a busy Python thread. While it runs, every call the GUI thread makes
# into Python (each data() of a table paint) may wait up to the interpreter's switch interval for
# the GIL: at the default 5 ms one paint took 85 ms median, at 1 ms 27 ms (measured, 100k rows).
GIL_SWITCH_S = 0.001


def favour_gui_thread() -> None:
    """Shorten the GIL switch interval for the process (never lengthens it)."""
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)


class ThreadJob(QObject):
    """Subclasses implement `_run` (on the job's thread) and report through `_report`.

    `finished` carries the last progress object (with finished=True) and `failed` a message for
    the user; either one ends the job, and `running`, `result` and `error` follow on the GUI
    thread.
    """

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)

    def __init__(self, thread_name: str) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=thread_name, daemon=True)
        self.running = False
        self.result: Any = None
        self.error = ""
        self.finished.connect(self._on_finished)
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

    def _on_finished(self, progress: Any) -> None:
        self.running = False
        self.result = progress

    def _on_failed(self, message: str) -> None:
        self.running = False
        self.error = message

    def _report(self, progress: Any) -> None:
        """From the job's thread: progress, or the end when `progress.finished`."""
        if progress.finished:
            self.finished.emit(progress)
        else:
            self.progressed.emit(progress)

    def _run(self) -> None:
        """The job itself, on its own thread; every exception must become `failed`."""
