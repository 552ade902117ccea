"""Periodic storage work on a worker thread, so the event loop never waits on the disk.

Two jobs share one thread, one at a time: fsync of every partition every
``log.flush.interval.ms`` (appends reach the OS at once and survive a killed process; only a
power loss or an OS crash can lose what is not yet synced, and this bounds that window), and
retention every ``log.retention.check.interval.ms`` (segment roll by time, deletion by
retention.ms / retention.bytes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from .state import BrokerState

log = logging.getLogger(__name__)


class LogFlusher:
    """Runs the periodic flush (on-disk brokers only) and retention off the event loop.

    A job slower than its interval delays its next run rather than piling up. ``stop()`` waits
    for a job in progress, so closing the logs never races it.
    """

    def __init__(self, state: BrokerState) -> None:
        self._state = state
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="log-storage")
        self._tasks: list[asyncio.Task[None]] = []
        self.flushes = 0

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        jobs: list[tuple[str, str, Callable[[int], None]]] = [
            ("retention", "log.retention.check.interval.ms", self._retain)
        ]
        if not self._state.in_memory:
            jobs.append(("flush", "log.flush.interval.ms", self._flush))
        for name, setting, job in jobs:
            self._tasks.append(loop.create_task(self._every(setting, job), name=f"log-{name}"))

    def _retain(self, now_ms: int) -> None:
        self._state.logs.enforce_retention(now_ms)

    def _flush(self, now_ms: int) -> None:
        self._state.logs.flush_all()
        self.flushes += 1
        log.debug("Flushed the partition logs to disk (%d)", self.flushes)

    async def _every(self, setting: str, job: Callable[[int], None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._state.config.get_int(setting) / 1000)
            now = self._state.now_ms()  # the broker's clock is read on its own thread
            try:
                await loop.run_in_executor(self._executor, job, now)
            except Exception:  # a disk error must not stop later runs
                log.exception("Periodic storage work (%s) failed; retrying later", setting)

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        # a cancelled run_in_executor leaves its job running: wait for it off the loop
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
