"""Reference cycles are collected on the GUI thread, never on a worker that happens to allocate."""

from __future__ import annotations

import threading

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.collector import FULL, MIDDLE, YOUNG, GuiThreadCollector

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


def _steps(collector: GuiThreadCollector, count: int, *, until_full: bool = False) -> list[int]:
    """Young steps, each with fresh objects that die right after (a screen's steady churn);
    the generations collected."""
    done: list[int] = []
    for _ in range(count):
        churn = [[i] for i in range(YOUNG + 100)]
        got = collector.step()
        del churn
        if got is not None:
            done.append(got)
        if until_full and got == 2:
            break
    return done


def test_a_big_steady_heap_is_not_scanned_in_full_until_it_grows(qapp: QApplication) -> None:
    # a full collection scans every live object: with 10,000 topics open 107-120 ms of the
    # GUI thread, though a steady screen leaves no cycles behind
    collector = GuiThreadCollector()  # stepped by hand here
    one_look = (MIDDLE + 1) * FULL  # young steps between two looks at the oldest generation
    heap = [(i, [i]) for i in range(60_000)]  # tracked objects: lists and their tuples
    assert 2 in _steps(collector, 2 * one_look, until_full=True)  # grown from nothing
    assert 2 not in _steps(collector, 3 * one_look // 2)  # churn only: no full scan
    heap += [(i, [i]) for i in range(len(heap) // 2)]  # grown by half
    assert 2 in _steps(collector, 2 * one_look, until_full=True)
    del heap
