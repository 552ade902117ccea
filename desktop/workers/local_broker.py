"""Start and stop the built-in broker as jobs, through its public runner API."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.domain.cluster import LocalBrokerInfo
from desktop.workers.jobs import Job, JobContext, JobFailure, Lane, UserError
from desktop.workers.runner import JobRunner


def default_local_data_dir() -> Path | None:
    try:
        from embedded_broker.runner import default_data_dir
    except ImportError:
        return None
    return Path(default_data_dir())


PREFERRED_PORT = 9092
START_DEADLINE_S = 40.0  # two candidate ports, 15 s each
STOP_DEADLINE_S = 15.0


class LocalBroker(QObject):
    """The app's handle on the built-in broker; start, stop and restart are jobs in one lane
    (in the order clicked), so the GUI never waits for the broker."""

    started = Signal(object)  # LocalBrokerInfo
    stopped = Signal()
    failed = Signal(str)
    busy_changed = Signal(bool)
    _stopped_midway = Signal()

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        super().__init__()
        # None: Kafka's usual 9092, so the CLI tools and course examples work as typed; a free
        # port when something else already holds it.
        self.port = port
        self.data_dir = data_dir
        self.info: LocalBrokerInfo | None = None
        self._runner_handle: Any = None  # the BrokerRunner; touched only by jobs
        self._jobs = JobRunner("local-broker")
        self._busy = False
        self._stopped_midway.connect(self._on_stopped_midway)

    @property
    def running(self) -> bool:
        return self.info is not None

    @property
    def busy(self) -> bool:
        return self._busy

    def _submit(
        self,
        name: str,
        work: Callable[[JobContext], LocalBrokerInfo | None],
        deadline_s: float,
        verb: str,
    ) -> Job:
        job = Job(name, work, lane=Lane.ACTION, deadline_s=deadline_s)
        job.finished.connect(self._on_done)
        job.failed.connect(lambda failure: self._on_failed(verb, failure))
        self._busy = True
        self.busy_changed.emit(True)
        return self._jobs.submit(job)

    def start(self) -> None:
        if self._busy or self.running:
            return
        self._submit(
            "start the built-in broker", lambda _c: self._do_start(), START_DEADLINE_S, "start"
        )

    def stop(self) -> Job | None:
        if self._busy or not self.running:
            return None
        self.info = None
        return self._submit(
            "stop the built-in broker", lambda _c: self._do_stop(), STOP_DEADLINE_S, "stop cleanly"
        )

    def restart(self) -> None:
        if self._busy:
            return
        self._submit(
            "restart the built-in broker",
            self._restart,
            START_DEADLINE_S + STOP_DEADLINE_S,
            "restart",
        )

    def stop_at_exit(self) -> Job | None:
        """Stop for the app's exit: a job to wait for by signal, or None when nothing runs.
        Either way this handle's runner closes (its thread ends) once the broker is down."""
        if self._runner_handle is None and not self._busy:
            self._jobs.close()
            return None
        self.info = None
        job = Job(
            "stop the built-in broker",
            lambda _c: self._do_stop(),
            lane=Lane.ACTION,
            deadline_s=STOP_DEADLINE_S,
        )
        job.finished.connect(lambda _r: self._jobs.close())
        job.failed.connect(lambda _f: self._jobs.close())
        return self._jobs.submit(job)

    # ---- GUI thread ----------------------------------------------------------------------

    def _on_done(self, info: LocalBrokerInfo | None) -> None:
        self._busy = False
        self.busy_changed.emit(False)
        self.info = info
        if info is None:
            self.stopped.emit()
        else:
            self.started.emit(info)

    def _on_failed(self, verb: str, failure: JobFailure) -> None:
        self._busy = False
        self.busy_changed.emit(False)
        self.failed.emit(f"The built-in broker did not {verb}: {failure.message}")

    def _on_stopped_midway(self) -> None:
        self.info = None
        self.stopped.emit()

    # ---- job threads ---------------------------------------------------------------------

    def _restart(self, _ctx: JobContext) -> LocalBrokerInfo:
        self._do_stop()
        self._stopped_midway.emit()
        return self._do_start()

    def _do_start(self) -> LocalBrokerInfo:
        try:
            from embedded_broker.runner import BrokerRunner, default_data_dir
        except ImportError as exc:
            raise UserError("it is not included in this build") from exc
        data_dir = self.data_dir or Path(default_data_dir())
        candidates = [self.port] if self.port is not None else [PREFERRED_PORT, 0]
        for candidate in candidates:
            runner = BrokerRunner(
                host="127.0.0.1",
                port=candidate,
                data_dir=data_dir,
                config={"group.initial.rebalance.delay.ms": "0"},
            )
            try:
                addr = runner.start(timeout=15.0)
            except Exception as exc:
                if candidate == candidates[-1]:
                    raise UserError(str(exc) or type(exc).__name__) from exc
                continue
            break
        self._runner_handle = runner
        self.port = int(str(addr.bootstrap).rsplit(":", 1)[1])  # keep the port on restart
        return LocalBrokerInfo(bootstrap=str(addr.bootstrap), data_dir=str(runner.data_dir))

    def _do_stop(self) -> None:
        runner, self._runner_handle = self._runner_handle, None
        if runner is not None:
            try:
                runner.stop(timeout=10.0)
            except Exception as exc:
                raise UserError(str(exc) or type(exc).__name__) from exc
