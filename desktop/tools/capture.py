"""Helpers shared by the screenshot tools: spin the event loop, pause, grab a widget to a PNG."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QApplication, QWidget


def spin(app: QApplication, until: Callable[[], bool], timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        app.processEvents()
        if until():
            return True
        time.sleep(0.02)
    return until()


def pause(app: QApplication, seconds: float) -> None:
    end = time.monotonic() + seconds
    spin(app, lambda: time.monotonic() >= end, seconds + 1)


def grab(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"wrote {path}")
