"""The message browser's table: appended in batches, capped, dropping the oldest rows, sortable.

Sorting is the model's own, not a QSortFilterProxyModel's: a proxy asks data() for both sides of
every comparison (millions of Python calls for 100,000 rows), while here each row's key is
computed once, kept beside it, and a batch that arrives during a sorted scan is merged in with
one Timsort pass over the two sorted runs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from desktop.domain.codec import preview
from desktop.domain.messages import KEY, VALUE, Record, Row, TxnMarks
from desktop.domain.timefmt import TimeFormat, format_timestamp

Index = QModelIndex | QPersistentModelIndex
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
DEFAULT_CAP = 100_000
PREVIEW_CHARS = 120


__all__ = ["DEFAULT_CAP", "ROW_ROLE", "MessagesModel", "as_records", "format_timestamp"]


def _size(row: Row) -> int:
    # Record.size without building a Record: a sort computes it for every held row
    total = len(row[KEY] or b"") + len(row[VALUE] or b"")
    for name, value in row[7]:
        total += len(name.encode()) + len(value or b"")
    return total


# one sort key per column, computed once per row (None sorts as empty bytes)
SORT_KEYS: tuple[Callable[[Row], Any], ...] = (
    lambda r: r[1],  # partition (ties keep arrival order: offset order within a partition)
    lambda r: r[2],  # offset
    lambda r: r[3],  # timestamp
    lambda r: r[4],  # timestamp type
    lambda r: r[KEY] or b"",
    lambda r: r[VALUE] or b"",
    lambda r: len(r[7]),  # headers
    _size,
    lambda r: (r[1], r[2]),  # txn mark: known only when the scan ends, so in offset order
)


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
_BACKGROUND = Qt.ItemDataRole.BackgroundRole
_TXN_COLOURS = {"aborted txn": QColor("#f6d6d6"), "pending (open txn)": QColor("#fdf0c8")}


class MessagesModel(QAbstractTableModel):
    PARTITION, OFFSET, TIMESTAMP, TS_TYPE, KEY, VALUE, HEADERS, SIZE, TXN = range(9)
    TITLES = (
        "Partition",
        "Offset",
        "Timestamp",
        "Type",
        "Key",
        "Value",
        "Headers",
        "Size",
        "Txn",
    )
    NUMERIC = frozenset({PARTITION, OFFSET, HEADERS, SIZE})

    def __init__(self, cap: int = DEFAULT_CAP) -> None:
        super().__init__()
        # plain tuples (Row), not Records: see domain.messages.Row
        self._rows: list[Row] = []
        self.cap = cap
        self.dropped = 0  # also the sequence number of _rows[0]
        self.time_format = TimeFormat.LOCAL
        # sorted: view row -> index into _rows, and each row's key (aligned with _rows)
        self._order: list[int] | None = None
        self._keys: list[Any] = []
        self.sort_column = -1
        self._descending = False
        self.txn: TxnMarks | None = None  # a read_uncommitted scan's marks, once it ended

    # ---- changes -------------------------------------------------------------------------

    def set_txn_marks(self, marks: TxnMarks | None) -> None:
        """Show which held records belong to aborted or still-open transactions."""
        self.txn = marks
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.TXN), self.index(len(self._rows) - 1, self.TXN)
            )

    def clear(self) -> None:
        self.txn = None
        self.beginResetModel()
        self._rows = []
        self.dropped = 0
        self._keys = []
        if self._order is not None:
            self._order = []
        self.endResetModel()

    def set_cap(self, cap: int) -> None:
        self.cap = max(1, cap)
        self._trim(0)

    def append(self, rows: Sequence[Row]) -> None:
        """Add a batch at the end; the oldest rows go when the cap is exceeded."""
        if not rows:
            return
        if self._order is not None:
            self._relayout(lambda: self._merge(rows))
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

    def _merge(self, rows: Sequence[Row]) -> None:
        new = list(map(_plain, rows[-self.cap :]))
        excess = max(0, len(self._rows) + len(new) - self.cap)
        self.dropped += len(rows) - len(new) + excess
        order = self._order
        assert order is not None
        if excess:
            del self._rows[:excess]
            del self._keys[:excess]
            order = [i - excess for i in order if i >= excess]
        first = len(self._rows)
        self._rows.extend(new)
        self._keys.extend(map(SORT_KEYS[self.sort_column], new))
        order.extend(range(first, first + len(new)))
        # two sorted runs: Timsort merges them in one pass; stable, so ties keep arrival order
        order.sort(key=self._keys.__getitem__, reverse=self._descending)
        self._order = order

    def _seq(self, view_row: int) -> int:
        order = self._order
        return self.dropped + (view_row if order is None else order[view_row])

    def _relayout(self, change: Callable[[], None]) -> None:
        """Apply a change that moves rows, keeping the selection on the same messages."""
        self.layoutAboutToBeChanged.emit()
        persistent = self.persistentIndexList()
        seqs = [self._seq(i.row()) if 0 <= i.row() < len(self._rows) else -1 for i in persistent]
        change()
        if persistent:
            moved = [self._index_of(s, i.column()) for s, i in zip(seqs, persistent, strict=True)]
            self.changePersistentIndexList(persistent, moved)
        self.layoutChanged.emit()

    def _index_of(self, seq: int, column: int) -> QModelIndex:
        """Where the message numbered `seq` is now (a C-speed list search: a selection holds
        a few indexes, and a dict over 100,000 rows each batch would cost more)."""
        rel = seq - self.dropped
        if seq < 0 or not 0 <= rel < len(self._rows):
            return QModelIndex()
        row = rel if self._order is None else self._order.index(rel)
        return self.index(row, column)

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Sort by a column (a column < 0 restores arrival order); later rows land in place."""

        def change() -> None:
            if not 0 <= column < len(self.TITLES):
                self.sort_column, self._order, self._keys = -1, None, []
                return
            self.sort_column = column
            self._descending = order == Qt.SortOrder.DescendingOrder
            self._keys = list(map(SORT_KEYS[column], self._rows))
            self._order = sorted(
                range(len(self._rows)), key=self._keys.__getitem__, reverse=self._descending
            )

        self._relayout(change)

    def set_time_format(self, fmt: TimeFormat) -> None:
        self.time_format = fmt
        if self._rows:
            self.dataChanged.emit(
                self.index(0, self.TIMESTAMP),
                self.index(len(self._rows) - 1, self.TIMESTAMP),
                [_DISPLAY],
            )

    def _trim(self, incoming: int) -> None:
        excess = len(self._rows) + incoming - self.cap
        if excess <= 0:
            return
        if self._order is not None:
            self._relayout(lambda: self._merge([]))
            return
        self.beginRemoveRows(QModelIndex(), 0, excess - 1)
        del self._rows[:excess]
        self.dropped += excess
        self.endRemoveRows()

    # ---- access --------------------------------------------------------------------------

    @property
    def records(self) -> list[Record]:
        """Every held record in the order shown."""
        return as_records(self.view_rows())

    def view_rows(self) -> list[Row]:
        """The held rows in the order shown (cheap: plain tuples, no Records)."""
        if self._order is None:
            return list(self._rows)
        rows = self._rows
        return [rows[i] for i in self._order]

    def snapshot(self) -> list[Row]:
        """The rows as they are now (cheap); turn them into Records with as_records()."""
        return list(self._rows)

    def _at(self, row: int) -> Row:
        return self._rows[row if self._order is None else self._order[row]]

    def record(self, row: int) -> Record:
        """The record at a view row (after sorting)."""
        return Record._make(self._at(row))

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
            return self._display(Record._make(self._at(row)), index.column())
        if role == _ALIGN:
            return _RIGHT if index.column() in self.NUMERIC else _LEFT
        if role == _FOREGROUND and index.column() in (self.KEY, self.VALUE):
            row = index.row()
            if not index.isValid() or row >= len(self._rows):
                return None
            field = KEY if index.column() == self.KEY else VALUE
            return _NULL_COLOUR if self._at(row)[field] is None else None
        if role == _BACKGROUND and self.txn is not None:
            # the Txn column may be scrolled out of sight: the whole row says it too
            row = index.row()
            if not index.isValid() or row >= len(self._rows):
                return None
            at = self._at(row)
            mark = self.txn.mark(at[1], at[2])
            return _TXN_COLOURS.get(mark)
        if role == ROW_ROLE and index.isValid() and index.row() < len(self._rows):
            return Record._make(self._at(index.row()))
        return None

    def _display(self, rec: Record, col: int) -> str:
        if col == self.PARTITION:
            return str(rec.partition)
        if col == self.OFFSET:
            return str(rec.offset)
        if col == self.TIMESTAMP:
            return format_timestamp(rec.timestamp, self.time_format)
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
        if col == self.TXN and self.txn is not None:
            return self.txn.mark(rec.partition, rec.offset)
        return ""

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self.TITLES):
            return self.TITLES[section]
        return None
