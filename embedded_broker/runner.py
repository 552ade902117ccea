"""Start and stop the built-in broker on its own thread and event loop (the app's public API)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import platformdirs

from .config import BrokerConfig, ConfigError
from .damaged import DamagedFileError
from .exposure import listeners_warning

if TYPE_CHECKING:
    from .state import BrokerState

log = logging.getLogger(__name__)
T = TypeVar("T")

APP_NAME = "topicscope"


# the part of stop()'s timeout kept for the loop and thread to wind down after closing the logs
STOP_MARGIN_S = 0.5


class BrokerStartError(RuntimeError):
    """The broker could not start; the message says why and what to do."""


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int

    @property
    def bootstrap(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def default_data_dir() -> Path:
    """Where the broker keeps its data unless told otherwise."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / "broker"


def _import_broker() -> None:
    """Import the modules the broker thread starts with (at once after the first time)."""
    for name in ("dirlock", "security.runtime", "server", "state"):
        importlib.import_module(f"{__package__}.{name}")


def _client_host(host: str) -> str:
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


class BrokerRunner:
    """Runs one broker; ``start`` blocks until it listens, ``stop`` is graceful and idempotent."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: Path | None = None,
        in_memory: bool = False,
        config: Mapping[str, str] | None = None,
        on_started: Callable[[BrokerState], None] | None = None,
        scram_users: Sequence[tuple[str, str, str, int]] = (),
    ) -> None:
        self._host = host
        # called on the broker's loop just before it listens (cluster mode attaches its
        # controller link)
        self._on_started = on_started
        self._scram_users = tuple(scram_users)  # (mechanism, name, password, iterations) at start
        self._listeners: dict[str, BrokerAddress] = {}
        self.exposure_warning: str | None = None
        self._port = port
        self._in_memory = in_memory
        self._data_dir: Path | None = (
            None
            if in_memory and data_dir is None
            else (Path(data_dir) if data_dir is not None else default_data_dir())
        )
        self._config = dict(config or {})
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._address: BrokerAddress | None = None
        self._stop_deadline: float | None = None  # time.monotonic() by which stop() returns
        self._closed_in_time = False  # the last stop closed every partition by its deadline
        self._state: BrokerState | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and self._address is not None

    @property
    def address(self) -> BrokerAddress | None:
        return self._address

    @property
    def listeners(self) -> dict[str, BrokerAddress]:
        """Listener name -> the address clients reach it on (all listeners, in order)."""
        return dict(self._listeners)

    @property
    def data_dir(self) -> Path | None:
        return self._data_dir

    def start(self, timeout: float = 10.0) -> BrokerAddress:
        with self._lock:
            if self.running and self._address is not None:
                return self._address
            try:
                config = BrokerConfig(self._config)
            except ConfigError as exc:
                raise BrokerStartError(f"Invalid broker setting: {exc}") from None
            self._check_data_dir()
            # seconds of CPU the first time on a loaded machine: paid before the clock starts,
            # so ``timeout`` bounds starting the broker, not loading its code
            _import_broker()
            ready = threading.Event()
            outcome: dict[str, object] = {}
            thread = threading.Thread(
                target=self._thread_main,
                args=(config, ready, outcome),
                name="topicscope-broker",
                daemon=True,
            )
            self._thread = thread
            thread.start()
            if not ready.wait(timeout):
                self._request_stop()
                thread.join(timeout)
                self._thread = None
                raise BrokerStartError(
                    f"The broker did not start within {timeout:.0f} s. Check the log for details."
                )
            error = outcome.get("error")
            if error is not None:
                thread.join(timeout)
                self._thread = None
                raise BrokerStartError(str(error))
            port = outcome["port"]
            assert isinstance(port, int)
            bound = outcome["bound"]
            assert isinstance(bound, dict)
            self._listeners = {
                name: BrokerAddress(_client_host(host), lport)
                for name, (host, lport) in bound.items()
            }
            self._address = next(iter(self._listeners.values()))
            return self._address

    def _check_data_dir(self) -> None:
        if self._in_memory or self._data_dir is None:
            return
        try:
            self._data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BrokerStartError(
                f"Cannot create the data directory {self._data_dir}: {exc.strerror}. "
                "Choose another directory or fix its permissions."
            ) from None
        if not os.access(self._data_dir, os.W_OK | os.X_OK):
            raise BrokerStartError(
                f"The data directory {self._data_dir} is not writable. "
                "Choose another directory or fix its permissions."
            )

    def _thread_main(
        self, config: BrokerConfig, ready: threading.Event, outcome: dict[str, object]
    ) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._serve(config, ready, outcome))
        except Exception as exc:  # never let the broker thread die with a traceback only
            log.exception("Broker thread failed")
            outcome.setdefault("error", f"The broker failed: {exc}")
        finally:
            ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                self._loop = None

    async def _serve(
        self, config: BrokerConfig, ready: threading.Event, outcome: dict[str, object]
    ) -> None:
        from .dirlock import DataDirInUseError
        from .security.runtime import Security
        from .server import BrokerServer
        from .state import BrokerState

        self._stop_event = asyncio.Event()
        try:
            state = BrokerState(config, self._data_dir, in_memory=self._in_memory)
        except (DataDirInUseError, DamagedFileError) as exc:
            outcome["error"] = str(exc)
            return
        except OSError as exc:
            outcome["error"] = (
                f"Cannot open the broker data in {self._data_dir}: {exc}. "
                "Check that the directory is writable and not used by another broker."
            )
            return
        try:
            security = Security(
                config,
                None if self._in_memory else self._data_dir,
                self._host,
                self._port,
                scram_users=self._scram_users,
            )
        except (ConfigError, DamagedFileError) as exc:
            await state.shutdown()
            outcome["error"] = f"Invalid security setting: {exc}"
            return
        self._state = state
        # before listening: once a client is served, a cluster node must already answer as one
        # (from a local copy of the metadata alone it would lead every partition it holds)
        if self._on_started is not None:
            self._on_started(state)
        server = BrokerServer(state, self._host, self._port, security)
        try:
            _, port = await server.start()
        except OSError as exc:
            await state.shutdown()
            where = exc.filename or f"{self._host}:{self._port}"
            if exc.errno in (98, 48, 10048):
                outcome["error"] = (
                    f"The address of {where} is already in use. Stop the other program or "
                    "choose another port."
                )
            else:
                outcome["error"] = f"Cannot listen on {where}: {exc.strerror or exc}"
            return
        # A host name is resolved to decide; off the loop, as DNS may be slow.
        warning = await asyncio.to_thread(listeners_warning, security, server.bound)
        self.exposure_warning = warning
        if warning is not None:
            log.warning("%s", warning)
        outcome["port"] = port
        outcome["bound"] = dict(server.bound)
        ready.set()
        await self._stop_event.wait()
        if self._stop_deadline is not None:  # leave a margin for the thread to wind down
            state.shutdown_deadline = self._stop_deadline - STOP_MARGIN_S
        await server.stop()
        self._closed_in_time = state.closed_in_time

    def call(self, fn: Callable[[BrokerState], T], timeout: float = 10.0) -> T:
        """Run ``fn(state)`` on the broker's event loop and return its result; thread-safe
        (how a controller or a test hands the broker replication states)."""
        loop, state = self._loop, self._state
        if loop is None or state is None or not self.running:
            raise BrokerStartError("The broker is not running.")

        async def run() -> T:
            return fn(state)

        return asyncio.run_coroutine_threadsafe(run(), loop).result(timeout)

    def _request_stop(self) -> None:
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None:
            with contextlib.suppress(RuntimeError):  # the loop may already be closed
                loop.call_soon_threadsafe(event.set)

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop within ``timeout`` seconds; False if the broker was still closing files then.

        The broker plans its shutdown to that deadline (partitions close in parallel and the
        loop waits no longer); whatever is left finishes on a background thread and the next
        start recovers anything the process did not get to close.
        """
        with self._lock:
            thread = self._thread
            if thread is None:
                return True
            self._stop_deadline = time.monotonic() + timeout
            self._closed_in_time = False
            self._request_stop()
            stopped = True
            if thread is not threading.current_thread():
                thread.join(max(self._stop_deadline - time.monotonic(), 0.0))
                stopped = not thread.is_alive() and self._closed_in_time
                if not stopped:
                    log.warning(
                        "The broker did not finish closing its files within %.1f s; that goes "
                        "on in the background",
                        timeout,
                    )
            self._thread = None
            self._address = None
            return stopped
