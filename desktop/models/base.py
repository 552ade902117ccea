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

TINT_TEXT = "#1d2733"
AMBER = "#fdf0c8"
RED = "#f9d3d0"
STATE_COLOURS = {ReplicaState.UNDER_REPLICATED: AMBER, ReplicaState.CRITICAL: RED}


@dataclass(frozen=True)
class Column(Generic[T]):
    title: str
    value: Callable[[T], Any]
    numeric: bool = False
    tooltip: str = ""
    # centred: a number between a right-aligned and a left-aligned column (a leader's id
    # between Partition and the Replicas list) runs into neither
    centre: bool = False


class ByteSize(int):
    """A byte count: shown as 12.3 MiB, sorted as the number it is."""


class LastKnownByteSize(ByteSize):
    """A byte count a broker gave in an earlier round and could not give in the latest."""


class Percent(float):
    """A share: shown as 85%, sorted and aligned as the number it is."""


def human_bytes(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"


def byte_size(count: int | None) -> ByteSize | None:
    return None if count is None else ByteSize(count)


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else ""
    if isinstance(value, LastKnownByteSize):
        return f"{human_bytes(value)} (last known)"
    if isinstance(value, ByteSize):
        return human_bytes(value)
    if isinstance(value, Percent):
        return f"{value:.0%}"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


class RowTableModel(QAbstractTableModel, Generic[T]):
    columns: Sequence[Column[T]] = ()

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[T] = []  # the rows shown: filtered and sorted
        self._all: list[T] = []  # every row, sorted
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter: Callable[[T], bool] | None = None

    @property
    def rows(self) -> list[T]:
        """Every row, including those the filter hides."""
        return list(self._all)

    def set_filter(self, accept: Callable[[T], bool] | None) -> None:
        """Show only rows `accept` keeps. Filtering here is one list comprehension; a proxy's
        filterAcceptsRow would call into Python once per row, 10,000 times per keystroke."""
        self._filter = accept
        self.beginResetModel()
        self._rows = self._visible(self._all)
        self.endResetModel()

    def _visible(self, rows: list[T]) -> list[T]:
        accept = self._filter
        return rows if accept is None else [r for r in rows if accept(r)]

    def set_rows(self, rows: Sequence[T]) -> None:
        """Replace every row. When the keys are unchanged, only rows that differ are announced
        (one dataChanged per run of changed rows), so a steady cluster costs the views nothing.

        A row that is the very object shown before is unchanged: the worker hands back the
        previous snapshot's objects where nothing changed, so a 10,000-row refresh is mostly
        identity checks here (no re-sort, no re-filter, no field-by-field comparison)."""
        new_all = self._in_old_order(rows)
        if new_all is None:
            self._all = self._sorted(list(rows))
            new = self._visible(self._all)
        else:
            new = self._visible_again(new_all, self._all)
            self._all = new_all
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
            if a is not b and a != b:
                if start < 0:
                    start = i
            elif start >= 0:
                self.dataChanged.emit(self.index(start, 0), self.index(i - 1, last_col))
                start = -1
        if start >= 0:
            self.dataChanged.emit(self.index(start, 0), self.index(len(new) - 1, last_col))

    def _in_old_order(self, rows: Sequence[T]) -> list[T] | None:
        """`rows` in the current order, when the keys are the same and every changed row still
        sorts between its neighbours (so the order stays right); else None (sort afresh)."""
        old_all = self._all
        if len(rows) != len(old_all) or not rows:
            return None
        key = self.row_key
        if self._sort is None or not 0 <= self._sort[0] < len(self.columns):
            # unsorted: the order given is the order shown
            same = all(a is b or key(a) == key(b) for a, b in zip(old_all, rows, strict=True))
            return list(rows) if same else None
        by_key = {key(r): r for r in rows}
        if len(by_key) != len(rows):
            return None
        out: list[T] = []
        changed: list[int] = []
        for i, was in enumerate(old_all):
            now = by_key.get(key(was))
            if now is None:
                return None
            if now is not was:
                changed.append(i)
            out.append(now)
        if len(changed) > len(out) // 4:
            return None  # much has changed: one sort is cheaper than the checks
        sort_key = self.sort_key(self._sort[0])
        descending = self._sort[1] == Qt.SortOrder.DescendingOrder
        for i in changed:
            here = sort_key(out[i])
            before = sort_key(out[i - 1]) if i > 0 else None
            after = sort_key(out[i + 1]) if i + 1 < len(out) else None
            low, high = (after, before) if descending else (before, after)
            if (low is not None and low > here) or (high is not None and here > high):
                return None
        return out

    def _visible_again(self, rows: list[T], before: list[T]) -> list[T]:
        """The filter applied to `rows`, which replace `before` position by position: a row
        that is the same object as before keeps its place in or out without calling the
        filter (the rows shown before are alive, so their ids cannot have been reused)."""
        accept = self._filter
        if accept is None:
            return rows
        shown = {id(r) for r in self._rows}
        return [
            now
            for now, was in zip(rows, before, strict=True)
            if (id(now) in shown if now is was else accept(now))
        ]

    def row_key(self, row: T) -> Any:
        return id(row)

    def sort_key(self, column: int) -> Callable[[T], Any]:
        col = self.columns[column]
        if col.numeric:

            def numeric(row: T) -> Any:
                value = col.value(row)
                return -1 if value is None or isinstance(value, str) else value

            return numeric
        return lambda row: display(col.value(row)).lower()

    def _sorted(self, rows: list[T]) -> list[T]:
        if self._sort is None or not 0 <= self._sort[0] < len(self.columns):
            return rows
        column, order = self._sort
        return sorted(
            rows, key=self.sort_key(column), reverse=order == Qt.SortOrder.DescendingOrder
        )

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort in Python on precomputed keys: one key per row, not two calls per comparison."""
        self._sort = (column, order)
        if not 0 <= column < len(self.columns):
            return
        self.layoutAboutToBeChanged.emit()
        key = self.sort_key(column)
        positions = sorted(
            range(len(self._rows)),
            key=lambda i: key(self._rows[i]),
            reverse=order == Qt.SortOrder.DescendingOrder,
        )
        new_row = {old: new for new, old in enumerate(positions)}
        self._rows = [self._rows[i] for i in positions]
        self._all = self._sorted(self._all)
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent,
            [self.index(new_row[i.row()], i.column()) if i.isValid() else i for i in persistent],
        )
        self.layoutChanged.emit()

    def _same_keys(self, new: list[T]) -> bool:
        key = self.row_key
        return all(a is b or key(a) == key(b) for a, b in zip(self._rows, new, strict=True))

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
            if col.centre:
                return int(Qt.AlignmentFlag.AlignCenter)
            if col.numeric:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            from PySide6.QtGui import QColor

            colour = self.background(row)
            return QColor(colour) if colour else None
        if role == Qt.ItemDataRole.ForegroundRole and self.background(row):
            from PySide6.QtGui import QColor

            # the tints are light: dark text on them, whichever theme (light text vanished)
            return QColor(TINT_TEXT)
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
