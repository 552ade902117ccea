"""Dialogs for topic operations: create, delete (type the name), add partitions."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.topic_names import collides_with, topic_name_error
from desktop.views.widgets.common import set_role

RETENTION_CHOICES = (
    ("broker default", ""),
    ("1 hour", "3600000"),
    ("1 day", "86400000"),
    ("7 days", "604800000"),
    ("30 days", "2592000000"),
    ("forever", "-1"),
)


class CreateTopicDialog(QDialog):
    def __init__(
        self, existing: list[str], broker_count: int, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Create topic")
        self.setMinimumWidth(480)
        self._existing = existing
        self.name = QLineEdit()
        self.name.setPlaceholderText("orders.v1")
        self.name_error = QLabel("")
        self.name_error.setObjectName("nameError")
        set_role(self.name_error, "error")
        self.name_error.setWordWrap(True)
        self.partitions = QSpinBox()
        self.partitions.setRange(1, 10000)
        self.partitions.setValue(3)
        self.replication = QSpinBox()
        self.replication.setRange(1, max(1, broker_count))
        self.replication.setValue(min(3, max(1, broker_count)))
        self.cleanup = QComboBox()
        self.cleanup.addItems(["delete", "compact", "compact,delete"])
        self.retention = QComboBox()
        for label, _value in RETENTION_CHOICES:
            self.retention.addItem(label)
        self.min_isr = QSpinBox()
        self.min_isr.setRange(0, 10)
        self.min_isr.setSpecialValueText("broker default")
        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("", self.name_error)
        form.addRow("Partitions", self.partitions)
        form.addRow("Replication factor", self.replication)
        form.addRow("Cleanup policy", self.cleanup)
        form.addRow("Retention", self.retention)
        form.addRow("min.insync.replicas", self.min_isr)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Create")
        self.buttons.accepted.connect(self._accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._validate)
        self._validate()

    def error(self) -> str | None:
        name = self.name.text()
        err = topic_name_error(name)
        if err is None and name in self._existing:
            err = f"A topic named '{name}' already exists."
        if err is None:
            err = collides_with(name, self._existing)
        return err

    @Slot()
    def _validate(self) -> None:
        err = self.error()
        # an empty field is not yet an error worth shouting about
        self.name_error.setText("" if not self.name.text() else (err or ""))
        self.name_error.setVisible(bool(self.name_error.text()))
        self.ok.setEnabled(err is None)
        self.adjustSize()

    def _accept(self) -> None:
        err = self.error()
        if err:
            self.name_error.setText(err)
            self.name_error.setVisible(True)
            return
        self.accept()

    def configs(self) -> dict[str, str]:
        out = {"cleanup.policy": self.cleanup.currentText()}
        retention = RETENTION_CHOICES[self.retention.currentIndex()][1]
        if retention:
            out["retention.ms"] = retention
        if self.min_isr.value() > 0:
            out["min.insync.replicas"] = str(self.min_isr.value())
        return out


class ConfirmNameDialog(QDialog):
    """Asks the user to type the topic's name before a destructive action."""

    def __init__(self, action: str, topic: str, detail: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{action} '{topic}'")
        self._topic = topic
        text = QLabel(f"{detail}\n\nType the topic name <b>{topic}</b> to confirm.")
        text.setWordWrap(True)
        text.setText(f"{detail}<br><br>Type the topic name <b>{topic}</b> to confirm.")
        self.confirm = QLineEdit()
        self.confirm.setPlaceholderText(topic)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText(action)
        self.ok.setEnabled(False)
        self.confirm.textChanged.connect(lambda t: self.ok.setEnabled(t == topic))
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.confirm)
        layout.addWidget(self.buttons)


class AddPartitionsDialog(QDialog):
    def __init__(self, topic: str, current: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Add partitions to '{topic}'")
        self.total = QSpinBox()
        self.total.setRange(current + 1, 100000)
        self.total.setValue(current + 1)
        note = QLabel(
            f"'{topic}' has {current} partitions. Partitions can be added but never removed; "
            "keyed messages may map to different partitions afterwards."
        )
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("New partition count", self.total)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addLayout(form)
        layout.addWidget(buttons)
