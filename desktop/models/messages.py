"""The message browser's table: appended in batches, capped, dropping the oldest rows."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.domain.codec import preview
from desktop.domain.messages import Record, Row

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
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        rec = Record._make(self._rows[index.row()])
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(rec, col)
        if role == ROW_ROLE:
            return rec
        if role == Qt.ItemDataRole.TextAlignmentRole:
            horizontal = (
                Qt.AlignmentFlag.AlignRight if col in self.NUMERIC else Qt.AlignmentFlag.AlignLeft
            )
            return int(horizontal | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and col in (self.KEY, self.VALUE):
            data = rec.key if col == self.KEY else rec.value
            if data is None:
                from PySide6.QtGui import QColor

                return QColor("#8a94a3")
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
