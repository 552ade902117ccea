"""Builds the QApplication, logging, the AppContext and the main window; defines no widgets."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication

from desktop import first_paint
from desktop.collector import GuiThreadCollector
from desktop.context import AppContext
from desktop.views.main_window import MainWindow
from desktop.views.theme import apply_light_theme

APP_ID = "io.github.topicscope.Topicscope"


def base_dir() -> Path:
    """The repository root from source, or the bundle directory under PyInstaller."""
    frozen = getattr(sys, "_MEIPASS", None)
    return Path(frozen) if frozen else Path(__file__).resolve().parent.parent


def icon_path() -> Path | None:
    path = base_dir() / "resources" / "icons" / "topicscope.svg"
    return path if path.is_file() else None


def ensure_display() -> None:
    """Fall back to the offscreen platform where there is no display at all."""
    if os.environ.get("QT_QPA_PLATFORM"):
        return
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def start_collector(app: QApplication) -> GuiThreadCollector:
    """Python's cycle collector from now on runs on the GUI thread only (see the collector)."""
    collector = GuiThreadCollector(app)
    collector.start()
    return collector


def create_application(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    start_collector(app)
    # lower-case name: X11's WM_CLASS must match StartupWMClass=topicscope in the .desktop file
    app.setApplicationName("topicscope")
    app.setApplicationDisplayName("Topicscope")
    app.setOrganizationName("Topicscope")
    app.setDesktopFileName(APP_ID)
    apply_light_theme(app)
    icon = icon_path()
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    return app


def build_window(ctx: AppContext) -> MainWindow:
    return MainWindow(ctx)


def setup_logging() -> None:
    logging.basicConfig(
        level=logging.INFO if os.environ.get("TOPICSCOPE_DEBUG") else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def run(args: argparse.Namespace) -> int:
    setup_logging()
    app = create_application()
    ctx = AppContext.create(
        local_port=args.local_port,
        data_dir=Path(args.data_dir) if args.data_dir else None,
    )
    window = build_window(ctx)
    if first_paint.requested():
        reporter = first_paint.watch_first_paint(app, window)
        window.show()
        return app.exec() if reporter else 1
    window.show()
    if args.local or args.local_port is not None or args.data_dir:
        QTimer.singleShot(0, ctx.local.start)
    code = app.exec()
    ctx.files.flush()  # the window is gone: a last profile or template save may finish
    ctx.ui.flush()  # and the window's geometry
    return code
