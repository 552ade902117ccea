"""Small user-like actions on real widgets."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt
from PySide6.QtWidgets import QTableView
from pytestqt.qtbot import QtBot


def click_row(qtbot: QtBot, table: QTableView, column: int, text: str) -> bool:
    """Click the first row whose `column` shows `text`; False when there is none."""
    model = table.model()
    assert isinstance(model, QSortFilterProxyModel)
    for row in range(model.rowCount()):
        index = model.index(row, column)
        if index.data() == text:
            table.scrollTo(index)
            rect = table.visualRect(index)
            qtbot.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            return True
    return False


def shown_values(table: QTableView, column: int) -> list[str]:
    model = table.model()
    return [str(model.index(r, column).data()) for r in range(model.rowCount())]
