"""Cutting a blocking kafka-python call short from another thread, without an error in the log."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kafka.errors import KafkaConnectionError
from kafka.net.compat import KafkaNetClient
from kafka.net.selector import NetworkSelector

from desktop.services.cancel import JobCancelled

# kafka-python's loggers that report, at ERROR, the failures a cut-short call leaves behind
# ("Bootstrap failed", "Connection failed", errbacks and coroutines closed with the loop)
KAFKA_LOGGERS = (
    "kafka.cluster",
    "kafka.future",
    "kafka.admin.client",
    "kafka.net.connection",
    "kafka.net.manager",
    "kafka.net.selector",
    "kafka.net.transport",
    "kafka.protocol.parser",
)
IO_THREAD_END_S = 1.0  # the IO loop ends at its next wakeup: well inside this
LATE_WAITER_SWEEP_S = 0.2  # a call that got past the cut check registers well inside this


class _Quiet(logging.Filter):
    """Records from threads tidying up a call that was cut short become DEBUG notes."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()
        self.names: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread in self.threads or record.threadName in self.names:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            record.exc_info = record.exc_text = None
        return True


_quiet = _Quiet()
for _name in KAFKA_LOGGERS:
    logging.getLogger(_name).addFilter(_quiet)


@contextlib.contextmanager
def quiet_here() -> Iterator[None]:
    """kafka-python's records from this thread are DEBUG notes while inside."""
    me = threading.get_ident()
    _quiet.threads.add(me)
    try:
        yield
    finally:
        _quiet.threads.discard(me)


class _CuttableSelector(NetworkSelector):  # type: ignore[misc]
    """kafka-python's event loop, stoppable for good at any moment of its life.

    `NetworkSelector.stop()` alone misses two moments: between naming its IO thread and
    starting it (joining an unstarted thread raises), and between starting it and the loop's
    first line (which clears the stop flag, so the loop runs on and the cut-short call waits
    out its whole timeout). Once `cut` is set the loop ends after at most one more turn, and
    no new call waits on it."""

    cut = False

    def run_forever(self) -> None:
        if not self.cut:
            super().run_forever()

    def _poll_once(self, timeout: float | None = None) -> None:
        if self.cut:
            # ends the loop after this turn, even if the loop cleared the flag as it began;
            # `drain()` ignores the flag, so closing still runs what was left pending
            self._stop = True
        super()._poll_once(timeout)

    def run(self, coro: Any, *args: Any) -> Any:
        if self.cut:
            raise KafkaConnectionError("Event loop stopped")
        return super().run(coro, *args)

    def stop_now(self) -> None:
        """Ends the loop without waiting for it; fails every call blocked on it."""
        self.cut = True
        thread = self._io_thread
        if thread is None or thread.ident is None:  # not started (yet): nothing to join
            self._stop = True
            self.wakeup()
            self.fail_waiters()
        else:
            self.stop(timeout_ms=0)
        # a call that passed the `cut` check just before it was set registers its waiter a
        # moment later, after the loop is gone: fail it too rather than let it wait forever
        sweep = threading.Timer(LATE_WAITER_SWEEP_S, self.fail_waiters)
        sweep.daemon = True
        sweep.start()

    def fail_waiters(self) -> None:
        self._fail_pending_waiters(KafkaConnectionError("Event loop stopped"))


class Interruptible:
    """Hands kafka-python a client whose IO loop `interrupt()` stops from any thread at once:
    every call blocked on it raises. Pass `client_factory` as the `kafka_client` setting."""

    def __init__(self, client_id: str) -> None:
        self._io_name = f"kafka-io-{client_id}"  # kafka-python names its IO thread so
        self._lock = threading.Lock()
        self._net: Any = None
        self._client: Any = None
        self._closed = False
        self.interrupted = False

    def client_factory(self, **configs: Any) -> Any:
        net = _CuttableSelector(**configs)
        with self._lock:
            if self.interrupted:
                raise JobCancelled
            self._net = net
            self._client = KafkaNetClient(net=net, **configs)
            return self._client

    def interrupt(self) -> None:
        """Never blocks (it runs on the GUI thread when a tab closes)."""
        with self._lock:
            self.interrupted = True
            net = self._net
        _quiet.names.add(self._io_name)  # what the loop logs as it stops is no error either
        if net is not None:
            net.stop_now()

    def close(self, closer: Callable[[], None] | None) -> None:
        """On the calling job's thread, once: `closer` (the admin's close) or the bare client's.
        A cut-short client is closed once its IO thread has ended, quietly: closing runs
        what the loop left pending, and kafka-python logs each of those failures at ERROR."""
        with self._lock:
            if self._closed or self._client is None:
                self._closed = True
                return
            self._closed = True
            client, interrupted = self._client, self.interrupted
        close = closer or client.close
        if not interrupted:
            close()
            return
        for thread in [t for t in threading.enumerate() if t.name == self._io_name]:
            thread.join(IO_THREAD_END_S)
        with quiet_here():
            close()
        _quiet.names.discard(self._io_name)
