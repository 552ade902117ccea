"""Start and stop the built-in broker as jobs: a child process, never in the app's interpreter."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal

from desktop.domain.cluster import BrokerInfo, LocalBrokerInfo
from desktop.domain.local import LocalSignIn
from desktop.services.local_process import ChildProcess, choose_port, wait_answering
from desktop.workers.jobs import Job, JobContext, UserError
from desktop.workers.local_handle import LocalHandle, undone_on_failure


def default_local_data_dir() -> Path | None:
    try:
        from embedded_broker.runner import default_data_dir
    except ImportError:
        return None
    return Path(default_data_dir())


PREFERRED_PORT = 9092
START_TIMEOUT_S = 30.0  # a loaded machine takes a few seconds to start an interpreter
START_DEADLINE_S = START_TIMEOUT_S + 5
STOP_TIMEOUT_S = 10.0  # then it is killed
STOP_DEADLINE_S = STOP_TIMEOUT_S + 5
SCRAM_ENV = "TOPICSCOPE_ADD_SCRAM"  # topicscope-broker's users from the environment
SIGN_IN_MECHANISM = "SCRAM-SHA-512"


def sign_in_args(host: str, port: int) -> list[str]:
    """One SASL_PLAINTEXT listener with SCRAM-SHA-512 in place of the open PLAINTEXT one."""
    return [
        "--config",
        f"listeners=SASL_PLAINTEXT://{host}:{port}",
        "--config",
        f"sasl.enabled.mechanisms={SIGN_IN_MECHANISM}",
    ]


def sign_in_env(sign_in: LocalSignIn) -> dict[str, str]:
    """The user as --add-scram takes it, for the child's environment (never its arguments)."""
    if any(c in sign_in.username for c in ",=[]\n") or any(c in sign_in.password for c in ",]\n"):
        raise UserError("the user name or password holds a character it cannot take (, = [ ])")
    return {SCRAM_ENV: f"{SIGN_IN_MECHANISM}=[name={sign_in.username},password={sign_in.password}]"}


class LocalBroker(LocalHandle):
    """The app's handle on the built-in broker; start, stop and restart are jobs in one lane
    (in the order clicked), so the GUI never waits for the broker."""

    _stopped_midway = Signal()

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        super().__init__("local-broker")
        # None: Kafka's usual 9092, so the CLI tools and course examples work as typed; a free
        # port when something else already holds it.
        self.port = port
        self.data_dir = data_dir
        self.info: LocalBrokerInfo | None = None
        # the user the broker requires from its next start on (None: anyone may connect)
        self.sign_in: LocalSignIn | None = None
        self._child: ChildProcess | None = None  # the broker's process; touched only by jobs
        self._stopped_midway.connect(self._on_stopped_midway)

    def start(self) -> None:
        if self._busy or self.running:
            return
        self._submit("start the built-in broker", self._do_start, START_DEADLINE_S, "start")

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
        if self._child is None and not self._busy:
            self._jobs.close()
            return None
        return self._exit_job(
            "stop the built-in broker", lambda _c: self._do_stop(), STOP_DEADLINE_S
        )

    # ---- GUI thread ----------------------------------------------------------------------

    def _on_stopped_midway(self) -> None:
        self.info = None
        self.stopped.emit()

    # ---- job threads ---------------------------------------------------------------------

    def _restart(self, _ctx: JobContext) -> LocalBrokerInfo:
        self._do_stop()
        self._stopped_midway.emit()
        return self._do_start(_ctx)

    def _do_start(self, ctx: JobContext) -> LocalBrokerInfo:
        data_dir = self.data_dir or default_local_data_dir()
        if data_dir is None:
            raise UserError("it is not included in this build")
        host = "127.0.0.1"
        port = choose_port(host, self.port, 1, PREFERRED_PORT)
        sign_in = self.sign_in
        args = [
            "--host",
            host,
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--log-level",
            "WARNING",
            "--config",
            "group.initial.rebalance.delay.ms=0",
        ]
        if sign_in is not None:
            args += sign_in_args(host, port)
        child = ChildProcess(args, secret_env=sign_in_env(sign_in) if sign_in else None)
        with undone_on_failure(lambda: child.terminate(2.0)):
            wait_answering(child, [BrokerInfo(1, host, port)], ctx.token, START_TIMEOUT_S)
        self._child = child
        self.port = port  # the same port on restart
        return LocalBrokerInfo(
            bootstrap=f"{host}:{port}",
            data_dir=str(data_dir),
            pid=child.pid,
            username=sign_in.username if sign_in else "",
        )

    def _do_stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            child.terminate(STOP_TIMEOUT_S)
