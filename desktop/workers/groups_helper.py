"""The groups refresh's helper process, seen from the GUI: requests out, decoded frames back as
signals. Qt reads the pipe (QProcess), so no Python thread of the GUI's process takes part."""

from __future__ import annotations

import logging
import pickle
from typing import Any

from PySide6.QtCore import QCoreApplication, QObject, QProcess, QTimer, Signal, Slot

from desktop.domain.profile import ClusterProfile, Credentials
from desktop.services.groups_process import FRAME, command, packed

log = logging.getLogger(__name__)


def _retire(proc: QProcess) -> None:
    """Kill a helper and delete its QProcess once the exit is seen: one destroyed while its
    process still runs warns and blocks the GUI thread until the process has ended. The
    application holds it meanwhile (its own parent may be going away); deleteLater, never a
    dropped Python reference, so it is not deleted inside its own finished signal."""
    proc.setParent(QCoreApplication.instance())
    if proc.state() == QProcess.ProcessState.NotRunning:
        proc.deleteLater()
        return
    proc.finished.connect(proc.deleteLater)
    proc.kill()


class GroupsHelper(QObject):
    """One helper process per cluster; one refresh in flight at a time (the caller's rule).

    A refresh that has not finished within `deadline_s` fails, and the process is replaced:
    a hung client library takes its process with it, never the GUI.
    """

    listed = Signal(object)  # list[GroupSummary]: the whole list (ids changed)
    stage = Signal(object)  # list[GroupSummary]: groups whose summary changed
    done = Signal(object)  # (list[ClusterEvent], float, str note): a refresh finished
    failed = Signal(str)

    def __init__(
        self,
        profile: ClusterProfile,
        creds: Credentials,
        timeout_s: float,
        deadline_s: float,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._setup = (profile, creds, timeout_s)
        self._buffer = bytearray()
        self._proc: QProcess | None = None
        self.busy = False
        self._deadline = QTimer(self)
        self._deadline.setSingleShot(True)
        self._deadline.setInterval(int(deadline_s * 1000))
        self._deadline.timeout.connect(self._timed_out)

    def request(self, priority: tuple[str, ...], threshold: int) -> None:
        if self._proc is None:
            self._start()
        assert self._proc is not None
        self.busy = True
        self._deadline.start()
        self._proc.write(packed((priority, threshold)))

    def _start(self) -> None:
        proc = QProcess(self)
        program, *args = command()
        proc.setProgram(program)
        proc.setArguments(args)
        proc.setProcessChannelMode(QProcess.ProcessChannelMode.ForwardedErrorChannel)
        proc.readyReadStandardOutput.connect(self._read)
        proc.finished.connect(self._exited)
        proc.errorOccurred.connect(self._error)
        proc.start()  # asynchronous: writes wait in Qt's buffer until the process runs
        proc.write(packed(self._setup))
        self._proc = proc
        self._buffer.clear()

    def close(self) -> None:
        """Stop the process (it also ends by itself when the app's end closes its stdin)."""
        self._deadline.stop()
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.finished.disconnect(self._exited)
            proc.errorOccurred.disconnect(self._error)
            proc.readyReadStandardOutput.disconnect(self._read)
            _retire(proc)
        self.busy = False

    @property
    def pid(self) -> int | None:
        """The helper's process id while it runs (for tests and diagnostics)."""
        proc = self._proc
        return int(proc.processId()) or None if proc is not None else None

    @Slot()
    def _read(self) -> None:
        proc = self._proc
        if proc is None:
            return
        self._buffer += bytes(proc.readAllStandardOutput().data())
        self._next_frame()

    def _next_frame(self) -> None:
        """Decode and hand on one frame; the next waits for another event-loop turn, so frames
        that arrived together never make one long GUI-thread step."""
        if len(self._buffer) < FRAME.size:
            return
        (size,) = FRAME.unpack_from(self._buffer)
        if len(self._buffer) < FRAME.size + size:
            return
        body = bytes(self._buffer[FRAME.size : FRAME.size + size])
        del self._buffer[: FRAME.size + size]
        if len(self._buffer) >= FRAME.size:
            QTimer.singleShot(0, self, self._next_frame)
        kind, payload = pickle.loads(body)
        self._dispatch(kind, payload)

    def _dispatch(self, kind: str, payload: Any) -> None:
        if kind == "listed":
            self.listed.emit(payload)
        elif kind == "stage":
            self.stage.emit(payload)
        elif kind in ("done", "failed"):
            self._deadline.stop()
            self.busy = False
            if kind == "done":
                self.done.emit(payload)
            else:
                self.failed.emit(str(payload))

    @Slot()
    def _exited(self) -> None:
        log.warning("The consumer-groups helper process exited; it restarts on the next refresh")
        self._lost("The consumer-groups helper process stopped; retrying.")

    @Slot(QProcess.ProcessError)
    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:  # no finished signal follows
            self._lost(f"Could not start the consumer-groups helper process ({command()[0]}).")

    def _lost(self, message: str) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.finished.disconnect(self._exited)
            proc.errorOccurred.disconnect(self._error)
            proc.readyReadStandardOutput.disconnect(self._read)
            _retire(proc)
        self._buffer.clear()
        if self.busy:
            self._deadline.stop()
            self.busy = False
            self.failed.emit(message)

    @Slot()
    def _timed_out(self) -> None:
        self.close()
        self.failed.emit("Loading the consumer groups took too long; retrying.")
