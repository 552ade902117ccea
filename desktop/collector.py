"""Python's cycle collector, run on the GUI thread only, in short steps between events."""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

# Young objects are collected once this many have piled up (Python's own default is 700; a
# 10,000-topic refresh allocates a few hundred thousand, so a step every tick is cheap).
YOUNG = 2_000
# a middle-aged collection every this many young ones: few, so each scans little
MIDDLE = 3
# a full collection every this many middle-aged ones: rare, since it scans every live object
FULL = 100
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
        young, middle, full = gc.get_count()
        if young < YOUNG:
            return None
        generation = 2 if full >= FULL else 1 if middle >= MIDDLE else 0
        gc.collect(generation)
        return generation
