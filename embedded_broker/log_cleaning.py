"""Starts the log cleaner (storage/cleaner_manager.py) with the broker and stops it first."""

from __future__ import annotations

import asyncio

from .state import BrokerState
from .storage.cleaner_manager import LogCleaner

EXTENSION = "log_cleaner"
PRODUCERS_TIMEOUT_S = 60.0


def start_log_cleaner(state: BrokerState) -> LogCleaner | None:
    """Start ``log.cleaner.threads`` cleaner threads unless log.cleaner.enable is false; they
    stop (a round in progress is dropped) before the partition logs are closed."""
    config = state.config
    threads = config.get_int("log.cleaner.threads")
    if not config.get_bool("log.cleaner.enable") or threads <= 0:
        return None
    loop = asyncio.get_running_loop()

    def active_producers(key: tuple[str, int]) -> dict[int, int]:
        """Read on the event loop, which owns the producer tables (the cleaner thread waits)."""
        coro = state.producers.last_data_offsets(key)
        return asyncio.run_coroutine_threadsafe(coro, loop).result(PRODUCERS_TIMEOUT_S)

    cleaner = LogCleaner(
        state.logs,
        threads=threads,
        dedupe_buffer_size=config.get_int("log.cleaner.dedupe.buffer.size"),
        load_factor=float(config.get_str("log.cleaner.io.buffer.load.factor") or 0.9),
        backoff_ms=lambda: config.get_int("log.cleaner.backoff.ms"),
        clock=state.now_ms,
        active_producers=active_producers,
    )
    cleaner.start()
    state.extensions[EXTENSION] = cleaner

    async def stop() -> None:
        await asyncio.get_running_loop().run_in_executor(None, cleaner.stop)

    state.on_shutdown(stop)
    return cleaner
