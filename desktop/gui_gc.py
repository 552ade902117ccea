"""Cyclic garbage is collected on the GUI thread only.

Python's collector runs in whichever thread happens to allocate past a threshold. When that is a
worker thread and the garbage holds a Qt object (a widget or signal connection caught in a
reference cycle), Qt destroys it off its thread and the process aborts. pyqtgraph's
GarbageCollector turns automatic collection off and collects, generation by generation, from a
timer on the thread that creates it.
"""

from __future__ import annotations

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6.QtCore import QCoreApplication

# reference cycles in a refresh are few; half a second bounds how long they wait to be freed
CHECK_INTERVAL_S = 0.5

# one per process, kept alive here (its timer stops with it)
_installed: list[GarbageCollector] = []


def collect_on_gui_thread(app: QCoreApplication) -> None:
    """Install the timer-driven collector once; call it from the GUI thread, after ``app``
    exists (the timer lives on the thread that creates it)."""
    if not _installed and app is not None:
        _installed.append(GarbageCollector(interval=CHECK_INTERVAL_S))
