"""A row-based table model: each subclass declares its columns once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.domain.cluster import ReplicaState

T = TypeVar("T")
Index = QModelIndex | QPersistentModelIndex

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2

AMBER = "#fdf0c8"
RED = "#f9d3d0"
STATE_COLOURS = {ReplicaState.UNDER_REPLICATED: AMBER, ReplicaState.CRITICAL: RED}


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    value: Callable[[T], Any]
    numeric: bool = False
    tooltip: str = ""


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class RowTableModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[Column[T]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[T] = []

    @property
    def rows(self) -> list[T]:
        return list(self._rows)

    def set_rows(self, rows: Sequence[T]) -> None:
        """Replace every row. When the keys are unchanged, only rows that differ are announced
        (one dataChanged per run of changed rows), so a steady cluster costs the views nothing."""
        new = list(rows)
        old = self._rows
        if len(new) != len(old) or not new or not self._same_keys(new):
            self.beginResetModel()
            self._rows = new
            self.endResetModel()
            return
        self._rows = new
        last_col = len(self.columns) - 1
        start = -1
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                if start < 0:
                    start = i
            elif start >= 0:
                self.dataChanged.emit(self.index(start, 0), self.index(i - 1, last_col))
                start = -1
        if start >= 0:
            self.dataChanged.emit(self.index(start, 0), self.index(len(new) - 1, last_col))

    def row_key(self, row: T) -> Any:
        return id(row)

    def _same_keys(self, new: list[T]) -> bool:
        return all(self.row_key(a) == self.row_key(b) for a, b in zip(self._rows, new, strict=True))

    def row_at(self, row: int) -> T:
        return self._rows[row]

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.columns)

    def background(self, row: T) -> str | None:
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        row = self._rows[index.row()]
        col = self.columns[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return display(col.value(row))
        if role == SORT_ROLE:
            value = col.value(row)
            if col.numeric:
                return -1 if value is None else value
            return display(value).lower()
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col.numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            from PySide6.QtGui import QColor

            colour = self.background(row)
            return QColor(colour) if colour else None
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(self.columns):
            return None
        col = self.columns[section]
        if role == Qt.ItemDataRole.DisplayRole:
            return col.title
        if role == Qt.ItemDataRole.ToolTipRole and col.tooltip:
            return col.tooltip
        return None
