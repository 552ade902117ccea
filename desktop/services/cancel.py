"""A cancel token shared by a job and the blocking service code it calls (no Qt)."""

from __future__ import annotations

import concurrent.futures
import threading
import time
from collections.abc import Callable
from typing import Any

# How often blocking waits look at their token: well inside the 1 s a Cancel may take.
POLL_S = 0.1


class JobCancelled(BaseException):
    """The job's token was cancelled. A BaseException, like asyncio's CancelledError, so the
    `except Exception` fallbacks inside services never swallow it."""


class JobTimedOut(BaseException):
    """The job ran past its deadline."""


class CancelToken:
    """Cancelled by the GUI (Cancel, tab closed) or by its deadline; checked by the work."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.deadline: float | None = None  # time.monotonic() after which the job is abandoned
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []

    @property
    def cancelled(self) -> bool:
        return self.event.is_set()

    def cancel(self) -> None:
        with self._lock:
            self.event.set()
            hooks, self._hooks = self._hooks, []
        for hook in hooks:
            hook()

    def on_cancel(self, hook: Callable[[], None]) -> Callable[[], None]:
        """Call `hook` when cancelled (at once if already): for a blocking call that cannot look
        at the token, to interrupt it. It runs on the cancelling thread (often the GUI thread),
        so it must return at once. Returns a function that removes the hook."""
        with self._lock:
            if not self.event.is_set():
                self._hooks.append(hook)
                return lambda: self._unhook(hook)
        hook()
        return lambda: None

    def _unhook(self, hook: Callable[[], None]) -> None:
        with self._lock:
            if hook in self._hooks:
                self._hooks.remove(hook)

    def start_clock(self, seconds: float | None) -> None:
        self.deadline = None if seconds is None else time.monotonic() + seconds

    def remaining(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check(self) -> None:
        """Raise if the job must stop now."""
        if self.event.is_set():
            raise JobCancelled
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise JobTimedOut

    def result(self, fut: concurrent.futures.Future[Any], timeout: float) -> Any:
        """`fut.result(timeout)`, but a cancel or the deadline ends the wait within POLL_S."""
        end = time.monotonic() + timeout
        while True:
            self.check()
            left = end - time.monotonic()
            if left <= 0:
                raise concurrent.futures.TimeoutError
            try:
                return fut.result(timeout=min(POLL_S, left))
            except concurrent.futures.TimeoutError:
                continue


NEVER = CancelToken()  # for service calls made outside any job (tools, tests): never cancelled
