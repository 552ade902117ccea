"""Start and stop the built-in broker off the GUI thread, through its public runner API."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal

from desktop.domain.cluster import LocalBrokerInfo


def default_local_data_dir() -> Path | None:
    try:
        from embedded_broker.runner import default_data_dir
    except ImportError:
        return None
    return Path(default_data_dir())


PREFERRED_PORT = 9092


class LocalBroker(QObject):
    """The app's handle on the built-in broker; all blocking work runs on a helper thread."""

    started = Signal(object)  # LocalBrokerInfo
    stopped = Signal()
    failed = Signal(str)
    busy_changed = Signal(bool)

    def __init__(self, port: int | None = None, data_dir: Path | None = None) -> None:
        super().__init__()
        # None: Kafka's usual 9092, so the CLI tools and course examples work as typed; a free
        # port when something else already holds it.
        self.port = port
        self.data_dir = data_dir
        self.info: LocalBrokerInfo | None = None
        self._runner: Any = None
        self._busy = False
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self.info is not None

    @property
    def busy(self) -> bool:
        return self._busy

    def _spawn(self, target: Any) -> None:
        self._busy = True
        self.busy_changed.emit(True)
        threading.Thread(target=target, name="local-broker", daemon=True).start()

    def _done(self) -> None:
        self._busy = False
        self.busy_changed.emit(False)

    def start(self) -> None:
        if self._busy or self.running:
            return
        self._spawn(self._start_blocking)

    def stop(self) -> None:
        if self._busy or not self.running:
            return
        self._spawn(self._stop_blocking)

    def restart(self) -> None:
        if self._busy:
            return
        self._spawn(self._restart_blocking)

    def _start_blocking(self) -> None:
        try:
            info = self._do_start()
        except BaseException as exc:
            self._done()
            self.failed.emit(f"The built-in broker did not start: {exc}")
            return
        self.info = info
        self._done()
        self.started.emit(info)

    def _do_start(self) -> LocalBrokerInfo:
        try:
            from embedded_broker.runner import BrokerRunner, BrokerStartError, default_data_dir
        except ImportError as exc:
            raise RuntimeError("it is not included in this build") from exc
        data_dir = self.data_dir or Path(default_data_dir())
        candidates = [self.port] if self.port is not None else [PREFERRED_PORT, 0]
        with self._lock:
            for candidate in candidates:
                runner = BrokerRunner(
                    host="127.0.0.1",
                    port=candidate,
                    data_dir=data_dir,
                    config={"group.initial.rebalance.delay.ms": "0"},
                )
                try:
                    addr = runner.start(timeout=15.0)
                except BrokerStartError:
                    if candidate == candidates[-1]:
                        raise
                    continue
                break
            self._runner = runner
            self.port = int(str(addr.bootstrap).rsplit(":", 1)[1])  # keep the port on restart
        return LocalBrokerInfo(bootstrap=str(addr.bootstrap), data_dir=str(runner.data_dir))

    def _stop_blocking(self) -> None:
        try:
            self._do_stop()
        except BaseException as exc:
            self._done()
            self.failed.emit(f"The built-in broker did not stop cleanly: {exc}")
            return
        self._done()
        self.stopped.emit()

    def _do_stop(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
            self.info = None
            if runner is not None:
                runner.stop(timeout=10.0)

    def _restart_blocking(self) -> None:
        try:
            self._do_stop()
            self.stopped.emit()
            info = self._do_start()
        except BaseException as exc:
            self._done()
            self.failed.emit(f"The built-in broker did not restart: {exc}")
            return
        self.info = info
        self._done()
        self.started.emit(info)

    def shutdown_blocking(self) -> None:
        """Stop synchronously at application exit."""
        with contextlib.suppress(Exception):
            self._do_stop()
