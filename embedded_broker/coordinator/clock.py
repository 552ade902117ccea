"""Injected time: a wall clock plus a timer scheduler, with a manual fake so tests never sleep."""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol


class Timer(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """Milliseconds since the epoch; used for commit timestamps and for measuring emptiness."""

    def now_ms(self) -> int: ...


class Scheduler(Protocol):
    """Runs a callback once after a delay; the coordinator never blocks or sleeps."""

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class _ManualTimer:
    __slots__ = ("callback", "cancelled", "due_ms")

    def __init__(self, due_ms: int, callback: Callable[[], None]) -> None:
        self.due_ms = due_ms
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock and scheduler that only move when told to (advance), firing due timers in order."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._now = start_ms
        self._heap: list[tuple[int, int, _ManualTimer]] = []
        self._seq = itertools.count()

    def now_ms(self) -> int:
        return self._now

    def call_later(self, delay_ms: int, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer(self._now + max(0, delay_ms), callback)
        heapq.heappush(self._heap, (timer.due_ms, next(self._seq), timer))
        return timer

    def advance(self, ms: int = 0) -> None:
        """Move time forward by ms, running every timer that falls due (including new ones)."""
        target = self._now + ms
        while self._heap and self._heap[0][0] <= target:
            due, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, due)
            timer.callback()
        self._now = target

    def pending(self) -> int:
        return sum(1 for _, _, t in self._heap if not t.cancelled)
