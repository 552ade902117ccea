"""The preferred-election table: each partition off its preferred leader, and what happened."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from desktop.domain.election import ElectionMove
from desktop.models.base import AMBER, Column, RowTableModel

GREEN = "#d9f2dd"


@dataclass(frozen=True)
class ElectionRow:
    move: ElectionMove
    result: str = ""  # after Execute: "moved", or the broker's error
    ok: bool | None = None


class ElectionModel(RowTableModel[ElectionRow]):
    columns = (
        Column[ElectionRow]("Partition", lambda r: r.move.name),
        Column[ElectionRow](
            "Leader", lambda r: r.move.leader if r.move.leader >= 0 else "none", numeric=True
        ),
        Column[ElectionRow](
            "Preferred",
            lambda r: r.move.preferred,
            numeric=True,
            tooltip="The first replica listed: where Kafka puts leadership when it can",
        ),
        Column[ElectionRow]("Preview", lambda r: r.move.note),
        Column[ElectionRow]("Result", lambda r: r.result),
    )

    def row_key(self, row: ElectionRow) -> Any:
        return (row.move.topic, row.move.partition)

    def background(self, row: ElectionRow) -> str | None:
        if row.ok is True:
            return GREEN
        if row.ok is False or not row.move.eligible:
            return AMBER
        return None
