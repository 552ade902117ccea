"""The message browser's table: appended in batches, capped, dropping the oldest rows."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.domain.codec import preview
from desktop.domain.messages import KEY, VALUE, Record, Row

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
DEFAULT_CAP = 100_000
PREVIEW_CHARS = 120


def format_timestamp(ms: int) -> str:
    if ms < 0:
        return ""
    secs, rem = divmod(ms, 1000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(secs)) + f".{rem:03d}"


def _plain(row: Row) -> Row:
    # a Record (NamedTuple) becomes a plain tuple; a plain tuple is returned as it is
    return row if type(row) is tuple else tuple(row)  # type: ignore[return-value]


def as_records(rows: Iterable[Row]) -> list[Record]:
    return list(map(Record._make, rows))


_DISPLAY = Qt.ItemDataRole.DisplayRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FOREGROUND = Qt.ItemDataRole.ForegroundRole
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_NULL_COLOUR = QColor("#8a94a3")


class MessagesModel(QAbstractTableModel):
    PARTITION, OFFSET, TIMESTAMP, TS_TYPE, KEY, VALUE, HEADERS, SIZE = range(8)
    TITLES = ("Partition", "Offset", "Timestamp", "Type", "Key", "Value", "Headers", "Size")
    NUMERIC = frozenset({PARTITION, OFFSET, HEADERS, SIZE})

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        super().__init__()
        # plain tuples (Row), not Records: see domain.messages.Row
        self._rows: list[Row] = []
        self.cap = cap
        self.dropped = 0

    # ---- changes -------------------------------------------------------------------------

    def clear(self) -> None:
        self.beginResetModel()
        self._rows = []
        self.dropped = 0
        self.endResetModel()

    def set_cap(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._trim(0)

    def append(self, rows: Sequence[Row]) -> None:
        """Add a batch at the end; the oldest rows go when the cap is exceeded."""
        if not rows:
            return
        if len(rows) >= self.cap:
            self.dropped += len(self._rows) + len(rows) - self.cap
            self.beginResetModel()
            self._rows = list(map(_plain, rows[-self.cap :]))
            self.endResetModel()
            return
        self._trim(len(rows))
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows.extend(map(_plain, rows))
        self.endInsertRows()

    def _trim(self, incoming: int) -> None:
        excess = len(self._rows) + incoming - self.cap
        if excess <= 0:
            return
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._rows[:excess]
        self.dropped += excess
        self.endRemoveRows()

    # ---- access --------------------------------------------------------------------------

    @property
    def records(self) -> list[Record]:
        return as_records(self._rows)

    def snapshot(self) -> list[Row]:
        """The rows as they are now (cheap); turn them into Records with as_records()."""
        return list(self._rows)

    def record(self, row: int) -> Record:
        return Record._make(self._rows[row])

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.TITLES)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Called thousands of times per paint, each time taking the GIL from a running scan:
        # answer the common roles first and build nothing for the others.
        if role == _DISPLAY:
            row = index.row()
            if not index.isValid() or row >= len(self._rows):
                return None
            return self._display(Record._make(self._rows[row]), index.column())
        if role == _ALIGN:
            return _RIGHT if index.column() in self.NUMERIC else _LEFT
        if role == _FOREGROUND and index.column() in (self.KEY, self.VALUE):
            row = index.row()
            if not index.isValid() or row >= len(self._rows):
                return None
            field = KEY if index.column() == self.KEY else VALUE
            return _NULL_COLOUR if self._rows[row][field] is None else None
        if role == ROW_ROLE and index.isValid() and index.row() < len(self._rows):
            return Record._make(self._rows[index.row()])
        return None

    def _display(self, rec: Record, col: int) -> str:
        if col == self.PARTITION:
            return str(rec.partition)
        if col == self.OFFSET:
            return str(rec.offset)
        if col == self.TIMESTAMP:
            return format_timestamp(rec.timestamp)
        if col == self.TS_TYPE:
            return rec.timestamp_type_name
        if col == self.KEY:
            return preview(rec.key, PREVIEW_CHARS)
        if col == self.VALUE:
            return preview(rec.value, PREVIEW_CHARS)
        if col == self.HEADERS:
            return str(len(rec.headers))
        if col == self.SIZE:
            return f"{rec.size:,}"
        return ""

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.TITLES):
            return self.TITLES[section]
        return None
