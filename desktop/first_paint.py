"""Reports the main window's first paint on stdout, for cold-start measurements.

Set TOPICSCOPE_EXIT_AFTER_PAINT=1 and the app prints FIRST_PAINT_MARKER once its window has painted,
then quits; the benchmarks time a fresh process up to that line, frozen or from source alike.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QWidget

EXIT_AFTER_PAINT_ENV = "TOPICSCOPE_EXIT_AFTER_PAINT"
FIRST_PAINT_MARKER = "TOPICSCOPE_FIRST_PAINT"


def requested() -> bool:
    return os.environ.get(EXIT_AFTER_PAINT_ENV) == "1"


class FirstPaintReporter(QObject):
    def __init__(self, app: QApplication) -> None:
        super().__init__()
        self._app = app
        self._reported = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and not self._reported:
            self._reported = True
            print(FIRST_PAINT_MARKER, flush=True)
            QTimer.singleShot(0, self._app.quit)
        return False


def watch_first_paint(app: QApplication, window: QWidget) -> FirstPaintReporter:
    """Install the reporter; call before window.show(). Keep the returned object alive."""
    reporter = FirstPaintReporter(app)
    window.installEventFilter(reporter)
    if app.platformName() == "offscreen":
        # offscreen windows get no expose event; ask for one paint once the loop runs
        QTimer.singleShot(0, window.repaint)
    return reporter
