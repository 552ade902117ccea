"""What the ACL and SCRAM-user panels share: a banner for errors, a filterable table of rows
loaded by a job, a status line, the busy/loaded flags the Security tab reads, and the layout
(the list with its action rows on the left, the form on the right)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, TypeVar

from PySide6.QtWidgets import QHBoxLayout, QLayout, QVBoxLayout, QWidget

from desktop.models.base import RowTableModel
from desktop.views.widgets.common import Banner, FilterProxy, hint, make_table
from desktop.workers.security import SecurityJobs

Row = TypeVar("Row")


class SecurityPanel(QWidget, Generic[Row]):
    def __init__(self, jobs: SecurityJobs, model: RowTableModel[Row]) -> None:
        super().__init__()
        self.jobs = jobs
        self.loaded = False
        self.busy = False
        self.banner = Banner()
        self.model = model
        self.proxy = FilterProxy()
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy)
        self.status = hint("")

    def lay_out(self, above: QLayout | None, below: Sequence[QLayout], form: QWidget) -> None:
        """The table with an optional bar above it and action rows below, the form beside."""
        left = QVBoxLayout()
        if above is not None:
            left.addLayout(above)
        left.addWidget(self.table, 1)
        for row in below:
            left.addLayout(row)
        body = QHBoxLayout()
        body.addLayout(left, 3)
        body.addWidget(form, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.banner)
        layout.addLayout(body, 1)

    def _failed(self, message: str) -> None:
        self.busy = False
        self.banner.show_message(message)
        self.status.setText("")

    def _show_rows(self, rows: Sequence[Row], status: str) -> None:
        self.busy = False
        self.loaded = True
        self.banner.setVisible(False)
        self.model.set_rows(rows)
        self.status.setText(status)
