"""The incident timeline table: one row per event, newest first, filterable by kind."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from desktop.domain.timeline import BAD_KINDS, ClusterEvent, EventKind
from desktop.models.base import AMBER, Column, RowTableModel

GREEN = "#d9f2dd"


def _clock(at: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(at)) + f".{int(at * 1000) % 1000:03d}"


class TimelineModel(RowTableModel[ClusterEvent]):
    columns = (
        Column[ClusterEvent]("Time", lambda e: _clock(e.at)),
        Column[ClusterEvent]("Kind", lambda e: e.kind.value),
        Column[ClusterEvent]("Where", lambda e: e.subject),
        Column[ClusterEvent]("What happened", lambda e: e.detail),
    )

    def __init__(self) -> None:
        super().__init__()
        self.kinds: frozenset[EventKind] | None = None  # None: every kind

    def add_events(self, events: Sequence[ClusterEvent]) -> None:
        """Newest first; an append is announced as rows inserted at the top."""
        if not events:
            return
        self._all = list(reversed(events)) + self._all
        shown = self._visible(list(reversed(events)))
        if self._sort is not None or not shown:
            self._all = self._sorted(self._all)
            if shown:
                self.set_rows(self._all)
            return
        self.beginInsertRows(self.index(0, 0).parent(), 0, len(shown) - 1)
        self._rows = shown + self._rows
        self.endInsertRows()

    def show_kinds(self, kinds: frozenset[EventKind] | None) -> None:
        self.kinds = kinds
        self.set_filter(None if kinds is None else lambda e: e.kind in kinds)

    def sort_key(self, column: int) -> Callable[[ClusterEvent], Any]:
        if column == 0:
            return lambda e: e.at
        return super().sort_key(column)

    def row_key(self, row: ClusterEvent) -> Any:
        return row

    def background(self, row: ClusterEvent) -> str | None:
        return AMBER if row.kind in BAD_KINDS else GREEN
