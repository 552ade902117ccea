"""Run one blocking call on its own thread; its result or its error comes back by signal."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)

# Tasks still running are kept here so their QObjects outlive the caller's reference.
_LIVE: set[Task] = set()


class Task(QObject):
    """`Task(fn).start()`; `done(result)` or `failed(message)` arrive on the GUI thread."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, fn: Callable[[], Any], name: str = "task") -> None:
        super().__init__()
        self._fn = fn
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.done.connect(lambda _r: _LIVE.discard(self))
        self.failed.connect(lambda _m: _LIVE.discard(self))

    def start(self) -> Task:
        _LIVE.add(self)
        self._thread.start()
        return self

    def join(self, timeout: float) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:
            log.info("task failed: %s", exc)
            message = str(exc) or type(exc).__name__
            self.failed.emit(message)
        else:
            self.done.emit(result)
