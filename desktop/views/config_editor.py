"""A configs table with an edit action, shared by topic detail and brokers."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal, Slot
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.cluster import ConfigEntryInfo
from desktop.models.base import ROW_ROLE
from desktop.models.configs import ConfigsModel
from desktop.views.widgets.common import FilterProxy, hint, make_table


class EditConfigDialog(QDialog):
    def __init__(self, entry: ConfigEntryInfo, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Edit {entry.name}")
        self.reset_requested = False
        self.value = QLineEdit(entry.value or "")
        form = QFormLayout()
        form.addRow("Name", QLabel(entry.name))
        form.addRow("Current source", QLabel(entry.source))
        form.addRow("Default", QLabel(entry.default_value or "—"))
        form.addRow("Value", self.value)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.reset = buttons.addButton("Reset to default", QDialogButtonBox.ButtonRole.ResetRole)
        self.reset.setEnabled(not entry.is_default)
        self.reset.clicked.connect(self._reset)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)

    def _reset(self) -> None:
        self.reset_requested = True
        self.accept()


class ConfigPanel(QWidget):
    """Shows configs; emits `edit_requested(name, value or None)` after the user edits one."""

    edit_requested = Signal(str, object)

    def __init__(self, editable: Callable[[ConfigEntryInfo], bool]) -> None:
        super().__init__()
        self._editable = editable
        self.model = ConfigsModel()
        self.proxy = FilterProxy(0)
        self.proxy.setSourceModel(self.model)
        self.table = make_table(self.proxy, stretch=1)
        self.table.setColumnWidth(0, 260)
        self.table.setColumnWidth(1, 220)
        self.table.setColumnWidth(2, 160)
        self.table.setColumnWidth(3, 230)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter configs")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self.proxy.set_filter_text)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_edit())
        self.proxy.modelReset.connect(self._update_edit)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        self.status = hint("Overrides are tinted blue; the Default column shows Kafka's default.")
        row = QHBoxLayout()
        row.addWidget(self.filter, 1)
        row.addWidget(self.edit_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.table)
        layout.addWidget(self.status)
        self._update_edit()

    def _update_edit(self) -> None:
        entry = self.selected()
        if entry is None:
            self.edit_button.setEnabled(False)
            self.edit_button.setToolTip("Select a config row first.")
        elif not self._editable(entry):
            self.edit_button.setEnabled(False)
            self.edit_button.setToolTip(
                f"{entry.name} cannot be changed here (read-only or static)."
            )
        else:
            self.edit_button.setEnabled(True)
            self.edit_button.setToolTip(f"Change {entry.name} (or reset it to the default).")

    def set_configs(self, configs: list[ConfigEntryInfo]) -> None:
        self.model.set_rows(configs)

    def selected(self) -> ConfigEntryInfo | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        entry = self.proxy.data(rows[0], ROW_ROLE)
        return entry if isinstance(entry, ConfigEntryInfo) else None

    @Slot()
    def edit_selected(self) -> None:
        entry = self.selected()
        if entry is None:
            return
        if not self._editable(entry):
            self.status.setText(f"{entry.name} cannot be changed here (read-only or static).")
            return
        dialog = EditConfigDialog(entry, self)
        self.dialog = dialog

        def accepted() -> None:
            value = None if dialog.reset_requested else dialog.value.text()
            self.edit_requested.emit(entry.name, value)

        dialog.accepted.connect(accepted)
        dialog.open()
