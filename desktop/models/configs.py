"""A configs table: value, default, override source, editability."""

from __future__ import annotations

from typing import Any

from desktop.domain.cluster import ConfigEntryInfo
from desktop.models.base import Column, RowTableModel

OVERRIDE_COLOUR = "#e3eefc"


def _value(c: ConfigEntryInfo) -> str:
    if c.sensitive:
        return "••••••"
    return c.value or ""


class ConfigsModel(RowTableModel[ConfigEntryInfo]):
    columns = (
        Column[ConfigEntryInfo]("Name", lambda c: c.name),
        Column[ConfigEntryInfo]("Value", _value),
        Column[ConfigEntryInfo]("Default", lambda c: c.default_value or ""),
        Column[ConfigEntryInfo]("Source", lambda c: c.source),
        Column[ConfigEntryInfo]("Read-only", lambda c: c.read_only),
    )

    def row_key(self, row: ConfigEntryInfo) -> Any:
        return row.name

    def background(self, row: ConfigEntryInfo) -> str | None:
        return None if row.is_default else OVERRIDE_COLOUR
