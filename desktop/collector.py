"""Python's cycle collector, run on the GUI thread only, in short steps between events."""

from __future__ import annotations

import gc
import time

from PySide6.QtCore import QObject, QTimer

# Young objects are collected once this many have piled up (Python's own default is 700; a
# 10,000-topic refresh allocates a few hundred thousand, so a step every tick is cheap).
YOUNG = 2_000
# a middle-aged collection every this many young ones: few, so each scans little
MIDDLE = 3
# a full collection is considered every this many middle-aged ones: rare, since it scans
# every live object
FULL = 100
# ... and made only when the oldest generation has grown by this share since the last one,
# or is small enough to scan in a few ms. With a 10,000-topic cluster open it holds ~300,000
# objects: a full collection took 107-120 ms of the GUI thread (every minute or so while
# such a cluster refreshes). Snapshots replace each other by reference counting alone, so a
# steady screen does not grow it, while cycles piling up do.
GROWTH = 1.25
CHEAP = 30_000  # objects: a full collection of this many takes a few ms
# cycles that do not grow it (a closed tab's) are collected at least this often
EVERY_S = 600.0
TICK_MS = 100


class GuiThreadCollector(QObject):
    """Collects reference cycles from a GUI-thread timer, with automatic collection off.

    Left automatic, the collector runs in whichever thread happens to allocate: a worker
    building a 10,000-topic snapshot then held the GIL for 35-460 ms (the GUI froze with it),
    and a cycle holding a Qt object was destroyed on a worker thread, which aborts Qt. Here
    each step runs between two events of the GUI thread and scans only what the last 100 ms
    left behind. Objects alive at start-up (Qt, numpy, pyqtgraph) are frozen first, so the
    rare full collection need not scan them.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._old = 0  # objects in the oldest generation after the last full collection
        self._middles = 0  # middle-aged collections since a full one was last considered
        self._last_full = time.monotonic()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.step)

    def start(self) -> None:
        gc.collect()
        gc.freeze()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Back to Python's automatic collection (at exit, or when a test is done)."""
        self._timer.stop()
        gc.enable()

    def step(self) -> int | None:
        """Collect the generation that is due, if any; returns it."""
        young, middle, _full = gc.get_count()
        if young < YOUNG:
            return None
        if middle < MIDDLE:
            gc.collect(0)
            return 0
        self._middles += 1
        if self._middles >= FULL:
            self._middles = 0
            if self._full_due():
                gc.collect(2)
                self._old = len(gc.get_objects(2))
                self._last_full = time.monotonic()
                return 2
        gc.collect(1)
        return 1

    def _full_due(self) -> bool:
        """Whether the oldest generation grew enough to be worth scanning (a count of its
        objects costs about a third of a scan: it is taken only when a scan is considered)."""
        old = len(gc.get_objects(2))
        self._old = min(self._old, old)  # freed since: growth counts from the low point
        due = time.monotonic() - self._last_full >= EVERY_S
        return due or old <= CHEAP or old > self._old * GROWTH
