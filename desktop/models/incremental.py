"""A row model updated in place: no reset once rows are shown, so selection and scroll stay."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from PySide6.QtCore import QModelIndex

from desktop.models.base import RowTableModel

T = TypeVar("T")


def _runs(positions: Sequence[int]) -> list[tuple[int, int]]:
    """Ascending positions as (first, last) runs of consecutive rows."""
    out: list[tuple[int, int]] = []
    for p in positions:
        if out and out[-1][1] == p - 1:
            out[-1] = (out[-1][0], p)
        else:
            out.append((p, p))
    return out


class IncrementalTableModel(RowTableModel[T]):
    """Changed rows announce dataChanged, new and gone rows insert and remove, and rows whose
    sort order moved a layout change (persistent indexes, and so the selection, follow).

    A reset would cost a 5,000-row table its selection and scroll position and the views a
    full relayout on every refresh; these signals cost only what changed.
    """

    def update_rows(self, changed: Sequence[T]) -> None:
        """Replace the rows that have these rows' keys; rows with unknown keys are ignored."""
        key = self.row_key
        where = {key(r): i for i, r in enumerate(self._all)}
        fresh: dict[Any, T] = {}
        for r in changed:
            k = key(r)
            if k in where and self._all[where[k]] is not r:
                fresh[k] = r
        if not fresh:
            return
        order = self._order_key()
        accept = self._filter
        for k, r in fresh.items():
            old = self._all[where[k]]
            moves = order is not None and order(old) != order(r)
            if moves or (accept is not None and accept(old) != accept(r)):
                # the row changes place or visibility: the general path
                self.sync([fresh.get(key(row), row) for row in self._all])
                return
        for k, r in fresh.items():
            self._all[where[k]] = r
        shown = {key(r): i for i, r in enumerate(self._rows)}
        positions = sorted(shown[k] for k in fresh if k in shown)
        for p in positions:
            self._rows[p] = fresh[key(self._rows[p])]
        self._announce(positions)

    def sync(self, rows: Sequence[T]) -> None:
        """Show exactly `rows` (every row), announcing only the difference."""
        new_all = self._sorted(list(rows))
        target = self._visible(new_all)
        old = self._rows
        if not old or not target:  # nothing shown yet, or nothing left: no selection to keep
            self.beginResetModel()
            self._all, self._rows = new_all, target
            self.endResetModel()
            return
        self._all = new_all
        key = self.row_key
        by_key: dict[Hashable, T] = {key(r): r for r in target}
        gone = [i for i, r in enumerate(old) if key(r) not in by_key]
        for first, last in reversed(_runs(gone)):
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        kept = {key(r) for r in self._rows}
        kept_order = [k for k in (key(r) for r in target) if k in kept]
        if [key(r) for r in self._rows] != kept_order:
            self._relayout(kept_order)
        changed = []
        for i, r in enumerate(self._rows):
            new = by_key[key(r)]
            if new is not r:
                self._rows[i] = new
                changed.append(i)
        self._announce(changed)
        added = [i for i, r in enumerate(target) if key(r) not in kept]
        for first, last in _runs(added):
            self.beginInsertRows(QModelIndex(), first, last)
            self._rows[first:first] = target[first : last + 1]
            self.endInsertRows()

    def _relayout(self, order: list[Any]) -> None:
        key = self.row_key
        new_row = {k: i for i, k in enumerate(order)}
        self.layoutAboutToBeChanged.emit()
        old_pos = [new_row[key(r)] for r in self._rows]
        self._rows = sorted(self._rows, key=lambda r: new_row[key(r)])
        persistent = self.persistentIndexList()
        self.changePersistentIndexList(
            persistent,
            [self.index(old_pos[i.row()], i.column()) if i.isValid() else i for i in persistent],
        )
        self.layoutChanged.emit()

    def _announce(self, positions: Sequence[int]) -> None:
        last_col = len(self.columns) - 1
        for first, last in _runs(positions):
            self.dataChanged.emit(self.index(first, 0), self.index(last, last_col))

    def _order_key(self) -> Callable[[T], Any] | None:
        if self._sort is None or not 0 <= self._sort[0] < len(self.columns):
            return None
        return self.sort_key(self._sort[0])
