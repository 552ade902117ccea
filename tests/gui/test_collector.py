"""Reference cycles are collected on the GUI thread, never on a worker that happens to allocate."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from desktop.collector import GuiThreadCollector

CYCLES = 20_000


class Cyclic:
    """Refers to itself, so only the cycle collector frees it; notes the thread that did."""

    def __init__(self, died_on: list[int]) -> None:
        self.me = self
        self.died_on = died_on

    def __del__(self) -> None:
        self.died_on.append(threading.get_ident())


def test_cycles_a_worker_leaves_are_collected_on_the_gui_thread(
    qtbot: QtBot, gui_thread_collector: GuiThreadCollector
) -> None:
    # a cycle holding a Qt object destroyed on a worker thread aborts Qt; and a collection
    # started by a worker's allocations held the GIL (and the GUI) for up to 460 ms
    died_on: list[int] = []

    def allocate() -> None:  # many times what used to start a collection on this thread
        for _ in range(CYCLES):
            Cyclic(died_on)

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    gui = threading.get_ident()
    qtbot.waitUntil(lambda: len(died_on) == CYCLES or bool(set(died_on) - {gui}), timeout=10_000)
    assert set(died_on) == {gui}
    assert len(died_on) == CYCLES
