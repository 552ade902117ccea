"""Switching to the dark theme applies its bundled style sheet without reading the disk on the
GUI thread: the sheet was read once, with the app's other start-up state, before the window."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.views.main_window import MainWindow
from desktop.views.theme import Theme, themes_dir


def test_choosing_the_dark_theme_reads_no_file_on_the_gui_thread(
    qtbot: QtBot, window: MainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = (themes_dir() / "dark.qss").read_text(encoding="utf-8")
    reads: list[str] = []
    original = Path.read_text

    def watched(self: Path, *args: Any, **kwargs: Any) -> str:
        if threading.current_thread() is threading.main_thread():
            reads.append(str(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Path, "read_text", watched)
    window.menu.themes[Theme.DARK].trigger()
    window.menu.themes[Theme.LIGHT].trigger()
    window.menu.themes[Theme.DARK].trigger()
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    assert app.styleSheet().startswith(bundled)  # the dark sheet is applied all the same
    assert not reads, reads
