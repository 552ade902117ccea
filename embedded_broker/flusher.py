"""Periodic fsync of every partition log on a worker thread, so the event loop never waits on it.

Appends reach the OS at once and survive a killed process; only a power loss or an OS crash
can lose what is not yet synced. ``log.flush.interval.ms`` bounds that window.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor

from .state import BrokerState

log = logging.getLogger(__name__)


class LogFlusher:
    """Calls ``LogManager.flush_all()`` every ``log.flush.interval.ms`` on its own thread.

    One flush at a time; a flush slower than the interval delays the next one rather than
    piling up. ``stop()`` waits for a flush in progress, so closing the logs never races it.
    """

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-flush")
        self._task: asyncio.Task[None] | None = None
        self.flushes = 0

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="log-flush")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._state.config.get_int("log.flush.interval.ms") / 1000)
            try:
                await loop.run_in_executor(self._executor, self._state.logs.flush_all)
            except Exception:  # a disk error must not stop later flushes
                log.exception("Flushing the partition logs to disk failed; retrying later")
            else:
                self.flushes += 1
                log.debug("Flushed the partition logs to disk (%d)", self.flushes)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        # a cancelled run_in_executor leaves its flush running: wait for it off the loop
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
