"""The built-in broker's and the local cluster's handles outlive a window (they belong to the
app's context): their late signals, such as the end of a stop job that finishes after the
window has gone, must not reach the deleted window's widgets."""

from __future__ import annotations

from PySide6.QtCore import QCoreApplication, QEvent
from pytestqt.qtbot import QtBot

from desktop.context import AppContext
from desktop.views.main_window import MainWindow


def test_a_deleted_window_ignores_the_local_handles_later_signals(
    qtbot: QtBot, ctx: AppContext
) -> None:
    window = MainWindow(ctx)
    window.show()
    qtbot.waitExposed(window)
    window.close()
    window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    # what a stop job's end emits (pytest-qt fails the test on an exception in a slot)
    ctx.local.busy_changed.emit(False)
    ctx.cluster.busy_changed.emit(False)
    ctx.cluster.nodes_changed.emit(None)
    ctx.cluster.started.emit(None)
    ctx.cluster.stopped.emit()
