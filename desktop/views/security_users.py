"""The SCRAM users panel: users with mechanisms and iterations; add, change password, delete."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
)

from desktop.domain.acl import ScramChange, ScramUser
from desktop.models.base import ROW_ROLE
from desktop.models.security import UsersModel
from desktop.views.security_panel import SecurityPanel
from desktop.views.widgets.common import hint
from desktop.workers.security import SecurityJobs

MECHANISMS = ("SCRAM-SHA-512", "SCRAM-SHA-256")
# Kafka refuses fewer than 4096 iterations and more than 16384
MIN_ITERATIONS, MAX_ITERATIONS = 4096, 16384


class UsersPanel(SecurityPanel[ScramUser]):
    def __init__(self, jobs: SecurityJobs) -> None:
        super().__init__(jobs, UsersModel())
        self.table.selectionModel().selectionChanged.connect(self._on_selection)
        self.reload_button = QPushButton("Reload")
        self.reload_button.clicked.connect(self.reload)
        self.delete_button = QPushButton("Delete user…")
        self.delete_button.setEnabled(False)
        self.delete_button.clicked.connect(self.ask_delete)
        self.delete_preview = QLabel()
        self.confirm_button = QPushButton("Delete")
        self.confirm_button.clicked.connect(self.confirm_delete)
        self.pending_delete: ScramUser | None = None

        box = QGroupBox("Add a user or change a password")
        self.user = QLineEdit()
        self.mechanism = QComboBox()
        self.mechanism.addItems(MECHANISMS)
        self.iterations = QSpinBox()
        self.iterations.setRange(MIN_ITERATIONS, MAX_ITERATIONS)
        self.iterations.setValue(MIN_ITERATIONS)
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat = QLineEdit()
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.save_button = QPushButton("Save credentials")
        self.save_button.clicked.connect(self.save)
        self.form_problem = hint("")
        form = QFormLayout(box)
        form.addRow("User", self.user)
        form.addRow("Mechanism", self.mechanism)
        form.addRow("Iterations", self.iterations)
        form.addRow("Password", self.password)
        form.addRow("Repeat", self.repeat)
        form.addRow(self.form_problem)
        form.addRow(self.save_button)
        form.addRow(hint("The password is sent to the cluster only; the app never stores it."))

        bar = QHBoxLayout()
        bar.addWidget(self.status, 1)
        bar.addWidget(self.delete_button)
        bar.addWidget(self.reload_button)
        confirm = QHBoxLayout()
        confirm.addWidget(self.delete_preview, 1)
        confirm.addWidget(self.confirm_button)
        self.lay_out(None, (bar, confirm), box)
        self._hide_confirm()

    def selected(self) -> ScramUser | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return None
        user = rows[0].data(ROW_ROLE)
        return user if isinstance(user, ScramUser) else None

    @Slot()
    def _on_selection(self) -> None:
        user = self.selected()
        self.delete_button.setEnabled(user is not None)
        if user is not None:
            self.user.setText(user.name)  # ready to change this user's password
        self._hide_confirm()

    @Slot()
    def reload(self) -> None:
        self.busy = True
        self.status.setText("Listing users…")
        self.jobs.list_users(self._listed, self._failed)

    def _listed(self, users: tuple[ScramUser, ...]) -> None:
        self._show_rows(users, f"{len(users)} user(s) with SCRAM credentials")

    def problem(self) -> str:
        if not self.user.text().strip():
            return "Name the user."
        if not self.password.text():
            return "Type a password."
        if self.password.text() != self.repeat.text():
            return "The two passwords differ."
        return ""

    @Slot()
    def save(self) -> None:
        problem = self.problem()
        self.form_problem.setText(problem)
        if problem:
            return
        name, password = self.user.text().strip(), self.password.text()
        self.password.clear()  # held by the job only, until the request is sent
        self.repeat.clear()
        self.busy = True
        self.status.setText(f"Saving {name}'s credentials…")

        def done(_r: None) -> None:
            self.status.setText(f"Saved {name}'s {self.mechanism.currentText()} credentials")
            self.reload()

        change = ScramChange(name, self.mechanism.currentText(), self.iterations.value(), password)
        self.jobs.set_password(change, done, self._failed)

    @Slot()
    def ask_delete(self) -> None:
        user = self.selected()
        if user is None:
            return
        self.pending_delete = user
        self.delete_preview.setText(
            f"Delete {user.name}'s {user.mechanisms} credentials? They can no longer log in with "
            "SCRAM; their ACLs stay."
        )
        self.delete_preview.setVisible(True)
        self.confirm_button.setVisible(True)

    @Slot()
    def confirm_delete(self) -> None:
        user = self.pending_delete
        self._hide_confirm()
        if user is None:
            return
        self.busy = True

        def done(_r: None) -> None:
            self.status.setText(f"Deleted {user.name}")
            self.reload()

        self.jobs.delete_user(user, done, self._failed)

    def _hide_confirm(self) -> None:
        self.pending_delete = None
        self.delete_preview.setVisible(False)
        self.confirm_button.setVisible(False)
