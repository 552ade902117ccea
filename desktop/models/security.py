"""Tables of the Security screens: ACL bindings, SCRAM users, one principal's topic rights."""

from __future__ import annotations

from typing import Any, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from desktop.domain.acl import AclEntry, Decision, Permission, ScramUser
from desktop.models.base import AMBER, RED, Column, Index, RowTableModel

ALLOWED_COLOUR = "#e3f4e6"
INK = QColor("#1b1f24")  # on the pale tints, in the dark theme too (its text is light)
T = TypeVar("T")


class TintedModel(RowTableModel[T]):
    """Rows with a pale background keep dark text, so they stay readable in the dark theme."""

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.ForegroundRole and index.isValid():
            row = self._rows[index.row()] if index.row() < len(self._rows) else None
            return INK if row is not None and self.background(row) else None
        return super().data(index, role)


class AclsModel(TintedModel[AclEntry]):
    columns = (
        Column[AclEntry]("Principal", lambda a: a.principal),
        Column[AclEntry]("Resource type", lambda a: a.resource.value),
        Column[AclEntry]("Name", lambda a: a.name),
        Column[AclEntry]("Pattern", lambda a: a.pattern.value),
        Column[AclEntry]("Operation", lambda a: a.operation.value),
        Column[AclEntry]("Permission", lambda a: a.permission.value),
        Column[AclEntry]("Host", lambda a: a.host),
    )

    def row_key(self, row: AclEntry) -> Any:
        return row

    def background(self, row: AclEntry) -> str | None:
        return AMBER if row.permission is Permission.DENY else None


class UsersModel(RowTableModel[ScramUser]):
    columns = (
        Column[ScramUser]("User", lambda u: u.name),
        Column[ScramUser]("Mechanisms", lambda u: u.mechanisms),
        Column[ScramUser]("Iterations", lambda u: u.iterations),
    )

    def row_key(self, row: ScramUser) -> Any:
        return row.name


class RightsModel(TintedModel[Decision]):
    columns = (
        Column[Decision]("Operation", lambda d: d.operation.value),
        Column[Decision]("Allowed", lambda d: "allowed" if d.allowed else "denied"),
        Column[Decision]("Why", lambda d: d.reason),
        Column[Decision]("Bindings", lambda d: "; ".join(b.describe() for b in d.because)),
    )

    def row_key(self, row: Decision) -> Any:
        return row.operation

    def background(self, row: Decision) -> str | None:
        return ALLOWED_COLOUR if row.allowed else RED
