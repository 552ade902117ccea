"""Light, dark and follow-the-system themes on Fusion: palettes (disabled controls included) and
style sheets, switchable at run time."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QColor, QIcon, QPainter, QPalette
from PySide6.QtWidgets import QApplication

Role = QPalette.ColorRole
Group = QPalette.ColorGroup


class Theme(StrEnum):
    LIGHT = "light"
    DARK = "dark"
    SYSTEM = "system"


THEME_LABELS = {Theme.LIGHT: "Light", Theme.DARK: "Dark", Theme.SYSTEM: "Follow the system"}

# rules both themes need beyond the .qss files: app-specific object names and roles
LIGHT_EXTRA = """
QMainWindow, QDialog { background: #f5f7fa; }
QTabWidget::pane { border: 1px solid #d8dee6; background: #ffffff; border-radius: 4px; }
QTabBar::tab { padding: 6px 14px; }
QTableView { background: #ffffff; border: 1px solid #d8dee6; selection-background-color: #cfe3fb;
             selection-color: #1d2733; gridline-color: #eef1f5; }
QHeaderView::section { background: #f0f3f7; border: none; border-bottom: 1px solid #d8dee6;
                       border-right: 1px solid #e4e8ee; padding: 4px 6px; font-weight: 600;
                       color: #3b4654; }
QPushButton { padding: 5px 12px; }
QPushButton:disabled { color: #a3acb8; }
QPushButton#primary { background: #2f6fde; color: white; border: 1px solid #2559b5;
                      border-radius: 5px; font-weight: 600; padding: 8px 18px; }
QPushButton#primary:hover { background: #2a63c7; }
QPushButton#primary:disabled { background: #c5d3ea; color: #eef2f8; border-color: #b5c4dd; }
QToolBar { background: #ffffff; border-bottom: 1px solid #d8dee6; spacing: 6px; padding: 3px; }
QStatusBar { background: #ffffff; border-top: 1px solid #d8dee6; }
QStatusBar QLabel { padding: 0 8px; color: #3b4654; }
QLabel[role="muted"] { color: #5f6b7a; }
QLabel[role="error"] { color: #a11d12; }
QLabel[role="ok"] { color: #1e7b34; }
QLabel[role="warn"] { color: #8a5a00; }
QLabel[role="title"] { color: #1d2733; }
QFrame#localCard { background: #ffffff; border: 1px solid #d8dee6; border-radius: 10px; }
QProgressBar { background: #e6e9ee; border: none; border-radius: 3px; text-align: center;
               min-height: 16px; color: #1d2430; }
QProgressBar::chunk { background: #a9c8ea; border-radius: 3px; }
QTableView::item { padding: 0 6px; }
"""
DARK_EXTRA = """
QPushButton#primary { background: #3d7fc0; color: #ffffff; border: 1px solid #356fa8;
                      border-radius: 5px; font-weight: 600; padding: 8px 18px; }
QPushButton#primary:hover { background: #4a8cce; }
QPushButton#primary:disabled { background: #2a3442; color: #6f7a88; border-color: #313741; }
QStatusBar QLabel { padding: 0 8px; color: #a9b2bf; }
QLabel[role="ok"] { color: #6fcf83; }
QTableView::item { padding: 0 6px; }
"""

LIGHT_COLORS = {
    Role.Window: "#f5f7fa",
    Role.WindowText: "#1d2733",
    Role.Base: "#ffffff",
    Role.AlternateBase: "#f7f9fb",
    Role.Text: "#1d2733",
    Role.Button: "#ffffff",
    Role.ButtonText: "#1d2733",
    Role.Highlight: "#2f6fde",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#ffffff",
    Role.ToolTipText: "#1d2733",
    Role.PlaceholderText: "#8a94a3",
    Role.Link: "#2459b3",
    Role.Mid: "#c3cad4",
}
LIGHT_DISABLED = {
    Role.WindowText: "#a3acb8",
    Role.Text: "#a3acb8",
    Role.ButtonText: "#a3acb8",
    Role.Button: "#eef0f3",
    Role.Base: "#f2f4f7",
    Role.Highlight: "#c5d3ea",
}
DARK_COLORS = {
    Role.Window: "#1b1f26",
    Role.WindowText: "#e2e6ed",
    Role.Base: "#22272f",
    Role.AlternateBase: "#252b34",
    Role.Text: "#e2e6ed",
    Role.Button: "#22272f",
    Role.ButtonText: "#e2e6ed",
    Role.Highlight: "#3d7fc0",
    Role.HighlightedText: "#ffffff",
    Role.ToolTipBase: "#e2e6ed",
    Role.ToolTipText: "#1b1f26",
    Role.PlaceholderText: "#7d8795",
    Role.Link: "#7cc4f4",
    Role.Mid: "#3c4350",
}
DARK_DISABLED = {
    Role.WindowText: "#626b78",
    Role.Text: "#626b78",
    Role.ButtonText: "#626b78",
    Role.Button: "#252a32",
    Role.Base: "#1f232a",
    Role.Highlight: "#2a3442",
}


def themes_dir() -> Path:
    """resources/themes from source, or under the bundle when frozen (PyInstaller)."""
    frozen = getattr(sys, "_MEIPASS", None)
    root = Path(frozen) if frozen else Path(__file__).resolve().parents[2]
    return root / "resources" / "themes"


def make_palette(dark: bool) -> QPalette:
    colors, disabled = (DARK_COLORS, DARK_DISABLED) if dark else (LIGHT_COLORS, LIGHT_DISABLED)
    pal = QPalette()
    for role, color in colors.items():
        pal.setColor(role, QColor(color))  # all groups
    for role, color in disabled.items():
        pal.setColor(Group.Disabled, role, QColor(color))
    return pal


@dataclass(frozen=True)
class StyleSheets:
    """The themes' style sheets, read from the bundle once, at start-up (before any window), so
    switching themes never reads the disk on the GUI thread. The file is bundled and never
    changes while the app runs: one read, not a job per switch with a flash of the old theme."""

    dark_qss: str

    @classmethod
    def bundled(cls) -> StyleSheets:
        return cls((themes_dir() / "dark.qss").read_text(encoding="utf-8"))

    def stylesheet(self, dark: bool) -> str:
        return self.dark_qss + DARK_EXTRA if dark else LIGHT_EXTRA


def system_is_dark(app: QApplication) -> bool:
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def is_dark(theme: Theme, app: QApplication) -> bool:
    return theme == Theme.DARK or (theme == Theme.SYSTEM and system_is_dark(app))


def apply_theme(app: QApplication, theme: Theme, sheets: StyleSheets) -> bool:
    """Apply `theme`; returns whether the result is dark."""
    dark = is_dark(theme, app)
    app.setStyle("Fusion")
    app.setPalette(make_palette(dark))
    app.setStyleSheet(sheets.stylesheet(dark))
    app.setProperty("topicscope_dark", dark)
    return dark


def apply_light_theme(app: QApplication) -> None:
    """The start-up look, before the saved theme is known (it needs no file)."""
    apply_theme(app, Theme.LIGHT, StyleSheets(""))


def app_is_dark() -> bool:
    """Whether the running application shows the dark theme (for widgets that draw colours)."""
    app = QApplication.instance()
    return bool(app.property("topicscope_dark")) if isinstance(app, QApplication) else False


class ThemeController(QObject):
    """Holds the chosen theme, applies it, and follows the system's colour scheme when asked."""

    changed = Signal(str)  # the chosen Theme's value

    def __init__(
        self,
        app: QApplication,
        sheets: StyleSheets,
        theme: Theme = Theme.LIGHT,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._app = app
        self._sheets = sheets
        self.theme = theme
        self.dark = apply_theme(app, theme, sheets)
        app.styleHints().colorSchemeChanged.connect(self._system_changed)

    def set_theme(self, theme: Theme) -> None:
        self.theme = theme
        self.dark = apply_theme(self._app, theme, self._sheets)
        self.changed.emit(theme.value)

    @Slot(Qt.ColorScheme)
    def _system_changed(self, _scheme: Qt.ColorScheme) -> None:
        if self.theme == Theme.SYSTEM:
            self.set_theme(Theme.SYSTEM)


def tinted(icon: QIcon, color: QColor, size: int = 32) -> QIcon:
    """A one-colour copy of `icon`: Fusion's black media glyphs vanish on a dark toolbar."""
    pixmap = icon.pixmap(size, size)
    painter = QPainter(pixmap)
    painter.setCompositionMode(QPainter.CompositionMode.CompositionMode_SourceIn)
    painter.fillRect(pixmap.rect(), color)
    painter.end()
    return QIcon(pixmap)


def parse_theme(value: object) -> Theme:
    try:
        return Theme(str(value))
    except ValueError:
        return Theme.SYSTEM
