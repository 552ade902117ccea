"""A clean light theme on top of Fusion."""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

STYLESHEET = """
QMainWindow, QDialog { background: #f5f7fa; }
QTabWidget::pane { border: 1px solid #d8dee6; background: #ffffff; border-radius: 4px; }
QTabBar::tab { padding: 6px 14px; }
QTableView { background: #ffffff; border: 1px solid #d8dee6; selection-background-color: #cfe3fb;
             selection-color: #1d2733; gridline-color: #eef1f5; }
QHeaderView::section { background: #f0f3f7; border: none; border-bottom: 1px solid #d8dee6;
                       border-right: 1px solid #e4e8ee; padding: 4px 6px; font-weight: 600;
                       color: #3b4654; }
QPushButton { padding: 5px 12px; }
QPushButton#primary { background: #2f6fde; color: white; border: 1px solid #2559b5;
                      border-radius: 5px; font-weight: 600; padding: 8px 18px; }
QPushButton#primary:hover { background: #2a63c7; }
QPushButton#primary:disabled { background: #9db8e6; }
QToolBar { background: #ffffff; border-bottom: 1px solid #d8dee6; spacing: 6px; padding: 3px; }
QStatusBar { background: #ffffff; border-top: 1px solid #d8dee6; }
QStatusBar QLabel { padding: 0 8px; color: #3b4654; }
"""


def apply_light_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    pal = QPalette()
    pal.setColor(QPalette.ColorRole.Window, QColor("#f5f7fa"))
    pal.setColor(QPalette.ColorRole.WindowText, QColor("#1d2733"))
    pal.setColor(QPalette.ColorRole.Base, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.AlternateBase, QColor("#f7f9fb"))
    pal.setColor(QPalette.ColorRole.Text, QColor("#1d2733"))
    pal.setColor(QPalette.ColorRole.Button, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ButtonText, QColor("#1d2733"))
    pal.setColor(QPalette.ColorRole.Highlight, QColor("#2f6fde"))
    pal.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipBase, QColor("#ffffff"))
    pal.setColor(QPalette.ColorRole.ToolTipText, QColor("#1d2733"))
    app.setPalette(pal)
    app.setStyleSheet(STYLESHEET)
